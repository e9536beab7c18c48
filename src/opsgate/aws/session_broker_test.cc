#include "opsgate/aws/session_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

using std::chrono::seconds;

constexpr std::string_view kCallerSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kCallerToken = "FwoGZXIvYXdzCALLERSESSIONTOKENvalue1234";
constexpr std::string_view kSessionSecret = "9drTJvcXLB89EXAMPLELB8923FB892xMFISESSION";
constexpr std::string_view kSessionToken = "AQoXdzELDDYSESSIONTOKENwEaoAK1wvxJY12r2IrD";
constexpr std::string_view kRole = "arn:aws:iam::123456789012:role/opsgate-ec2-stop";
constexpr std::string_view kInstance =
    "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0";

class FakeCaller final : public CredentialsProvider {
 public:
  core::Result<Credentials> Get() override {
    ++calls;
    if (fail) {
      return core::Fail(core::Unavailable("imds: no response"));
    }
    Credentials c;
    c.access_key_id = "AKIDCALLER";
    c.secret_access_key = core::Secret(std::string(kCallerSecret));
    c.session_token = core::Secret(std::string(kCallerToken));
    return c;
  }
  std::string_view Name() const override { return "fake"; }
  std::atomic<int> calls{0};
  bool fail = false;
};

class FakeAssumer final : public RoleAssumer {
 public:
  explicit FakeAssumer(const testing::FakeClock& clock) : clock_(clock) {}

  core::Result<AssumedRole> Assume(const AssumeRoleRequest& request,
                                   const Credentials& caller) override {
    {
      std::lock_guard lock(mu);
      requests.push_back(request);
      callers.push_back(caller.access_key_id);
    }
    const int n = ++calls;
    if (delay.count() > 0) {
      std::this_thread::sleep_for(delay);
    }
    if (error) {
      return core::Fail(*error);
    }
    AssumedRole r;
    r.credentials.access_key_id = "ASIASESSION" + std::to_string(n);
    r.credentials.secret_access_key = core::Secret(std::string(kSessionSecret));
    r.credentials.session_token = core::Secret(std::string(kSessionToken));
    r.credentials.expires_at = clock_.Now() + request.duration.value_or(seconds(3600));
    r.assumed_role_arn =
        "arn:aws:sts::123456789012:assumed-role/opsgate-ec2-stop/" + request.role_session_name;
    r.assumed_role_id = "AROAEXAMPLE:" + request.role_session_name;
    r.source_identity = request.source_identity;
    return r;
  }

  const testing::FakeClock& clock_;
  std::mutex mu;
  std::vector<AssumeRoleRequest> requests;
  std::vector<std::string> callers;
  std::atomic<int> calls{0};
  std::optional<core::Error> error;
  std::chrono::milliseconds delay{0};
};

SessionRequest Req() {
  SessionRequest r;
  r.role_arn = std::string(kRole);
  r.action = "ec2:StopInstances";
  r.resource_arn = std::string(kInstance);
  r.principal_id = "https://slack.com|U012ABCDEF";
  r.principal_name = "alice";
  r.platform = "slack";
  r.channel = "C0123456";
  r.correlation_id = "01HZX5Y7K3J9Q2W8E4R6T0PM1N";
  r.duration = seconds(3600);
  return r;
}

struct Fixture : ::testing::Test {
  testing::FakeClock clock;
  FakeCaller caller;
  FakeAssumer assumer{clock};
  SessionBroker broker{assumer, caller, clock};
};

void ExpectNoSecrets(const std::string& text) {
  for (std::string_view s : {kCallerSecret, kCallerToken, kSessionSecret, kSessionToken}) {
    EXPECT_EQ(text.find(s), std::string::npos) << text;
  }
}

// ---- Request building --------------------------------------------------------------------

