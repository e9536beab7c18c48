#include "opsgate/aws/sts.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "opsgate/aws/testing/fakes.h"
#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue1234";
constexpr std::string_view kRole = "arn:aws:iam::123456789012:role/opsgate-ec2-stop";

const char* kOkResponse = R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/opsgate-ec2-stop/alice-c1</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:alice-c1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAJEXAMPLEXEG2JICEA</AccessKeyId>
      <SecretAccessKey>9drTJvcXLB89EXAMPLELB8923FB892xMFI</SecretAccessKey>
      <SessionToken>AQoXdzELDDY//////////wEaoAK1wvxJY12r2IrDFT2IvAzTCn3zHoZ7YNtpiQLF0MqZye/qwjzP2iEXAMPLE</SessionToken>
      <Expiration>2023-11-14T23:13:20Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>)";

Credentials Caller(bool with_token) {
  return testing::StaticCredentials(kSecret, with_token ? kToken : "");
}

AssumeRoleRequest Request() {
  AssumeRoleRequest r;
  r.role_arn = std::string(kRole);
  r.role_session_name = "alice-c1";
  r.duration = std::chrono::seconds(900);
  r.policy = R"({"Version":"2012-10-17"})";
  r.source_identity = "alice";
  r.external_id = "ext-1";
  r.tags = {{"platform", "slack"}, {"channel", "C123"}};
  return r;
}

void ExpectNoSecrets(const std::string& message) {
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
  EXPECT_EQ(message.find(kToken), std::string::npos) << message;
}

