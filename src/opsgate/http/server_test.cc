// In-process server tests: a real Server on 127.0.0.1 (port 0), driven by libcurl and by
// a byte-level OpenSSL client. Every client operation has a timeout (kIoTimeout), waits
// for server-side effects poll with a bound, and each TestServer stops within a bound or
// aborts the binary instead of hanging.
#include "opsgate/http/server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "opsgate/http/testing/tls_test_client.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::http {
namespace {

using namespace std::chrono_literals;
using testing::CertFiles;
using testing::CurlClient;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RawClient;
using ::testing::StartsWith;
using testing::TlsClientOptions;

// Shared with the route handlers.
struct RouteState {
  std::atomic<int> echo_calls{0};
  std::promise<void> slow_entered;
  std::shared_future<void> slow_release;
  std::mutex kept_mu;
  std::vector<Responder> kept;  // responders a handler keeps after answering
  // /deferred: the thread that answered and the one the deferred response ran on.
  std::mutex deferred_mu;
  std::thread::id answered_on;
  std::thread::id produced_on;
};

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class TestServer {
 public:
  TestServer(ServerOptions options, RouteState& state)
      : log_(sink_, clock_, telemetry::LogLevel::kDebug) {
    AddRoutes(state);
    server_ = std::make_unique<Server>(std::move(options), router_, metrics_, log_, clock_);
  }

  ~TestServer() {
    if (thread_.joinable()) {
      server_->Drain();
      if (!WaitStopped(10s)) {
        std::fprintf(stderr, "server did not stop within 10 s of Drain(); aborting\n");
        std::abort();
      }
      thread_.join();
    }
  }

  core::Status Start() {
    auto status = server_->Start();
    if (status) {
      thread_ = std::thread([this] {
        server_->Run();
        stopped_.set_value();
      });
    }
    return status;
  }

  bool WaitStopped(std::chrono::milliseconds limit) {
    return stopped_future_.wait_for(limit) == std::future_status::ready;
  }

  Server& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  std::string Metrics() const { return metrics_.RenderPrometheus(); }
  bool MetricsContain(const std::string& line) const {
    return WaitFor([&] { return Metrics().find(line + "\n") != std::string::npos; });
  }
  bool LogContains(const std::string& text) const {
    for (const auto& line : sink_.Lines()) {
      if (line.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  void AddRoutes(RouteState& state) {
    auto must = [](const core::Status& s) { ASSERT_TRUE(s) << s.error(); };
    must(router_.Add({"GET", "/hello", "hello", std::nullopt,
                      [](const Request&) { return Response::Text(200, "hello"); }}));
    must(router_.Add({"POST", "/echo", "echo", std::nullopt, [&state](const Request& r) {
                        ++state.echo_calls;
                        return Response::Text(200, r.body);
                      }}));
    must(router_.Add({"POST", "/upload", "upload", size_t{64 * 1024}, [](const Request& r) {
                        return Response::Text(200, std::to_string(r.body.size()));
                      }}));
    must(router_.Add({"GET", "/throw", "throw", std::nullopt, [](const Request&) -> Response {
                        throw std::runtime_error("handler bug");
                      }}));
    Route async_route{"POST", "/async", "async", std::nullopt, nullptr, nullptr};
    async_route.async_handler = [](const Request& r, Responder respond) {
      // Answer from another thread after the handler has returned, as an audit
      // append or a worker would.
      std::thread([body = r.body, respond = std::move(respond)] {
        std::this_thread::sleep_for(20ms);
        respond(Response::Text(202, "later:" + body));
      }).detach();
    };
    must(router_.Add(std::move(async_route)));
    Route keeps{"POST", "/answer-and-keep", "answer-and-keep", std::nullopt, nullptr, nullptr};
    keeps.async_handler = [&state](const Request&, Responder respond) {
      respond(Response::Text(200, "answered"));
      std::lock_guard<std::mutex> lock(state.kept_mu);
      state.kept.push_back(std::move(respond));
    };
    must(router_.Add(std::move(keeps)));
    Route deferred{"POST", "/deferred", "deferred", std::nullopt, nullptr, nullptr};
    deferred.async_handler = [&state](const Request& r, Responder respond) {
      // Answered from a "writer" thread; the response is worked out on an I/O thread.
      std::thread([&state, body = r.body, respond = std::move(respond)] {
        {
          std::lock_guard<std::mutex> lock(state.deferred_mu);
          state.answered_on = std::this_thread::get_id();
        }
        respond(Response::Deferred([&state, body]() -> Response {
          if (body == "throw") {
            throw std::runtime_error("producer bug");
          }
          std::lock_guard<std::mutex> lock(state.deferred_mu);
          state.produced_on = std::this_thread::get_id();
          return Response::Json(201, "{\"made\":\"" + body + "\"}");
        }));
      }).join();
    };
    must(router_.Add(std::move(deferred)));
    Route dropped{"GET", "/dropped", "dropped", std::nullopt, nullptr, nullptr};
    dropped.async_handler = [](const Request&, Responder) {};  // loses the responder
    must(router_.Add(std::move(dropped)));
    must(router_.Add({"GET", "/slow", "slow", std::nullopt, [&state](const Request&) {
                        state.slow_entered.set_value();
                        // Bounded: the test releases it; never block an I/O thread forever.
                        state.slow_release.wait_for(10s);
                        return Response::Text(200, "slow done");
                      }}));
  }

  telemetry::MemorySink sink_;
  core::SystemClock clock_;
  telemetry::Logger log_;
  telemetry::MetricsRegistry metrics_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::promise<void> stopped_;
  std::future<void> stopped_future_ = stopped_.get_future();
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : cert_(testing::MakeCertificate(dir_.path(), "first")) {
    state_.slow_release = release_.get_future().share();
  }
  ~ServerTest() override {
    if (!released_) {
      release_.set_value();  // unblock a slow handler before the server is stopped
    }
  }

  ServerOptions Options() const {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.tls = config::TlsConfig{cert_.cert_file, cert_.key_file, config::TlsProfile::kIntermediate};
    o.threads = 2;
    o.drain_timeout = 5s;
    o.limits.header_bytes = 4096;
    o.limits.body_bytes = 1024;
    o.limits.read_timeout = 1s;
    o.limits.idle_timeout = 2s;
    o.limits.write_timeout = 2s;
    o.limits.max_connections = 64;
    return o;
  }

  TestServer& StartServer(ServerOptions options) {
    server_ = std::make_unique<TestServer>(std::move(options), state_);
    auto status = server_->Start();
    EXPECT_TRUE(status) << status.error();
    return *server_;
  }

  CurlClient Curl() { return CurlClient(server_->port(), cert_.cert_file); }

  void Release() {
    released_ = true;
    release_.set_value();
  }

  testing::TempDir dir_;
  CertFiles cert_;
  RouteState state_;
  std::promise<void> release_;
  bool released_ = false;
  std::unique_ptr<TestServer> server_;
};

TEST_F(ServerTest, ServesGetRouteWithSecurityHeaders) {
  StartServer(Options());
  auto r = Curl().Get("/hello", {"X-Correlation-Id: test-123.abc"});
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Header("x-correlation-id"), "test-123.abc");
  EXPECT_EQ(r.Header("strict-transport-security"), "max-age=63072000");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  EXPECT_EQ(r.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.Header("server"), "opsgate");
  EXPECT_TRUE(r.HasHeader("date"));
}

TEST_F(ServerTest, GeneratesCorrelationIdWhenMissingOrInvalid) {
  StartServer(Options());
  CurlClient curl = Curl();
  auto missing = curl.Get("/hello");
  auto invalid = curl.Get("/hello", {"X-Correlation-Id: not valid!"});
  ASSERT_EQ(missing.status, 200) << missing.error;
  ASSERT_EQ(invalid.status, 200) << invalid.error;
  for (const auto& id : {missing.Header("x-correlation-id"), invalid.Header("x-correlation-id")}) {
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_NE(missing.Header("x-correlation-id"), invalid.Header("x-correlation-id"));
}

TEST_F(ServerTest, ReusesConnectionForKeepAlive) {
  StartServer(Options());
  CurlClient curl = Curl();
  auto first = curl.Get("/hello");
  auto second = curl.Get("/hello");
  ASSERT_EQ(first.status, 200) << first.error;
  ASSERT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.new_connections, 0);
  EXPECT_FALSE(second.HasHeader("connection"));
}

TEST_F(ServerTest, ClosesAfterMaxRequestsPerConnection) {
  ServerOptions options = Options();
  options.limits.max_requests_per_connection = 2;
  StartServer(options);
  CurlClient curl = Curl();
  auto first = curl.Get("/hello");
  auto second = curl.Get("/hello");
  auto third = curl.Get("/hello");
  ASSERT_EQ(third.status, 200) << third.error;
  EXPECT_FALSE(first.HasHeader("connection"));
  EXPECT_EQ(second.Header("connection"), "close");
  EXPECT_EQ(second.new_connections, 0);
  EXPECT_EQ(third.new_connections, 1);
}

TEST_F(ServerTest, UnknownPathGets404) {
  StartServer(Options());
  auto r = Curl().Get("/nope");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_THAT(r.body, HasSubstr("\"error\":\"not_found\""));
}

TEST_F(ServerTest, WrongMethodGets405WithAllow) {
  StartServer(Options());
  auto r = Curl().Request("DELETE", "/hello");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET");
  EXPECT_THAT(r.body, HasSubstr("\"error\":\"method_not_allowed\""));
}

TEST_F(ServerTest, BodyOverRouteLimitGets413WithoutRunningHandler) {
  auto& server = StartServer(Options());
  auto r = Curl().Request("POST", "/echo", std::string(4096, 'x'));
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("connection"), "close");
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error").as_string(), "body_too_large");
  EXPECT_EQ(body.at("message").as_string(), "the body exceeds 1024 bytes for this route");
  EXPECT_EQ(state_.echo_calls, 0);
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"body_too_large\"} 1"));
}

