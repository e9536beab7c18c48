// File: opsgate/aws/api_client_test.cc
#include "opsgate/aws/api_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "opsgate/aws/testing/fakes.h"
#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

constexpr std::string_view kApiSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kApiToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+value/1234==";

Credentials ApiCreds(bool with_token) {
  return testing::StaticCredentials(kApiSecret, with_token ? kApiToken : "");
}

std::string Ec2Error(std::string_view code, std::string_view message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" +
         std::string(code) + "</Code><Message>" + std::string(message) +
         "</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID>"
         "</Response>";
}

std::string QueryErrorBody(std::string_view code, std::string_view message) {
  return "<ErrorResponse xmlns=\"https://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error>"
         "<Type>Sender</Type><Code>" +
         std::string(code) + "</Code><Message>" + std::string(message) +
         "</Message></Error><RequestId>c6104cbe-example</RequestId></ErrorResponse>";
}

ApiCall Ec2Call(std::string region = "eu-west-1") {
  return ApiCall::Query("ec2", std::move(region), "StopInstances",
                        "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0abc");
}

ApiCall WafCall() {
  return ApiCall::Json("wafv2", "eu-west-1", "GetIPSet", "AWSWAF_20190729.GetIPSet",
                       R"({"Name":"n","Scope":"REGIONAL","Id":"i"})");
}

class ApiClientTest : public ::testing::Test {
 protected:
  ApiClient Client(int max_attempts = 3, std::map<std::string, std::string> env = {}) {
    ApiClient::Options o;
    o.max_attempts = max_attempts;
    o.sleep = [this](std::chrono::milliseconds d) { sleeps_.push_back(d); };
    o.random = [] { return 0.5; };
    return ApiClient(http_, testing::EnvFrom(std::move(env)), clock_, o);
  }

  std::vector<std::chrono::milliseconds> ExpectedSleeps(int n) const {
    std::vector<std::chrono::milliseconds> out;
    for (int i = 1; i <= n; ++i) {
      out.push_back(
          BackoffDelay(i, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 0.5));
    }
    return out;
  }

