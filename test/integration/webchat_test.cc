// The built-in web chat end to end without a browser (the Chromium test is
// test/browser/webchat_test.mjs): the real binary's first start prints a one-time
// first-administrator link; enrolment, TOTP confirmation, sign-in, the chat over the
// WebSocket, sign-out, and the refusals around them (cross-origin, no session, CSRF,
// replayed TOTP code, throttling).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <regex>

#include "opsgate/crypto/hash.h"
#include "opsgate/http/testing/websocket_test_client.h"
#include "opsgate/identity/totp.h"
#include "test/fakes/ci.h"
#include "test/integration/aws_standin.h"
#include "test/integration/https_client.h"
#include "test/integration/opsgate_process.h"

namespace opsgate::testing {
namespace {

using namespace std::chrono_literals;
using http::testing::WebSocketTestClient;
namespace json = boost::json;

constexpr const char* kPassword = "correct horse battery staple";

class WebChatEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    PrepareDataDir(dir_.path() + "/data");
    if (HasFatalFailure() || IsSkipped()) {
      return;
    }
    server_ = std::make_unique<OpsgateProcess>(std::vector<std::string>{
        "serve", "--data-dir", dir_.path() + "/data", "--listen", "127.0.0.1:0"});
    port_ = server_->WaitUntilListening();
    ASSERT_NE(port_, 0) << server_->Stderr();
    base_ = "https://127.0.0.1:" + std::to_string(port_);
    ca_ = dir_.path() + "/data/tls/server.crt";
    std::smatch m;
    for (int i = 0; i < 50 && enrol_url_.empty(); ++i) {
      const std::string out = server_->Stdout();
      if (std::regex_search(out, m, std::regex(R"(first administrator: (https://\S+/enrol\?t=[A-Za-z0-9_-]+))"))) {
        enrol_url_ = m[1];
      } else {
        std::this_thread::sleep_for(100ms);
      }
    }
    ASSERT_FALSE(enrol_url_.empty()) << server_->Stdout();
  }

  // Runs before the server's first start (which creates the data directory if absent).
  virtual void PrepareDataDir(const std::string& /*data*/) {}