TEST_F(ServerTest, LargeUploadGets413NotAReset) {
  // 4 MiB: far more than the socket buffers hold, so the server must answer without
  // reading the body and close without resetting the connection under the client.
  auto& server = StartServer(Options());
  auto r = Curl().Request("POST", "/echo", std::string(4 << 20, 'x'));
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(state_.echo_calls, 0);
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"body_too_large\"} 1"));
}

TEST_F(ServerTest, UploadSentWithoutWaitingGets413) {
  // No Expect: 100-continue: the client pushes 1 MiB before reading. The server answers
  // from the header and discards the rest while closing, so the answer still arrives.
  StartServer(Options());
  auto client = RawClient::ConnectTls(server_->port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(
      client->Send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n" +
                   std::string(1 << 20, 'x')));
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 413 "));
  EXPECT_EQ(state_.echo_calls, 0);
}

TEST_F(ServerTest, ChunkedBodyGrowingPastLimitGets413) {
  StartServer(Options());
  auto client = RawClient::ConnectTls(server_->port(), {});
  ASSERT_NE(client, nullptr);
  std::string chunk(600, 'c');
  ASSERT_TRUE(client->Send(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
      chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 413 "));
  EXPECT_EQ(state_.echo_calls, 0);
}

TEST_F(ServerTest, RouteBodyLimitAboveDefaultIsAccepted) {
  StartServer(Options());
  auto r = Curl().Request("POST", "/upload", std::string(32 * 1024, 'u'));
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "32768");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  StartServer(Options());
  auto client = RawClient::ConnectTls(server_->port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
      "\r\n"));
  auto interim = client->ReadUntil("\r\n\r\n");
  EXPECT_THAT(interim.data, StartsWith("HTTP/1.1 100 Continue\r\n"));
  ASSERT_TRUE(client->Send("hello"));
  auto final_response = client->ReadUntil("hello");
  EXPECT_THAT(final_response.data, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(state_.echo_calls, 1);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  auto& server = StartServer(Options());
  auto r = Curl().Get("/hello", {"X-Big: " + std::string(6000, 'h')});
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_THAT(r.body, HasSubstr("request headers exceed 4096 bytes; send smaller headers"));
  EXPECT_TRUE(
      server.MetricsContain("opsgate_http_rejections_total{reason=\"header_too_large\"} 1"));
}

TEST_F(ServerTest, StalledHeadersGet408) {
  ServerOptions options = Options();
  options.limits.read_timeout = 300ms;
  auto& server = StartServer(options);
  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /hello HTTP/1.1\r\nHost: localhost\r\n"));  // no blank line
  auto read = client->ReadUntilClosed();
  ASSERT_FALSE(read.timed_out) << "the server kept a stalled request open";
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 408 "));
  EXPECT_THAT(read.data, HasSubstr("\"error\":\"read_timeout\""));
  EXPECT_THAT(read.data, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"read_timeout\"} 1"));
  EXPECT_TRUE(server.LogContains("\"event\":\"http.rejected\""));
}

