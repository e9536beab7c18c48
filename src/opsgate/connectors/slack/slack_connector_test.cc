#include "opsgate/connectors/slack/slack_connector.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <regex>
#include <thread>

#include "opsgate/connectors/slack/verifier.h"
#include "opsgate/core/work_queue.h"
#include "opsgate/http/client/fake_http_client.h"
#include "opsgate/intents/classifier.h"
#include "opsgate/intents/intents.h"
#include "opsgate/redact/redactor.h"
#include "opsgate/store/sqlite/sqlite_dialog_store.h"
#include "opsgate/store/sqlite/sqlite_policy_store.h"
#include "opsgate/store/sqlite/sqlite_seen_keys.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/fake_clock.h"
#include "test/fakes/form_encode.h"

namespace opsgate::connectors::slack {
namespace {

using opsgate::testing::FormEncode;

using http::testing::FakeHttpClient;
using namespace std::chrono_literals;

// Slack's published example (PROTOCOLS.md §1, python-slack-sdk's test vector).
constexpr std::string_view kDocSecret = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr std::string_view kDocTimestamp = "1531420618";
constexpr std::string_view kDocBody =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
constexpr std::string_view kDocSignature =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

constexpr std::string_view kTeam = "T1DC2JH3J";
constexpr std::string_view kBotToken = "xoxb-test-token-123";

std::string SlashBody(std::string_view text, std::string_view team = kTeam,
                      std::string_view response_url =
                          "https://hooks.slack.com/commands/T1DC2JH3J/1/abc",
                      std::string_view trigger = "398738663015.47445629121.803a0bc8") {
  return "team_id=" + std::string(team) +
         "&team_domain=t&channel_id=C0123&channel_name=ops&user_id=U2CERLKJA&user_name="
         "roadrunner&command=%2Fops&text=" +
         FormEncode(text) + "&response_url=" + FormEncode(response_url) +
         "&trigger_id=" + std::string(trigger);
}

std::string MentionBody(std::string_view text, std::string_view event_id = "Ev0001",
                        std::string_view team = kTeam) {
  boost::json::object event{{"type", "app_mention"},        {"user", "U2CERLKJA"},
                            {"text", "<@U0BOT> " + std::string(text)},
                            {"ts", "1531420618.000100"},    {"channel", "C0123"},
                            {"event_ts", "1531420618.000100"}};
  boost::json::object env{{"type", "event_callback"}, {"team_id", team},
                          {"api_app_id", "A0APP"},   {"event", event},
                          {"event_id", event_id},    {"event_time", 1531420618}};
  return boost::json::serialize(env);
}

std::string ActionsBody(std::string_view action_id, std::string_view response_url,
                        std::string_view value = "dlg-42", std::string_view user = "U2CERLKJA") {
  boost::json::object payload{
      {"type", "block_actions"},
      {"user", {{"id", user}, {"username", "roadrunner"}, {"team_id", kTeam}}},
      {"team", {{"id", kTeam}, {"domain", "t"}}},
      {"api_app_id", "A0APP"},
      {"container",
       {{"type", "message"}, {"message_ts", "1531420618.000100"}, {"channel_id", "C0123"},
        {"is_ephemeral", true}}},
      {"channel", {{"id", "C0123"}, {"name", "ops"}}},
      {"trigger_id", "1.2.abc"},
      {"response_url", response_url},
      {"actions", boost::json::array{{{"type", "button"},
                                      {"action_id", action_id},
                                      {"block_id", "b1"},
                                      {"value", value},
                                      {"action_ts", "1531420618.1"}}}}};
  return "payload=" + FormEncode(boost::json::serialize(payload));
}

class SlackConnectorTest : public ::testing::Test {
 protected:
  SlackConnectorTest() {
    auto s = store::SqliteStore::Open(":memory:");
    EXPECT_TRUE(s.has_value());
    store_ = std::move(*s);
    seen_ = std::make_unique<store::SqliteSeenKeys>(*store_);
    http::RetryingSenderOptions options;
    options.workers = 1;
    options.retry.jitter = false;
    // Retry waits advance the fake clock instead of sleeping.
    sender_ = std::make_unique<http::RetryingSender>(
        http_, clock_, http::RetryingSender::RegisterMetrics(metrics_), options,
        [this](std::unique_lock<std::mutex>&, std::condition_variable&,
               core::Clock::SteadyTime deadline) {
          const auto now = clock_.SteadyNow();
          if (deadline > now) {
            clock_.Advance(deadline - now);
          }
        });
    deps_ = std::make_unique<ConnectorDeps>(
        ConnectorDeps{clock_, log_, metrics_, *store_, *seen_, http_, *sender_, audit_,
                      &redactor_});
  }
  ~SlackConnectorTest() override {
    if (sender_) {
      sender_->Shutdown(http::ShutdownMode::kDrain);
    }
  }

  SlackConnector& Connector(std::string_view secret = kDocSecret) {
    SlackSettings s;
    s.signing_secret = core::Secret(std::string(secret));
    s.bot_token = core::Secret(std::string(kBotToken));
    s.api_url = "https://slack.test/api";
    s.team_ids = {std::string(kTeam)};
    connector_ = std::make_unique<SlackConnector>(std::move(s), *deps_);
    return *connector_;
  }

  http::Request Signed(std::string body, std::string content_type,
                       std::string_view secret = kDocSecret) {
    http::Request r;
    r.method = "POST";
    r.path = r.target = "/slack/events";
    r.correlation_id = "corr-1";
    const std::string ts = std::to_string(clock_.UnixSeconds());
    r.headers = {{"content-type", std::move(content_type)},
                 {"x-slack-request-timestamp", ts},
                 {"x-slack-signature",
                  ComputeSlackSignature(ts, body, core::Secret(std::string(secret)))}};
    r.body = std::move(body);
    return r;
  }
  http::Request SignedForm(std::string body) {
    return Signed(std::move(body), "application/x-www-form-urlencoded");
  }
  http::Request SignedJson(std::string body) { return Signed(std::move(body), "application/json"); }