  HttpResult Post(const std::string& path, const json::object& body,
                  std::vector<std::string> extra = {}, bool same_origin = true) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (same_origin) {
      headers.push_back("Origin: " + base_);
    }
    headers.insert(headers.end(), extra.begin(), extra.end());
    return Fetch({"POST", base_ + path, json::serialize(body), headers, ca_});
  }

  // Enrols `admin`, confirms the code and returns its base32 TOTP secret.
  std::string EnrolAdmin() {
    const std::string token = enrol_url_.substr(enrol_url_.find("t=") + 2);
    const HttpResult r =
        Post("/api/enrol", {{"token", token}, {"username", "admin"}, {"password", kPassword}});
    EXPECT_EQ(r.status, 200) << r.body;
    const json::object o = json::parse(r.body).as_object();
    EXPECT_EQ(o.at("username").as_string(), "admin");
    EXPECT_TRUE(o.at("is_admin").as_bool());
    EXPECT_NE(std::string(o.at("qr_svg").as_string()).find("<svg"), std::string::npos);
    EXPECT_EQ(r.Header("Cache-Control").value_or(""), "no-store");
    const std::string secret(o.at("totp_secret").as_string());
    // The previous step's code confirms (±1 step); the current one is left for sign-in.
    confirm_code_ = Code(secret, -1);
    confirm_step_ = UnixNow() / 30 - 1;
    const HttpResult c = Post("/api/enrol/confirm", {{"username", "admin"}, {"code", confirm_code_}});
    EXPECT_EQ(c.status, 200) << c.body;
    return secret;
  }

  static int64_t UnixNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  static std::string Code(const std::string& base32, int step_offset) {
    auto key = identity::Base32Decode(base32);
    EXPECT_TRUE(key.has_value());
    const int64_t now = UnixNow();
    auto code = identity::TotpAt(key.value_or(""), now + 30 * step_offset, {});
    EXPECT_TRUE(code.has_value());
    return code.value_or("");
  }

  // Signs in and returns {session cookie "name=value", csrf token}.
  std::pair<std::string, std::string> SignIn(const std::string& secret) {
    const HttpResult r =
        Post("/api/login", {{"username", "admin"}, {"password", kPassword}, {"totp", Code(secret, 0)}});
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set_cookie = r.Header("Set-Cookie").value_or("");
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
    EXPECT_NE(set_cookie.find("Secure"), std::string::npos) << set_cookie;
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
    return {set_cookie.substr(0, set_cookie.find(';')),
            std::string(json::parse(r.body).at("csrf_token").as_string())};
  }

  http::testing::WebSocketConnectResult Chat(const std::string& cookie,
                                             const std::string& origin) {
    http::testing::WebSocketConnectOptions o;
    if (!cookie.empty()) {
      o.headers.emplace_back("Cookie", cookie);
    }
    o.headers.emplace_back("Origin", origin);
    return WebSocketTestClient::Connect("wss://127.0.0.1:" + std::to_string(port_) + "/api/chat", o);
  }

  static json::object Next(WebSocketTestClient& c) {
    const auto m = c.Receive(5s);
    EXPECT_EQ(m.kind, WebSocketTestClient::Message::Kind::kText) << m.data << m.close_code;
    return m.kind == WebSocketTestClient::Message::Kind::kText ? json::parse(m.data).as_object()
                                                               : json::object{};
  }

  // Replaces the data directory's policy file and waits until the server loaded its
  // `statements` statements (SIGHUP).
  void UsePolicy(const std::string& yaml, int statements) {
    std::ofstream(dir_.path() + "/data/policy.yaml", std::ios::trunc) << yaml;
    const size_t from = server_->StderrLineCount();
    server_->Signal(SIGHUP);
    ASSERT_TRUE(server_->WaitForLog("\"statements\":" + std::to_string(statements), 10s, from))
        << server_->Stderr();
  }

  // Sends one line to the chat and returns the next frame (serialized).
  static std::string Say(WebSocketTestClient& chat, const std::string& text) {
    EXPECT_TRUE(chat.Send(json::serialize(json::object{{"type", "say"}, {"text", text}})));
    return json::serialize(Next(chat));
  }

  TempDir dir_;
  std::unique_ptr<OpsgateProcess> server_;
  uint16_t port_ = 0;
  std::string base_;
  std::string ca_;
  std::string enrol_url_;
  std::string confirm_code_;  // the code EnrolAdmin confirmed with, and its time step
  int64_t confirm_step_ = 0;
};