TEST_F(ServerTest, StalledBodyGets408) {
  ServerOptions options = Options();
  options.limits.read_timeout = 300ms;
  auto& server = StartServer(options);
  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(
      client->Send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab"));
  auto read = client->ReadUntilClosed();
  ASSERT_FALSE(read.timed_out);
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 408 "));
  EXPECT_EQ(state_.echo_calls, 0);
}

TEST_F(ServerTest, SilentClientIsClosedWithoutResponse) {
  ServerOptions options = Options();
  options.limits.read_timeout = 300ms;
  auto& server = StartServer(options);
  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_TRUE(read.closed);
  EXPECT_EQ(read.data, "");
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"read_timeout\"} 0"));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = Options();
  options.limits.idle_timeout = 300ms;
  auto& server = StartServer(options);
  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_TRUE(read.closed);
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(read.data, Not(HasSubstr("HTTP/1.1 408")));
}

TEST_F(ServerTest, ClientWithoutTlsHandshakeIsClosed) {
  ServerOptions options = Options();
  options.limits.read_timeout = 300ms;
  auto& server = StartServer(options);
  auto client = RawClient::Connect(server.port());
  ASSERT_NE(client, nullptr);
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"tls_handshake\"} 1"));
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  StartServer(Options());
  auto client = RawClient::ConnectTls(server_->port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(
      "GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Correlation-Id: first\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nConnection: close\r\n"
      "X-Correlation-Id: second\r\n\r\nping"));
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  size_t first = read.data.find("X-Correlation-Id: first");
  size_t second = read.data.find("X-Correlation-Id: second");
  ASSERT_NE(first, std::string::npos) << read.data;
  ASSERT_NE(second, std::string::npos) << read.data;
  EXPECT_LT(first, second);
  EXPECT_THAT(read.data, HasSubstr("\r\n\r\nping"));
}