  // Waits (bounded) until the fake client has seen `n` requests and the sender is idle.
  bool WaitForRequests(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (http_.RequestCount() >= n && sender_->queued() == 0) {
        sender_->Shutdown(http::ShutdownMode::kDrain);
        return http_.RequestCount() == n;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  std::string Metrics() const { return metrics_.RenderPrometheus(); }
  std::string Logs() const {
    std::string all;
    for (const auto& l : sink_.Lines()) {
      all += l + "\n";
    }
    return all;
  }
  // A slash command's answer: the JSON body of its 200 acknowledgement (Slack's
  // immediate response), checked for the shape Slack accepts there.
  static std::string AckAnswer(const http::Response& r) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    const auto parsed = boost::json::parse(r.body).as_object();
    EXPECT_TRUE(parsed.contains("response_type")) << r.body;
    EXPECT_TRUE(parsed.contains("text")) << r.body;
    EXPECT_FALSE(parsed.contains("replace_original")) << r.body;
    return r.body;
  }
  static std::string ErrorCode(const http::Response& r) {
    return std::string(boost::json::parse(r.body).at("error").as_string());
  }

  testing::FakeClock clock_{1531420618};
  telemetry::MemorySink sink_;
  telemetry::Logger log_{sink_, clock_};
  telemetry::MetricsRegistry metrics_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<store::SqliteSeenKeys> seen_;
  FakeHttpClient http_;
  audit::MemoryAuditSink audit_;
  std::unique_ptr<http::RetryingSender> sender_;
  redact::Redactor redactor_ = redact::Redactor::Create().value();
  std::unique_ptr<ConnectorDeps> deps_;
  std::unique_ptr<SlackConnector> connector_;
};

http::Request DocRequest() {
  http::Request r;
  r.method = "POST";
  r.path = "/slack/events";
  r.headers = {{"content-type", "application/x-www-form-urlencoded"},
               {"x-slack-request-timestamp", std::string(kDocTimestamp)},
               {"x-slack-signature", std::string(kDocSignature)}};
  r.body = std::string(kDocBody);
  return r;
}

TEST_F(SlackConnectorTest, AcceptsSlacksPublishedExampleAtItsTimestamp) {
  auto& c = Connector();
  const auto r = c.Handle(DocRequest());
  ASSERT_EQ(r.status, 200) << r.body;
  // The answer is the acknowledgement's body: nothing goes to the response_url.
  const std::string answer = AckAnswer(r);
  const auto body = boost::json::parse(answer).as_object();
  EXPECT_EQ(body.at("response_type").as_string(), "ephemeral");
  // Empty text -> the help list.
  EXPECT_NE(answer.find("whoami"), std::string::npos) << answer;
  sender_->Shutdown(http::ShutdownMode::kDrain);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(SlackConnectorTest, RejectsThePublishedExampleWithTheRealClockAsStale) {
  clock_.SetUnixSeconds(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
  const auto r = Connector().Handle(DocRequest());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "stale_timestamp");
  EXPECT_NE(Metrics().find("opsgate_slack_rejections_total{reason=\"stale_timestamp\"} 1"),
            std::string::npos);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(SlackConnectorTest, RejectsATamperedBody) {
  auto req = DocRequest();
  req.body += "------";
  const auto r = Connector().Handle(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "signature_mismatch");
}

TEST_F(SlackConnectorTest, RejectsMissingHeadersAndBodyWithoutThrowing) {
  auto& c = Connector();
  for (const char* drop : {"x-slack-request-timestamp", "x-slack-signature"}) {
    auto req = DocRequest();
    std::erase_if(req.headers, [&](const auto& h) { return h.first == drop; });
    const auto r = c.Handle(req);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(ErrorCode(r), "missing_header");
  }
  auto req = DocRequest();
  req.body.clear();
  const auto r = c.Handle(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "signature_mismatch");
  http::Request bare;
  EXPECT_EQ(c.Handle(bare).status, 401);
}

TEST_F(SlackConnectorTest, EmptySigningSecretNeverVerifies) {
  auto& c = Connector("");
  const auto r = c.Handle(DocRequest());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "misconfigured");
}

TEST_F(SlackConnectorTest, PingAnswersPongInTheAcknowledgement) {
  auto& c = Connector();
  const auto r = c.Handle(SignedForm(SlashBody("ping")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(AckAnswer(r).find("pong"), std::string::npos) << r.body;
  EXPECT_NE(Metrics().find("opsgate_slack_requests_total{kind=\"slash_command\"} 1"),
            std::string::npos);
  EXPECT_NE(Metrics().find("opsgate_slack_replies_total{target=\"slack.ack\",result=\"ok\"} 1"),
            std::string::npos)
      << Metrics();
  sender_->Shutdown(http::ShutdownMode::kDrain);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(SlackConnectorTest, AuditsTheRequestBeforeActingAndTheReplyOutcome) {
  auto& c = Connector();
  const auto r = c.Handle(SignedForm(SlashBody("ping")));
  ASSERT_EQ(r.status, 200) << r.body;
  // A slash command's answer travels in its acknowledgement: one record, the request.
  EXPECT_EQ(audit_.records().size(), 1u);
  // A button's answer goes to its response_url: that delivery is on record too.
  clock_.Advance(1s);
  ASSERT_EQ(
      c.Handle(SignedForm(ActionsBody("other_button", "https://hooks.slack.com/a/1", "x"))).status,
      200);
  ASSERT_TRUE(WaitForRequests(1));
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].kind, audit::RecordKind::kRequest);
  EXPECT_EQ(records[0].correlation_id, "corr-1");
  EXPECT_EQ(records[0].platform, "slack");
  EXPECT_EQ(records[0].workspace, kTeam);
  // The record names what was asked (the built-in's opsgate action) and how (/ops).
  EXPECT_EQ(records[0].action, "opsgate:Ping");
  EXPECT_EQ(records[0].intent, "builtin.ping");
  EXPECT_EQ(records[0].result, "accepted");
  EXPECT_EQ(records[0].text, audit::Field::Plain("ping"));
  EXPECT_EQ(records[1].kind, audit::RecordKind::kRequest);
  EXPECT_EQ(records[1].action, "block_actions");
  EXPECT_EQ(records[2].kind, audit::RecordKind::kOutcome);
  EXPECT_EQ(records[2].correlation_id, "corr-1");
  EXPECT_EQ(records[2].action, "slack.response_url");
  EXPECT_EQ(records[2].result, "ok");
}

TEST_F(SlackConnectorTest, SecretsInTheTextAreRedactedBeforeTheyAreRecorded) {
  auto& c = Connector();
  // AWS's documented example key id: the shape of a real one, pasted into chat.
  const auto r = c.Handle(SignedForm(SlashBody("ping AKIAIOSFODNN7EXAMPLE")));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto records = audit_.records();
  ASSERT_FALSE(records.empty());
  const std::string stored = records[0].text.bytes;
  EXPECT_EQ(stored.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << stored;
  EXPECT_NE(stored.find("[redacted:aws-access-key-id]"), std::string::npos) << stored;
}

TEST_F(SlackConnectorTest, AFloodOfForgedRequestsIsRefusedButOnlySampledIntoTheAuditLog) {
  audit::RejectionLimiter limiter(clock_, /*per_second=*/2, /*burst=*/2);
  deps_->rejections = &limiter;
  auto& c = Connector();
  auto forged = DocRequest();
  forged.body += "x";  // signature no longer matches
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(c.Handle(forged).status, 401);  // every one refused
  }
  auto records = audit_.records();
  ASSERT_EQ(records.size(), 2u) << "the burst";
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_EQ(c.Handle(forged).status, 401);
  records = audit_.records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[2].action, "audit.rejections_suppressed");
  EXPECT_EQ(records[2].result, "48");
  EXPECT_EQ(records[3].kind, audit::RecordKind::kRejection);
  EXPECT_EQ(records[3].reason, "signature_mismatch");
  EXPECT_EQ(limiter.dropped_total(), 48u);
}

TEST_F(SlackConnectorTest, SecretsAreRedactedFromRepliesBeforeTheyLeave) {
  auto& c = Connector();
  // An unknown command is echoed back ("I did not understand ..."): the echo must not
  // carry the key.
  const auto r = c.Handle(SignedForm(SlashBody("frobnicate AKIAIOSFODNN7EXAMPLE")));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string body = AckAnswer(r);
  EXPECT_EQ(body.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << body;
  EXPECT_NE(body.find("[redacted:aws-access-key-id]"), std::string::npos) << body;
  EXPECT_NE(body.find("frobnicate"), std::string::npos) << body;
}

TEST_F(SlackConnectorTest, DoesNotActWhenTheAuditAppendFails) {
  auto& c = Connector();
  audit_.FailWith(core::Unavailable("disk I/O error"));
  const auto r = c.Handle(SignedForm(SlashBody("ping")));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ErrorCode(r), "audit_unavailable");
  sender_->Shutdown(http::ShutdownMode::kDrain);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(SlackConnectorTest, AuditsRejectionsWithoutSecrets) {
  auto& c = Connector();
  auto req = DocRequest();
  req.body += "------";
  EXPECT_EQ(c.Handle(req).status, 401);
  EXPECT_EQ(c.Handle(SignedForm(SlashBody("ping", "TOTHER"))).status, 403);
  const auto records = audit_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, audit::RecordKind::kRejection);
  EXPECT_EQ(records[0].reason, "signature_mismatch");
  EXPECT_EQ(records[0].result, "401");
  EXPECT_EQ(records[1].reason, "team_not_allowed");
  EXPECT_EQ(records[1].workspace, "TOTHER");
  for (const auto& rec : records) {
    const std::string bytes = audit::EncodeRecord(rec);
    EXPECT_EQ(bytes.find(std::string(kDocSecret)), std::string::npos);
    EXPECT_EQ(bytes.find("x-slack-signature"), std::string::npos);
    EXPECT_TRUE(rec.text.empty());
  }
}

TEST_F(SlackConnectorTest, RefusesWorkspacesNotOnTheAllowList) {
  auto& c = Connector();
  const auto r = c.Handle(SignedForm(SlashBody("ping", "TOTHER")));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorCode(r), "team_not_allowed");
  EXPECT_NE(Logs().find("\"team\":\"TOTHER\""), std::string::npos) << Logs();
  EXPECT_EQ(http_.RequestCount(), 0u);
}

TEST_F(SlackConnectorTest, RefusesAnIdenticalReplayAndAnswersOnce) {
  auto& c = Connector();
  const auto req = SignedForm(SlashBody("ping"));
  const auto first = c.Handle(req);
  EXPECT_NE(AckAnswer(first).find("pong"), std::string::npos);
  clock_.Advance(10s);
  const auto again = c.Handle(req);
  EXPECT_EQ(again.status, 401);
  EXPECT_EQ(ErrorCode(again), "replayed");
  EXPECT_EQ(again.body.find("pong"), std::string::npos);
  // Acted on once: one request record, one rejection.
  ASSERT_EQ(audit_.records().size(), 2u);
  EXPECT_EQ(audit_.records()[1].reason, "replayed");
}

TEST_F(SlackConnectorTest, MalformedBodyIs400) {
  auto& c = Connector();
  const auto r = c.Handle(SignedJson("{\"type\": \"event_callback\""));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "malformed");
  EXPECT_EQ(c.Handle(SignedForm("team_id=%ZZ")).status, 400);
}

TEST_F(SlackConnectorTest, AnswersSlacksSslCheck) {
  EXPECT_EQ(Connector().Handle(SignedForm("ssl_check=1&token=xyz")).status, 200);
}

TEST_F(SlackConnectorTest, EchoesTheUrlVerificationChallenge) {
  const auto r =
      Connector().Handle(SignedJson(R"({"token":"x","challenge":"3eZbrw1aB","type":"url_verification"})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(boost::json::parse(r.body).at("challenge").as_string(), "3eZbrw1aB");
}

TEST_F(SlackConnectorTest, AnswersAMentionInItsThreadWithTheBotToken) {
  auto& c = Connector();
  const auto r = c.Handle(SignedJson(MentionBody("whoami")));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitForRequests(1));
  const auto sent = http_.Requests()[0];
  EXPECT_EQ(sent.url, "https://slack.test/api/chat.postMessage");
  ASSERT_TRUE(sent.bearer_token.has_value());
  EXPECT_EQ(sent.bearer_token->Reveal(), kBotToken);
  const auto body = boost::json::parse(sent.body).as_object();
  EXPECT_EQ(body.at("channel").as_string(), "C0123");
  EXPECT_EQ(body.at("thread_ts").as_string(), "1531420618.000100");
  EXPECT_NE(sent.body.find("not linked"), std::string::npos);
  EXPECT_NE(sent.body.find("U2CERLKJA"), std::string::npos);
}

// Identity linking as the connector sees it: a scripted Linker.
class FakeLinker final : public identity::Linker {
 public:
  core::Result<identity::ResolvedIdentity> Resolve(const store::PlatformAccount& a) override {
    std::lock_guard<std::mutex> lock(mu);
    resolved.push_back(a);
    if (fail) {
      return core::Fail(core::Unavailable("store down"));
    }
    return who;
  }
  core::Result<std::string> StartLink(const store::PlatformAccount& a) override {
    std::lock_guard<std::mutex> lock(mu);
    started.push_back(a);
    return std::string("https://gw.example/auth/login?t=tok123");
  }
  std::chrono::seconds link_token_ttl() const override { return std::chrono::minutes(10); }
  core::Result<bool> Unlink(const store::PlatformAccount&) override {
    who = {};
    return true;
  }

  std::mutex mu;
  identity::ResolvedIdentity who;
  bool fail = false;
  std::vector<store::PlatformAccount> resolved;
  std::vector<store::PlatformAccount> started;
};

TEST_F(SlackConnectorTest, UnlinkedAskersGetOnlyHelpAndLink) {
  FakeLinker linker;
  deps_->linker = &linker;
  auto& c = Connector();
  std::string body = AckAnswer(c.Handle(SignedForm(SlashBody("ping"))));
  EXPECT_EQ(body.find("pong"), std::string::npos) << body;
  EXPECT_NE(body.find("/ops link"), std::string::npos) << body;
  ASSERT_FALSE(linker.resolved.empty());
  EXPECT_EQ(linker.resolved[0], (store::PlatformAccount{"slack", std::string(kTeam), "U2CERLKJA"}));

  clock_.Advance(1s);
  body = AckAnswer(c.Handle(
      SignedForm(SlashBody("link", kTeam, "https://hooks.slack.com/commands/T1DC2JH3J/2/abc",
                           "398738663015.47445629121.803a0bc9"))));
  EXPECT_NE(body.find("<https://gw.example/auth/login?t=tok123|Link my account>"),
            std::string::npos)
      << body;
  EXPECT_EQ(boost::json::parse(body).at("response_type").as_string(), "ephemeral");
  ASSERT_EQ(linker.started.size(), 1u);
  // Nobody is named in the audit records of an unlinked asker.
  for (const auto& rec : audit_.records()) {
    EXPECT_TRUE(rec.principal.empty());
  }
}

TEST_F(SlackConnectorTest, ALinkedAskerIsNamedInTheAuditRecordAndInWhoami) {
  FakeLinker linker;
  linker.who.state = identity::ResolvedIdentity::State::kLinked;
  pipeline::Principal p;
  p.issuer = "https://idp.example";
  p.subject = "alice";
  p.email = "alice@example.com";
  linker.who.principal = p;
  deps_->linker = &linker;
  auto& c = Connector();
  const std::string body = AckAnswer(c.Handle(SignedForm(SlashBody("whoami"))));
  EXPECT_NE(body.find("alice at https://idp.example"), std::string::npos) << body;
  EXPECT_EQ(audit_.records().at(0).principal, "https://idp.example|alice");
}

// Policy in the Slack path: decisions answered in the chat and recorded, approvals
// posted to the approvers' channel and decided by a button.
class SlackPolicyTest : public SlackConnectorTest {
 protected:
  SlackPolicyTest()
      : holder_(Policy()),
        rates_(*store_),
        approvals_(*store_),
        authorizer_(holder_, &rates_),
        desk_(approvals_, authorizer_, clock_, Approvals()),
        dispatcher_({&authorizer_, &desk_, &audit_, &clock_, &log_, &notifier_}) {
    linker_.who.state = identity::ResolvedIdentity::State::kLinked;
    linker_.who.principal = Person("alice");
    deps_->linker = &linker_;
    deps_->authorizer = &authorizer_;
    deps_->dispatcher = &dispatcher_;
    deps_->understand.catalogue = &catalogue_;
    deps_->understand.defaults.region = "eu-west-1";
    deps_->notifier = &notifier_;
  }

  static std::shared_ptr<const policy::Policy> Policy() {
    auto p = policy::ParsePolicy(R"(
statements:
  - id: reboot-with-a-lead
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:RebootInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions: {approval: {count: 1, approver_group: leads}}
)",
                                 "test.yaml");
    EXPECT_TRUE(p.has_value());
    return std::make_shared<const policy::Policy>(std::move(*p));
  }
  static config::ApprovalsConfig Approvals() {
    config::ApprovalsConfig a;
    a.slack_channel = "C0APPROVE";
    return a;
  }
  pipeline::Principal Person(std::string name) {
    pipeline::Principal p;
    p.issuer = "https://idp.example";
    p.subject = name;
    p.email = name + "@example.com";
    p.groups = name == "alice" ? std::vector<std::string>{"ops"} : std::vector<std::string>{"leads"};
    p.mfa_at = clock_.Now();
    return p;
  }
  SlackConnector& PolicyConnector() {
    SlackSettings s;
    s.signing_secret = core::Secret(std::string(kDocSecret));
    s.bot_token = core::Secret(std::string(kBotToken));
    s.api_url = "https://slack.test/api";
    s.team_ids = {std::string(kTeam)};
    s.approvals_channel = "C0APPROVE";
    connector_ = std::make_unique<SlackConnector>(std::move(s), *deps_);
    return *connector_;
  }
  // Waits (bounded) until the fake client has seen `n` requests, leaving the sender on.
  bool WaitForCount(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (http_.RequestCount() >= n && sender_->queued() == 0) {
        return http_.RequestCount() == n;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  // The policy: the asker's group may stop instances.
  void AllowStop() {
    auto stop = policy::ParsePolicy(R"(
statements:
  - {id: ops-stop, effect: allow, principals: {groups: [ops]}, actions: ["ec2:StopInstances"],
     resources: ["*"]}
)",
                                    "test.yaml");
    ASSERT_TRUE(stop.has_value());
    holder_.Replace(std::make_shared<const policy::Policy>(std::move(*stop)));
  }
  // AllowStop, a dispatcher running `executor` for it on `work` (a slow action), and
  // connector_ without a bot token.
  void NoBotTokenWithSlowStop(pipeline::Executor& executor, core::WorkQueue& work) {
    AllowStop();
    slow_ = std::make_unique<pipeline::Dispatcher>(pipeline::Dispatcher::Deps{
        &authorizer_, &desk_, &audit_, &clock_, &log_, &notifier_, &work});
    slow_->Register("ec2:StopInstances", &executor);
    deps_->dispatcher = slow_.get();
    SlackSettings settings;
    settings.signing_secret = core::Secret(std::string(kDocSecret));
    settings.api_url = "https://slack.test/api";
    settings.team_ids = {std::string(kTeam)};
    connector_ = std::make_unique<SlackConnector>(std::move(settings), *deps_);
  }

  FakeLinker linker_;
  intents::Catalogue catalogue_ = intents::DefaultCatalogue();
  pipeline::PolicyHolder holder_;
  store::SqliteRateEventStore rates_;
  store::SqliteApprovalStore approvals_;
  pipeline::Authorizer authorizer_;
  pipeline::Notifier notifier_;
  pipeline::ApprovalDesk desk_;
  pipeline::Dispatcher dispatcher_;
  std::unique_ptr<pipeline::Dispatcher> slow_;  // NoBotTokenWithSlowStop's
};

TEST_F(SlackPolicyTest, DeniedCommandGetsTheReasonAndADecisionRecord) {
  auto& c = PolicyConnector();
  const std::string body = AckAnswer(c.Handle(SignedForm(SlashBody("ec2 stop i-0abc1234"))));
  EXPECT_NE(body.find("Not allowed"), std::string::npos) << body;
  EXPECT_NE(body.find("default-deny"), std::string::npos) << body;
  const audit::Record r = audit_.records().at(0);
  EXPECT_EQ(r.kind, audit::RecordKind::kDecision);
  EXPECT_EQ(r.decision, "deny");
  EXPECT_EQ(r.statement, "default-deny");
  EXPECT_EQ(r.intent, "ec2.stop");
  EXPECT_EQ(r.resource, "arn:aws:ec2:eu-west-1:*:instance/i-0abc1234");
  EXPECT_EQ(r.principal, "https://idp.example|alice");
}

TEST_F(SlackPolicyTest, ApprovalGoesToTheApproversChannelAndAButtonReleasesIt) {
  auto& c = PolicyConnector();
  // The asker gets a notice (the acknowledgement), the approvers' channel the request
  // (chat.postMessage).
  const std::string notice = AckAnswer(c.Handle(SignedForm(SlashBody("ec2 reboot i-0abc1234"))));
  ASSERT_TRUE(WaitForCount(1)) << Logs();
  const std::string ask = http_.Requests()[0].body;
  EXPECT_NE(http_.Requests()[0].url.find("chat.postMessage"), std::string::npos);
  EXPECT_NE(ask.find("\"channel\":\"C0APPROVE\""), std::string::npos) << ask;
  EXPECT_NE(ask.find(std::string(kApproveActionId)), std::string::npos) << ask;
  EXPECT_NE(notice.find("Waiting for approval"), std::string::npos) << notice;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ask, m, std::regex("\"value\":\"([0-9A-Z]{8})\""))) << ask;
  const std::string id = m[1];

