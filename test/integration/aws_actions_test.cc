// The AWS executors (src/opsgate/ops/aws_actions.h) against the local AWS stand-in, which
// checks every SigV4 signature with Debian's botocore and enforces each session's policy:
// every intent's calls, their scoped sessions, progress while resizing, and the errors
// people get (not found, wrong state, throttling, clock skew, a lost WAF lock race).
#include "opsgate/ops/aws_actions.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <mutex>

#include "opsgate/aws/credentials.h"
#include "opsgate/aws/session_broker.h"
#include "opsgate/aws/sts.h"
#include "opsgate/core/clock.h"
#include "opsgate/http/client/curl_http_client.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"
#include "test/fakes/ci.h"
#include "test/integration/aws_standin.h"

namespace opsgate::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using opsgate::testing::AwsStandin;
using pipeline::ExecContext;
using pipeline::ExecResult;
using Roles = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSecret = "actionsStandinSecret0123456789EXAMPLEKEY";
constexpr const char* kRole = "arn:aws:iam::111111111111:role/opsgate-ops";

std::string StateJson() {
  return R"({"account": "111111111111",
    "credentials": [{"access_key_id": "AKIDACTIONS", "secret_access_key": ")" +
         std::string(kSecret) + R"(", "arn": "arn:aws:iam::111111111111:user/opsgate"}],
    "roles": [")" +
         std::string(kRole) + R"("],
    "instances": [
      {"id": "i-0abc1234", "state": "running", "type": "t3.micro", "name": "web-1",
       "region": "eu-west-1", "private_ip": "10.0.0.5"},
      {"id": "i-0def5678", "state": "stopped", "type": "t3.small", "name": "batch-1",
       "region": "eu-west-1", "private_ip": "10.0.0.6"}],
    "groups": [{"name": "web", "min": 1, "max": 10, "desired": 2, "region": "eu-west-1"}],
    "ip_sets": [{"name": "blocked-ips", "id": "a1b2c3", "scope": "REGIONAL",
                 "region": "eu-west-1", "version": "IPV4", "addresses": ["198.51.100.0/24"]}],
    "alarms": [{"name": "cpu-high", "state": "ALARM", "reason": "Threshold crossed",
                "metric": "CPUUtilization", "namespace": "AWS/EC2", "region": "eu-west-1"},
               {"name": "disk-ok", "state": "OK", "reason": "fine", "metric": "DiskFree",
                "namespace": "CWAgent", "region": "eu-west-1"}],
    "role_policies": {")" +
         std::string(kRole) + R"(": {"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "NotAction": "ec2:RebootInstances", "Resource": "*"},
      {"Effect": "Allow", "Action": "ec2:RebootInstances",
       "Resource": "arn:aws:ec2:*:*:instance/i-0def5678"}]}},
    "transition_polls": 3, "max_skew_seconds": 300, "require_session_policy": true})";
}

class AwsActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!AwsStandin::Available()) {
      if (opsgate::testing::InCi()) {
        FAIL() << "CI=true: needs /usr/bin/python3 with python3-botocore";
      }
      GTEST_SKIP() << "needs /usr/bin/python3 with python3-botocore (apt-get install "
                      "python3-botocore)";
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("opsgate_aws_actions_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    standin_ = std::make_unique<AwsStandin>(dir_);
    auto err = standin_->Start(StateJson());
    ASSERT_FALSE(err.has_value()) << *err;
    http::CurlHttpClientOptions http_options;
    http_options.allow_http = true;
    auto client = http::CurlHttpClient::Create(http_options);
    ASSERT_TRUE(client.has_value()) << client.error().message;
    http_ = std::move(*client);
    const std::string url = standin_->url();
    env_ = [url](std::string_view name) -> std::optional<std::string> {
      if (name == "AWS_ENDPOINT_URL") {
        return url;
      }
      if (name == "AWS_ACCESS_KEY_ID") {
        return std::string("AKIDACTIONS");
      }
      if (name == "AWS_SECRET_ACCESS_KEY") {
        return std::string(kSecret);
      }
      return std::nullopt;
    };
    sts_ = std::make_unique<aws::SigV4StsClient>(*http_, env_, clock_, "eu-west-1");
    creds_ = std::make_unique<aws::EnvironmentCredentialsProvider>(env_);
    assumer_ = std::make_unique<aws::StsRoleAssumer>(*sts_);
    broker_ = std::make_unique<aws::SessionBroker>(*assumer_, *creds_, clock_);
    aws::ApiClient::Options api_options;
    api_options.sleep = [this](std::chrono::milliseconds d) { Slept(d); };
    api_options.random = [] { return 0.5; };
    api_ = std::make_unique<aws::ApiClient>(*http_, env_, clock_, api_options);
    AwsActionsOptions options;
    options.region = "eu-west-1";
    options.roles = RoleMap(Roles{{"*", kRole}});
    options.waf_ipv4 = aws::IpSetRef{"blocked-ips", "a1b2c3", "REGIONAL"};
    options.sleep = [this](std::chrono::milliseconds d) { Slept(d); };
    options.poll_first_delay = std::chrono::milliseconds(1);
    options.poll_max_delay = std::chrono::milliseconds(4);
    options.progress_every = std::chrono::seconds(0);
    options.metrics = &metrics_;
    actions_ = std::make_unique<AwsActions>(*broker_, *api_, options, log_);
  }