TEST_F(ServerTest, RefusesTls11Client) {
  auto& server = StartServer(Options());
  std::string error;
  TlsClientOptions tls11{TLS1_1_VERSION, TLS1_1_VERSION, true};
  EXPECT_EQ(RawClient::ConnectTls(server.port(), tls11, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("TLS handshake failed"));
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"tls_handshake\"} 1"));
  // The same legacy-capable client code succeeds once it may use TLS 1.2.
  TlsClientOptions tls12{TLS1_2_VERSION, TLS1_2_VERSION, true};
  auto client = RawClient::ConnectTls(server.port(), tls12, &error);
  ASSERT_NE(client, nullptr) << error;
  EXPECT_EQ(client->ProtocolVersion(), "TLSv1.2");
}

TEST_F(ServerTest, ModernProfileRefusesTls12Client) {
  ServerOptions options = Options();
  options.tls->profile = config::TlsProfile::kModern;
  auto& server = StartServer(options);
  std::string error;
  TlsClientOptions tls12{TLS1_2_VERSION, TLS1_2_VERSION, false};
  EXPECT_EQ(RawClient::ConnectTls(server.port(), tls12, &error), nullptr);
  TlsClientOptions tls13{TLS1_3_VERSION, TLS1_3_VERSION, false};
  auto client = RawClient::ConnectTls(server.port(), tls13, &error);
  ASSERT_NE(client, nullptr) << error;
  EXPECT_EQ(client->ProtocolVersion(), "TLSv1.3");
}