  // The requester's own click does not count.
  clock_.Advance(1s);
  ASSERT_EQ(c.Handle(SignedForm(ActionsBody(kApproveActionId, "https://hooks.slack.com/a/1", id)))
                .status,
            200);
  ASSERT_TRUE(WaitForCount(2)) << Logs();
  EXPECT_NE(http_.Requests()[1].body.find("your own request"), std::string::npos)
      << http_.Requests()[1].body;

  // A lead's click approves it: their message is replaced, the requester is told.
  linker_.who.principal = Person("bob");
  clock_.Advance(1s);
  ASSERT_EQ(c.Handle(SignedForm(ActionsBody(kApproveActionId, "https://hooks.slack.com/a/2", id,
                                            "U0BOB")))
                .status,
            200);
  ASSERT_TRUE(WaitForRequests(4)) << Logs();
  std::string voter;
  std::string told;
  const auto requests = http_.Requests();
  for (size_t i = 2; i < 4; ++i) {
    const auto& req = requests[i];
    (req.url.find("chat.postMessage") != std::string::npos ? told : voter) = req.body;
  }
  EXPECT_NE(voter.find("approved (1 of 1)"), std::string::npos) << voter << "\n" << told;
  EXPECT_NE(voter.find("\"replace_original\":true"), std::string::npos) << voter;
  EXPECT_NE(told.find("was approved"), std::string::npos) << told;
  EXPECT_NE(told.find("\"channel\":\"C0123\""), std::string::npos) << told;
  bool approval_recorded = false;
  for (const auto& r : audit_.records()) {
    approval_recorded = approval_recorded || (r.kind == audit::RecordKind::kApproval &&
                                              r.principal == "https://idp.example|bob" &&
                                              r.result == "approved");
  }
  EXPECT_TRUE(approval_recorded);
}

TEST_F(SlackPolicyTest, ApproversMayTypeApproveOrDenyInsteadOfClicking) {
  auto& c = PolicyConnector();
  AckAnswer(c.Handle(SignedForm(SlashBody("ec2 reboot i-0abc1234"))));
  ASSERT_TRUE(WaitForCount(1)) << Logs();
  std::string ask;
  for (const auto& req : http_.Requests()) {
    if (req.url.find("chat.postMessage") != std::string::npos) {
      ask = req.body;
    }
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ask, m, std::regex("\"value\":\"([0-9A-Z]{8})\""))) << ask;
  const std::string id = m[1];
  // A lead types the vote (any case); the dispatcher records it with both principals.
  linker_.who.principal = Person("bob");
  clock_.Advance(1s);
  std::string lower = id;
  for (char& ch : lower) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  std::string all =
      AckAnswer(c.Handle(SignedForm(SlashBody("approve " + lower, kTeam,
                                              "https://hooks.slack.com/commands/T1DC2JH3J/2/abc",
                                              "398738663015.47445629121.803a0bc9")))) +
      "\n";
  ASSERT_TRUE(WaitForCount(2)) << Logs();
  for (const auto& req : http_.Requests()) {
    all += req.body + "\n";
  }
  EXPECT_NE(all.find("approved (1 of 1)"), std::string::npos) << all;
  EXPECT_NE(all.find("was approved"), std::string::npos) << all;
  bool request_named = false;
  bool approval_recorded = false;
  for (const auto& r : audit_.records()) {
    request_named =
        request_named || (r.action == "opsgate:Approve" && r.resource == "opsgate:approval/" + id);
    approval_recorded =
        approval_recorded || (r.kind == audit::RecordKind::kApproval &&
                              r.principal == "https://idp.example|bob" && r.result == "approved");
  }
  EXPECT_TRUE(request_named);
  EXPECT_TRUE(approval_recorded);
  // An unknown id is answered without effect.
  clock_.Advance(1s);
  const std::string unknown = AckAnswer(c.Handle(SignedForm(
      SlashBody("deny ZZZZZZZZ", kTeam, "https://hooks.slack.com/commands/T1DC2JH3J/3/abc",
                "398738663015.47445629121.803a0bca"))));
  EXPECT_NE(unknown.find("ZZZZZZZZ"), std::string::npos) << unknown;
  ASSERT_TRUE(WaitForRequests(2)) << Logs();
}

