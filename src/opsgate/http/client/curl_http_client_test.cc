// CurlHttpClient against local sockets only: a closed port, a listener that never
// answers, and a tiny plain-HTTP server (allow_http) to check what goes on the wire.
// TLS against a real server is covered by the integration tests.
#include "opsgate/http/client/curl_http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace opsgate::http {
namespace {

using namespace std::chrono_literals;

// Make sure a developer's proxy settings cannot send loopback traffic elsewhere.
class NoProxyEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      unsetenv(v);
    }
  }
};
[[maybe_unused]] const auto* const kNoProxy =
    ::testing::AddGlobalTestEnvironment(new NoProxyEnvironment);

// A TCP socket bound to 127.0.0.1 on a free port; listens only if asked.
class LocalSocket {
 public:
  explicit LocalSocket(bool listen_too) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ADD_FAILURE() << "bind failed";
    }
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listen_too && listen(fd_, 8) != 0) {
      ADD_FAILURE() << "listen failed";
    }
  }
  ~LocalSocket() { close(fd_); }
  LocalSocket(const LocalSocket&) = delete;
  LocalSocket& operator=(const LocalSocket&) = delete;

  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Serves exactly one connection: reads one request (headers + Content-Length body),
// keeps it, writes `response` and closes. With `answer_at_once` it answers as soon as
// any bytes arrive (for clients that speak TLS to it).
class OneShotHttpServer {
 public:
  explicit OneShotHttpServer(std::string response, bool answer_at_once = false)
      : socket_(true),
        response_(std::move(response)),
        answer_at_once_(answer_at_once),
        thread_([this] { Serve(); }) {}
  ~OneShotHttpServer() { thread_.join(); }

  int port() const { return socket_.port(); }
  std::string request() {
    std::lock_guard<std::mutex> lock(mu_);
    return request_;
  }

 private:
  void Serve() {
    timeval accept_timeout{5, 0};  // never hang the test if no client comes
    setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVTIMEO, &accept_timeout, sizeof(accept_timeout));
    const int c = accept(socket_.fd(), nullptr, nullptr);
    if (c < 0) {
      return;
    }
    timeval tv{5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string in;
    char buf[4096];
    size_t need = std::string::npos;
    while (need == std::string::npos || in.size() < need) {
      const ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) {
        break;
      }
      in.append(buf, static_cast<size_t>(n));
      if (answer_at_once_) {
        break;
      }
      const size_t end = in.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        const size_t cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) {
          length = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
        }
        need = end + 4 + length;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_ = in;
    }
    send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
    close(c);
  }

  LocalSocket socket_;
  std::string response_;
  bool answer_at_once_ = false;
  std::mutex mu_;
  std::string request_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

std::unique_ptr<CurlHttpClient> MakeClient(bool allow_http = false, size_t max_body = 1 << 20) {
  CurlHttpClientOptions o;
  o.allow_http = allow_http;
  o.max_response_bytes = max_body;
  o.connect_timeout = 2000ms;
  auto c = CurlHttpClient::Create(o);
  EXPECT_TRUE(c.has_value()) << c.error();
  return std::move(*c);
}

TEST(CurlHttpClient, RefusesPlainHttpUnlessAllowed) {
  auto client = MakeClient();
  OutboundRequest req;
  req.url = "http://127.0.0.1:9/secret-path";
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("http://127.0.0.1:9"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().message.find("secret-path"), std::string::npos) << r.error();
}

TEST(CurlHttpClient, RefusesOtherSchemes) {
  auto client = MakeClient(/*allow_http=*/true);
  for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://h/", "no-scheme"}) {
    OutboundRequest req;
    req.url = url;
    auto r = client->Send(req);
    ASSERT_FALSE(r.has_value()) << url;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << url;
  }
}

TEST(CurlHttpClient, UnreachablePortGivesUnavailableFast) {
  auto client = MakeClient();
  LocalSocket closed(/*listen_too=*/false);  // bound, not listening: connect is refused
  OutboundRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(closed.port()) + "/hooks/secret-path";
  req.bearer_token = core::Secret("xoxb-very-secret-token");
  const auto start = std::chrono::steady_clock::now();
  auto r = client->Send(req);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable) << r.error();
  EXPECT_LT(took, 2s);
  EXPECT_EQ(r.error().message.find("secret-path"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().message.find("xoxb-very-secret-token"), std::string::npos) << r.error();
}

