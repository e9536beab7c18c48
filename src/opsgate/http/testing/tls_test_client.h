// File: opsgate/http/testing/tls_test_client.h
//
// Test-only clients for the HTTP server tests: a byte-level client (blocking socket,
// optional TLS through a raw OpenSSL SSL*) for the cases curl cannot express (stalled
// headers, old TLS versions, reading what arrives until the server closes), a libcurl
// client for ordinary requests, and temporary certificate files.
//
// Every socket operation has a timeout (kIoTimeout), so no test can hang on a server bug.
//
// Thread-safety: each object is used by one thread.
#pragma once

#include <curl/curl.h>
#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace opsgate::http::testing {

inline constexpr std::chrono::milliseconds kIoTimeout{5000};

// A directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CertFiles {
  std::string cert_file;
  std::string key_file;
};

// Writes a fresh self-signed development certificate (crypto::GenerateDevCertificate:
// localhost, 127.0.0.1) as <dir>/<name>.crt and <name>.key. Fails the test on error.
CertFiles MakeCertificate(const std::string& dir, const std::string& name);

// SHA-256 of the DER encoding of the first certificate in a PEM file, as hex.
std::string FileCertificateFingerprint(const std::string& cert_file);

struct TlsClientOptions {
  int min_version = 0;  // TLS1_2_VERSION etc.; 0: OpenSSL's default
  int max_version = 0;
  bool allow_legacy = false;  // security level 0 and "DEFAULT:@SECLEVEL=0" (TLS 1.0/1.1)
};

// A blocking client on 127.0.0.1 with kIoTimeout on every read and write.
class RawClient {
 public:
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Plain TCP connection; nullptr (and *error) when it cannot connect.
  static std::unique_ptr<RawClient> Connect(uint16_t port, std::string* error = nullptr);
  // TLS connection with a completed handshake; nullptr (and *error) otherwise.
  static std::unique_ptr<RawClient> ConnectTls(uint16_t port, const TlsClientOptions& options,
                                               std::string* error = nullptr);

  bool Send(const std::string& bytes);

  struct ReadResult {
    std::string data;
    bool closed = false;     // the server closed the connection (EOF, close_notify, reset)
    bool timed_out = false;  // kIoTimeout passed without the server closing
  };
  // Reads until the server closes the connection or `timeout` passes.
  ReadResult ReadUntilClosed(std::chrono::milliseconds timeout = kIoTimeout);
  // Reads until `marker` has arrived, the server closes, or `timeout` passes.
  ReadResult ReadUntil(const std::string& marker, std::chrono::milliseconds timeout = kIoTimeout);

  // SHA-256 hex fingerprint of the server's certificate (TLS only).
  std::string PeerFingerprint() const;
  // "TLSv1.2", "TLSv1.3" (TLS only).
  std::string ProtocolVersion() const;

 private:
  RawClient(int fd, SSL_CTX* ctx, SSL* ssl) : fd_(fd), ctx_(ctx), ssl_(ssl) {}
  // > 0 bytes read; 0 the server closed; -1 timeout or error (*closed tells which).
  int ReadSome(char* buf, int size, bool* closed);

  int fd_;
  SSL_CTX* ctx_;  // null for plain TCP
  SSL* ssl_;      // null for plain TCP
};

// libcurl with a persistent easy handle (so a second request reuses the connection).
class CurlClient {
 public:
  // `ca_file` empty: plain HTTP. Requests go to https://localhost:<port> (resolved to
  // 127.0.0.1), or http:// when `ca_file` is empty.
  CurlClient(uint16_t port, std::string ca_file);
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  struct Result {
    int curl_code = -1;  // CURLE_OK == 0
    std::string error;
    long status = 0;
    std::multimap<std::string, std::string> headers;  // names lower-cased
    std::string body;
    long new_connections = -1;  // CURLINFO_NUM_CONNECTS

    std::string Header(const std::string& name) const;
    bool HasHeader(const std::string& name) const { return headers.count(name) != 0; }
  };

  Result Request(const std::string& method, const std::string& target, const std::string& body = {},
                 const std::vector<std::string>& extra_headers = {});
  Result Get(const std::string& target, const std::vector<std::string>& extra_headers = {}) {
    return Request("GET", target, {}, extra_headers);
  }

 private:
  uint16_t port_;
  std::string ca_file_;
  CURL* curl_;
  curl_slist* resolve_;
};

}  // namespace opsgate::http::testing