// Issue 7's "done when" in Slack: free text through the real classifier; the confirm
// button answers the question; "stop it" asks which instance.
TEST_F(SlackPolicyTest, FreeTextIsConfirmedForExactlyThatInstance) {
  ASSERT_NO_FATAL_FAILURE(AllowStop());
  auto classifier = intents::Classifier::Train(catalogue_);
  ASSERT_TRUE(classifier.has_value());
  store::SqliteDialogStore dialogs(*store_);
  deps_->understand.dialogs = &dialogs;
  deps_->understand.classify = [&](std::string_view text) {
    intents::NluResult r = classifier->Parse(text);
    return pipeline::Classified{r.intent, r.confidence, r.slots, r.alternatives,
                                r.below_threshold};
  };
  auto& c = PolicyConnector();
  std::string body = AckAnswer(c.Handle(SignedForm(SlashBody("could you stop i-0abc1234 please"))));
  EXPECT_NE(body.find("Stop instance i-0abc1234?"), std::string::npos) << body;
  EXPECT_NE(body.find(std::string(kConfirmActionId)), std::string::npos) << body;
  EXPECT_TRUE(audit_.records().at(0).decision.empty());  // nothing decided yet

  clock_.Advance(1s);
  ASSERT_EQ(c.Handle(SignedForm(ActionsBody(kConfirmActionId, "https://hooks.slack.com/a/9",
                                            "ec2.stop")))
                .status,
            200);
  ASSERT_TRUE(WaitForCount(1)) << Logs();
  body = http_.Requests()[0].body;
  EXPECT_NE(body.find("Allowed, not run"), std::string::npos) << body;
  EXPECT_NE(body.find("instance/i-0abc1234"), std::string::npos) << body;
  bool decided = false;
  for (const auto& r : audit_.records()) {
    decided = decided || (r.kind == audit::RecordKind::kDecision && r.decision == "allow" &&
                          r.statement == "ops-stop" && r.intent == "ec2.stop");
  }
  EXPECT_TRUE(decided);

  clock_.Advance(1s);
  body = AckAnswer(c.Handle(
      SignedForm(SlashBody("stop it", kTeam, "https://hooks.slack.com/commands/T1DC2JH3J/1/abc",
                           "398738663015.47445629121.803a0bc9"))));
  EXPECT_NE(body.find("Which instance?"), std::string::npos) << body;
}

