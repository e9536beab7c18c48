// Integration tests for the Slack connector: the real opsgate binary, configured by
// `opsgate init` plus the OPSGATE_SLACK_* variables, answering signed requests over
// HTTPS and replying to a local HTTPS stand-in for slack.com (slack_standin.h).
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>

#include "opsgate/connectors/slack/verifier.h"
#include "test/integration/https_client.h"
#include "test/integration/opsgate_process.h"
#include "test/integration/slack_standin.h"
#include "test/fakes/form_encode.h"

namespace opsgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecret = "it-signing-secret-8f742231b10e8888";
constexpr const char* kToken = "xoxb-it-bot-token-5551234";
constexpr const char* kTeam = "T0ALLOWED";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SlackEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    standin_ = std::make_unique<SlackStandIn>(dir_.path(), kToken);
    ::setenv("OPSGATE_SLACK_SIGNING_SECRET", kSecret, 1);
    ::setenv("OPSGATE_SLACK_BOT_TOKEN", kToken, 1);
    ::setenv("OPSGATE_SLACK_API_URL", standin_->ApiUrl().c_str(), 1);
    ::setenv("OPSGATE_SLACK_TEAM_IDS", (std::string("TOTHERONE, ") + kTeam).c_str(), 1);
    const auto init = RunOpsgate({"init", dir_.path() + "/data"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    config_ = dir_.path() + "/data/opsgate.yaml";
    ca_ = dir_.path() + "/data/tls/server.crt";
    std::ofstream(config_, std::ios::app) << "\noutbound:\n  ca_file: " << standin_->ca_file()
                                          << "\n";
    server_ = std::make_unique<OpsgateProcess>(
        std::vector<std::string>{"serve", "--config", config_, "--listen", "127.0.0.1:0"});
    port_ = server_->WaitUntilListening();
    ASSERT_NE(port_, 0) << server_->Stderr();
  }
  void TearDown() override {
    if (server_) {
      // Secrets never reach the log, whatever happened.
      const std::string err = server_->Stderr();
      EXPECT_EQ(err.find(kSecret), std::string::npos);
      EXPECT_EQ(err.find(kToken), std::string::npos);
      server_.reset();
    }
    for (const char* name : {"OPSGATE_SLACK_SIGNING_SECRET", "OPSGATE_SLACK_BOT_TOKEN",
                             "OPSGATE_SLACK_API_URL", "OPSGATE_SLACK_TEAM_IDS"}) {
      ::unsetenv(name);
    }
  }

  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }

  HttpResult Post(const std::string& body, const std::string& content_type, int64_t ts,
                  const std::string& secret = kSecret, std::vector<std::string> extra = {}) {
    const std::string t = std::to_string(ts);
    std::vector<std::string> headers = {
        "Content-Type: " + content_type, "X-Slack-Request-Timestamp: " + t,
        "X-Slack-Signature: " +
            connectors::slack::ComputeSlackSignature(t, body, core::Secret(secret))};
    headers.insert(headers.end(), extra.begin(), extra.end());
    return Fetch({"POST", Url("/slack/events"), body, headers, ca_});
  }
  HttpResult PostForm(const std::string& body, std::vector<std::string> extra = {}) {
    return Post(body, "application/x-www-form-urlencoded", Now(), kSecret, std::move(extra));
  }
  HttpResult PostJson(const std::string& body, std::vector<std::string> extra = {}) {
    return Post(body, "application/json", Now(), kSecret, std::move(extra));
  }

  std::string Slash(const std::string& text, int hook, const std::string& team = kTeam,
                    const std::string& trigger = "1.2.3") const {
    return "team_id=" + team +
           "&team_domain=acme&channel_id=C0OPS&channel_name=ops&user_id=U0ADA&user_name=ada"
           "&command=%2Fops&text=" +
           FormEncode(text) + "&response_url=" + FormEncode(standin_->HookUrl(hook)) +
           "&trigger_id=" + trigger;
  }
  static std::string Mention(const std::string& text, const std::string& event_id,
                             const std::string& channel = "C0OPS") {
    boost::json::object event{{"type", "app_mention"},    {"user", "U0ADA"},
                              {"text", "<@U0BOT> " + text}, {"ts", "1531420618.000100"},
                              {"channel", channel},        {"event_ts", "1531420618.000100"}};
    boost::json::object env{{"type", "event_callback"}, {"team_id", kTeam},
                            {"api_app_id", "A0APP"},   {"event", event},
                            {"event_id", event_id},    {"event_time", Now()}};
    return boost::json::serialize(env);
  }
  // A Block Kit button click (interactivity: form field `payload` holding JSON).
  std::string Click(const std::string& action_id, int hook) const {
    boost::json::object payload{
        {"type", "block_actions"},
        {"user", {{"id", "U0ADA"}, {"username", "ada"}, {"team_id", kTeam}}},
        {"team", {{"id", kTeam}, {"domain", "acme"}}},
        {"api_app_id", "A0APP"},
        {"container",
         {{"type", "message"}, {"message_ts", "1531420618.000100"}, {"channel_id", "C0OPS"}}},
        {"channel", {{"id", "C0OPS"}, {"name", "ops"}}},
        {"trigger_id", "1.2.click"},
        {"response_url", standin_->HookUrl(hook)},
        {"actions", boost::json::array{{{"type", "button"},
                                        {"action_id", action_id},
                                        {"block_id", "b1"},
                                        {"value", "dlg-1"},
                                        {"action_ts", "1531420618.1"}}}}};
    return "payload=" + FormEncode(boost::json::serialize(payload));
  }
  std::string Metrics() const {
    return Fetch({"GET", Url("/metrics"), "", {}, ca_}).body;
  }

  TempDir dir_;
  std::unique_ptr<SlackStandIn> standin_;
  std::string config_;
  std::string ca_;
  std::unique_ptr<OpsgateProcess> server_;
  uint16_t port_ = 0;
};