TEST(BuildAssumeRoleRequestTest, ExactFields) {
  auto r = BuildAssumeRoleRequest(Req());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->role_arn, kRole);
  const std::string hash = r->role_session_name.substr(r->role_session_name.size() - 12);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(r->role_session_name, "opsgate-alice-" + hash);
  ASSERT_TRUE(r->source_identity);
  EXPECT_EQ(*r->source_identity, "alice-" + hash);
  ASSERT_TRUE(r->duration);
  EXPECT_EQ(*r->duration, seconds(3600));
  EXPECT_FALSE(r->external_id);
  const std::vector<std::pair<std::string, std::string>> tags = {
      {"opsgate:platform", "slack"},
      {"opsgate:channel", "C0123456"},
      {"opsgate:correlation-id", "01HZX5Y7K3J9Q2W8E4R6T0PM1N"}};
  EXPECT_EQ(r->tags, tags);

  ASSERT_TRUE(r->policy);
  const boost::json::value parsed = boost::json::parse(*r->policy);
  const boost::json::value expected = boost::json::parse(
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:StopInstances"],)"
      R"("Resource":["arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"]}]})");
  EXPECT_EQ(parsed, expected);
}

TEST(BuildAssumeRoleRequestTest, HashDependsOnPrincipalIdNotName) {
  SessionRequest a = Req();
  SessionRequest b = Req();
  b.principal_id = "https://other-idp|U012ABCDEF";
  auto ra = BuildAssumeRoleRequest(a);
  auto rb = BuildAssumeRoleRequest(b);
  ASSERT_TRUE(ra && rb);
  EXPECT_NE(ra->role_session_name, rb->role_session_name);
  EXPECT_NE(*ra->source_identity, *rb->source_identity);
}

TEST(BuildAssumeRoleRequestTest, DurationClamped) {
  const std::pair<seconds, seconds> cases[] = {{seconds(0), seconds(900)},
                                               {seconds(-5), seconds(900)},
                                               {seconds(899), seconds(900)},
                                               {seconds(900), seconds(900)},
                                               {seconds(7200), seconds(7200)},
                                               {seconds(43200), seconds(43200)},
                                               {seconds(86400), seconds(43200)}};
  for (const auto& [in, out] : cases) {
    SessionRequest r = Req();
    r.duration = in;
    auto built = BuildAssumeRoleRequest(r);
    ASSERT_TRUE(built);
    EXPECT_EQ(*built->duration, out) << in.count();
  }
}

TEST(BuildAssumeRoleRequestTest, NamesSanitizedAndBounded) {
  SessionRequest r = Req();
  r.principal_name = "Alice Smith <alice@example.com> " + std::string(200, 'x');
  auto built = BuildAssumeRoleRequest(r);
  ASSERT_TRUE(built) << built.error();
  EXPECT_TRUE(IsValidSessionName(built->role_session_name)) << built->role_session_name;
  EXPECT_TRUE(IsValidSessionName(*built->source_identity)) << *built->source_identity;
  EXPECT_EQ(built->role_session_name.rfind("opsgate-Alice_Smith_alice@example.com_xxx", 0), 0u)
      << built->role_session_name;
  EXPECT_LE(built->role_session_name.size(), 64u);
  EXPECT_EQ(built->source_identity->size(), 64u);

  // Nothing usable in the name: the hash alone.
  r.principal_name = "::::";
  built = BuildAssumeRoleRequest(r);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->role_session_name.size(), 8u + 12u);
  EXPECT_EQ(built->role_session_name.rfind("opsgate-", 0), 0u);
  EXPECT_EQ(*built->source_identity, built->role_session_name);
  r.principal_name = "";
  auto again = BuildAssumeRoleRequest(r);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->role_session_name, built->role_session_name);
}

TEST(BuildAssumeRoleRequestTest, TagValuesSanitized) {
  SessionRequest r = Req();
  r.channel = "#ops\"room\n" + std::string(300, 'c');
  r.correlation_id = "abc/def:1=2+3@x y";
  auto built = BuildAssumeRoleRequest(r);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->tags[1].second.size(), 256u);
  EXPECT_EQ(built->tags[1].second.substr(0, 11), "_ops_room_c");
  EXPECT_EQ(built->tags[2].second, "abc/def:1=2+3@x y");
  EXPECT_EQ(SanitizeTagValue("caf\xc3\xa9"), "caf__");
}

TEST(BuildAssumeRoleRequestTest, PolicyJsonEscapesValues) {
  // A hostile resource cannot break out of its JSON string.
  const std::string json = SessionPolicyJson("s3:GetObject", "arn:aws:s3:::b/\"],\"Effect\":\"x");
  const boost::json::value v = boost::json::parse(json);
  const auto& st = v.at("Statement").as_array().at(0).as_object();
  EXPECT_EQ(st.at("Effect").as_string(), "Allow");
  EXPECT_EQ(st.at("Resource").as_array().at(0).as_string(), "arn:aws:s3:::b/\"],\"Effect\":\"x");
  EXPECT_EQ(st.size(), 3u);
}