// An executor that calls out (AWS): slow, so it runs on the dispatcher's pool.
class SlowStop final : public pipeline::Executor {
 public:
  bool Slow() const override { return true; }
  pipeline::Reply Started(const pipeline::ExecContext& c) override {
    return pipeline::Reply("Stopping " + c.action.slots.at("instance_id") + "...");
  }
  pipeline::ExecResult Run(const pipeline::ExecContext& c) override {
    pipeline::ExecResult r;
    r.reply =
        pipeline::Reply("Stopped " + c.action.slots.at("instance_id") + ": running, now stopping.");
    r.reply.Text(r.reply.text);
    return r;
  }
};

TEST_F(SlackPolicyTest, ASlowActionsResultUsesTheResponseUrlWithoutABotToken) {
  core::WorkQueue work("aws", 1, 4);
  SlowStop executor;
  ASSERT_NO_FATAL_FAILURE(NoBotTokenWithSlowStop(executor, work));
  // The answer at once (in the acknowledgement), the result later: without a bot
  // token, to the command's response_url.
  const std::string started =
      AckAnswer(connector_->Handle(SignedForm(SlashBody("ec2 stop i-0abc1234"))));
  EXPECT_NE(started.find("Stopping i-0abc1234..."), std::string::npos) << started;
  ASSERT_TRUE(WaitForCount(1)) << Logs();
  work.Shutdown();
  const auto result = http_.Requests()[0];
  EXPECT_EQ(result.url, "https://hooks.slack.com/commands/T1DC2JH3J/1/abc");
  EXPECT_FALSE(result.bearer_token.has_value());
  EXPECT_NE(result.body.find("Stopped i-0abc1234: running, now stopping."), std::string::npos)
      << result.body;
  // The outcome is on record after the decision.
  bool outcome = false;
  for (const auto& r : audit_.records()) {
    outcome = outcome || (r.kind == audit::RecordKind::kOutcome && r.result == "ok" &&
                          r.action == "ec2:StopInstances");
  }
  EXPECT_TRUE(outcome);
}