TEST_F(SlackEndToEnd, SlashPingIsAnsweredInItsAcknowledgement) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = PostForm(Slash("ping", 0));
  const auto ack = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_LT(ack, 3s);  // Slack's deadline; far below it in practice
  // Slack's immediate response: a message payload as the body of the 200.
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/json");
  const auto answer = boost::json::parse(r.body).as_object();
  EXPECT_EQ(answer.at("response_type").as_string(), "ephemeral");
  EXPECT_NE(std::string(answer.at("text").as_string()).find("pong"), std::string::npos) << r.body;
  EXPECT_FALSE(answer.contains("replace_original"));
  // Nothing goes to the response_url: a later mention's answer is the barrier.
  ASSERT_EQ(PostJson(Mention("ping", "Ev0ACKBARRIER")).status, 200);
  ASSERT_TRUE(standin_->WaitFor("/api/chat.postMessage", 1, 10s)) << server_->Stderr();
  EXPECT_TRUE(standin_->RequestsTo("/hooks/0").empty());
}

TEST_F(SlackEndToEnd, AButtonClickIsAnsweredThroughItsResponseUrl) {
  const auto r = PostForm(Click("opsgate.confirm", 5));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_TRUE(r.body.empty()) << r.body;  // interactivity: an empty 200, then the answer
  ASSERT_TRUE(standin_->WaitFor("/hooks/5", 1, 10s)) << server_->Stderr();
  const auto post = standin_->RequestsTo("/hooks/5").at(0);
  EXPECT_EQ(post.verdict, "ok") << post.body;
  EXPECT_EQ(post.content_type, "application/json; charset=utf-8");
  EXPECT_TRUE(post.authorization.empty());  // response_url needs no token
  const auto body = boost::json::parse(post.body).as_object();
  EXPECT_EQ(body.at("response_type").as_string(), "ephemeral");
  EXPECT_TRUE(body.at("replace_original").as_bool());
  EXPECT_NE(post.body.find("Nothing is waiting"), std::string::npos) << post.body;
}

