// File: test/integration/https_client.h
//
// Client side of the integration tests: libcurl for ordinary HTTPS requests, and a
// raw OpenSSL connection for byte-level cases (trickled headers, old TLS versions).
// Every operation has a timeout, so no test can hang on a misbehaving server.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace opsgate::testing {

struct HttpResult {
  long status = 0;      // 0 when the request failed below HTTP
  std::string error;    // curl's error text when status == 0
  std::string body;
  std::vector<std::string> headers;  // raw "Name: value" lines

  std::optional<std::string> Header(const std::string& name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string ca_file;               // trust anchor for https
  std::chrono::milliseconds timeout{5000};
};

HttpResult Fetch(const HttpRequest& request);

// A raw TLS (or plain TCP) connection to 127.0.0.1:port with receive/send timeouts.
class RawTlsConnection {
 public:
  // min/max versions are OpenSSL constants (TLS1_1_VERSION, ...); 0 means default.
  RawTlsConnection(uint16_t port, int min_version = 0, int max_version = 0,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~RawTlsConnection();
  RawTlsConnection(const RawTlsConnection&) = delete;
  RawTlsConnection& operator=(const RawTlsConnection&) = delete;

  // Whether the TCP connect and TLS handshake succeeded.
  bool connected() const { return ssl_ != nullptr && handshake_ok_; }
  // OpenSSL's reason for a failed handshake ("tlsv1 alert protocol version").
  const std::string& handshake_error() const { return handshake_error_; }
  // The negotiated protocol ("TLSv1.3"), empty if none.
  std::string Protocol() const;

  bool Send(const std::string& bytes);
  // Reads until the peer closes, the timeout passes, or `max` bytes arrived.
  std::string ReadAll(size_t max = 1 << 20);
  // Whether the peer closed the connection (read returned 0 or an error) within `timeout`.
  bool PeerClosedWithin(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX*
  void* ssl_ = nullptr;  // SSL*
  bool handshake_ok_ = false;
  std::string handshake_error_;
};

}  // namespace opsgate::testing