TEST_F(ServerTest, ConnectionOverCapGets503) {
  ServerOptions options = Options();
  options.limits.max_connections = 1;
  options.limits.read_timeout = 5s;  // the first connection stays open while idle
  auto& server = StartServer(options);
  auto holder = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(server.MetricsContain("opsgate_http_open_connections 1"));

  auto r = Curl().Get("/hello");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_THAT(r.body, HasSubstr("\"error\":\"connection_limit\""));
  EXPECT_TRUE(
      server.MetricsContain("opsgate_http_rejections_total{reason=\"connection_limit\"} 1"));

  holder.reset();
  ASSERT_TRUE(server.MetricsContain("opsgate_http_open_connections 0"));
  EXPECT_EQ(Curl().Get("/hello").status, 200);
}

TEST_F(ServerTest, ReloadTlsServesNewCertificateToNewConnections) {
  auto& server = StartServer(Options());
  auto before = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->PeerFingerprint(), testing::FileCertificateFingerprint(cert_.cert_file));

  CertFiles next = testing::MakeCertificate(dir_.path(), "second");
  auto reloaded = server.server().ReloadTls(
      config::TlsConfig{next.cert_file, next.key_file, config::TlsProfile::kIntermediate});
  ASSERT_TRUE(reloaded) << reloaded.error();

  auto after = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->PeerFingerprint(), testing::FileCertificateFingerprint(next.cert_file));
  EXPECT_NE(after->PeerFingerprint(), before->PeerFingerprint());

  // The connection opened before the reload keeps working.
  ASSERT_TRUE(before->Send("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(before->ReadUntilClosed().data, StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(ServerTest, FailedReloadKeepsOldCertificate) {
  auto& server = StartServer(Options());
  std::string missing = dir_.path() + "/missing.crt";
  auto reloaded = server.server().ReloadTls(
      config::TlsConfig{missing, cert_.key_file, config::TlsProfile::kIntermediate});
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_THAT(reloaded.error().message, HasSubstr(missing));

  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->PeerFingerprint(), testing::FileCertificateFingerprint(cert_.cert_file));
}

TEST_F(ServerTest, DrainFinishesInFlightRequestThenStops) {
  auto& server = StartServer(Options());
  std::future<void> entered = state_.slow_entered.get_future();
  auto in_flight = std::async(std::launch::async, [&] { return Curl().Get("/slow"); });
  ASSERT_EQ(entered.wait_for(5s), std::future_status::ready);

  server.server().Drain();
  // New connections are refused once the listener is closed.
  EXPECT_TRUE(WaitFor([&] { return RawClient::Connect(server.port()) == nullptr; }));
  EXPECT_FALSE(server.WaitStopped(0ms));  // still serving the in-flight request

  Release();
  auto r = in_flight.get();
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow done");
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(server.WaitStopped(5s));
  EXPECT_TRUE(server.LogContains("\"event\":\"http.draining\""));
  EXPECT_TRUE(server.LogContains("\"event\":\"http.stopped\""));
}

TEST_F(ServerTest, DrainClosesIdleConnectionsAtOnce) {
  ServerOptions options = Options();
  options.limits.idle_timeout = 30s;  // far beyond the bound below
  auto& server = StartServer(options);
  auto client = RawClient::ConnectTls(server.port(), {});
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_THAT(client->ReadUntil("hello").data, HasSubstr("200 OK"));
  server.server().Drain();
  auto read = client->ReadUntilClosed();
  EXPECT_TRUE(read.closed);
  EXPECT_TRUE(server.WaitStopped(5s));
}