TEST(BuildAssumeRoleRequestTest, InvalidInputsNamed) {
  struct Case {
    void (*mutate)(SessionRequest&);
    std::string field;
  };
  const Case cases[] = {
      {[](SessionRequest& r) { r.role_arn = ""; }, "role_arn"},
      {[](SessionRequest& r) { r.role_arn = "arn:aws:iam::123456789012:user/alice"; }, "role_arn"},
      {[](SessionRequest& r) { r.role_arn = "arn:aws:iam::123456789012:role/*"; }, "role_arn"},
      {[](SessionRequest& r) { r.action = ""; }, "action"},
      {[](SessionRequest& r) { r.action = "ec2:*"; }, "action"},
      {[](SessionRequest& r) { r.action = "ec2:Stop*"; }, "action"},
      {[](SessionRequest& r) { r.action = "StopInstances"; }, "action"},
      {[](SessionRequest& r) { r.action = "ec2:Stop\"Instances"; }, "action"},
      {[](SessionRequest& r) { r.resource_arn = ""; }, "resource_arn"},
      {[](SessionRequest& r) { r.resource_arn = "i-0123"; }, "resource_arn"},
      {[](SessionRequest& r) { r.resource_arn = "arn:aws:ec2:x\n"; }, "resource_arn"},
      {[](SessionRequest& r) { r.resource_arn = "arn:" + std::string(2100, 'a'); }, "resource_arn"},
      {[](SessionRequest& r) { r.resource_arn = "arn:" + std::string(2000, 'a'); }, "resource_arn"},
      {[](SessionRequest& r) { r.principal_id = ""; }, "principal_id"},
      {[](SessionRequest& r) { r.principal_id = "a|b\r"; }, "principal_id"},
      {[](SessionRequest& r) { r.principal_name = std::string(2000, 'n'); }, "principal_name"},
      {[](SessionRequest& r) { r.platform = ""; }, "platform"},
      {[](SessionRequest& r) { r.channel = ""; }, "channel"},
      {[](SessionRequest& r) { r.correlation_id = ""; }, "correlation_id"},
  };
  for (const Case& c : cases) {
    SessionRequest r = Req();
    c.mutate(r);
    auto built = BuildAssumeRoleRequest(r);
    ASSERT_FALSE(built) << c.field;
    EXPECT_EQ(built.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(built.error().message.rfind("session broker: " + c.field + " ", 0), 0u)
        << built.error().message;
  }
}

TEST(BuildAssumeRoleRequestTest, WildcardRule) {
  EXPECT_TRUE(IsReadAction("ec2:DescribeInstances"));
  EXPECT_TRUE(IsReadAction("s3:ListBucket"));
  EXPECT_TRUE(IsReadAction("s3:GetObject"));
  EXPECT_TRUE(IsReadAction("sts:DecodeAuthorizationMessage"));
  EXPECT_FALSE(IsReadAction("sts:DecodeSomethingElse"));
  EXPECT_FALSE(IsReadAction("ec2:StopInstances"));
  EXPECT_FALSE(IsReadAction("ec2:Describe"));

  SessionRequest r = Req();
  r.action = "ec2:DescribeInstances";
  r.resource_arn = "*";
  auto ok = BuildAssumeRoleRequest(r);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(boost::json::parse(*ok->policy).at("Statement").at(0).at("Resource").at(0).as_string(),
            "*");
  r.action = "s3:ListBucket";
  r.resource_arn = "arn:aws:s3:::logs-?";
  EXPECT_TRUE(BuildAssumeRoleRequest(r));

  for (std::string resource : {"*", "arn:aws:ec2:eu-west-1:123456789012:instance/*",
                               "arn:aws:ec2:eu-west-1:123456789012:instance/i-?"}) {
    SessionRequest w = Req();
    w.resource_arn = resource;
    auto bad = BuildAssumeRoleRequest(w);
    ASSERT_FALSE(bad) << resource;
    EXPECT_EQ(bad.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.error().message.find("wildcard"), std::string::npos);
  }
}

// ---- Broker ------------------------------------------------------------------------------

TEST_F(Fixture, GetAssumesWithBuiltRequestAndCallerCredentials) {
  auto s = broker.Get(Req());
  ASSERT_TRUE(s) << s.error();
  EXPECT_FALSE(s->from_cache);
  ASSERT_EQ(assumer.requests.size(), 1u);
  EXPECT_EQ(assumer.callers[0], "AKIDCALLER");
  const AssumeRoleRequest& sent = assumer.requests[0];
  auto expected = BuildAssumeRoleRequest(Req());
  ASSERT_TRUE(expected);
  EXPECT_EQ(sent.role_session_name, expected->role_session_name);
  EXPECT_EQ(sent.source_identity, expected->source_identity);
  EXPECT_EQ(sent.tags, expected->tags);
  EXPECT_EQ(sent.policy, expected->policy);
  EXPECT_EQ(sent.duration, expected->duration);

  EXPECT_EQ(s->session_name, sent.role_session_name);
  EXPECT_EQ(s->source_identity, *sent.source_identity);
  EXPECT_EQ(s->policy_json, *sent.policy);
  EXPECT_EQ(s->assumed_role_arn,
            "arn:aws:sts::123456789012:assumed-role/opsgate-ec2-stop/" + sent.role_session_name);
  EXPECT_EQ(s->expires_at, clock.Now() + seconds(3600));
  EXPECT_EQ(s->credentials.access_key_id, "ASIASESSION1");
  EXPECT_EQ(s->credentials.secret_access_key.Reveal(), kSessionSecret);
}

TEST_F(Fixture, SameScopeReusedUntilFiveMinutesLeft) {
  ASSERT_TRUE(broker.Get(Req()));
  SessionRequest again = Req();
  again.correlation_id = "another-correlation";  // not part of the scope
  again.channel = "C999";
  clock.Advance(seconds(3600 - 301));
  auto cached = broker.Get(again);
  ASSERT_TRUE(cached);
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(cached->credentials.access_key_id, "ASIASESSION1");
  EXPECT_EQ(assumer.calls.load(), 1);
  EXPECT_EQ(caller.calls.load(), 1);  // cache hits do not fetch caller credentials

  clock.Advance(seconds(1));  // exactly 300 s left: still fits
  ASSERT_TRUE(broker.Get(again)->from_cache);
  clock.Advance(seconds(1));  // 299 s left: too short
  auto fresh = broker.Get(again);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->from_cache);
  EXPECT_EQ(fresh->credentials.access_key_id, "ASIASESSION2");
  EXPECT_EQ(assumer.requests[1].tags[2].second, "another-correlation");
  EXPECT_EQ(broker.CacheSize(), 1u);
}