  opsgate::testing::FakeClock clock_{1'700'000'000};  // 2023-11-14T22:13:20Z
  http::testing::FakeHttpClient http_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

TEST_F(ApiClientTest, QueryRequestToCustomEndpoint) {
  http_.PushResponse(200, "<StopInstancesResponse/>");
  ApiClient api =
      Client(3, {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9999"}, {"AWS_REGION", "eu-central-1"}});
  auto r = api.Call(Ec2Call(""), ApiCreds(true));
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(*r, "<StopInstancesResponse/>");
  ASSERT_EQ(http_.RequestCount(), 1u);
  const auto req = http_.Requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://127.0.0.1:9999/");
  EXPECT_EQ(req.body, "Action=StopInstances&Version=2016-11-15&InstanceId.1=i-0abc");
  EXPECT_EQ(req.Header("Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_FALSE(req.Header("X-Amz-Target"));
  EXPECT_EQ(req.Header("X-Amz-Date"), "20231114T221320Z");
  EXPECT_EQ(req.Header("X-Amz-Security-Token"), std::string(kApiToken));
  auto auth = req.Header("Authorization");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->rfind("AWS4-HMAC-SHA256 "
                        "Credential=AKIDEXAMPLE/20231114/eu-central-1/ec2/aws4_request, ",
                        0),
            0u)
      << *auth;
  EXPECT_NE(auth->find("x-amz-security-token"), std::string::npos) << *auth;
  EXPECT_EQ(auth->find(kApiSecret), std::string::npos);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ApiClientTest, JsonRequestHasTargetAndNoTokenWithoutSession) {
  http_.PushResponse(200, R"({"ok":true})");
  clock_.Advance(std::chrono::hours(24 * 365 * 3));  // 2026-11-13
  ApiClient api = Client(3, {{"AWS_ENDPOINT_URL_WAFV2", "http://127.0.0.1:9999/waf"}});
  auto r = api.Call(WafCall(), ApiCreds(false));
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(*r, R"({"ok":true})");
  const auto req = http_.Requests()[0];
  EXPECT_EQ(req.url, "http://127.0.0.1:9999/waf/");
  EXPECT_EQ(req.Header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(req.Header("X-Amz-Target"), "AWSWAF_20190729.GetIPSet");
  EXPECT_EQ(req.Header("X-Amz-Date"), "20261113T221320Z");
  EXPECT_FALSE(req.Header("X-Amz-Security-Token"));
  auto auth = req.Header("Authorization");
  ASSERT_TRUE(auth);
  EXPECT_NE(auth->find("Credential=AKIDEXAMPLE/20261113/eu-west-1/wafv2/aws4_request"),
            std::string::npos)
      << *auth;
  EXPECT_NE(auth->find("x-amz-target"), std::string::npos) << *auth;
}

TEST_F(ApiClientTest, NoRegionFailsBeforeSending) {
  ApiClient api = Client();
  auto r = api.Call(Ec2Call(""), ApiCreds(false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().error.message.find("AWS_REGION"), std::string::npos)
      << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 0u);
}

struct ThrottleCase {
  std::string name;
  int status;
  std::string body;
  bool json;
  std::string code;
};

TEST_F(ApiClientTest, ThrottlingIsRetriedWithBackoffThenGivesUp) {
  const std::vector<ThrottleCase> cases = {
      {"ec2", 503, Ec2Error("RequestLimitExceeded", "Request limit exceeded."), false,
       "RequestLimitExceeded"},
      {"query", 400, QueryErrorBody("Throttling", "Rate exceeded"), false, "Throttling"},
      {"json", 400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})", true,
       "ThrottlingException"},
      {"429", 429, "", false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    http::testing::FakeHttpClient http;
    std::vector<std::chrono::milliseconds> sleeps;
    ApiClient::Options o;
    o.max_attempts = 3;
    o.sleep = [&](std::chrono::milliseconds d) { sleeps.push_back(d); };
    o.random = [] { return 0.5; };
    ApiClient api(http, testing::EnvFrom({}), clock_, o);
    http.SetDefault(http::testing::FakeHttpClient::Response(c.status, c.body));
    auto r = api.Call(c.json ? WafCall() : Ec2Call(), ApiCreds(false));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kUnavailable);
    EXPECT_TRUE(r.error().throttling);
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().http_status, c.status);
    EXPECT_EQ(r.error().attempts, 3);
    EXPECT_NE(r.error().error.message.find("gave up after 3 attempts"), std::string::npos)
        << r.error().error.message;
    EXPECT_EQ(http.RequestCount(), 3u);
    EXPECT_EQ(sleeps, ExpectedSleeps(2));
    EXPECT_EQ(sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(100),
                                                              std::chrono::milliseconds(200)}));
  }
}

TEST_F(ApiClientTest, ThrottledThenSucceeds) {
  http_.PushResponse(503, Ec2Error("RequestLimitExceeded", "Request limit exceeded."));
  http_.PushResponse(429);
  http_.PushResponse(200, "ok");
  ApiClient api = Client(4);
  auto r = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(*r, "ok");
  EXPECT_EQ(http_.RequestCount(), 3u);
  EXPECT_EQ(sleeps_, ExpectedSleeps(2));
}

TEST_F(ApiClientTest, ServerErrorsOfWritesThatSayNoAreNotRetriedButThrottlingIs) {
  ApiCall write = Ec2Call();
  write.retry_server_errors = false;
  http_.PushResponse(500, Ec2Error("InternalError", "An internal error has occurred"));
  auto r = Client().Call(write, ApiCreds(false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(http_.RequestCount(), 1u);
  http_.PushResponse(503, Ec2Error("RequestLimitExceeded", "Request limit exceeded."));
  http_.PushResponse(200, "ok");
  EXPECT_TRUE(Client().Call(write, ApiCreds(false)));
  EXPECT_EQ(http_.RequestCount(), 3u);
}

TEST_F(ApiClientTest, ServerErrorsAreRetried) {
  http_.PushResponse(500, Ec2Error("InternalError", "An internal error has occurred"));
  http_.PushResponse(200, "ok");
  ApiClient api = Client();
  auto r = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 2u);

  http::testing::FakeHttpClient http;
  http.SetDefault(http::testing::FakeHttpClient::Response(502, "<html>Bad Gateway</html>"));
  ApiClient::Options o;
  o.max_attempts = 2;
  o.sleep = [](std::chrono::milliseconds) {};
  o.random = [] { return 0.0; };
  ApiClient api2(http, testing::EnvFrom({}), clock_, o);
  auto r2 = api2.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().error.code, core::ErrorCode::kUnavailable);
  EXPECT_FALSE(r2.error().throttling);
  EXPECT_EQ(r2.error().attempts, 2);
  EXPECT_EQ(r2.error().error.message.find("Bad Gateway"), std::string::npos)
      << r2.error().error.message;
  EXPECT_EQ(http.RequestCount(), 2u);
}

TEST_F(ApiClientTest, ClientErrorsAreNotRetried) {
  http_.PushResponse(400, Ec2Error("InvalidParameterValue", "Value (x) for parameter is invalid"));
  ApiClient api = Client();
  auto r = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(r.error().request_id, "ea966190-f9aa-478e-9ede-example");
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ApiClientTest, TransportUnavailableIsRetriedDeadlineIsNot) {
  http_.PushError(core::Unavailable("connect: connection refused"));
  http_.PushResponse(200, "ok");
  ApiClient api = Client();
  auto r = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_TRUE(r) << r.error().error.message;
  EXPECT_EQ(http_.RequestCount(), 2u);
  EXPECT_EQ(sleeps_, ExpectedSleeps(1));

  http_.PushError(core::DeadlineExceeded("read timed out after 10 s"));
  http_.PushResponse(200, "not reached");
  auto d = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().error.code, core::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(d.error().attempts, 1);
  EXPECT_EQ(d.error().code, "");
  EXPECT_EQ(http_.RequestCount(), 3u);

  http::testing::FakeHttpClient down;
  down.SetDefault(core::Fail(core::Unavailable("connect: connection refused")));
  ApiClient::Options o;
  o.max_attempts = 3;
  o.sleep = [](std::chrono::milliseconds) {};
  ApiClient api2(down, testing::EnvFrom({}), clock_, o);
  auto u = api2.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().error.code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(u.error().attempts, 3);
  EXPECT_EQ(down.RequestCount(), 3u);
}

struct MappingCase {
  int status;
  std::string code;
  std::string message;
  core::ErrorCode want;
  std::vector<std::string> must_contain;
};

TEST_F(ApiClientTest, ErrorMapping) {
  const std::string encoded =
      "You are not authorized to perform this operation. Encoded authorization failure "
      "message: 4GIOHlTkIaWHQD0Q0m6XSnuUMCm-qpWq8aXmcRKAdXDWjnTfLNOC";
  const std::vector<MappingCase> cases = {
      {403,
       "UnauthorizedOperation",
       encoded,
       core::ErrorCode::kPermissionDenied,
       {encoded, "UnauthorizedOperation", "ec2 StopInstances"}},
      {400,
       "InvalidInstanceID.NotFound",
       "The instance ID 'i-0abc' does not exist",
       core::ErrorCode::kNotFound,
       {"i-0abc", "InvalidInstanceID.NotFound"}},
      {400,
       "IncorrectInstanceState",
       "This instance 'i-0abc' is not in a state from which it can be stopped.",
       core::ErrorCode::kFailedPrecondition,
       {"IncorrectInstanceState"}},
      {400,
       "RequestExpired",
       "Request has expired. Timestamp date is 20261127T000000Z",
       core::ErrorCode::kFailedPrecondition,
       {"clock", "RequestExpired", "20261127T000000Z"}},
      {403,
       "SignatureDoesNotMatch",
       "Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z "
       "(20260101T002500Z - 15 min.)",
       core::ErrorCode::kFailedPrecondition,
       {"clock", "measured offset 1500 s"}},
      {401,
       "AuthFailure",
       "AWS was not able to validate the provided access credentials",
       core::ErrorCode::kUnauthenticated,
       {"AuthFailure"}},
      {403,
       "SignatureDoesNotMatch",
       "The request signature we calculated does not match",
       core::ErrorCode::kUnauthenticated,
       {"SignatureDoesNotMatch"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.code + ": " + c.message);
    http_.PushResponse(c.status, Ec2Error(c.code, c.message));
    ApiClient api = Client();
    auto r = api.Call(Ec2Call(), ApiCreds(true));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error.code, c.want) << r.error().error.message;
    EXPECT_EQ(r.error().code, c.code);
    EXPECT_EQ(r.error().aws_message, c.message);
    EXPECT_EQ(r.error().attempts, 1);
    for (const auto& s : c.must_contain) {
      EXPECT_NE(r.error().error.message.find(s), std::string::npos)
          << "missing \"" << s << "\" in " << r.error().error.message;
    }
  }
}

TEST_F(ApiClientTest, ClockSkewFields) {
  http_.PushResponse(403, Ec2Error("SignatureDoesNotMatch",
                                   "Signature expired: 20260101T000000Z is now earlier than "
                                   "20260101T001000Z (20260101T002500Z - 15 min.)"));
  http_.PushResponse(
      400, Ec2Error("RequestExpired", "Request has expired. Timestamp date is 20261127T000000Z"));
  ApiClient api = Client();
  auto r = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().clock_skew);
  ASSERT_TRUE(r.error().skew);
  EXPECT_EQ(r.error().skew->count(), 1500);
  auto e = api.Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().clock_skew);
  // The message names only the request's timestamp and there is no Date header: the
  // offset is unknown.
  EXPECT_FALSE(e.error().skew);
}