TEST_F(WebChatEndToEnd, TheFirstAdministratorEnrolsSignsInAndChats) {
  const HttpResult page = Fetch({"GET", base_ + "/", "", {}, ca_});
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  const std::string csp = page.Header("Content-Security-Policy").value_or("");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(Fetch({"GET", base_ + "/static/app.js", "", {}, ca_}).status, 200);

  const std::string secret = EnrolAdmin();
  const auto [cookie, csrf] = SignIn(secret);
  const HttpResult session = Fetch({"GET", base_ + "/api/session", "", {"Cookie: " + cookie}, ca_});
  ASSERT_EQ(session.status, 200);
  EXPECT_TRUE(json::parse(session.body).at("signed_in").as_bool()) << session.body;

  auto chat = Chat(cookie, base_);
  ASSERT_TRUE(chat.client) << chat.status << " " << chat.body << chat.error;
  EXPECT_EQ(Next(*chat.client).at("type").as_string(), "hello");
  ASSERT_TRUE(chat.client->Send(R"({"type":"say","text":"whoami"})"));
  const json::object who = Next(*chat.client);
  ASSERT_EQ(who.at("type").as_string(), "reply") << json::serialize(who);
  const std::string shown = json::serialize(who);
  EXPECT_NE(shown.find("admin at local"), std::string::npos) << shown;
  ASSERT_TRUE(chat.client->Send(R"({"type":"say","text":"ping"})"));
  EXPECT_NE(json::serialize(Next(*chat.client)).find("pong"), std::string::npos);
  // Secrets typed into the chat do not come back.
  ASSERT_TRUE(chat.client->Send(R"({"type":"say","text":"deploy AKIAIOSFODNN7EXAMPLE"})"));
  const std::string echoed = json::serialize(Next(*chat.client));
  EXPECT_EQ(echoed.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << echoed;
  ASSERT_TRUE(chat.client->Send("not json"));
  EXPECT_EQ(Next(*chat.client).at("type").as_string(), "error");

  // Every chat message is on record, with the principal and sealed text.
  chat.client->Close();
  const auto shown_log = RunOpsgate({"audit", "show", "--config", dir_.path() + "/data/opsgate.yaml"});
  EXPECT_NE(shown_log.out.find("\"principal\":\"local|admin\""), std::string::npos) << shown_log.out;
  EXPECT_NE(shown_log.out.find("webchat.login"), std::string::npos) << shown_log.out;

  // Sign-out needs the CSRF token, then ends the session for the API and the chat.
  EXPECT_EQ(Post("/api/logout", {}, {"Cookie: " + cookie}).status, 403);
  EXPECT_EQ(Post("/api/logout", {}, {"Cookie: " + cookie, "X-CSRF-Token: " + csrf}).status, 200);
  EXPECT_FALSE(json::parse(Fetch({"GET", base_ + "/api/session", "", {"Cookie: " + cookie}, ca_}).body)
                   .at("signed_in")
                   .as_bool());
  EXPECT_EQ(Chat(cookie, base_).status, 401);
}

TEST_F(WebChatEndToEnd, RefusalsChangeNothing) {
  // The enrolment link works once.
  const std::string secret = EnrolAdmin();
  const std::string token = enrol_url_.substr(enrol_url_.find("t=") + 2);
  const HttpResult again =
      Post("/api/enrol", {{"token", token}, {"username", "mallory"}, {"password", kPassword}});
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_NE(again.body.find("enrolment_token_invalid"), std::string::npos);

  // Cross-site posts: no Origin, or not JSON.
  EXPECT_EQ(Post("/api/login", {{"username", "admin"}}, {}, /*same_origin=*/false).status, 403);
  EXPECT_EQ(Fetch({"POST", base_ + "/api/login", "username=admin",
                   {"Content-Type: application/x-www-form-urlencoded", "Origin: " + base_}, ca_})
                .status,
            415);
  // A wrong password and a missing code are refused with their reasons.
  HttpResult r = Post("/api/login", {{"username", "admin"}, {"password", "wrong password!"},
                                     {"totp", Code(secret, 0)}});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("bad_credentials"), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("Set-Cookie"), std::nullopt);
  // The code that confirmed the enrolment cannot sign in: reused while it is still
  // inside the ±1 step window, too old once a step boundary has passed since.
  const int64_t step_before = UnixNow() / 30;
  r = Post("/api/login", {{"username", "admin"}, {"password", kPassword}, {"totp", confirm_code_}});
  const int64_t step_after = UnixNow() / 30;
  EXPECT_EQ(r.status, 401);
  if (step_before == step_after) {
    const bool in_window = step_after - confirm_step_ <= 1;
    EXPECT_NE(r.body.find(in_window ? "totp_reused" : "totp_invalid"), std::string::npos)
        << r.body;
  }

  // The chat: no session, or another site's page.
  EXPECT_EQ(Chat("", base_).status, 401);
  const auto [cookie, csrf] = SignIn(secret);
  EXPECT_EQ(Chat(cookie, "https://evil.example").status, 403);
  EXPECT_EQ(Chat("__Host-opsgate_session=forged", base_).status, 401);

  // Throttling: repeated failures lock the user out, with Retry-After.
  HttpResult last;
  for (int i = 0; i < 8; ++i) {
    last = Post("/api/login", {{"username", "admin"}, {"password", "wrong password!"}, {"totp", "000000"}});
  }
  EXPECT_EQ(last.status, 429) << last.body;
  EXPECT_TRUE(last.Header("Retry-After").has_value());
}