TEST_F(Fixture, DifferentScopeNeverReuses) {
  ASSERT_TRUE(broker.Get(Req()));
  SessionRequest other_resource = Req();
  other_resource.resource_arn = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0fffffffffffffff0";
  SessionRequest other_principal = Req();
  other_principal.principal_id = "https://slack.com|U099";
  SessionRequest other_action = Req();
  other_action.action = "ec2:StartInstances";
  SessionRequest other_role = Req();
  other_role.role_arn = "arn:aws:iam::123456789012:role/opsgate-ec2-start";
  int expected_calls = 1;
  for (const SessionRequest& r : {other_resource, other_principal, other_action, other_role}) {
    auto s = broker.Get(r);
    ASSERT_TRUE(s) << s.error();
    EXPECT_FALSE(s->from_cache);
    EXPECT_EQ(assumer.calls.load(), ++expected_calls);
    EXPECT_NE(s->policy_json.find(r.action), std::string::npos);
    EXPECT_NE(s->policy_json.find(r.resource_arn), std::string::npos);
  }
  EXPECT_EQ(broker.CacheSize(), 5u);
  // Each is cached under its own scope.
  EXPECT_TRUE(broker.Get(other_resource)->from_cache);
  EXPECT_TRUE(broker.Get(Req())->from_cache);
  EXPECT_EQ(assumer.calls.load(), 5);
}