// A long action (a resize) reporting progress many times.
class ChattyStop final : public pipeline::Executor {
 public:
  bool Slow() const override { return true; }
  pipeline::Reply Started(const pipeline::ExecContext&) override {
    return pipeline::Reply("Resizing...");
  }
  pipeline::ExecResult Run(const pipeline::ExecContext& c) override {
    for (int i = 1; i <= 8; ++i) {
      c.progress(pipeline::Reply("still stopping, report " + std::to_string(i)));
    }
    pipeline::ExecResult r;
    r.reply = pipeline::Reply("Resized.");
    return r;
  }
};

TEST_F(SlackPolicyTest, WithoutABotTokenProgressLeavesTheLastResponseUrlPostForTheResult) {
  core::WorkQueue work("aws", 1, 4);
  ChattyStop executor;
  ASSERT_NO_FATAL_FAILURE(NoBotTokenWithSlowStop(executor, work));
  EXPECT_NE(AckAnswer(connector_->Handle(SignedForm(SlashBody("ec2 stop i-0abc1234"))))
                .find("Resizing..."),
            std::string::npos);
  work.Shutdown();  // the action has run: every post is queued
  ASSERT_TRUE(WaitForRequests(5)) << Logs();
  // Slack takes five posts on a response_url: four reports, then the result.
  const auto posts = http_.Requests();
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NE(posts[i].body.find("report " + std::to_string(i + 1)), std::string::npos)
        << posts[i].body;
  }
  EXPECT_NE(posts[4].body.find("Resized."), std::string::npos) << posts[4].body;
  EXPECT_NE(Logs().find("slack.progress_skipped"), std::string::npos);
}