// Issue 6's "done when" through the running binary: the same administrator is allowed,
// denied, asked for MFA (and let through after `code NNNNNN`), and asked for approval
// (and let through once approved), by a policy file loaded on SIGHUP; the reason is in
// the chat and every decision is in the audit log.
TEST_F(WebChatEndToEnd, PolicyAllowsDeniesStepsUpAndAsksForApproval) {
  const std::string data = dir_.path() + "/data";
  UsePolicy(R"(version: 1
statements:
  - {id: builtins, effect: allow, principals: {users: ["*"]},
     actions: ["opsgate:WhoAmI", "opsgate:Ping"], resources: ["*"], conditions: {allow_dm: true}}
  - {id: look, effect: allow, principals: {groups: [admins]}, actions: ["ec2:Describe*"],
     resources: ["*"], conditions: {allow_dm: true}}
  - {id: no-waf, effect: deny, principals: {users: ["*"]}, actions: ["waf:*"], resources: ["*"]}
  - id: stop-with-fresh-mfa
    effect: allow
    principals: {roles: [admin]}
    actions: ["ec2:StopInstances"]
    resources: ["arn:aws:ec2:eu-west-1:*:instance/*"]
    conditions: {allow_dm: true, mfa_max_age: 1s}
  - {id: glass, effect: allow, principals: {groups: [admins]},
     actions: ["opsgate:BreakGlass", "opsgate:EndBreakGlass", "opsgate:ListBreakGlass"],
     resources: ["*"], conditions: {allow_dm: true}}
  - {id: elevated, effect: allow, principals: {roles: [break-glass]},
     actions: ["ec2:ModifyInstanceAttribute"], resources: ["*"], conditions: {allow_dm: true}}
  - id: reboot-with-approval
    effect: allow
    principals: {groups: [admins]}
    actions: ["ec2:RebootInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions:
      allow_dm: true
      approval: {count: 1, approver_group: admins, requester_excluded: false}
)",
            7);

  const std::string secret = EnrolAdmin();
  const auto [cookie, csrf] = SignIn(secret);
  auto chat = Chat(cookie, base_);
  ASSERT_TRUE(chat.client) << chat.status << " " << chat.body << chat.error;
  EXPECT_EQ(Next(*chat.client).at("type").as_string(), "hello");
  const auto say = [&](const std::string& text) { return Say(*chat.client, text); };

  // Allowed: nothing can run EC2 yet in this build, and the reply says so.
  std::string r = say("ec2 describe i-0ABC1234 region=eu-west-1");
  EXPECT_NE(r.find("Allowed, not run"), std::string::npos) << r;
  EXPECT_NE(r.find("statement look"), std::string::npos) << r;
  // Denied, with the reason.
  r = say("waf block_ip 203.0.113.9");
  EXPECT_NE(r.find("Not allowed"), std::string::npos) << r;
  EXPECT_NE(r.find("no-waf"), std::string::npos) << r;
  // Written wrongly: what is wrong, and how to write it.
  r = say("ec2 stop i-12");
  EXPECT_NE(r.find("instance"), std::string::npos) << r;

  // Destructive: confirmed first (no cancels it), then needs MFA: the sign-in's MFA is
  // older than the statement's 1 s.
  std::this_thread::sleep_for(1200ms);
  r = say("ec2 stop i-0abc1234 region=eu-west-1");
  EXPECT_NE(r.find("Stop instance i-0abc1234?"), std::string::npos) << r;
  r = say("no");
  EXPECT_NE(r.find("Cancelled"), std::string::npos) << r;
  r = say("yes");
  EXPECT_NE(r.find("Nothing is waiting"), std::string::npos) << r;
  r = say("ec2 stop i-0abc1234 region=eu-west-1");
  EXPECT_NE(r.find("Stop instance i-0abc1234?"), std::string::npos) << r;
  r = say("yes");
  EXPECT_NE(r.find("Confirm it is you"), std::string::npos) << r;
  EXPECT_NE(r.find("stop-with-fresh-mfa"), std::string::npos) << r;
  r = say("code 000000");  // wrong code: refused, and the step-up is used up
  EXPECT_NE(r.find("Not confirmed"), std::string::npos) << r;
  r = say("ec2 stop i-0abc1234 region=eu-west-1");
  EXPECT_NE(r.find("Stop instance"), std::string::npos) << r;
  r = say("yes");
  EXPECT_NE(r.find("Confirm it is you"), std::string::npos) << r;
  r = say("code " + Code(secret, 1));
  EXPECT_NE(r.find("Allowed, not run"), std::string::npos) << r;
  EXPECT_NE(r.find("stop-with-fresh-mfa"), std::string::npos) << r;

  // Needs approval: a request id, listed for approvers, approved once, then released.
  r = say("ec2 reboot i-0abc1234 region=eu-west-1");
  EXPECT_NE(r.find("Reboot instance i-0abc1234?"), std::string::npos) << r;
  r = say("yes");
  EXPECT_NE(r.find("Waiting for approval"), std::string::npos) << r;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r, m, std::regex("Request ([0-9A-Z]{8}) needs 1 approval"))) << r;
  const std::string id = m[1];
  r = say("approvals");
  EXPECT_NE(r.find(id), std::string::npos) << r;
  EXPECT_TRUE(chat.client->Send(
      json::serialize(json::object{{"type", "say"}, {"text", "approve " + id}})));
  // Two frames: the requester's notice (the same person here) and the voter's answer.
  const std::string first = json::serialize(Next(*chat.client));
  const std::string second = json::serialize(Next(*chat.client));
  EXPECT_NE((first + second).find("was approved"), std::string::npos) << first << second;
  EXPECT_NE((first + second).find("approved (1 of 1)"), std::string::npos) << first << second;
  r = say("approve " + id);
  EXPECT_NE(r.find("already approved"), std::string::npos) << r;

  // Break-glass: refused before, allowed while elevated (announced), ended, and then
  // waiting for someone else's review.
  const std::string resize = "ec2 resize i-0abc1234 t3.large region=eu-west-1";
  r = say(resize);
  EXPECT_NE(r.find("Not allowed"), std::string::npos) << r;
  EXPECT_TRUE(chat.client->Send(json::serialize(
      json::object{{"type", "say"}, {"text", "break-glass 10m incident 42, db failover"}})));
  const std::string announced = json::serialize(Next(*chat.client));
  const std::string started = json::serialize(Next(*chat.client));
  EXPECT_NE((announced + started).find("is elevated until"), std::string::npos) << announced;
  EXPECT_NE((announced + started).find("is active until"), std::string::npos) << started;
  r = say(resize);  // the most dangerous ones: the instance id typed again
  EXPECT_NE(r.find("Type the instance id to confirm"), std::string::npos) << r;
  r = say("i-0abc9999");
  EXPECT_NE(r.find("does not match"), std::string::npos) << r;
  r = say("I-0ABC1234");
  EXPECT_NE(r.find("statement elevated"), std::string::npos) << r;
  EXPECT_TRUE(chat.client->Send(
      json::serialize(json::object{{"type", "say"}, {"text", "break-glass end"}})));
  const std::string ended = json::serialize(Next(*chat.client)) + json::serialize(Next(*chat.client));
  EXPECT_NE(ended.find("ended early"), std::string::npos) << ended;
  r = say(resize);
  EXPECT_NE(r.find("Not allowed"), std::string::npos) << r;
  r = say("reviews");
  EXPECT_NE(r.find("waiting for review: 1"), std::string::npos) << r;
  chat.client->Close();

  // Every decision is on record with its statement, and the log verifies.
  const std::string config = data + "/opsgate.yaml";
  const auto shown = RunOpsgate({"audit", "show", "--config", config});
  for (const char* expected :
       {"\"decision\":\"allow\"", "\"decision\":\"deny\"", "\"decision\":\"needs_mfa\"",
        "\"decision\":\"needs_approval\"", "\"statement\":\"look\"", "\"statement\":\"no-waf\"",
        "\"statement\":\"stop-with-fresh-mfa\"", "\"statement\":\"reboot-with-approval\"",
        "\"action\":\"opsgate:Approve\"", "\"result\":\"not_run\"", "\"intent\":\"ec2.reboot\"",
        "\"action\":\"opsgate:BreakGlass\"", "\"statement\":\"elevated\""}) {
    EXPECT_NE(shown.out.find(expected), std::string::npos) << expected << "\n" << shown.out;
  }
  EXPECT_EQ(RunOpsgate({"audit", "verify", "--config", config}).exit_code, 0);
}