TEST_F(ServerTest, CountsRequestsLatencyAndRejections) {
  auto& server = StartServer(Options());
  CurlClient curl = Curl();
  EXPECT_EQ(curl.Get("/hello").status, 200);
  EXPECT_EQ(curl.Get("/hello").status, 200);
  EXPECT_EQ(curl.Get("/nope").status, 404);
  EXPECT_TRUE(
      server.MetricsContain("opsgate_http_requests_total{route=\"hello\",status=\"200\"} 2"));
  EXPECT_TRUE(
      server.MetricsContain("opsgate_http_requests_total{route=\"unmatched\",status=\"404\"} 1"));
  EXPECT_TRUE(
      server.MetricsContain("opsgate_http_request_duration_seconds_count{route=\"hello\"} 2"));
  EXPECT_TRUE(server.MetricsContain(
      "opsgate_http_request_duration_seconds_bucket{route=\"hello\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"not_found\"} 1"));
  for (const char* reason :
       {"header_too_large", "body_too_large", "read_timeout", "connection_limit", "tls_handshake",
        "bad_request", "method_not_allowed"}) {
    EXPECT_TRUE(server.MetricsContain("opsgate_http_rejections_total{reason=\"" +
                                      std::string(reason) + "\"} 0"))
        << reason;
  }
  EXPECT_TRUE(server.MetricsContain("opsgate_http_open_connections 1"));
}

TEST_F(ServerTest, ThrowingHandlerGets500AndServerSurvives) {
  auto& server = StartServer(Options());
  CurlClient curl = Curl();
  auto r = curl.Get("/throw");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("\"error\":\"internal\""));
  EXPECT_THAT(r.body, Not(HasSubstr("handler bug")));
  EXPECT_EQ(curl.Get("/hello").status, 200);
  EXPECT_TRUE(server.LogContains("\"event\":\"http.handler_failed\""));
}

TEST_F(ServerTest, AsyncHandlerAnswersFromAnotherThread) {
  StartServer(Options());
  CurlClient curl = Curl();
  auto r = curl.Request("POST", "/async", "abc");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "later:abc");
  // The connection stays usable for the next request.
  auto again = curl.Request("POST", "/async", "def");
  EXPECT_EQ(again.body, "later:def");
  EXPECT_EQ(again.new_connections, 0);
}

TEST_F(ServerTest, DeferredResponseIsWorkedOutOnAnIoThread) {
  auto& server = StartServer(Options());
  CurlClient curl = Curl();
  auto r = curl.Request("POST", "/deferred", "abc");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "{\"made\":\"abc\"}");
  {
    std::lock_guard<std::mutex> lock(state_.deferred_mu);
    EXPECT_NE(state_.produced_on, std::thread::id());
    EXPECT_NE(state_.produced_on, state_.answered_on);
  }
  // A producer that throws is a handler failure: 500, logged, the server carries on.
  auto bad = curl.Request("POST", "/deferred", "throw");
  ASSERT_EQ(bad.curl_code, 0) << bad.error;
  EXPECT_EQ(bad.status, 500);
  EXPECT_THAT(bad.body, Not(HasSubstr("producer bug")));
  EXPECT_TRUE(server.LogContains("deferred response threw"));
  EXPECT_EQ(curl.Request("POST", "/deferred", "again").status, 201);
}

TEST_F(ServerTest, PostRunsWorkOnAnIoThreadUntilTheServerStops) {
  auto& server = StartServer(Options());
  std::promise<std::thread::id> ran;
  std::function<void()> work = [&ran] { ran.set_value(std::this_thread::get_id()); };
  ASSERT_TRUE(server.server().Post(work));
  auto on = ran.get_future();
  ASSERT_EQ(on.wait_for(5s), std::future_status::ready);
  EXPECT_NE(on.get(), std::this_thread::get_id());
  // Once Run() has returned, the work is left to the caller.
  server.server().Drain();
  ASSERT_TRUE(server.WaitStopped(10s));
  bool left = false;
  std::function<void()> late = [&left] { left = true; };
  EXPECT_FALSE(server.server().Post(late));
  ASSERT_TRUE(late);
  late();
  EXPECT_TRUE(left);
}

TEST_F(ServerTest, ResponderKeptAfterAnsweringDoesNotHoldTheConnection) {
  StartServer(Options());
  {
    CurlClient curl = Curl();
    auto r = curl.Request("POST", "/answer-and-keep", "x");
    ASSERT_EQ(r.curl_code, 0) << r.error;
    EXPECT_EQ(r.body, "answered");
  }
  // The server drains and stops although the handler still holds its responder, and
  // dropping that responder after the server is gone touches nothing of it (the
  // answering thread may outlive the server, as an audit writer's can).
  server_.reset();
  std::lock_guard<std::mutex> lock(state_.kept_mu);
  ASSERT_EQ(state_.kept.size(), 1u);
  state_.kept.clear();
}