TEST_F(SlackConnectorTest, AnIdentityStoreFailureLeavesTheAskerUnlinked) {
  FakeLinker linker;
  linker.fail = true;
  deps_->linker = &linker;
  auto& c = Connector();
  const std::string body = AckAnswer(c.Handle(SignedForm(SlashBody("whoami"))));
  EXPECT_NE(body.find("/ops link"), std::string::npos) << body;
  EXPECT_NE(Logs().find("slack.identity_unavailable"), std::string::npos);
}

TEST_F(SlackConnectorTest, SlackRetryOfASeenEventIsAcknowledgedButNotProcessedAgain) {
  auto& c = Connector();
  EXPECT_EQ(c.Handle(SignedJson(MentionBody("ping", "Ev42"))).status, 200);
  clock_.Advance(60s);
  auto retry = SignedJson(MentionBody("ping", "Ev42"));  // Slack re-signs retries
  retry.headers.emplace_back("x-slack-retry-num", "1");
  retry.headers.emplace_back("x-slack-retry-reason", "http_timeout");
  EXPECT_EQ(c.Handle(retry).status, 200);
  // The same event_id without the retry header is a replay.
  clock_.Advance(1s);
  const auto replay = c.Handle(SignedJson(MentionBody("ping", "Ev42")));
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(ErrorCode(replay), "replayed");
  ASSERT_TRUE(WaitForRequests(1));
  EXPECT_NE(Metrics().find("opsgate_slack_requests_total{kind=\"duplicate\"} 1"),
            std::string::npos);
}

TEST_F(SlackConnectorTest, DropsResponseUrlsOutsideSlack) {
  auto& c = Connector();
  // A button's answer goes to the payload's response_url: only Slack's hosts are called.
  const auto r = c.Handle(SignedForm(ActionsBody(kConfirmActionId, "https://evil.example/x")));
  EXPECT_EQ(r.status, 200);
  sender_->Shutdown(http::ShutdownMode::kDrain);
  EXPECT_EQ(http_.RequestCount(), 0u);
  EXPECT_NE(Metrics().find("opsgate_slack_rejections_total{reason=\"response_url_not_allowed\"} 1"),
            std::string::npos);
  EXPECT_EQ(Logs().find("evil.example/x"), std::string::npos);
}

TEST_F(SlackConnectorTest, AcceptsResponseUrlsOnTheApiHost) {
  auto& c = Connector();
  EXPECT_EQ(
      c.Handle(SignedForm(ActionsBody(kConfirmActionId, "https://slack.test/hooks/1"))).status,
      200);
  ASSERT_TRUE(WaitForRequests(1));
  EXPECT_EQ(http_.Requests()[0].url, "https://slack.test/hooks/1");
}