// Issue 7's "done when" in the web chat: free text is understood by the classifier,
// a destructive request is confirmed for exactly the instance named, and "stop it" asks
// which instance.
TEST_F(WebChatEndToEnd, FreeTextIsUnderstoodAndConfirmedBeforeAnythingHappens) {
  UsePolicy(R"(statements:
  - {id: admins-ec2, effect: allow, principals: {roles: [admin]}, actions: ["ec2:*"],
     resources: ["*"], conditions: {allow_dm: true}}
)",
            1);
  const auto [cookie, csrf] = SignIn(EnrolAdmin());
  auto chat = Chat(cookie, base_);
  ASSERT_TRUE(chat.client) << chat.status << " " << chat.body << chat.error;
  EXPECT_EQ(Next(*chat.client).at("type").as_string(), "hello");
  const auto say = [&](const std::string& text) { return Say(*chat.client, text); };

  std::string r = say("could you stop i-0abc1234 please");
  EXPECT_NE(r.find("Stop instance i-0abc1234?"), std::string::npos) << r;
  EXPECT_NE(r.find("instance/i-0abc1234"), std::string::npos) << r;
  // The confirm button answers the question.
  EXPECT_TRUE(chat.client->Send(
      json::serialize(json::object{{"type", "click"}, {"action", "confirm"}, {"value", "ec2.stop"}})));
  r = json::serialize(Next(*chat.client));
  EXPECT_NE(r.find("Allowed, not run"), std::string::npos) << r;
  EXPECT_NE(r.find("i-0abc1234"), std::string::npos) << r;

  r = say("stop it");
  EXPECT_NE(r.find("Which instance?"), std::string::npos) << r;
  r = say("i-0def5678");
  EXPECT_NE(r.find("Stop instance i-0def5678?"), std::string::npos) << r;
  r = say("cancel");
  EXPECT_NE(r.find("Cancelled"), std::string::npos) << r;
  r = say("what is the weather like in paris");
  EXPECT_NE(r.find("can't help"), std::string::npos) << r;
  chat.client->Close();
}