class StsTest : public ::testing::Test {
 protected:
  opsgate::testing::FakeClock clock_{1'700'000'000};  // 2023-11-14T22:13:20Z
  http::testing::FakeHttpClient http_;
};

TEST_F(StsTest, AssumeRoleSendsSignedFormRequest) {
  http_.PushResponse(200, kOkResponse);
  SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
  auto r = sts.AssumeRoleDetailed(Request(), Caller(true));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(http_.RequestCount(), 1u);
  const auto requests = http_.Requests();
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://sts.eu-west-1.amazonaws.com/");
  EXPECT_EQ(req.Header("Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(req.body,
            "Action=AssumeRole&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fopsgate-ec2-stop"
            "&RoleSessionName=alice-c1&DurationSeconds=900&ExternalId=ext-1"
            "&Policy=%7B%22Version%22%3A%222012-10-17%22%7D&SourceIdentity=alice"
            "&Tags.member.1.Key=platform&Tags.member.1.Value=slack"
            "&Tags.member.2.Key=channel&Tags.member.2.Value=C123");
  auto auth = req.Header("Authorization");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->rfind(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/sts/aws4_request, ", 0),
            0u)
      << *auth;
  EXPECT_NE(auth->find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(req.Header("X-Amz-Security-Token"), std::string(kToken));
  EXPECT_EQ(req.Header("X-Amz-Date"), "20231114T221320Z");

  EXPECT_EQ(r->assumed_role_arn,
            "arn:aws:sts::123456789012:assumed-role/opsgate-ec2-stop/alice-c1");
  EXPECT_EQ(r->assumed_role_id, "AROA3XFRBF535PLBIFPI4:alice-c1");
  EXPECT_EQ(r->source_identity, "alice");
  EXPECT_EQ(r->packed_policy_size, 6);
  EXPECT_EQ(r->request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
  EXPECT_EQ(r->credentials.access_key_id, "ASIAJEXAMPLEXEG2JICEA");
  EXPECT_EQ(r->credentials.secret_access_key.Reveal(), "9drTJvcXLB89EXAMPLELB8923FB892xMFI");
  ASSERT_TRUE(r->credentials.session_token);
  EXPECT_EQ(r->credentials.session_token->Reveal().substr(0, 8), "AQoXdzEL");
  ASSERT_TRUE(r->credentials.expires_at);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(
                r->credentials.expires_at->time_since_epoch())
                .count(),
            1'700'003'600);
}

TEST_F(StsTest, NoSecurityTokenWithoutSessionTokenAndCustomEndpoint) {
  http_.PushResponse(200, kOkResponse);
  SigV4StsClient sts(http_,
                     testing::EnvFrom({{"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566/aws"},
                                       {"AWS_REGION", "us-east-2"}}),
                     clock_, "");
  AssumeRoleRequest req;
  req.role_arn = std::string(kRole);
  req.role_session_name = "bob";
  auto r = sts.AssumeRole(req, Caller(false));
  ASSERT_TRUE(r) << r.error().message;
  const auto requests = http_.Requests();
  const auto& sent = requests[0];
  EXPECT_EQ(sent.url, "http://127.0.0.1:4566/aws/");
  EXPECT_FALSE(sent.Header("X-Amz-Security-Token"));
  auto auth = sent.Header("Authorization");
  ASSERT_TRUE(auth);
  EXPECT_NE(auth->find("/us-east-2/sts/aws4_request"), std::string::npos);
  EXPECT_EQ(sent.body,
            "Action=AssumeRole&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fopsgate-ec2-stop"
            "&RoleSessionName=bob");
}

TEST_F(StsTest, WebIdentityIsUnsigned) {
  std::string body = kOkResponse;
  for (std::string from : {"AssumeRoleResponse", "AssumeRoleResult"}) {
    std::string to = "AssumeRoleWithWebIdentity" + from.substr(10);
    for (size_t p = body.find(from); p != std::string::npos; p = body.find(from, p + to.size())) {
      body.replace(p, from.size(), to);
    }
  }
  http_.PushResponse(200, body);
  SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
  AssumeRoleWithWebIdentityRequest req{std::string(kRole), "eks-pod",
                                       core::Secret("eyJhbGciOiJSUzI1NiJ9.payload.sig"),
                                       std::chrono::seconds(3600)};
  auto r = sts.AssumeRoleWithWebIdentityDetailed(req);
  ASSERT_TRUE(r) << r.error().message;
  const auto requests = http_.Requests();
  const auto& sent = requests[0];
  EXPECT_FALSE(sent.Header("Authorization"));
  EXPECT_EQ(sent.body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fopsgate-ec2-stop"
            "&RoleSessionName=eks-pod&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.payload.sig"
            "&DurationSeconds=3600");
  EXPECT_EQ(r->assumed_role_arn,
            "arn:aws:sts::123456789012:assumed-role/opsgate-ec2-stop/alice-c1");
}

struct ErrorCase {
  int status;
  std::string code;
  core::ErrorCode want;
  std::string must_contain;
};

TEST_F(StsTest, ErrorMapping) {
  const std::vector<ErrorCase> cases = {
      {403, "AccessDenied", core::ErrorCode::kPermissionDenied, std::string(kRole)},
      {400, "ExpiredToken", core::ErrorCode::kUnauthenticated, "expired"},
      {403, "InvalidClientTokenId", core::ErrorCode::kUnauthenticated, "not accepted"},
      {403, "RegionDisabledException", core::ErrorCode::kFailedPrecondition, "not activated"},
      {400, "MalformedPolicyDocument", core::ErrorCode::kInvalidArgument, "malformed"},
      {400, "PackedPolicyTooLarge", core::ErrorCode::kInvalidArgument, "too large"},
      {400, "ValidationError", core::ErrorCode::kInvalidArgument, "invalid"},
      {400, "Throttling", core::ErrorCode::kUnavailable, "throttled"},
      {400, "RequestExpired", core::ErrorCode::kFailedPrecondition, "clock"},
      {500, "InternalFailure", core::ErrorCode::kUnavailable, "unavailable"},
      {400, "SomethingNew", core::ErrorCode::kFailedPrecondition, "SomethingNew"},
  };
  for (const auto& c : cases) {
    // AWS's message quoting the secret must come back scrubbed.
    http_.PushResponse(c.status,
                       "<ErrorResponse><Error><Type>Sender</Type><Code>" + c.code +
                           "</Code><Message>bad " + std::string(kSecret) + " and " +
                           std::string(kToken) +
                           "</Message></Error><RequestId>rid-9</RequestId></ErrorResponse>");
    SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
    auto r = sts.AssumeRole(Request(), Caller(true));
    ASSERT_FALSE(r) << c.code;
    EXPECT_EQ(r.error().code, c.want) << c.code << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.must_contain), std::string::npos)
        << c.code << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("rid-9"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.code), std::string::npos) << r.error().message;
    ExpectNoSecrets(r.error().message);
  }
}

TEST_F(StsTest, ClockSkewReportsMeasuredOffset) {
  http_.PushResponse(
      403,
      R"(<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Signature expired: 20231114T221320Z is now earlier than 20231114T222320Z (20231114T223820Z - 15 min.)</Message></Error></ErrorResponse>)");
  SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
  auto r = sts.AssumeRole(Request(), Caller(false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("offset 1500 s"), std::string::npos) << r.error().message;
}

TEST_F(StsTest, WebIdentityErrorsNeverContainTheToken) {
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2ln";
  for (std::string code : {"InvalidIdentityToken", "ExpiredTokenException", "IDPRejectedClaim",
                           "IDPCommunicationError", "AccessDenied"}) {
    http_.PushResponse(400, "<ErrorResponse><Error><Code>" + code + "</Code><Message>token " +
                                token + " rejected</Message></Error></ErrorResponse>");
    SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
    auto r = sts.AssumeRoleWithWebIdentity(
        {std::string(kRole), "eks-pod", core::Secret(token), std::nullopt});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.find(token), std::string::npos) << r.error().message;
  }
}

TEST_F(StsTest, TransportAndMalformedResponses) {
  SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
  http_.PushError(core::Unavailable("connect failed to sts.eu-west-1.amazonaws.com"));
  auto t = sts.AssumeRole(Request(), Caller(true));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, core::ErrorCode::kUnavailable);

