#include "opsgate/http/request_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <stdexcept>

namespace opsgate::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "<absent>";
}

std::string MessageOf(const Response& r) {
  return std::string(boost::json::parse(r.body).as_object().at("message").as_string());
}

class RequestPathTest : public ::testing::Test {
 protected:
  RequestPathTest() {
    limits_.header_bytes = 1024;
    limits_.body_bytes = 64;
    Must(router_.Add({"GET", "/hello", "hello", std::nullopt, [this](const Request& r) {
                        ++calls_;
                        last_ = r;
                        return Response::Text(200, "hi");
                      }}));
    Must(router_.Add({"POST", "/hello", "hello_post", std::nullopt, [this](const Request& r) {
                        ++calls_;
                        last_ = r;
                        return Response::Json(201, "{}");
                      }}));
    Must(router_.Add({"POST", "/upload", "upload", size_t{4096}, [this](const Request& r) {
                        ++calls_;
                        last_ = r;
                        return Response::Text(200, std::to_string(r.body.size()));
                      }}));
    Must(router_.Add({"GET", "/throw", "throw", std::nullopt,
                      [](const Request&) -> Response { throw std::runtime_error("boom"); }}));
    Must(router_.Add({"GET", "/evil", "evil", std::nullopt, [](const Request&) {
                        Response r = Response::Text(200, "x");
                        r.headers = {{"X-Correlation-Id", "forged"},
                                     {"Content-Length", "999"},
                                     {"X-Split", "a\r\nSet-Cookie: injected=1"},
                                     {"Bad Name", "v"},
                                     {"X-Kept", "yes"}};
                        r.content_type = "text/html\r\nX-Injected: 1";
                        return r;
                      }}));
    Must(router_.Add({"GET", "/status42", "status42", std::nullopt,
                      [](const Request&) { return Response::Text(42, "?"); }}));
    Must(router_.Add({"GET", "/empty", "empty", std::nullopt,
                      [](const Request&) { return Response::Text(204, "dropped"); }}));
    Must(router_.Add({"GET", "/async-inline", "async_inline", std::nullopt, nullptr,
                      [](const Request&, Responder respond) {
                        respond(Response::Text(200, "inline"));
                        respond(Response::Text(200, "second answer is ignored"));
                      }}));
    Must(router_.Add({"GET", "/async-late", "async_late", std::nullopt, nullptr,
                      [this](const Request&, Responder respond) { kept_ = std::move(respond); }}));
  }

  static void Must(const core::Status& s) { ASSERT_TRUE(s) << s.error(); }

  ProcessResult Process(std::string_view bytes, ProcessOptions options = {}) {
    return ProcessRequestBytes(bytes, router_, limits_, options);
  }

  Router router_;
  config::LimitsConfig limits_;
  std::atomic<int> calls_{0};
  Request last_;
  Responder kept_;
};