TEST_F(ApiClientTest, RequestExpiredOffsetFromDateHeader) {
  http_.PushResponse(
      400, Ec2Error("RequestExpired", "Request has expired. Timestamp date is 20231114T221320Z"),
      {{"date", "Tue, 14 Nov 2023 22:38:20 GMT"}});
  auto e = Client().Call(Ec2Call(), ApiCreds(false));
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().clock_skew);
  ASSERT_TRUE(e.error().skew);
  EXPECT_EQ(e.error().skew->count(), 1500);
  EXPECT_NE(e.error().error.message.find("measured offset 1500 s"), std::string::npos)
      << e.error().error.message;
}

TEST_F(ApiClientTest, SecretsNeverAppearInErrors) {
  const std::string quoted = "The security token " + std::string(kApiToken) + " signed with key " +
                             std::string(kApiSecret) + " is invalid";
  struct Body {
    int status;
    std::string body;
    bool json;
  };
  const std::vector<Body> bodies = {
      {403, Ec2Error("AuthFailure", quoted), false},
      {403, QueryErrorBody("InvalidClientTokenId", quoted), false},
      {400, R"({"__type":"UnrecognizedClientException","Message":")" + quoted + R"("})", true},
      {500, Ec2Error("InternalError", quoted), false},
  };
  for (const auto& b : bodies) {
    SCOPED_TRACE(b.body);
    http::testing::FakeHttpClient http;
    http.SetDefault(http::testing::FakeHttpClient::Response(b.status, b.body));
    ApiClient::Options o;
    o.max_attempts = 2;
    o.sleep = [](std::chrono::milliseconds) {};
    ApiClient api(http, testing::EnvFrom({}), clock_, o);
    auto r = api.Call(b.json ? WafCall() : Ec2Call(), ApiCreds(true));
    ASSERT_FALSE(r);
    for (const std::string& text : {r.error().error.message, r.error().aws_message}) {
      EXPECT_EQ(text.find(kApiSecret), std::string::npos) << text;
      EXPECT_EQ(text.find(kApiToken), std::string::npos) << text;
      EXPECT_NE(text.find("[redacted]"), std::string::npos) << text;
    }
  }
}

TEST_F(ApiClientTest, ErrorTypeHeaderNamesJsonCode) {
  http_.PushResponse(400, R"({"Message":"nope"})",
                     {{"x-amzn-errortype", "WAFNonexistentItemException:http://internal/"}});
  ApiClient api = Client();
  auto r = api.Call(WafCall(), ApiCreds(false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "WAFNonexistentItemException");
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().aws_message, "nope");
}

TEST(ApiClientBackoffTest, DoublesUpToTheCap) {
  const std::vector<int64_t> want = {200, 400, 800, 1600, 3200, 5000};
  for (int attempt = 1; attempt <= 6; ++attempt) {
    EXPECT_EQ(
        BackoffDelay(attempt, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 1.0)
            .count(),
        want[static_cast<size_t>(attempt - 1)])
        << attempt;
  }
  EXPECT_EQ(
      BackoffDelay(3, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 0.5).count(),
      400);
  EXPECT_EQ(
      BackoffDelay(3, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 0.0).count(),
      0);
  EXPECT_EQ(BackoffDelay(60, std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 1.0)
                .count(),
            5000);
}

}  // namespace
}  // namespace opsgate::aws