// Issue 8's "done when": with AWS_ENDPOINT_URL pointing at an EC2/STS-compatible
// endpoint (a local stand-in that checks every SigV4 signature with botocore, never with
// opsgate's code), "stop i-..." in the web chat, allowed and confirmed, stops exactly that
// instance under a session whose policy names only that instance, and the audit record
// shows principal, role session and result. No secret reaches a reply, log or record.
class WebChatAws : public WebChatEndToEnd {
 protected:
  static constexpr const char* kSecret = "standinSecretKey0123456789abcdefEXAMPLE";
  static constexpr const char* kRole = "arn:aws:iam::111111111111:role/opsgate-ec2";

  void PrepareDataDir(const std::string& data) override {
    if (!AwsStandin::Available()) {
      if (InCi()) {
        FAIL() << "CI=true: the AWS stand-in needs /usr/bin/python3 with python3-botocore";
      }
      GTEST_SKIP() << "no /usr/bin/python3 with botocore (apt-get install python3-botocore)";
    }
    aws_ = std::make_unique<AwsStandin>(dir_.path() + "/aws");
    const std::string state = R"({"account": "111111111111",
      "credentials": [{"access_key_id": "AKIDSTANDIN", "secret_access_key": ")" +
                              std::string(kSecret) + R"(",
                       "arn": "arn:aws:iam::111111111111:user/opsgate"}],
      "roles": [")" + std::string(kRole) +
                              R"("],
      "instances": [
        {"id": "i-0abc1234", "state": "running", "type": "t3.micro", "name": "web-1",
         "region": "eu-west-1", "private_ip": "10.0.0.5"},
        {"id": "i-0def5678", "state": "running", "type": "t3.micro", "name": "web-2",
         "region": "eu-west-1", "private_ip": "10.0.0.6"}],
      "groups": [], "ip_sets": [], "alarms": [], "transition_polls": 1,
      "max_skew_seconds": 300, "require_session_policy": true,
      "reveal_session_secrets": true})";
    if (auto error = aws_->Start(state)) {
      FAIL() << *error;
    }
    ASSERT_EQ(RunOpsgate({"init", data}).exit_code, 0);
    std::ofstream(data + "/opsgate.yaml", std::ios::app)
        << "\naws:\n  region: eu-west-1\n  roles:\n    \"ec2:*\": " << kRole << "\n";
    // The credentials chain, region and endpoint as the AWS SDKs read them; nothing of
    // this machine's own AWS set-up may leak in.
    ::setenv("AWS_ENDPOINT_URL", aws_->url().c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
    ::setenv("AWS_REGION", "eu-west-1", 1);
    ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    ::setenv("AWS_CONFIG_FILE", (dir_.path() + "/no-aws-config").c_str(), 1);
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", (dir_.path() + "/no-aws-credentials").c_str(), 1);
    for (const char* v : {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
                          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_DEFAULT_REGION"}) {
      ::unsetenv(v);
    }
  }

  void TearDown() override {
    for (const char* v :
         {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
          "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}) {
      ::unsetenv(v);
    }
  }

  // The stand-in's call records.
  json::array Calls() const { return json::parse(aws_->Get("/_standin/calls")).as_array(); }

  std::unique_ptr<AwsStandin> aws_;
};

TEST_F(WebChatAws, StopRunsUnderASessionNarrowedToThatInstance) {
  UsePolicy(R"(statements:
  - {id: admins-stop, effect: allow, principals: {roles: [admin]},
     actions: ["ec2:StopInstances", "ec2:DescribeInstances"],
     resources: ["arn:aws:ec2:eu-west-1:111111111111:instance/*"],
     conditions: {allow_dm: true}, session_duration: 20m}
)",
            1);
  const auto [cookie, csrf] = SignIn(EnrolAdmin());
  auto chat = Chat(cookie, base_);
  ASSERT_TRUE(chat.client) << chat.status << " " << chat.body << chat.error;
  EXPECT_EQ(Next(*chat.client).at("type").as_string(), "hello");
  const auto say = [&](const std::string& text) { return Say(*chat.client, text); };

  std::string r = say("stop i-0abc1234 in eu-west-1");
  EXPECT_NE(r.find("Stop instance i-0abc1234?"), std::string::npos) << r;
  EXPECT_TRUE(chat.client->Send(json::serialize(
      json::object{{"type", "click"}, {"action", "confirm"}, {"value", "ec2.stop"}})));
  // The answer at once, and the result when AWS answered (two frames; a slow machine
  // could deliver them either way round).
  r = json::serialize(Next(*chat.client));
  r += json::serialize(Next(*chat.client));
  EXPECT_NE(r.find("Stopping i-0abc1234"), std::string::npos) << r;
  EXPECT_NE(r.find("running \u2192 stopping"), std::string::npos) << r;

  // Exactly that instance changed.
  const json::object state = json::parse(aws_->Get("/_standin/state")).as_object();
  for (const json::value& i : state.at("instances").as_array()) {
    const std::string id(i.at("id").as_string());
    const std::string now(i.at("state").as_string());
    EXPECT_EQ(now == "stopping" || now == "stopped", id == "i-0abc1234") << id << " " << now;
  }
  // One AssumeRole, then StopInstances under the session it made, whose policy allows
  // only ec2:StopInstances on that one instance; every call was signed correctly.
  const json::array calls = Calls();
  std::string session_key;
  int stops = 0;
  for (const json::value& v : calls) {
    const json::object& c = v.as_object();
    EXPECT_TRUE(c.at("authenticated").as_bool()) << json::serialize(c);
    EXPECT_TRUE(c.at("error").is_null()) << json::serialize(c);
    if (c.at("action") == "AssumeRole") {
      EXPECT_EQ(c.at("access_key_id"), "AKIDSTANDIN");
      EXPECT_EQ(c.at("params").at("RoleArn"), kRole);
      EXPECT_EQ(c.at("params").at("DurationSeconds"), "1200");
    }
    if (c.at("action") == "StopInstances") {
      ++stops;
      EXPECT_EQ(c.at("params").at("InstanceId.1"), "i-0abc1234");
      const json::object& session = c.at("session").as_object();
      EXPECT_EQ(session.at("role_arn"), kRole);
      const json::array& statements = session.at("policy").at("Statement").as_array();
      ASSERT_EQ(statements.size(), 1u);
      EXPECT_EQ(json::serialize(statements[0].at("Action")), R"(["ec2:StopInstances"])");
      EXPECT_EQ(json::serialize(statements[0].at("Resource")),
                R"(["arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234"])");
      session_key = std::string(c.at("access_key_id").as_string());
      EXPECT_NE(std::string(session.at("session_name").as_string()).find("opsgate-admin"),
                std::string::npos)
          << json::serialize(session);
    }
  }
  EXPECT_EQ(stops, 1) << json::serialize(calls);
  EXPECT_EQ(session_key.rfind("ASIA", 0), 0u) << session_key;

  // Outside the policy: refused before any AWS call.
  const size_t before = Calls().size();
  r = say("reboot i-0abc1234");
  if (r.find("Reboot instance") != std::string::npos) {
    EXPECT_TRUE(chat.client->Send(json::serialize(
        json::object{{"type", "click"}, {"action", "confirm"}, {"value", "ec2.reboot"}})));
    r = json::serialize(Next(*chat.client));
  }
  EXPECT_NE(r.find("Not allowed"), std::string::npos) << r;
  EXPECT_EQ(Calls().size(), before);
  chat.client->Close();

  // The outcome record names the principal, the role session and the result.
  const std::string config = dir_.path() + "/data/opsgate.yaml";
  const auto shown = RunOpsgate({"audit", "show", "--config", config});
  bool found = false;
  for (size_t at = shown.out.find("\"kind\":\"outcome\""); at != std::string::npos;
       at = shown.out.find("\"kind\":\"outcome\"", at + 1)) {
    const size_t line_start = shown.out.rfind('\n', at) + 1;
    const std::string line = shown.out.substr(line_start, shown.out.find('\n', at) - line_start);
    if (line.find("ec2:StopInstances") == std::string::npos) {
      continue;
    }
    found = true;
    EXPECT_NE(line.find("\"result\":\"ok\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"principal\":\"local|admin\""), std::string::npos) << line;
    EXPECT_NE(
        line.find("role session arn:aws:sts::111111111111:assumed-role/opsgate-ec2/opsgate-admin"),
        std::string::npos)
        << line;
  }
  EXPECT_TRUE(found) << shown.out;
  EXPECT_EQ(RunOpsgate({"audit", "verify", "--config", config}).exit_code, 0);

  // No secret key, session token or signature anywhere we wrote.
  // The base secret and every session's secret key and token (the stand-in reveals them
  // to tests only).
  std::vector<std::string> secrets = {kSecret};
  const json::object final_state = json::parse(aws_->Get("/_standin/state")).as_object();
  for (const json::value& session : final_state.at("sessions").as_array()) {
    secrets.emplace_back(session.at("secret_access_key").as_string());
    secrets.emplace_back(session.at("session_token").as_string());
  }
  EXPECT_GE(secrets.size(), 3u);
  server_->Signal(SIGTERM);
  server_->Wait(20s);
  const std::string everything = server_->Stderr() + server_->Stdout() + shown.out + r;
  for (const std::string& secret : secrets) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << "a secret leaked";
  }
  EXPECT_EQ(everything.find("Signature="), std::string::npos);
  EXPECT_EQ(everything.find("X-Amz-Security-Token"), std::string::npos);
}

}  // namespace
}  // namespace opsgate::testing