  http_.PushResponse(200, "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>");
  auto m = sts.AssumeRole(Request(), Caller(true));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, core::ErrorCode::kDataLoss);

  http_.PushResponse(200, "not xml");
  auto x = sts.AssumeRole(Request(), Caller(true));
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().code, core::ErrorCode::kDataLoss);

  http_.PushResponse(503, "<html>busy</html>");
  auto u = sts.AssumeRole(Request(), Caller(true));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, core::ErrorCode::kUnavailable);
  ExpectNoSecrets(u.error().message);
}

TEST_F(StsTest, LocalValidation) {
  SigV4StsClient sts(http_, testing::EnvFrom({}), clock_, "eu-west-1");
  auto req = Request();
  req.duration = std::chrono::seconds(60);
  EXPECT_EQ(sts.AssumeRole(req, Caller(false)).error().code, core::ErrorCode::kInvalidArgument);
  req = Request();
  req.role_session_name = "has space";
  EXPECT_EQ(sts.AssumeRole(req, Caller(false)).error().code, core::ErrorCode::kInvalidArgument);
  req = Request();
  req.role_arn = "role";
  EXPECT_EQ(sts.AssumeRole(req, Caller(false)).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(http_.RequestCount(), 0u);

  // Expired caller credentials: refused before sending, without the secret.
  auto caller = Caller(true);
  caller.expires_at = clock_.Now() - std::chrono::seconds(1);
  auto r = sts.AssumeRole(Request(), caller);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
  ExpectNoSecrets(r.error().message);
  EXPECT_EQ(http_.RequestCount(), 0u);

  // No region anywhere.
  SigV4StsClient no_region(http_, testing::EnvFrom({}), clock_, "");
  EXPECT_FALSE(no_region.AssumeRole(Request(), Caller(false)));
}

TEST(AuthorizationMessageTest, FindsTheEncodedPartAndSaysWhatWasRefused) {
  EXPECT_EQ(EncodedAuthorizationMessage(
                "You are not authorized to perform this operation. Encoded authorization "
                "failure message: AbC+/12= trailing"),
            "AbC+/12=");
  EXPECT_EQ(EncodedAuthorizationMessage("You are not authorized to perform this operation."), "");
  EXPECT_EQ(DescribeDecodedAuthorization(
                R"({"allowed":false,"explicitDeny":false,"context":{"action":"ec2:StopInstances",)"
                R"("resource":"arn:aws:ec2:eu-west-1:1:instance/i-1"}})"),
            "ec2:StopInstances on arn:aws:ec2:eu-west-1:1:instance/i-1 (no policy allows it)");
  EXPECT_EQ(DescribeDecodedAuthorization(
                R"({"explicitDeny":true,"context":{"action":"ec2:StopInstances"}})"),
            "ec2:StopInstances (an explicit deny in a policy matched)");
  EXPECT_EQ(DescribeDecodedAuthorization("not json"), "");
  EXPECT_EQ(DescribeDecodedAuthorization(R"({"context":{}})"), "");
}

}  // namespace
}  // namespace opsgate::aws