TEST_F(ServerTest, DroppedResponderGets500InsteadOfHanging) {
  auto& server = StartServer(Options());
  auto r = Curl().Get("/dropped");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(server.LogContains("dropped its responder"));
}

TEST_F(ServerTest, ServesPlainHttpBehindTlsProxy) {
  ServerOptions options = Options();
  options.tls.reset();
  options.behind_tls_proxy = true;
  auto& server = StartServer(options);
  CurlClient curl(server.port(), "");
  auto r = curl.Get("/hello");
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.HasHeader("strict-transport-security"));
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
}

TEST_F(ServerTest, PlainUploadSentWithoutWaitingGets413) {
  ServerOptions options = Options();
  options.tls.reset();
  options.behind_tls_proxy = true;
  auto& server = StartServer(options);
  auto client = RawClient::Connect(server.port());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(
      client->Send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n" +
                   std::string(1 << 20, 'x')));
  auto read = client->ReadUntilClosed();
  EXPECT_FALSE(read.timed_out);
  EXPECT_THAT(read.data, StartsWith("HTTP/1.1 413 "));
  EXPECT_THAT(read.data, Not(HasSubstr("Strict-Transport-Security")));
}

TEST_F(ServerTest, SetLimitsAppliesToNewRequests) {
  auto& server = StartServer(Options());
  CurlClient curl = Curl();
  EXPECT_EQ(curl.Request("POST", "/echo", std::string(512, 'x')).status, 200);
  config::LimitsConfig smaller = Options().limits;
  smaller.body_bytes = 100;
  server.server().SetLimits(smaller);
  EXPECT_EQ(curl.Request("POST", "/echo", std::string(512, 'x')).status, 413);
}

TEST_F(ServerTest, SignalHandlerReceivesSighup) {
  server_ = std::make_unique<TestServer>(Options(), state_);
  std::promise<int> got;
  server_->server().SetSignalHandler([&](int signo) {
    got.set_value(signo);
    server_->server().Drain();
  });
  ASSERT_TRUE(server_->Start());
  // A served request proves Run() is in its loop, so its signal set is installed.
  ASSERT_EQ(Curl().Get("/hello").status, 200);
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  auto signo = got.get_future();
  ASSERT_EQ(signo.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(signo.get(), SIGHUP);
  EXPECT_TRUE(server_->WaitStopped(5s));
}

TEST_F(ServerTest, StartWithMissingCertificateFailsNamingFile) {
  ServerOptions options = Options();
  options.tls->cert_file = dir_.path() + "/absent.crt";
  TestServer server(options, state_);
  auto status = server.Start();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_THAT(status.error().message, HasSubstr(options.tls->cert_file));
}

TEST_F(ServerTest, StartWithMismatchedKeyFailsNamingBothFiles) {
  CertFiles other = testing::MakeCertificate(dir_.path(), "other");
  ServerOptions options = Options();
  options.tls->key_file = other.key_file;
  TestServer server(options, state_);
  auto status = server.Start();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_THAT(status.error().message, HasSubstr(other.key_file));
  EXPECT_THAT(status.error().message, HasSubstr(cert_.cert_file));
}

TEST_F(ServerTest, StartWithoutTlsOrProxyIsInvalidArgument) {
  ServerOptions options = Options();
  options.tls.reset();
  TestServer server(options, state_);
  auto status = server.Start();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(ServerTest, StartOnPortInUseIsUnavailable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  ServerOptions options = Options();
  options.port = ntohs(addr.sin_port);
  TestServer server(options, state_);
  auto status = server.Start();
  ::close(fd);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, core::ErrorCode::kUnavailable);
  EXPECT_THAT(status.error().message, HasSubstr("address already in use"));
}

}  // namespace
}  // namespace opsgate::http