TEST_F(Fixture, ShorterDurationGetsNewSession) {
  ASSERT_TRUE(broker.Get(Req()));  // 3600 s
  SessionRequest shorter = Req();
  shorter.duration = seconds(900);
  auto s = broker.Get(shorter);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->from_cache);
  EXPECT_EQ(*assumer.requests[1].duration, seconds(900));
  // A longer duration may reuse the shorter session.
  SessionRequest longer = Req();
  longer.duration = seconds(7200);
  EXPECT_TRUE(broker.Get(longer)->from_cache);
  EXPECT_EQ(assumer.calls.load(), 2);
}

TEST_F(Fixture, InvalidRequestMakesNoCalls) {
  SessionRequest r = Req();
  r.resource_arn = "*";
  auto s = broker.Get(r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(assumer.calls.load(), 0);
  EXPECT_EQ(caller.calls.load(), 0);
}

TEST_F(Fixture, AssumerErrorsPropagatedScrubbedAndNotCached) {
  assumer.error = core::PermissionDenied("STS AssumeRole " + std::string(kRole) +
                                         ": AccessDenied (secret " + std::string(kCallerSecret) +
                                         " token " + std::string(kCallerToken) + ")");
  auto s = broker.Get(Req());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(s.error().message.rfind("session broker: AssumeRole " + std::string(kRole), 0), 0u);
  EXPECT_NE(s.error().message.find("AccessDenied"), std::string::npos);
  ExpectNoSecrets(s.error().message);
  EXPECT_EQ(broker.CacheSize(), 0u);

  assumer.error.reset();
  auto ok = broker.Get(Req());
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->from_cache);
}

TEST_F(Fixture, CallerCredentialErrorPropagated) {
  caller.fail = true;
  auto s = broker.Get(Req());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("caller credentials (fake)"), std::string::npos);
  EXPECT_EQ(assumer.calls.load(), 0);
}

TEST_F(Fixture, NoSecretInAnyError) {
  // Errors from every path, with secrets in flight.
  ASSERT_TRUE(broker.Get(Req()));
  std::vector<std::string> messages;
  SessionRequest bad = Req();
  bad.action = "ec2:*";
  messages.push_back(broker.Get(bad).error().message);
  assumer.error = core::Unavailable(std::string("throttled ") + std::string(kCallerToken));
  SessionRequest other = Req();
  other.principal_id = "x|y";
  messages.push_back(broker.Get(other).error().message);
  for (const std::string& m : messages) {
    ExpectNoSecrets(m);
  }
}

TEST_F(Fixture, MissingExpirationIsConservative) {
  struct NoExpiry final : RoleAssumer {
    core::Result<AssumedRole> Assume(const AssumeRoleRequest&, const Credentials&) override {
      AssumedRole r;
      r.credentials.access_key_id = "ASIAX";
      r.credentials.secret_access_key = core::Secret("s3cr3tvalue");
      r.assumed_role_arn = "arn:aws:sts::1:assumed-role/r/s";
      return r;
    }
  } no_expiry;
  SessionBroker b(no_expiry, caller, clock);
  auto s = b.Get(Req());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->expires_at, clock.Now() + seconds(3600));
  ASSERT_TRUE(s->credentials.expires_at);
}

TEST_F(Fixture, CacheBounded) {
  SessionBroker small(assumer, caller, clock, SessionBroker::Options{.max_entries = 3});
  for (int i = 0; i < 10; ++i) {
    SessionRequest r = Req();
    r.principal_id = "p|" + std::to_string(i);
    ASSERT_TRUE(small.Get(r));
    clock.Advance(seconds(1));
  }
  EXPECT_LE(small.CacheSize(), 3u);
  SessionRequest last = Req();
  last.principal_id = "p|9";
  EXPECT_TRUE(small.Get(last)->from_cache);  // the newest survived
}

TEST_F(Fixture, ConcurrentGetsForOneScopeMakeOneCall) {
  assumer.delay = std::chrono::milliseconds(50);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::atomic<int> fresh{0};
  std::mutex names_mu;
  std::vector<std::string> keys;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto s = broker.Get(Req());
      if (s) {
        ++ok;
        if (!s->from_cache) {
          ++fresh;
        }
        std::lock_guard lock(names_mu);
        keys.push_back(s->credentials.access_key_id);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(assumer.calls.load(), 1);
  for (const std::string& k : keys) {
    EXPECT_EQ(k, "ASIASESSION1");
  }
}

}  // namespace
}  // namespace opsgate::aws