TEST_F(SlackConnectorTest, ConfirmClickWithNothingOpenReplacesTheOriginalMessage) {
  auto& c = Connector();
  const auto r = c.Handle(
      SignedForm(ActionsBody(kConfirmActionId, "https://hooks.slack.com/actions/T1/2/x")));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitForRequests(1));
  const auto body = boost::json::parse(http_.Requests()[0].body).as_object();
  EXPECT_TRUE(body.at("replace_original").as_bool());
  // No question is open in this conversation: the click does nothing, and says so.
  EXPECT_NE(http_.Requests()[0].body.find("Nothing is waiting"), std::string::npos)
      << http_.Requests()[0].body;
}

TEST_F(SlackConnectorTest, HonoursRetryAfterOn429) {
  http_.PushResponse(429, "", {{"retry-after", "3"}});
  http_.PushResponse(200, R"({"ok":true})");
  auto& c = Connector();
  const auto start = clock_.SteadyNow();
  ASSERT_EQ(c.Handle(SignedJson(MentionBody("ping"))).status, 200);
  ASSERT_TRUE(WaitForRequests(2));
  EXPECT_GE(clock_.SteadyNow() - start, 3s);
}

TEST_F(SlackConnectorTest, CountsWebApiErrorsAsFailedReplies) {
  http_.PushResponse(200, R"({"ok":false,"error":"invalid_auth"})");
  auto& c = Connector();
  ASSERT_EQ(c.Handle(SignedJson(MentionBody("ping"))).status, 200);
  ASSERT_TRUE(WaitForRequests(1));
  EXPECT_NE(Metrics().find("opsgate_slack_replies_total{target=\"slack.chat_postMessage\","
                           "result=\"failed\"} 1"),
            std::string::npos)
      << Metrics();
  EXPECT_NE(Logs().find("invalid_auth"), std::string::npos);
}

TEST_F(SlackConnectorTest, NeverLogsTheSecretOrTheToken) {
  auto& c = Connector();
  (void)c.Handle(DocRequest());
  (void)c.Handle(SignedForm(SlashBody("ping", "TOTHER")));
  (void)c.Handle(SignedJson(MentionBody("ping")));
  ASSERT_TRUE(WaitForRequests(1));
  EXPECT_EQ(Logs().find(std::string(kDocSecret)), std::string::npos);
  EXPECT_EQ(Logs().find(std::string(kBotToken)), std::string::npos);
}

TEST_F(SlackConnectorTest, RegistersOneRouteWithItsBodyLimit) {
  http::Router router;
  ASSERT_TRUE(Connector().RegisterRoutes(router).has_value());
  const http::Route* route = router.Find("POST", "/slack/events");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->body_limit, 256u * 1024u);
}

// --- factory ---------------------------------------------------------------------

class SlackFactoryTest : public SlackConnectorTest {
 protected:
  config::Config ConfigWith(config::ConnectorSwitch enabled, const char* secret_env) {
    config::Config c;
    config::SlackConfig s;
    s.enabled = enabled;
    s.signing_secret = config::ParseSecretRef(std::string("env:") + secret_env, "/");
    s.team_ids = {std::string(kTeam)};
    c.connectors.slack = s;
    return c;
  }
};

TEST_F(SlackFactoryTest, AutoWithoutTheSecretIsOffWithAWarning) {
  ::unsetenv("OPSGATE_TEST_UNSET_SECRET");
  SlackConnectorFactory f;
  const auto c = ConfigWith(config::ConnectorSwitch::kAuto, "OPSGATE_TEST_UNSET_SECRET");
  ASSERT_TRUE(f.Enabled(c));
  auto created = f.Create(c, *deps_);
  ASSERT_TRUE(created.has_value()) << created.error();
  EXPECT_EQ(*created, nullptr);
  EXPECT_NE(Logs().find("slack connector off: signing secret"), std::string::npos) << Logs();
}

TEST_F(SlackFactoryTest, EnabledTrueWithoutTheSecretIsAStartupError) {
  ::unsetenv("OPSGATE_TEST_UNSET_SECRET");
  SlackConnectorFactory f;
  auto created =
      f.Create(ConfigWith(config::ConnectorSwitch::kOn, "OPSGATE_TEST_UNSET_SECRET"), *deps_);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(created.error().message.find("env:OPSGATE_TEST_UNSET_SECRET"), std::string::npos);
}

TEST_F(SlackFactoryTest, EmptySecretIsAConfigurationError) {
  ::setenv("OPSGATE_TEST_EMPTY_SECRET", "", 1);
  SlackConnectorFactory f;
  auto created =
      f.Create(ConfigWith(config::ConnectorSwitch::kOn, "OPSGATE_TEST_EMPTY_SECRET"), *deps_);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, core::ErrorCode::kFailedPrecondition);
  ::unsetenv("OPSGATE_TEST_EMPTY_SECRET");
}

TEST_F(SlackFactoryTest, OffIsNotEnabledAndResolvedSecretBuildsTheConnector) {
  SlackConnectorFactory f;
  EXPECT_FALSE(f.Enabled(ConfigWith(config::ConnectorSwitch::kOff, "X")));
  EXPECT_FALSE(f.Enabled(config::Config{}));
  ::setenv("OPSGATE_TEST_SET_SECRET", "s3cret-value", 1);
  auto created =
      f.Create(ConfigWith(config::ConnectorSwitch::kAuto, "OPSGATE_TEST_SET_SECRET"), *deps_);
  ASSERT_TRUE(created.has_value()) << created.error();
  ASSERT_NE(*created, nullptr);
  EXPECT_EQ((*created)->Name(), "slack");
  EXPECT_EQ(Logs().find("s3cret-value"), std::string::npos);
  ::unsetenv("OPSGATE_TEST_SET_SECRET");
}

}  // namespace
}  // namespace opsgate::connectors::slack