TEST_F(RequestPathTest, AsyncHandlerThatAnswersInlineIsServed) {
  auto r = Process("GET /async-inline HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 200);
  EXPECT_EQ(r.responses[0].response.body, "inline");
}

TEST_F(RequestPathTest, AsyncHandlerThatAnswersLaterGets500WithoutSockets) {
  auto r = Process("GET /async-late HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 500);
  kept_(Response::Text(200, "too late"));  // must be harmless
}

TEST_F(RequestPathTest, AnswersGetWithServerHeaders) {
  ProcessOptions options;
  options.now = std::chrono::system_clock::from_time_t(784111777);
  std::string request = "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing: V\r\n\r\n";
  auto r = Process(request, options);
  ASSERT_EQ(r.responses.size(), 1u);
  const ProcessedRequest& p = r.responses[0];
  EXPECT_EQ(p.response.status, 200);
  EXPECT_EQ(p.response.body, "hi");
  EXPECT_EQ(p.route, "hello");
  EXPECT_TRUE(p.keep_alive);
  EXPECT_FALSE(p.rejection.has_value());
  EXPECT_EQ(HeaderOf(p.response, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderOf(p.response, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(p.response, "Strict-Transport-Security"), "max-age=63072000");
  EXPECT_EQ(HeaderOf(p.response, "Date"), "Sun, 06 Nov 1994 08:49:37 GMT");
  std::string id = HeaderOf(p.response, "X-Correlation-Id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(last_.correlation_id, id);
  EXPECT_EQ(last_.path, "/hello");
  EXPECT_EQ(last_.query, "x=1");
  EXPECT_EQ(last_.target, "/hello?x=1");
  EXPECT_EQ(last_.Header("x-thing"), "V");
  EXPECT_THAT(last_.headers, UnorderedElementsAre(Pair("host", "a"), Pair("x-thing", "V")));
  EXPECT_EQ(last_.remote_address, "192.0.2.1");
  EXPECT_THAT(p.wire, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(p.wire, HasSubstr("Content-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(p.wire, HasSubstr("Content-Length: 2\r\n"));
  EXPECT_EQ(r.consumed, request.size());
}

TEST_F(RequestPathTest, OmitsHstsWithoutTls) {
  ProcessOptions options;
  options.tls = false;
  auto r = Process("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", options);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(HeaderOf(r.responses[0].response, "Strict-Transport-Security"), "<absent>");
}

TEST_F(RequestPathTest, EchoesValidCorrelationId) {
  auto r = Process("GET /hello HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: abc.DEF_1-2\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(HeaderOf(r.responses[0].response, "X-Correlation-Id"), "abc.DEF_1-2");
  EXPECT_EQ(last_.correlation_id, "abc.DEF_1-2");
}

TEST_F(RequestPathTest, ReplacesInvalidCorrelationId) {
  std::string too_long(65, 'a');
  for (const std::string& bad :
       {std::string("a b"), too_long, std::string("x;y"), std::string("\xc3\xa9")}) {
    auto r = Process("GET /hello HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: " + bad + "\r\n\r\n");
    ASSERT_EQ(r.responses.size(), 1u) << bad;
    std::string id = HeaderOf(r.responses[0].response, "X-Correlation-Id");
    EXPECT_NE(id, bad);
    EXPECT_EQ(id.size(), 32u);
  }
}

TEST(CorrelationId, ValidatesCharactersAndLength) {
  EXPECT_TRUE(IsValidCorrelationId("a"));
  EXPECT_TRUE(IsValidCorrelationId(std::string(64, 'Z')));
  EXPECT_TRUE(IsValidCorrelationId("req-1.2_3"));
  EXPECT_FALSE(IsValidCorrelationId(""));
  EXPECT_FALSE(IsValidCorrelationId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidCorrelationId("a/b"));
  EXPECT_FALSE(IsValidCorrelationId("a\nb"));
}

TEST(CorrelationId, NewIdsAreDistinctHex) {
  std::string a = NewCorrelationId();
  std::string b = NewCorrelationId();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.size(), 32u);
}

TEST_F(RequestPathTest, UnknownPathIs404AndKeepsConnection) {
  auto r = Process("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(p.response.status, 404);
  EXPECT_EQ(p.rejection, Rejection::kNotFound);
  EXPECT_EQ(p.route, "unmatched");
  EXPECT_TRUE(p.keep_alive);
  EXPECT_THAT(p.response.body, HasSubstr("\"error\":\"not_found\""));
}

TEST_F(RequestPathTest, WrongMethodIs405WithAllow) {
  auto r = Process("DELETE /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(p.response.status, 405);
  EXPECT_EQ(p.rejection, Rejection::kMethodNotAllowed);
  EXPECT_EQ(HeaderOf(p.response, "Allow"), "GET, POST");
  EXPECT_EQ(MessageOf(p.response), "DELETE is not allowed on /hello; use GET or POST");
  EXPECT_EQ(calls_, 0);
}

TEST_F(RequestPathTest, DeclaredBodyOverLimitIs413BeforeTheBodyArrives) {
  // Only the header: the refusal must not wait for (or read) the body.
  auto r = Process("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(p.response.status, 413);
  EXPECT_EQ(p.rejection, Rejection::kBodyTooLarge);
  EXPECT_EQ(p.route, "hello_post");
  EXPECT_FALSE(p.keep_alive);
  EXPECT_THAT(p.wire, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(MessageOf(p.response), "the body exceeds 64 bytes for this route");
  EXPECT_EQ(calls_, 0);
}

TEST_F(RequestPathTest, ChunkedBodyGrowingPastLimitIs413) {
  std::string chunk(40, 'x');
  std::string req = "POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  req += "28\r\n" + chunk + "\r\n28\r\n" + chunk + "\r\n0\r\n\r\n";
  auto r = Process(req);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 413);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RequestPathTest, ChunkedBodyWithinLimitReachesHandler) {
  std::string req =
      "POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto r = Process(req);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 201);
  EXPECT_EQ(last_.body, "hello world");
  EXPECT_EQ(r.consumed, req.size());
}

TEST_F(RequestPathTest, RouteBodyLimitAboveDefaultIsAccepted) {
  std::string body(3000, 'b');
  auto r = Process("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + body);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 200);
  EXPECT_EQ(r.responses[0].response.body, "3000");
}

TEST_F(RequestPathTest, HeadersOverLimitAre431) {
  std::string big(2000, 'h');
  auto r = Process("GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(p.response.status, 431);
  EXPECT_EQ(p.rejection, Rejection::kHeaderTooLarge);
  EXPECT_EQ(p.route, "unmatched");
  EXPECT_FALSE(p.keep_alive);
  EXPECT_EQ(MessageOf(p.response), "request headers exceed 1024 bytes; send smaller headers");
}

TEST_F(RequestPathTest, IncompleteHeaderOverLimitIs431) {
  // No end of header yet, but already past the limit: no need to wait for more.
  auto r = Process("GET /hello HTTP/1.1\r\nX-Big: " + std::string(2000, 'h'));
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 431);
}

TEST_F(RequestPathTest, MalformedRequestsAre400AndClose) {
  for (const std::string& bad :
       {std::string("G@T /hello HTTP/1.1\r\nHost: a\r\n\r\n"),
        std::string("GET /hello HTTP/9.9\r\nHost: a\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\n\r\n"),  // no Host
        std::string("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                    "Content-Length: 2\r\n\r\nab"),
        std::string("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    auto r = Process(bad);
    ASSERT_EQ(r.responses.size(), 1u) << bad;
    EXPECT_EQ(r.responses[0].response.status, 400) << bad;
    EXPECT_EQ(r.responses[0].rejection, Rejection::kBadRequest) << bad;
    EXPECT_FALSE(r.responses[0].keep_alive) << bad;
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(RequestPathTest, ThrowingHandlerGives500) {
  auto r = Process("GET /throw HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: c1\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(p.response.status, 500);
  EXPECT_TRUE(p.handler_ran);
  EXPECT_FALSE(p.rejection.has_value());
  EXPECT_EQ(p.route, "throw");
  EXPECT_THAT(p.response.body, HasSubstr("\"error\":\"internal\""));
  EXPECT_THAT(p.response.body, HasSubstr("c1"));
  EXPECT_THAT(p.response.body, Not(HasSubstr("boom")));  // no internals to the client
}

TEST_F(RequestPathTest, InvalidHandlerStatusGives500) {
  auto r = Process("GET /status42 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 500);
}

TEST_F(RequestPathTest, NoContentResponseHasNoBody) {
  auto r = Process("GET /empty HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 204);
  EXPECT_THAT(r.responses[0].wire, Not(HasSubstr("dropped")));
}

TEST_F(RequestPathTest, HandlerCannotForgeServerHeadersOrInjectLines) {
  auto r = Process("GET /evil HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: mine\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  const auto& p = r.responses[0];
  EXPECT_EQ(HeaderOf(p.response, "X-Correlation-Id"), "mine");
  EXPECT_EQ(HeaderOf(p.response, "X-Kept"), "yes");
  EXPECT_EQ(HeaderOf(p.response, "X-Split"), "<absent>");
  EXPECT_EQ(HeaderOf(p.response, "Bad Name"), "<absent>");
  EXPECT_THAT(p.wire, Not(HasSubstr("forged")));
  EXPECT_THAT(p.wire, Not(HasSubstr("injected")));
  EXPECT_THAT(p.wire, Not(HasSubstr("X-Injected")));
  EXPECT_THAT(p.wire, HasSubstr("Content-Length: 1\r\n"));
  EXPECT_THAT(p.wire, HasSubstr("Content-Type: application/octet-stream\r\n"));
}

TEST_F(RequestPathTest, AnswersPipelinedRequestsInOrder) {
  std::string two =
      "GET /hello HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: one\r\n\r\n"
      "POST /hello HTTP/1.1\r\nHost: a\r\nX-Correlation-Id: two\r\nContent-Length: 3\r\n\r\nabc";
  auto r = Process(two);
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_EQ(r.responses[0].response.status, 200);
  EXPECT_EQ(HeaderOf(r.responses[0].response, "X-Correlation-Id"), "one");
  EXPECT_EQ(r.responses[1].response.status, 201);
  EXPECT_EQ(HeaderOf(r.responses[1].response, "X-Correlation-Id"), "two");
  EXPECT_EQ(last_.body, "abc");
  EXPECT_EQ(r.consumed, two.size());
  EXPECT_FALSE(r.incomplete);
}

TEST_F(RequestPathTest, StopsAfterConnectionClose) {
  auto r = Process(
      "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_FALSE(r.responses[0].keep_alive);
  EXPECT_THAT(r.responses[0].wire, HasSubstr("Connection: close\r\n"));
}

TEST_F(RequestPathTest, Http10ClosesUnlessKeepAliveAsked) {
  auto closes = Process("GET /hello HTTP/1.0\r\n\r\n");
  ASSERT_EQ(closes.responses.size(), 1u);
  EXPECT_FALSE(closes.responses[0].keep_alive);
  EXPECT_THAT(closes.responses[0].wire, HasSubstr("HTTP/1.0 200 OK\r\n"));
  auto keeps = Process("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ(keeps.responses.size(), 1u);
  EXPECT_TRUE(keeps.responses[0].keep_alive);
}

TEST_F(RequestPathTest, DrainingAnswersWithConnectionClose) {
  ProcessOptions options;
  options.draining = true;
  auto r = Process("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", options);
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].response.status, 200);
  EXPECT_FALSE(r.responses[0].keep_alive);
  EXPECT_THAT(r.responses[0].wire, HasSubstr("Connection: close\r\n"));
}

TEST_F(RequestPathTest, ClosesAfterMaxRequestsPerConnection) {
  limits_.max_requests_per_connection = 2;
  std::string one = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r = Process(one + one + one);
  ASSERT_EQ(r.responses.size(), 2u);
  EXPECT_TRUE(r.responses[0].keep_alive);
  EXPECT_FALSE(r.responses[1].keep_alive);
}

TEST_F(RequestPathTest, IncompleteRequestWaitsForMore) {
  auto header_part = Process("GET /hello HTTP/1.1\r\nHo");
  EXPECT_TRUE(header_part.responses.empty());
  EXPECT_TRUE(header_part.incomplete);
  auto body_part = Process("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(body_part.responses.empty());
  EXPECT_TRUE(body_part.incomplete);
  EXPECT_EQ(calls_, 0);
}

TEST_F(RequestPathTest, HeadGetsHeadersWithoutBody) {
  ASSERT_TRUE(router_.Add({"HEAD", "/hello", "hello_head", std::nullopt,
                           [](const Request&) { return Response::Text(200, "12345"); }}));
  auto r = Process("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_THAT(r.responses[0].wire, HasSubstr("Content-Length: 5\r\n"));
  // Nothing after the header block: the body is not sent. (Not a substring check on
  // "12345": the random correlation id may contain those digits.)
  EXPECT_THAT(r.responses[0].wire, ::testing::EndsWith("\r\n\r\n"));
}

TEST(Rejection, ReasonsAndStatusesAreStable) {
  EXPECT_EQ(RejectionReason(Rejection::kHeaderTooLarge), "header_too_large");
  EXPECT_EQ(RejectionReason(Rejection::kBodyTooLarge), "body_too_large");
  EXPECT_EQ(RejectionReason(Rejection::kReadTimeout), "read_timeout");
  EXPECT_EQ(RejectionReason(Rejection::kConnectionLimit), "connection_limit");
  EXPECT_EQ(RejectionReason(Rejection::kTlsHandshake), "tls_handshake");
  EXPECT_EQ(RejectionReason(Rejection::kBadRequest), "bad_request");
  EXPECT_EQ(RejectionReason(Rejection::kMethodNotAllowed), "method_not_allowed");
  EXPECT_EQ(RejectionReason(Rejection::kNotFound), "not_found");
  EXPECT_EQ(RejectionStatus(Rejection::kHeaderTooLarge), 431);
  EXPECT_EQ(RejectionStatus(Rejection::kBodyTooLarge), 413);
  EXPECT_EQ(RejectionStatus(Rejection::kReadTimeout), 408);
  EXPECT_EQ(RejectionStatus(Rejection::kConnectionLimit), 503);
  EXPECT_EQ(RejectionStatus(Rejection::kBadRequest), 400);
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(FormatHttpDate(std::chrono::system_clock::from_time_t(784111777)),
            "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace opsgate::http