TEST_F(SlackEndToEnd, AppMentionIsAnsweredWithChatPostMessageInTheThread) {
  const auto r = PostJson(Mention("whoami", "Ev0MENTION1"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  ASSERT_TRUE(standin_->WaitFor("/api/chat.postMessage", 1, 10s)) << server_->Stderr();
  const auto post = standin_->RequestsTo("/api/chat.postMessage").at(0);
  EXPECT_EQ(post.verdict, "ok") << post.body;
  EXPECT_EQ(post.authorization, std::string("Bearer ") + kToken);
  const auto body = boost::json::parse(post.body).as_object();
  EXPECT_EQ(body.at("channel").as_string(), "C0OPS");
  EXPECT_EQ(body.at("thread_ts").as_string(), "1531420618.000100");
  EXPECT_NE(post.body.find("U0ADA"), std::string::npos);
}

TEST_F(SlackEndToEnd, UrlVerificationEchoesTheChallenge) {
  const auto r = PostJson(R"({"token":"x","challenge":"c-123_abc","type":"url_verification"})");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(boost::json::parse(r.body).at("challenge").as_string(), "c-123_abc");
}

TEST_F(SlackEndToEnd, HostileRequestsGetTheirStatusAndAreCounted) {
  auto bad_sig = Post(Slash("ping", 1), "application/x-www-form-urlencoded", Now(),
                      "not-the-secret");
  EXPECT_EQ(bad_sig.status, 401);
  EXPECT_EQ(boost::json::parse(bad_sig.body).at("error").as_string(), "signature_mismatch");

  auto stale = Post(Slash("ping", 1), "application/x-www-form-urlencoded", Now() - 301);
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(boost::json::parse(stale.body).at("error").as_string(), "stale_timestamp");

  auto unsigned_req = Fetch({"POST", Url("/slack/events"), Slash("ping", 1),
                             {"Content-Type: application/x-www-form-urlencoded"}, ca_});
  EXPECT_EQ(unsigned_req.status, 401);

  auto team = PostForm(Slash("ping", 1, "T0STRANGER"));
  EXPECT_EQ(team.status, 403);
  EXPECT_EQ(boost::json::parse(team.body).at("error").as_string(), "team_not_allowed");

  auto malformed = PostJson(R"({"type":"event_callback","team_id":)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(boost::json::parse(malformed.body).at("error").as_string(), "malformed");

  const std::string m = Metrics();
  for (const char* line :
       {"opsgate_slack_rejections_total{reason=\"signature_mismatch\"} 1",
        "opsgate_slack_rejections_total{reason=\"stale_timestamp\"} 1",
        "opsgate_slack_rejections_total{reason=\"missing_header\"} 1",
        "opsgate_slack_rejections_total{reason=\"team_not_allowed\"} 1",
        "opsgate_slack_rejections_total{reason=\"malformed\"} 1"}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  }
  EXPECT_TRUE(standin_->RequestsTo("/hooks/1").empty());
  EXPECT_TRUE(server_->WaitForLog("\"reason\":\"team_not_allowed\"", 5s).has_value());
}

TEST_F(SlackEndToEnd, IdenticalReplayIsRefusedAndAnsweredOnlyOnce) {
  const std::string body = Slash("ping", 2);
  const std::string ts = std::to_string(Now());
  const std::vector<std::string> headers = {
      "Content-Type: application/x-www-form-urlencoded", "X-Slack-Request-Timestamp: " + ts,
      "X-Slack-Signature: " +
          connectors::slack::ComputeSlackSignature(ts, body, core::Secret(kSecret))};
  const auto first = Fetch({"POST", Url("/slack/events"), body, headers, ca_});
  EXPECT_EQ(first.status, 200);
  EXPECT_NE(first.body.find("pong"), std::string::npos) << first.body;
  const auto replay = Fetch({"POST", Url("/slack/events"), body, headers, ca_});
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(boost::json::parse(replay.body).at("error").as_string(), "replayed");
  EXPECT_EQ(replay.body.find("pong"), std::string::npos) << replay.body;
  // Nor is it answered another way.
  ASSERT_EQ(PostJson(Mention("ping", "Ev0REPLAYBARRIER")).status, 200);
  ASSERT_TRUE(standin_->WaitFor("/api/chat.postMessage", 1, 10s)) << server_->Stderr();
  EXPECT_TRUE(standin_->RequestsTo("/hooks/2").empty());
}

TEST_F(SlackEndToEnd, SlackRetryOfASeenEventIsAcknowledgedAndNotAnsweredTwice) {
  ASSERT_EQ(PostJson(Mention("ping", "Ev0RETRY1", "C0FIRST")).status, 200);
  const auto retry =
      PostJson(Mention("ping", "Ev0RETRY1", "C0FIRST"),
               {"X-Slack-Retry-Num: 1", "X-Slack-Retry-Reason: http_timeout"});
  EXPECT_EQ(retry.status, 200) << retry.body;
  ASSERT_EQ(PostJson(Mention("ping", "Ev0BARRIER", "C0BARRIER")).status, 200);
  ASSERT_TRUE(standin_->WaitFor("/api/chat.postMessage", 2, 10s)) << server_->Stderr();
  size_t first = 0;
  for (const auto& r : standin_->RequestsTo("/api/chat.postMessage")) {
    first += r.body.find("C0FIRST") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(first, 1u);
  EXPECT_NE(Metrics().find("opsgate_slack_requests_total{kind=\"duplicate\"} 1"),
            std::string::npos);
}

TEST_F(SlackEndToEnd, RateLimitedPostIsRetriedAfterRetryAfter) {
  standin_->RateLimitNext(1, 1);
  ASSERT_EQ(PostJson(Mention("ping", "Ev0RATE1")).status, 200);
  ASSERT_TRUE(standin_->WaitFor("/api/chat.postMessage", 2, 15s)) << server_->Stderr();
  const auto posts = standin_->RequestsTo("/api/chat.postMessage");
  EXPECT_EQ(posts[0].status, 429);
  EXPECT_EQ(posts[1].verdict, "ok");
  EXPECT_EQ(posts[0].body, posts[1].body);
  // Retry-After: 1 was waited for (minus scheduling slack), not retried at once.
  EXPECT_GE(posts[1].received_at - posts[0].received_at, 900ms);
}

TEST_F(SlackEndToEnd, SigtermDeliversQueuedReplies) {
  ASSERT_EQ(PostForm(Click("opsgate.confirm", 4)).status, 200);
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(15s), 0);
  EXPECT_TRUE(standin_->WaitFor("/hooks/4", 1, 1s));
}

// The quick start needs none of the Slack variables: the connector stays off (with a
// warning saying why), `opsgate check` passes and the server serves.
TEST(SlackQuickStart, WithoutSlackVariablesTheConnectorIsOffAndTheServerServes) {
  for (const char* name : {"OPSGATE_SLACK_SIGNING_SECRET", "OPSGATE_SLACK_BOT_TOKEN",
                           "OPSGATE_SLACK_API_URL", "OPSGATE_SLACK_TEAM_IDS"}) {
    ::unsetenv(name);
  }
  TempDir dir;
  ASSERT_EQ(RunOpsgate({"init", dir.path()}).exit_code, 0);
  const std::string config = dir.path() + "/opsgate.yaml";
  const auto check = RunOpsgate({"check", "--config", config});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  OpsgateProcess server({"serve", "--config", config, "--listen", "127.0.0.1:0"});
  const uint16_t port = server.WaitUntilListening();
  ASSERT_NE(port, 0) << server.Stderr();
  EXPECT_TRUE(server.WaitForLog("slack connector off: signing secret", 5s).has_value())
      << server.Stderr();
  const std::string base = "https://127.0.0.1:" + std::to_string(port);
  const std::string ca = dir.path() + "/tls/server.crt";
  EXPECT_EQ(Fetch({"GET", base + "/healthz", "", {}, ca}).status, 200);
  EXPECT_EQ(Fetch({"POST", base + "/slack/events", "x=1", {}, ca}).status, 404);
}

}  // namespace
}  // namespace opsgate::testing
