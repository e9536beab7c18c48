// File: test/integration/aws_standin_test.cc
//
// opsgate's own AWS client code (SigV4StsClient, ApiClient over the curl HttpClient)
// against the local AWS stand-in (aws_standin.py), which checks every signature with
// Debian's python3-botocore. Skips without /usr/bin/python3 + botocore, except under
// CI=true where it fails.
#include "test/integration/aws_standin.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/query.h"
#include "opsgate/aws/sts.h"
#include "opsgate/core/clock.h"
#include "opsgate/http/client/curl_http_client.h"
#include "test/fakes/ci.h"

namespace opsgate::aws {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::AwsStandin;

constexpr const char* kAccount = "111111111111";
constexpr const char* kBaseKey = "AKIDSTANDIN";
constexpr const char* kBaseSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSTANDINKEY";
constexpr const char* kRole = "arn:aws:iam::111111111111:role/opsgate-ec2";
constexpr const char* kInstance = "i-0abc1234";
constexpr const char* kInstanceArn = "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234";
constexpr const char* kEc2Version = "2016-11-15";

std::string StateJson() {
  json::object s;
  s["account"] = kAccount;
  s["credentials"] = json::array{json::object{{"access_key_id", kBaseKey},
                                              {"secret_access_key", kBaseSecret},
                                              {"arn", "arn:aws:iam::111111111111:user/opsgate"}}};
  s["roles"] = json::array{kRole};
  s["instances"] = json::array{json::object{{"id", kInstance},
                                            {"state", "running"},
                                            {"type", "t3.micro"},
                                            {"name", "web-1"},
                                            {"region", "eu-west-1"},
                                            {"private_ip", "10.0.0.5"}},
                               json::object{{"id", "i-0def5678"},
                                            {"state", "running"},
                                            {"type", "t3.micro"},
                                            {"name", "web-2"},
                                            {"region", "eu-west-1"},
                                            {"private_ip", "10.0.0.6"}}};
  s["groups"] = json::array{json::object{
      {"name", "web"}, {"min", 1}, {"max", 10}, {"desired", 2}, {"region", "eu-west-1"}}};
  s["ip_sets"] = json::array{json::object{{"name", "blocked-ips"},
                                          {"id", "a1b2c3"},
                                          {"scope", "REGIONAL"},
                                          {"region", "eu-west-1"},
                                          {"version", "IPV4"},
                                          {"addresses", json::array{}}}};
  s["alarms"] = json::array{json::object{{"name", "cpu-high"},
                                         {"state", "ALARM"},
                                         {"reason", "Threshold crossed"},
                                         {"metric", "CPUUtilization"},
                                         {"namespace", "AWS/EC2"},
                                         {"region", "eu-west-1"}}};
  s["transition_polls"] = 2;
  s["max_skew_seconds"] = 300;
  return json::serialize(s);
}

// A JSON string's text (anything else serialized), for comparisons.
std::string S(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::string PolicyFor(const std::vector<std::pair<std::string, std::string>>& grants) {
  json::array statements;
  for (const auto& [action, resource] : grants) {
    statements.push_back(
        json::object{{"Effect", "Allow"}, {"Action", action}, {"Resource", resource}});
  }
  return json::serialize(json::object{{"Version", "2012-10-17"}, {"Statement", statements}});
}

class AwsStandinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!AwsStandin::Available()) {
      if (testing::InCi()) {
        FAIL() << "CI=true but /usr/bin/python3 with Debian's botocore (python3-botocore) or "
                  "aws_standin.py is missing";
      }
      GTEST_SKIP() << "needs /usr/bin/python3 with Debian's python3-botocore "
                      "(apt-get install python3-botocore) and aws_standin.py";
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("opsgate_aws_standin_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    standin_ = std::make_unique<AwsStandin>(dir_);
    auto err = standin_->Start(StateJson());
    ASSERT_FALSE(err.has_value()) << *err;
    http::CurlHttpClientOptions http_options;
    http_options.allow_http = true;
    auto http = http::CurlHttpClient::Create(http_options);
    ASSERT_TRUE(http.has_value()) << http.error().message;
    http_ = std::move(*http);
    const std::string url = standin_->url();
    env_ = [url](std::string_view name) -> std::optional<std::string> {
      if (name == "AWS_ENDPOINT_URL") {
        return url;
      }
      if (name == "AWS_REGION") {
        return std::string("eu-west-1");
      }
      return std::nullopt;
    };
    ApiClient::Options options;
    options.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard lock(sleeps_mu_);
      sleeps_.push_back(d);
    };
    options.random = [] { return 0.5; };
    api_ = std::make_unique<ApiClient>(*http_, env_, clock_, options);
  }

