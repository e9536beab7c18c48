#include "test/integration/https_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace opsgate::testing {
namespace {

size_t AppendBody(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

size_t AppendHeader(char* ptr, size_t size, size_t n, void* user) {
  std::string line(ptr, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  if (!line.empty()) {
    static_cast<std::vector<std::string>*>(user)->push_back(line);
  }
  return size * n;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

SSL* AsSsl(void* p) { return static_cast<SSL*>(p); }

}  // namespace

std::optional<std::string> HttpResult::Header(const std::string& name) const {
  const std::string prefix = Lower(name) + ":";
  for (const auto& h : headers) {
    if (Lower(h.substr(0, prefix.size())) == prefix) {
      size_t start = prefix.size();
      while (start < h.size() && h[start] == ' ') {
        ++start;
      }
      return h.substr(start);
    }
  }
  return std::nullopt;
}

HttpResult Fetch(const HttpRequest& request) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty() || request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!request.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = error[0] != '\0' ? error : curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

RawTlsConnection::RawTlsConnection(uint16_t port, int min_version, int max_version,
                                   std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    handshake_error_ = "connect failed";
    return;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ctx_ = ctx;
  if (min_version != 0 && min_version < TLS1_2_VERSION) {
    // Debian's openssl.cnf forbids old protocols on the client side too; lower the
    // security level so the client really offers them and the *server* must refuse.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
  }
  if (min_version != 0) {
    SSL_CTX_set_min_proto_version(ctx, min_version);
  }
  if (max_version != 0) {
    SSL_CTX_set_max_proto_version(ctx, max_version);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the server's cert is not the point here
  SSL* ssl = SSL_new(ctx);
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  SSL_set_tlsext_host_name(ssl, "localhost");
  ERR_clear_error();
  if (SSL_connect(ssl) == 1) {
    handshake_ok_ = true;
  } else {
    char buf[256];
    ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
    handshake_error_ = buf;
  }
}

RawTlsConnection::~RawTlsConnection() {
  if (ssl_ != nullptr) {
    SSL_free(AsSsl(ssl_));
  }
  if (ctx_ != nullptr) {
    SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string RawTlsConnection::Protocol() const {
  return handshake_ok_ ? SSL_get_version(AsSsl(ssl_)) : "";
}

bool RawTlsConnection::Send(const std::string& bytes) {
  if (!connected()) {
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const int n = SSL_write(AsSsl(ssl_), bytes.data() + done, static_cast<int>(bytes.size() - done));
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string RawTlsConnection::ReadAll(size_t max) {
  std::string out;
  if (!connected()) {
    return out;
  }
  char buf[4096];
  while (out.size() < max) {
    const int n = SSL_read(AsSsl(ssl_), buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool RawTlsConnection::PeerClosedWithin(std::chrono::milliseconds timeout) {
  if (!connected()) {
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (SSL_pending(AsSsl(ssl_)) == 0 && ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    const int n = SSL_read(AsSsl(ssl_), buf, sizeof(buf));
    if (n <= 0) {
      return true;
    }
  }
  return false;
}

}  // namespace opsgate::testing