TEST(CurlHttpClient, SilentServerGivesDeadlineExceeded) {
  auto client = MakeClient(/*allow_http=*/true);
  LocalSocket silent(/*listen_too=*/true);  // the kernel completes the handshake; no reply
  OutboundRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/";
  req.timeout = 200ms;
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kDeadlineExceeded) << r.error();
}

TEST(CurlHttpClient, TlsHandshakeWithNonTlsServerIsUnavailable) {
  auto client = MakeClient();
  OneShotHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                           /*answer_at_once=*/true);
  OutboundRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  req.timeout = 2000ms;
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable) << r.error();
}

TEST(CurlHttpClient, SendsBearerHeadersAndBodyAndParsesResponse) {
  auto client = MakeClient(/*allow_http=*/true);
  OneShotHttpServer server(
      "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nX-Thing:  v \r\n"
      "Content-Length: 11\r\n\r\n{\"ok\":true}");
  OutboundRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/chat.postMessage";
  req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  req.body = R"({"channel":"C1","text":"hi"})";
  req.bearer_token = core::Secret("xoxb-123");
  auto r = client->Send(req);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->body, "{\"ok\":true}");
  ASSERT_TRUE(r->Header("Retry-After").has_value());
  EXPECT_EQ(*r->Header("retry-after"), "30");
  EXPECT_EQ(*r->Header("x-thing"), "v");
  for (const auto& [name, value] : r->headers) {
    for (const char ch : name) {
      EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << name;
    }
  }
  const std::string wire = server.request();
  EXPECT_EQ(wire.rfind("POST /api/chat.postMessage HTTP/1.1\r\n", 0), 0u) << wire;
  EXPECT_NE(wire.find("\r\nAuthorization: Bearer xoxb-123\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\nContent-Type: application/json; charset=utf-8\r\n"), std::string::npos);
  EXPECT_EQ(wire.find("Expect:"), std::string::npos) << wire;
  EXPECT_NE(wire.find("\r\n\r\n{\"channel\":\"C1\",\"text\":\"hi\"}"), std::string::npos);
}

TEST(CurlHttpClient, DoesNotFollowRedirects) {
  auto client = MakeClient(/*allow_http=*/true);
  OneShotHttpServer server(
      "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
      "Content-Length: 0\r\n\r\n");
  OutboundRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = client->Send(req);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->status, 302);
}

TEST(CurlHttpClient, CapsTheResponseBody) {
  auto client = MakeClient(/*allow_http=*/true, /*max_body=*/16);
  OneShotHttpServer server("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(100, 'x'));
  OutboundRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted) << r.error();
}

TEST(CurlHttpClient, CapsTheResponseBodyByContentLength) {
  auto client = MakeClient(/*allow_http=*/true, /*max_body=*/16);
  OneShotHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" +
                           std::string(100, 'x'));
  OutboundRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted) << r.error();
}

TEST(CurlHttpClient, RejectsHeaderInjection) {
  auto client = MakeClient();
  OutboundRequest req;
  req.url = "https://127.0.0.1:9/";
  req.headers = {{"X-A", "v\r\nX-Injected: 1"}};
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);

  req.headers = {{"Bad Name", "v"}};
  r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);

  req.headers = {};
  req.bearer_token = core::Secret("s3cr3t\r\nX-Injected: 1");
  r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos);
}

TEST(CurlHttpClient, RejectsAuthorizationTwice) {
  auto client = MakeClient();
  OutboundRequest req;
  req.url = "https://127.0.0.1:9/";
  req.headers = {{"authorization", "Basic abc"}};
  req.bearer_token = core::Secret("xoxb-1");
  auto r = client->Send(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(CurlHttpClient, MissingCaFileIsAConfigurationError) {
  CurlHttpClientOptions o;
  o.ca_file = "/nonexistent/opsgate-test-ca.pem";
  auto c = CurlHttpClient::Create(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST(CurlHttpClient, ConcurrentSendsFromSeveralThreads) {
  auto client = MakeClient();
  LocalSocket closed(/*listen_too=*/false);
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        OutboundRequest req;
        req.url = "https://127.0.0.1:" + std::to_string(closed.port()) + "/";
        auto r = client->Send(req);
        if (!r && r.error().code == core::ErrorCode::kUnavailable) {
          ++unavailable;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(unavailable.load(), 20);
}

}  // namespace
}  // namespace opsgate::http