  void TearDown() override {
    if (standin_ != nullptr) {
      if (HasFailure()) {
        std::cerr << "---- stand-in log (" << (dir_ / "standin.log") << ") ----\n"
                  << standin_->Log() << "\n";
      }
      standin_->Stop();
      if (!HasFailure()) {
        fs::remove_all(dir_);
      }
    }
  }

  Credentials Base(std::string secret = kBaseSecret) const {
    Credentials c;
    c.access_key_id = kBaseKey;
    c.secret_access_key = core::Secret(std::move(secret));
    return c;
  }

  core::Result<AssumedRole> Assume(const std::string& policy) {
    SigV4StsClient sts(*http_, env_, clock_, "eu-west-1");
    return sts.AssumeRoleDetailed(Request("alice", policy), Base());
  }

  static AssumeRoleRequest Request(std::string session_name,
                                   std::optional<std::string> policy = std::nullopt) {
    AssumeRoleRequest req;
    req.role_arn = kRole;
    req.role_session_name = std::move(session_name);
    req.duration = std::chrono::seconds(3600);
    req.policy = std::move(policy);
    req.source_identity = "alice@example.com";
    req.tags = {{"opsgate:request", "r-1"}};
    return req;
  }

  ApiResult<std::string> Ec2(const std::string& action, const std::string& instance,
                             const Credentials& creds) {
    QueryParams p;
    p.protocol = QueryProtocol::kEc2;
    p.Add("InstanceId", QueryValue::List({QueryValue::String(instance)}));
    return api_->Call(
        ApiCall::Query("ec2", "eu-west-1", action, EncodeQuery(action, kEc2Version, p)), creds);
  }

  json::array Calls() const { return json::parse(standin_->Get("/_standin/calls")).as_array(); }

