#include "opsgate/http/testing/tls_test_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "opsgate/crypto/keys.h"

namespace opsgate::http::testing {
namespace {

// Writing to a socket the server closed must fail with EPIPE, not kill the test binary.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::string Hex(const unsigned char* p, unsigned n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0xf];
  }
  return out;
}

std::string Fingerprint(X509* cert) {
  if (cert == nullptr) {
    return {};
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return Hex(md, n);
}

void SetTimeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int ConnectSocket(uint16_t port, std::string* error) {
  (void)kSigpipeIgnored;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  SetTimeouts(fd, kIoTimeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error" : out;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "opsgate-http-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CertFiles MakeCertificate(const std::string& dir, const std::string& name) {
  CertFiles files{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  auto cert = crypto::GenerateDevCertificate({}, 2, std::chrono::system_clock::now());
  if (!cert) {
    ADD_FAILURE() << "GenerateDevCertificate: " << cert.error();
    return files;
  }
  std::ofstream(files.cert_file) << cert->cert_pem;
  std::ofstream(files.key_file) << cert->key_pem.Reveal();
  return files;
}

std::string FileCertificateFingerprint(const std::string& cert_file) {
  BIO* bio = BIO_new_file(cert_file.c_str(), "r");
  if (bio == nullptr) {
    return {};
  }
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::string fp = Fingerprint(cert);
  X509_free(cert);
  return fp;
}

RawClient::~RawClient() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(ctx_);
  }
  ::close(fd_);
}

std::unique_ptr<RawClient> RawClient::Connect(uint16_t port, std::string* error) {
  std::string ignored;
  int fd = ConnectSocket(port, error != nullptr ? error : &ignored);
  if (fd < 0) {
    return nullptr;
  }
  return std::unique_ptr<RawClient>(new RawClient(fd, nullptr, nullptr));
}

std::unique_ptr<RawClient> RawClient::ConnectTls(uint16_t port, const TlsClientOptions& options,
                                                 std::string* error) {
  std::string ignored;
  std::string* err = error != nullptr ? error : &ignored;
  int fd = ConnectSocket(port, err);
  if (fd < 0) {
    return nullptr;
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  auto client = std::unique_ptr<RawClient>(new RawClient(fd, ctx, nullptr));
  if (options.allow_legacy) {
    // Debian's openssl.cnf sets SECLEVEL=2 and MinProtocol TLSv1.2 for every context;
    // undo both so this client can really offer TLS 1.0/1.1.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
  }
  if (options.min_version != 0) {
    SSL_CTX_set_min_proto_version(ctx, options.min_version);
  }
  if (options.max_version != 0) {
    SSL_CTX_set_max_proto_version(ctx, options.max_version);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // tests compare fingerprints instead
  client->ssl_ = SSL_new(ctx);
  // SSL_set_tlsext_host_name() is a macro with a C-style cast (-Wold-style-cast).
  static char kHost[] = "localhost";
  SSL_ctrl(client->ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kHost);
  SSL_set_fd(client->ssl_, fd);
  if (SSL_connect(client->ssl_) != 1) {
    *err = "TLS handshake failed: " + OpenSslError();
    return nullptr;
  }
  return client;
}

bool RawClient::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    int n = 0;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
    } else {
      n = static_cast<int>(::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL));
    }
    if (n <= 0) {
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

int RawClient::ReadSome(char* buf, int size, bool* closed) {
  *closed = false;
  if (ssl_ == nullptr) {
    ssize_t n = ::recv(fd_, buf, static_cast<size_t>(size), 0);
    if (n > 0) {
      return static_cast<int>(n);
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      *closed = true;
    }
    return n == 0 ? 0 : -1;
  }
  int n = SSL_read(ssl_, buf, size);
  if (n > 0) {
    return n;
  }
  int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ ||
      (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))) {
    return -1;  // SO_RCVTIMEO passed
  }
  // close_notify, EOF without it, reset, or a TLS alert: the server ended the connection.
  ERR_clear_error();
  *closed = true;
  return 0;
}

RawClient::ReadResult RawClient::ReadUntil(const std::string& marker,
                                           std::chrono::milliseconds timeout) {
  ReadResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (marker.empty() || r.data.find(marker) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    SetTimeouts(fd_, std::max(left, std::chrono::milliseconds(1)));
    bool closed = false;
    int n = ReadSome(buf, sizeof(buf), &closed);
    if (n > 0) {
      r.data.append(buf, static_cast<size_t>(n));
    } else if (closed || n == 0) {
      r.closed = true;
      break;
    }
  }
  SetTimeouts(fd_, kIoTimeout);
  return r;
}

RawClient::ReadResult RawClient::ReadUntilClosed(std::chrono::milliseconds timeout) {
  return ReadUntil({}, timeout);
}

std::string RawClient::PeerFingerprint() const {
  if (ssl_ == nullptr) {
    return {};
  }
  X509* cert = SSL_get1_peer_certificate(ssl_);
  std::string fp = Fingerprint(cert);
  X509_free(cert);
  return fp;
}

std::string RawClient::ProtocolVersion() const {
  return ssl_ == nullptr ? std::string() : std::string(SSL_get_version(ssl_));
}

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::multimap<std::string, std::string>*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new (possibly final after 100 Continue) response
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.erase(0, 1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
      value.pop_back();
    }
    headers->emplace(std::move(name), std::move(value));
  }
  return size * n;
}

}  // namespace

CurlClient::CurlClient(uint16_t port, std::string ca_file)
    : port_(port), ca_file_(std::move(ca_file)), curl_(nullptr), resolve_(nullptr) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  resolve_ =
      curl_slist_append(nullptr, ("localhost:" + std::to_string(port_) + ":127.0.0.1").c_str());
}

CurlClient::~CurlClient() {
  curl_slist_free_all(resolve_);
  curl_easy_cleanup(curl_);
}

std::string CurlClient::Result::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

CurlClient::Result CurlClient::Request(const std::string& method, const std::string& target,
                                       const std::string& body,
                                       const std::vector<std::string>& extra_headers) {
  Result r;
  // Reset clears options but keeps the connection cache, so keep-alive still works.
  curl_easy_reset(curl_);
  std::string scheme = ca_file_.empty() ? "http" : "https";
  std::string url = scheme + "://localhost:" + std::to_string(port_) + target;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_RESOLVE, resolve_);
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(kIoTimeout.count()));
  if (!ca_file_.empty()) {
    curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
  }
  if (method == "GET") {
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& h : extra_headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl_);
  r.curl_code = static_cast<int>(code);
  r.error = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &r.new_connections);
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  return r;
}

}  // namespace opsgate::http::testing