  void TearDown() override {
    if (standin_ != nullptr) {
      if (HasFailure()) {
        std::cerr << "---- stand-in log ----\n" << standin_->Log() << "\n";
      }
      standin_->Stop();
      fs::remove_all(dir_);
    }
  }

  void Slept(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    slept_.push_back(d);
  }

  // Runs `action` for alice with these slots; progress messages land in progress_.
  ExecResult Run(const std::string& action, std::map<std::string, std::string> slots) {
    pipeline::ActionRequest request;
    request.action = action;
    request.slots = std::move(slots);
    policy::Decision decision;
    decision.effect = policy::Decision::Effect::kAllow;
    ExecContext ctx{request, decision, "local|alice", "alice", "corr-1", "webchat",
                    "",      "",       "alice",       "",      nullptr,  ""};
    ctx.progress = [this](const pipeline::Reply& r) { progress_.push_back(r.text); };
    pipeline::Executor* executor = actions_->ExecutorFor(action);
    EXPECT_NE(executor, nullptr) << action;
    return executor->Run(ctx);
  }

  json::array Calls() const { return json::parse(standin_->Get("/_standin/calls")).as_array(); }

  // The (action, resource) each call's session policy allowed, in call order, for the
  // calls of `service` other than STS.
  std::vector<std::string> Scopes(const std::string& action) const {
    std::vector<std::string> out;
    for (const json::value& v : Calls()) {
      const json::object& c = v.as_object();
      if (c.at("action").as_string() != action) {
        continue;
      }
      EXPECT_TRUE(c.at("authenticated").as_bool()) << json::serialize(c);
      const json::value& statement = c.at("session").at("policy").at("Statement").at(0);
      out.push_back(json::serialize(statement.at("Action")) + " " +
                    json::serialize(statement.at("Resource")));
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<AwsStandin> standin_;
  std::unique_ptr<http::HttpClient> http_;
  aws::EnvLookup env_;
  core::SystemClock clock_;
  telemetry::MemorySink sink_;
  telemetry::Logger log_{sink_, clock_};
  std::unique_ptr<aws::SigV4StsClient> sts_;
  std::unique_ptr<aws::CredentialsProvider> creds_;
  std::unique_ptr<aws::StsRoleAssumer> assumer_;
  std::unique_ptr<aws::SessionBroker> broker_;
  std::unique_ptr<aws::ApiClient> api_;
  telemetry::MetricsRegistry metrics_;
  std::unique_ptr<AwsActions> actions_;
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> slept_;
  std::vector<std::string> progress_;
};

TEST_F(AwsActionsTest, StopAndStartReportTheStatesBeforeAndAfter) {
  ExecResult stop = Run("ec2:StopInstances", {{"instance_id", "i-0abc1234"}});
  EXPECT_EQ(stop.result, "ok") << stop.reply.text;
  EXPECT_EQ(stop.reply.text, "Stopping i-0abc1234 in eu-west-1: running \u2192 stopping.");
  EXPECT_NE(stop.session.find("arn:aws:sts::111111111111:assumed-role/opsgate-ops/opsgate-alice-"),
            std::string::npos)
      << stop.session;
  EXPECT_NE(stop.session.find("for ec2:StopInstances on "
                              "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234"),
            std::string::npos)
      << stop.session;
  EXPECT_EQ(
      Scopes("StopInstances"),
      std::vector<std::string>{
          R"(["ec2:StopInstances"] ["arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234"])"});
  ExecResult start = Run("ec2:StartInstances", {{"instance_id", "i-0def5678"}});
  EXPECT_EQ(start.reply.text, "Starting i-0def5678 in eu-west-1: stopped \u2192 pending.");
  ExecResult again = Run("ec2:StartInstances", {{"instance_id", "i-0def5678"}});
  EXPECT_NE(again.reply.text.find("nothing changed"), std::string::npos) << again.reply.text;
  const std::string metrics = metrics_.RenderPrometheus();
  EXPECT_NE(metrics.find(R"(opsgate_aws_actions_total{action="ec2:StartInstances",result="ok"} 2)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find(R"(opsgate_aws_action_duration_seconds_count{action="ec2:StopInstances"} 1)"),
      std::string::npos)
      << metrics;
}

TEST_F(AwsActionsTest, DescribeAndAlarmsSummarise) {
  ExecResult one = Run("ec2:DescribeInstances", {{"instance_id", "i-0abc1234"}});
  EXPECT_EQ(one.result, "ok") << one.reply.text;
  EXPECT_NE(one.output.find("i-0abc1234 (web-1) running t3.micro"), std::string::npos)
      << one.output;
  EXPECT_EQ(one.output.find("i-0def5678"), std::string::npos) << one.output;
  ExecResult all = Run("ec2:DescribeInstances", {});
  EXPECT_NE(all.output.find("i-0def5678 (batch-1) stopped"), std::string::npos) << all.output;
  // By Name tag and by state.
  ExecResult named = Run("ec2:DescribeInstances", {{"name", "batch-1"}});
  EXPECT_NE(named.output.find("i-0def5678"), std::string::npos) << named.output;
  EXPECT_EQ(named.output.find("i-0abc1234"), std::string::npos) << named.output;
  ExecResult stopped = Run("ec2:DescribeInstances", {{"state", "stopped"}});
  EXPECT_NE(stopped.output.find("i-0def5678"), std::string::npos) << stopped.output;
  EXPECT_EQ(stopped.output.find("i-0abc1234"), std::string::npos) << stopped.output;
  ExecResult nonsense = Run("ec2:DescribeInstances", {{"state", "sleeping"}});
  EXPECT_EQ(nonsense.result, "failed");
  EXPECT_NE(nonsense.reply.text.find("sleeping"), std::string::npos) << nonsense.reply.text;
  // DescribeInstances has no resource-level permission: its session allows it on "*".
  EXPECT_EQ(Scopes("DescribeInstances").front(), R"(["ec2:DescribeInstances"] ["*"])");

  ExecResult alarms = Run("cloudwatch:DescribeAlarms", {});
  EXPECT_EQ(alarms.result, "ok") << alarms.reply.text;
  EXPECT_NE(alarms.reply.text.find("cpu-high"), std::string::npos) << alarms.reply.text;
  EXPECT_EQ(alarms.reply.text.find("disk-ok"), std::string::npos) << alarms.reply.text;
}

TEST_F(AwsActionsTest, ResizeStopsWaitsChangesTheTypeAndStartsAgain) {
  ExecResult r = Run("ec2:ModifyInstanceAttribute",
                     {{"instance_id", "i-0abc1234"}, {"instance_type", "t3.large"}});
  EXPECT_EQ(r.result, "ok") << r.reply.text;
  EXPECT_EQ(r.reply.text,
            "Resized i-0abc1234 from t3.micro to t3.large. Starting it again (stopped \u2192 "
            "pending).");
  // The person saw it stop and wait.
  ASSERT_FALSE(progress_.empty());
  EXPECT_NE(progress_.front().find("Stopping i-0abc1234 to resize it"), std::string::npos);
  // Each call under its own session; the change of type only on that instance.
  EXPECT_EQ(
      Scopes("ModifyInstanceAttribute"),
      std::vector<std::string>{R"(["ec2:ModifyInstanceAttribute"] )"
                               R"(["arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234"])"});
  const json::object state = json::parse(standin_->Get("/_standin/state")).as_object();
  for (const json::value& i : state.at("instances").as_array()) {
    if (i.at("id") == "i-0abc1234") {
      EXPECT_EQ(i.at("type"), "t3.large");
    }
  }
  // Polled with back-off while it was stopping.
  EXPECT_GE(Scopes("DescribeInstances").size(), 3u);
}

TEST_F(AwsActionsTest, ScaleChecksTheRangeAndSetsTheGroupByItsArn) {
  ExecResult too_many =
      Run("autoscaling:SetDesiredCapacity", {{"group", "web"}, {"capacity", "50"}});
  EXPECT_EQ(too_many.result, "refused");
  EXPECT_NE(too_many.reply.text.find("1..10"), std::string::npos) << too_many.reply.text;
  EXPECT_TRUE(Scopes("SetDesiredCapacity").empty());
  ExecResult r = Run("autoscaling:SetDesiredCapacity", {{"group", "web"}, {"capacity", "4"}});
  EXPECT_EQ(r.result, "ok") << r.reply.text;
  EXPECT_NE(r.reply.text.find("desired capacity 2 \u2192 4"), std::string::npos) << r.reply.text;
  const auto scopes = Scopes("SetDesiredCapacity");
  ASSERT_EQ(scopes.size(), 1u);
  EXPECT_NE(scopes[0].find("autoScalingGroupName/web"), std::string::npos) << scopes[0];
}

TEST_F(AwsActionsTest, BlockAndUnblockAnAddressAtTheWaf) {
  ExecResult block = Run("waf:BlockIp", {{"ip", "203.0.113.9"}});
  EXPECT_EQ(block.result, "ok") << block.reply.text;
  EXPECT_NE(block.reply.text.find("203.0.113.9/32"), std::string::npos) << block.reply.text;
  ExecResult twice = Run("waf:BlockIp", {{"ip", "203.0.113.9"}});
  EXPECT_NE(twice.reply.text.find("already"), std::string::npos) << twice.reply.text;
  ExecResult unblock = Run("waf:UnblockIp", {{"ip", "203.0.113.9"}});
  EXPECT_EQ(unblock.result, "ok") << unblock.reply.text;
  const json::object state = json::parse(standin_->Get("/_standin/state")).as_object();
  EXPECT_EQ(json::serialize(state.at("ip_sets").at(0).at("addresses")), R"(["198.51.100.0/24"])");
  for (const std::string& scope : Scopes("UpdateIPSet")) {
    EXPECT_EQ(scope,
              R"(["wafv2:UpdateIPSet"] )"
              R"(["arn:aws:wafv2:eu-west-1:111111111111:regional/ipset/blocked-ips/a1b2c3"])");
  }
  // IPv6 has no set configured: refused, nothing sent.
  ExecResult v6 = Run("waf:BlockIp", {{"ip", "2001:db8::1"}});
  EXPECT_EQ(v6.result, "refused");
  EXPECT_NE(v6.reply.text.find("aws.waf.ipv6_ip_set"), std::string::npos) << v6.reply.text;
}

TEST_F(AwsActionsTest, ErrorsPeopleCanActOn) {
  ExecResult missing = Run("ec2:StopInstances", {{"instance_id", "i-0fff0000"}});
  EXPECT_EQ(missing.result, "failed");
  EXPECT_NE(missing.reply.text.find("does not know that instance"), std::string::npos)
      << missing.reply.text;
  EXPECT_NE(missing.reason.find("InvalidInstanceID.NotFound"), std::string::npos);

  // The role may not reboot i-0abc1234: the answer says exactly which permission is
  // missing, decoded by STS under a session allowed only that.
  ExecResult refused = Run("ec2:RebootInstances", {{"instance_id", "i-0abc1234"}});
  EXPECT_EQ(refused.result, "failed");
  EXPECT_NE(refused.reply.text.find(
                "Missing permission: ec2:RebootInstances on "
                "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234 (no policy allows it)"),
            std::string::npos)
      << refused.reply.text;
  EXPECT_EQ(refused.reply.text.find("Encoded"), std::string::npos) << refused.reply.text;
  EXPECT_EQ(Scopes("DecodeAuthorizationMessage"),
            std::vector<std::string>{R"(["sts:DecodeAuthorizationMessage"] ["*"])"});

  ExecResult wrong_state = Run("ec2:RebootInstances", {{"instance_id", "i-0def5678"}});
  EXPECT_EQ(wrong_state.result, "failed");
  EXPECT_NE(wrong_state.reply.text.find("not in a state that allows this"), std::string::npos)
      << wrong_state.reply.text;

  // Throttled once: retried with back-off, then done.
  standin_->Post(
      "/_standin/inject",
      R"({"action": "StopInstances", "code": "RequestLimitExceeded", "status": 503, "times": 1})");
  ExecResult throttled = Run("ec2:StopInstances", {{"instance_id", "i-0abc1234"}});
  EXPECT_EQ(throttled.result, "ok") << throttled.reply.text;
  EXPECT_FALSE(slept_.empty());
  // Throttled every time: a clear "try again".
  standin_->Post(
      "/_standin/inject",
      R"({"action": "StartInstances", "code": "RequestLimitExceeded", "status": 503, "times": 10})");
  ExecResult gave_up = Run("ec2:StartInstances", {{"instance_id", "i-0def5678"}});
  EXPECT_EQ(gave_up.result, "failed");
  EXPECT_NE(gave_up.reply.text.find("throttling"), std::string::npos) << gave_up.reply.text;

  // This host's clock 20 minutes behind AWS's: the offset is named.
  standin_->Post("/_standin/clock", R"({"offset_seconds": 1200})");
  ExecResult skewed = Run("ec2:DescribeInstances", {{"instance_id", "i-0abc1234"}});
  EXPECT_EQ(skewed.result, "failed");
  EXPECT_NE(skewed.reply.text.find("clock is off by"), std::string::npos) << skewed.reply.text;

  // No role for the action: refused before any call, saying where to configure it.
  AwsActionsOptions narrow;
  narrow.region = "eu-west-1";
  narrow.roles = RoleMap(Roles{{"ec2:Describe*", kRole}});
  AwsActions limited(*broker_, *api_, narrow, log_);
  pipeline::ActionRequest request;
  request.action = "ec2:StopInstances";
  request.slots = {{"instance_id", "i-0abc1234"}};
  policy::Decision decision;
  ExecContext ctx{request, decision, "local|alice", "alice", "c",     "webchat",
                  "",      "",       "alice",       "",      nullptr, ""};
  ExecResult no_role = limited.ExecutorFor("ec2:StopInstances")->Run(ctx);
  EXPECT_NE(no_role.reply.text.find("aws.roles"), std::string::npos) << no_role.reply.text;

  // Nothing secret in any answer or log line.
  for (const ExecResult* r :
       {&missing, &refused, &wrong_state, &throttled, &gave_up, &skewed, &no_role}) {
    EXPECT_EQ(r->reply.text.find(kSecret), std::string::npos);
    EXPECT_EQ(r->reason.find(kSecret), std::string::npos);
  }
  for (const std::string& line : sink_.Lines()) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
  }
}

TEST(RoleMapTest, TheMostSpecificPatternWins) {
  RoleMap roles({{"*", "arn:aws:iam::111111111111:role/any"},
                 {"ec2:*", "arn:aws:iam::111111111111:role/ec2"},
                 {"ec2:Stop*", "arn:aws:iam::111111111111:role/stop"},
                 {"ec2:StopInstances", "arn:aws:iam::222222222222:role/exact"}});
  EXPECT_EQ(roles.RoleFor("ec2:StopInstances"), "arn:aws:iam::222222222222:role/exact");
  EXPECT_EQ(roles.RoleFor("ec2:StopSomething"), "arn:aws:iam::111111111111:role/stop");
  EXPECT_EQ(roles.RoleFor("EC2:startinstances"), "arn:aws:iam::111111111111:role/ec2");
  EXPECT_EQ(roles.RoleFor("wafv2:GetIPSet"), "arn:aws:iam::111111111111:role/any");
  EXPECT_FALSE(RoleMap(Roles{{"ec2:*", "x"}}).RoleFor("wafv2:GetIPSet").has_value());
  EXPECT_EQ(RoleMap::AccountOf("arn:aws:iam::222222222222:role/exact"), "222222222222");
  EXPECT_EQ(RoleMap::AccountOf("garbage"), "");
}

TEST(AwsErrorTextTest, SaysWhatIsMissingWithoutTheEncodedBlob) {
  aws::ApiError e;
  e.code = "UnauthorizedOperation";
  e.aws_message =
      "You are not authorized to perform this operation. User: arn:aws:sts::1:assumed-role/r/s "
      "is not authorized to perform: ec2:StopInstances on resource: arn:aws:ec2:x. Encoded "
      "authorization failure message: AbCdEf123";
  e.request_id = "req-1";
  const std::string text = AwsErrorText(e, "stop i-0abc1234");
  EXPECT_NE(text.find("is not authorized to perform: ec2:StopInstances on resource"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("AbCdEf123"), std::string::npos) << text;
  EXPECT_NE(text.find("req-1"), std::string::npos) << text;
}

}  // namespace
}  // namespace opsgate::ops