  fs::path dir_;
  core::SystemClock clock_;
  std::unique_ptr<AwsStandin> standin_;
  std::unique_ptr<http::CurlHttpClient> http_;
  EnvLookup env_;
  std::unique_ptr<ApiClient> api_;
  std::mutex sleeps_mu_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

TEST_F(AwsStandinTest, AssumeRoleThenStopInstanceWithScopedSession) {
  const std::string policy = PolicyFor({{"ec2:StopInstances", kInstanceArn}});
  auto session = Assume(policy);
  ASSERT_TRUE(session.has_value()) << session.error().message;
  EXPECT_EQ(session->assumed_role_arn, "arn:aws:sts::111111111111:assumed-role/opsgate-ec2/alice");
  EXPECT_EQ(session->credentials.access_key_id.rfind("ASIA", 0), 0u);
  ASSERT_TRUE(session->credentials.session_token.has_value());
  ASSERT_TRUE(session->credentials.expires_at.has_value());
  EXPECT_EQ(session->source_identity, "alice@example.com");

  auto stopped = Ec2("StopInstances", kInstance, session->credentials);
  ASSERT_TRUE(stopped.has_value()) << stopped.error().error.message;
  EXPECT_NE(stopped->find("<name>stopping</name>"), std::string::npos) << *stopped;
  EXPECT_NE(stopped->find("<previousState><code>16</code><name>running</name>"), std::string::npos)
      << *stopped;

  json::array calls = Calls();
  ASSERT_EQ(calls.size(), 2u);
  const json::object& sts_call = calls[0].as_object();
  EXPECT_EQ(S(sts_call.at("service")), "sts");
  EXPECT_EQ(S(sts_call.at("action")), "AssumeRole");
  EXPECT_EQ(S(sts_call.at("access_key_id")), kBaseKey);
  EXPECT_TRUE(sts_call.at("authenticated").as_bool());

  const json::object& call = calls[1].as_object();
  EXPECT_EQ(S(call.at("service")), "ec2");
  EXPECT_EQ(S(call.at("action")), "StopInstances");
  EXPECT_TRUE(call.at("authenticated").as_bool());
  EXPECT_TRUE(call.at("error").is_null());
  EXPECT_EQ(S(call.at("access_key_id")), session->credentials.access_key_id);
  EXPECT_EQ(S(call.at("params").at("InstanceId.1")), kInstance);
  const json::object& s = call.at("session").as_object();
  EXPECT_EQ(S(s.at("role_arn")), kRole);
  EXPECT_EQ(S(s.at("session_name")), "alice");
  EXPECT_EQ(S(s.at("source_identity")), "alice@example.com");
  // The session policy names exactly that action on exactly that instance.
  const json::array& statements = s.at("policy").at("Statement").as_array();
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(S(statements[0].at("Effect")), "Allow");
  EXPECT_EQ(S(statements[0].at("Action")), "ec2:StopInstances");
  EXPECT_EQ(S(statements[0].at("Resource")), kInstanceArn);

  // The state moved; secrets never reach the record.
  const std::string state = standin_->Get("/_standin/state");
  EXPECT_NE(state.find("\"stopping\""), std::string::npos) << state;
  const std::string record = standin_->Get("/_standin/calls");
  EXPECT_EQ(record.find(std::string(session->credentials.secret_access_key.Reveal())),
            std::string::npos);
  EXPECT_EQ(record.find(std::string(session->credentials.session_token->Reveal())),
            std::string::npos);
  EXPECT_EQ(record.find(kBaseSecret), std::string::npos);
}

TEST_F(AwsStandinTest, CallOutsideSessionPolicyIsUnauthorized) {
  auto session = Assume(PolicyFor({{"ec2:StopInstances", kInstanceArn}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  // Another instance, and another action on the same instance.
  for (auto [action, instance] :
       {std::pair{"StopInstances", "i-0def5678"}, std::pair{"RebootInstances", kInstance}}) {
    auto r = Ec2(action, instance, session->credentials);
    ASSERT_FALSE(r.has_value()) << action;
    EXPECT_EQ(r.error().code, "UnauthorizedOperation");
    EXPECT_EQ(r.error().http_status, 403);
    EXPECT_EQ(r.error().error.code, core::ErrorCode::kPermissionDenied);
    EXPECT_NE(r.error().aws_message.find(std::string("ec2:") + action), std::string::npos)
        << r.error().aws_message;
    EXPECT_NE(r.error().aws_message.find("no session policy allows"), std::string::npos);
  }
  // The state is unchanged.
  EXPECT_EQ(standin_->Get("/_standin/state").find("stopping"), std::string::npos);
}

TEST_F(AwsStandinTest, WrongSecretIsSignatureDoesNotMatch) {
  QueryParams p;
  p.protocol = QueryProtocol::kEc2;
  auto sts_wrong = [&] {
    SigV4StsClient sts(*http_, env_, clock_, "eu-west-1");
    return sts.AssumeRoleDetailed(Request("bob"), Base("not-the-secret"));
  }();
  ASSERT_FALSE(sts_wrong.has_value());
  EXPECT_EQ(sts_wrong.error().code, core::ErrorCode::kUnauthenticated) << sts_wrong.error().message;
  EXPECT_NE(sts_wrong.error().message.find("SignatureDoesNotMatch"), std::string::npos)
      << sts_wrong.error().message;

  // And on EC2 with a session whose secret is wrong.
  auto session = Assume(PolicyFor({{"ec2:StopInstances", "*"}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  Credentials bad = session->credentials;
  bad.secret_access_key = core::Secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  auto r = Ec2("StopInstances", kInstance, bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_FALSE(r.error().clock_skew);

  json::array calls = Calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_FALSE(calls.back().at("authenticated").as_bool());
  EXPECT_EQ(S(calls.back().at("error")), "SignatureDoesNotMatch");
}

TEST_F(AwsStandinTest, BaseCredentialsAreRefusedOutsideSts) {
  auto r = Ec2("StopInstances", kInstance, Base());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "UnauthorizedOperation");
  EXPECT_EQ(r.error().error.code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error().aws_message.find("user/opsgate"), std::string::npos);
  json::array calls = Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].at("authenticated").as_bool());
  EXPECT_TRUE(calls[0].at("session").is_null());
}

TEST_F(AwsStandinTest, ClockSkewIsReportedWithTheOffset) {
  auto session = Assume(PolicyFor({{"ec2:StopInstances", kInstanceArn}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  int status = 0;
  standin_->Post("/_standin/clock", R"({"offset_seconds": 1200})", &status);
  ASSERT_EQ(status, 200);
  auto r = Ec2("StopInstances", kInstance, session->credentials);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "RequestExpired");
  EXPECT_TRUE(r.error().clock_skew) << r.error().aws_message;
  ASSERT_TRUE(r.error().skew.has_value()) << r.error().aws_message;
  EXPECT_NEAR(static_cast<double>(r.error().skew->count()), 1200.0, 5.0);
  EXPECT_EQ(r.error().attempts, 1);

  // STS (Query protocol) gives AWS's SignatureDoesNotMatch wording.
  SigV4StsClient sts(*http_, env_, clock_, "eu-west-1");
  auto again = sts.AssumeRoleDetailed(Request("al"), Base());
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message.find("Signature expired"), std::string::npos)
      << again.error().message;

  standin_->Post("/_standin/clock", R"({"offset_seconds": 0})");
  EXPECT_TRUE(Ec2("StopInstances", kInstance, session->credentials).has_value());
}

TEST_F(AwsStandinTest, InjectedThrottlingIsRetried) {
  auto session = Assume(PolicyFor({{"ec2:StopInstances", kInstanceArn}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  int status = 0;
  standin_->Post(
      "/_standin/inject",
      R"({"action":"StopInstances","code":"RequestLimitExceeded","status":503,"times":1})",
      &status);
  ASSERT_EQ(status, 200);
  auto r = Ec2("StopInstances", kInstance, session->credentials);
  ASSERT_TRUE(r.has_value()) << r.error().error.message;
  {
    std::lock_guard lock(sleeps_mu_);
    ASSERT_EQ(sleeps_.size(), 1u);
    EXPECT_EQ(sleeps_[0], std::chrono::milliseconds(100));  // 0.5 * 200 ms
  }
  json::array calls = Calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(S(calls[1].at("error")), "RequestLimitExceeded");
  EXPECT_TRUE(calls[2].at("error").is_null());
}

TEST_F(AwsStandinTest, WafStaleLockTokenIsOptimisticLockException) {
  const std::string arn = "arn:aws:wafv2:eu-west-1:111111111111:regional/ipset/blocked-ips/a1b2c3";
  auto session = Assume(PolicyFor({{"wafv2:GetIPSet", arn}, {"wafv2:UpdateIPSet", arn}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  const std::string target = R"({"Name":"blocked-ips","Scope":"REGIONAL","Id":"a1b2c3"})";
  auto got = api_->Call(
      ApiCall::Json("wafv2", "eu-west-1", "GetIPSet", "AWSWAF_20190729.GetIPSet", target),
      session->credentials);
  ASSERT_TRUE(got.has_value()) << got.error().error.message;
  const json::value doc = json::parse(*got);
  EXPECT_EQ(S(doc.at("IPSet").at("ARN")), arn);
  const std::string token(doc.at("LockToken").as_string());

  auto update = [&](const std::string& lock) {
    json::object body{{"Name", "blocked-ips"},
                      {"Scope", "REGIONAL"},
                      {"Id", "a1b2c3"},
                      {"Addresses", json::array{"203.0.113.7/32"}},
                      {"LockToken", lock}};
    return api_->Call(ApiCall::Json("wafv2", "eu-west-1", "UpdateIPSet",
                                    "AWSWAF_20190729.UpdateIPSet", json::serialize(body)),
                      session->credentials);
  };
  auto first = update(token);
  ASSERT_TRUE(first.has_value()) << first.error().error.message;
  EXPECT_NE(S(json::parse(*first).at("NextLockToken")), token);

  auto stale = update(token);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, "WAFOptimisticLockException");
  EXPECT_EQ(stale.error().http_status, 400);
  EXPECT_EQ(stale.error().error.code, core::ErrorCode::kFailedPrecondition);

  EXPECT_NE(standin_->Get("/_standin/state").find("203.0.113.7/32"), std::string::npos);
}

TEST_F(AwsStandinTest, InstancesTransitionAfterPollsAndOtherServicesAnswer) {
  const std::string group_arn_prefix =
      "arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:";
  auto session = Assume(PolicyFor({{"ec2:StopInstances", kInstanceArn},
                                   {"ec2:DescribeInstances", "*"},
                                   {"autoscaling:*", "*"},
                                   {"cloudwatch:DescribeAlarms", "*"}}));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  const Credentials& creds = session->credentials;
  ASSERT_TRUE(Ec2("StopInstances", kInstance, creds).has_value());
  // transition_polls = 2: the first DescribeInstances still says stopping, the second stopped.
  auto first = Ec2("DescribeInstances", kInstance, creds);
  ASSERT_TRUE(first.has_value()) << first.error().error.message;
  EXPECT_NE(first->find("<instanceState><code>64</code><name>stopping</name>"), std::string::npos)
      << *first;
  auto second = Ec2("DescribeInstances", kInstance, creds);
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->find("<instanceState><code>80</code><name>stopped</name>"), std::string::npos)
      << *second;
  EXPECT_NE(second->find("<key>Name</key><value>web-1</value>"), std::string::npos);

  auto missing = Ec2("DescribeInstances", "i-0fff0000", creds);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, "InvalidInstanceID.NotFound");
  EXPECT_EQ(missing.error().aws_message, "The instance ID 'i-0fff0000' does not exist");

  // Pagination: 2 instances, pages of 5 (the minimum): one page, no token.
  QueryParams page;
  page.protocol = QueryProtocol::kEc2;
  page.Add("MaxResults", QueryValue::Int(5));
  auto all = api_->Call(ApiCall::Query("ec2", "eu-west-1", "DescribeInstances",
                                       EncodeQuery("DescribeInstances", kEc2Version, page)),
                        creds);
  ASSERT_TRUE(all.has_value()) << all.error().error.message;
  EXPECT_NE(all->find("i-0def5678"), std::string::npos);
  EXPECT_EQ(all->find("<nextToken>"), std::string::npos);

  QueryParams asg;
  asg.Add("AutoScalingGroupName", "web");
  asg.Add("DesiredCapacity", QueryValue::Int(50));
  auto above = api_->Call(ApiCall::Query("autoscaling", "eu-west-1", "SetDesiredCapacity",
                                         EncodeQuery("SetDesiredCapacity", "2011-01-01", asg)),
                          creds);
  ASSERT_FALSE(above.has_value());
  EXPECT_EQ(above.error().code, "ValidationError");
  EXPECT_EQ(above.error().aws_message,
            "New SetDesiredCapacity value 50 is above max value 10 for the AutoScalingGroup.");
  QueryParams describe;
  describe.Add("AutoScalingGroupNames", QueryValue::StringList({"web"}));
  auto groups =
      api_->Call(ApiCall::Query("autoscaling", "eu-west-1", "DescribeAutoScalingGroups",
                                EncodeQuery("DescribeAutoScalingGroups", "2011-01-01", describe)),
                 creds);
  ASSERT_TRUE(groups.has_value()) << groups.error().error.message;
  EXPECT_NE(groups->find("<AutoScalingGroupARN>" + group_arn_prefix), std::string::npos);
  EXPECT_NE(groups->find("<DesiredCapacity>2</DesiredCapacity>"), std::string::npos);

  QueryParams alarms;
  alarms.Add("StateValue", "ALARM");
  auto described = api_->Call(ApiCall::Query("monitoring", "eu-west-1", "DescribeAlarms",
                                             EncodeQuery("DescribeAlarms", "2010-08-01", alarms)),
                              creds);
  ASSERT_TRUE(described.has_value()) << described.error().error.message;
  EXPECT_NE(described->find("<AlarmName>cpu-high</AlarmName>"), std::string::npos);
  EXPECT_NE(described->find("<StateValue>ALARM</StateValue>"), std::string::npos);
}

TEST_F(AwsStandinTest, ControlEndpointsRefuseBadInput) {
  int status = 0;
  standin_->Post("/_standin/inject", "not json", &status);
  EXPECT_EQ(status, 400);
  standin_->Get("/_standin/nope", &status);
  EXPECT_EQ(status, 404);
  // An unsigned AWS call.
  standin_->Post("/", "Action=DescribeInstances&Version=2016-11-15", &status);
  EXPECT_EQ(status, 403);
  json::array calls = Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(S(calls[0].at("error")), "MissingAuthenticationToken");
  EXPECT_FALSE(calls[0].at("authenticated").as_bool());
}

}  // namespace
}  // namespace opsgate::aws
