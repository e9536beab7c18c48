// Break-glass through the real pieces: commands understood, decided by a policy that
// allows them, run by the BreakGlass executor on a real (in-memory) SQLite store, the
// elevation's role in later decisions, announcements, expiry and the review.
#include "opsgate/pipeline/break_glass.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "opsgate/store/sqlite/sqlite_policy_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::pipeline {
namespace {

using ::testing::HasSubstr;
using Effect = policy::Decision::Effect;

constexpr char kPolicy[] = R"(
statements:
  - id: oncall-may-break-glass
    effect: allow
    principals: {groups: [oncall]}
    actions: ["opsgate:BreakGlass", "opsgate:EndBreakGlass"]
    resources: ["*"]
    conditions: {allow_dm: true, mfa_max_age: 15m}
  - id: security-reviews
    effect: allow
    principals: {groups: [security, oncall]}
    actions: ["opsgate:ReviewBreakGlass", "opsgate:ListBreakGlass"]
    resources: ["*"]
    conditions: {allow_dm: true}
  - id: elevated-may-stop
    effect: allow
    principals: {roles: [break-glass]}
    actions: ["ec2:StopInstances"]
    resources: ["*"]
    conditions: {allow_dm: true}
)";

TEST(UnderstandBreakGlass, ReadsTheCommands) {
  auto start = UnderstandBreakGlass("break-glass 20m prod db down, pager 4711");
  ASSERT_TRUE(start.has_value());
  ASSERT_EQ(start->kind, Understanding::Kind::kCommand);
  EXPECT_EQ(start->request.action, "opsgate:BreakGlass");
  EXPECT_EQ(start->request.slots.at("duration"), "1200s");
  EXPECT_EQ(start->request.slots.at("reason"), "prod db down, pager 4711");

  auto no_duration = UnderstandBreakGlass("Break-Glass prod db down");
  ASSERT_TRUE(no_duration.has_value());
  EXPECT_EQ(no_duration->request.slots.count("duration"), 0u);
  EXPECT_EQ(no_duration->request.slots.at("reason"), "prod db down");

  EXPECT_EQ(UnderstandBreakGlass("break-glass end")->request.action, "opsgate:EndBreakGlass");
  EXPECT_EQ(UnderstandBreakGlass("reviews")->request.action, "opsgate:ListBreakGlass");
  auto review = UnderstandBreakGlass("review k7q3xz9a misuse no incident");
  ASSERT_TRUE(review.has_value());
  EXPECT_EQ(review->request.resource, "opsgate:break-glass/K7Q3XZ9A");
  EXPECT_EQ(review->request.slots.at("verdict"), "misuse");
  EXPECT_EQ(review->request.slots.at("note"), "no incident");

  for (const char* bad : {"break-glass", "break-glass 30m", "review K7 maybe", "review K7",
                          "review k-7 ok"}) {
    auto u = UnderstandBreakGlass(bad);
    ASSERT_TRUE(u.has_value()) << bad;
    EXPECT_EQ(u->kind, Understanding::Kind::kInvalid) << bad;
    EXPECT_THAT(u->error, HasSubstr("usage: break-glass")) << bad;
  }
  EXPECT_FALSE(UnderstandBreakGlass("ec2 stop i-0abc1234").has_value());
  EXPECT_FALSE(UnderstandBreakGlass("breaking news").has_value());
}

class BreakGlassTest : public ::testing::Test {
 protected:
  BreakGlassTest()
      : holder_(Parse()),
        db_(std::move(*store::SqliteStore::Open(":memory:"))),
        rates_(*db_),
        elevations_(*db_),
        authorizer_(holder_, &rates_),
        log_(sink_, clock_),
        glass_(elevations_, clock_, Settings(), notifier_, audit_, log_),
        dispatcher_({&authorizer_, nullptr, &audit_, &clock_, &log_, &notifier_}) {
    authorizer_.SetElevations(&elevations_);
    for (std::string_view a : kBreakGlassActions) {
      dispatcher_.Register(std::string(a), &glass_);
    }
    notifier_.RegisterAnnouncer([this](const Reply& r) { announced_.push_back(r.text); });
  }

  static std::shared_ptr<const policy::Policy> Parse() {
    auto p = policy::ParsePolicy(kPolicy, "test.yaml");
    EXPECT_TRUE(p.has_value());
    return std::make_shared<const policy::Policy>(std::move(*p));
  }
  static config::BreakGlassConfig Settings() {
    config::BreakGlassConfig c;
    c.max_duration = std::chrono::hours(1);
    c.default_duration = std::chrono::minutes(30);
    return c;
  }
  Principal Person(std::string name, std::vector<std::string> groups) {
    Principal p;
    p.issuer = "iss";
    p.subject = std::move(name);
    p.email = p.subject + "@example.com";
    p.groups = std::move(groups);
    p.mfa_at = clock_.Now();
    return p;
  }
  // Decides and, when allowed, runs.
  Reply Say(const std::string& text, const Principal& who) {
    Message m;
    m.platform = "webchat";
    m.user_id = who.subject;
    m.text = text;
    m.is_direct = true;
    m.correlation_id = "c-1";
    const Planned p = Plan(m, who, UnderstandEnv{}, &authorizer_, clock_.Now());
    EXPECT_TRUE(p.decision.has_value()) << text;
    return dispatcher_.Decided(m, who, p, "step up",
                               [](const auto&, const auto&, const auto&, const auto&) {
                                 return std::string();
                               });
  }
  std::string ActiveId(const Principal& who) {
    auto active = elevations_.Active(who.Id(), clock_.Now());
    EXPECT_TRUE(active.has_value() && active->has_value());
    return active && *active ? (*active)->id : "";
  }
  // Alice asks to stop an instance (decided directly: no intent catalogue here).
  policy::Request StopRequest() {
    policy::Request req;
    req.principal.id = alice_.Id();
    req.principal.user = "alice@example.com";
    req.principal.groups = alice_.groups;
    req.action = "ec2:StopInstances";
    req.resource = "arn:aws:ec2:eu-west-1:1:instance/i-0abc1234";
    req.is_dm = true;
    req.now = clock_.Now();
    authorizer_.Elevate(req);
    return req;
  }

  testing::FakeClock clock_;
  PolicyHolder holder_;
  std::unique_ptr<store::SqliteStore> db_;
  store::SqliteRateEventStore rates_;
  store::SqliteElevationStore elevations_;
  Authorizer authorizer_;
  telemetry::MemorySink sink_;
  telemetry::Logger log_;
  audit::MemoryAuditSink audit_;
  Notifier notifier_;
  BreakGlass glass_;
  Dispatcher dispatcher_;
  std::vector<std::string> announced_;
  const Principal alice_ = Person("alice", {"oncall"});
};

TEST_F(BreakGlassTest, ElevationGrantsTheRoleUntilItEndsAndIsAnnounced) {
  EXPECT_EQ(authorizer_.Decide(StopRequest()).effect, Effect::kDeny);
  const Reply started = Say("break-glass 20m prod db down, pager 4711", alice_);
  EXPECT_THAT(started.text, HasSubstr("is active until"));
  ASSERT_EQ(announced_.size(), 1u);
  EXPECT_THAT(announced_[0], HasSubstr("alice@example.com is elevated until"));
  EXPECT_THAT(announced_[0], HasSubstr("prod db down, pager 4711"));

  // While elevated the role counts.
  const policy::Decision elevated = authorizer_.Decide(StopRequest());
  EXPECT_EQ(elevated.effect, Effect::kAllow);
  EXPECT_EQ(elevated.statement, "elevated-may-stop");
  EXPECT_THAT(elevated.reason, HasSubstr("break-glass"));

  // A second one while active is refused.
  EXPECT_THAT(Say("break-glass again please", alice_).text, HasSubstr("already hold"));

  // It ends by itself after 20 minutes: announced once, recorded, the role is gone.
  clock_.Advance(std::chrono::minutes(21));
  glass_.Sweep();
  glass_.Sweep();
  ASSERT_EQ(announced_.size(), 2u);
  EXPECT_THAT(announced_[1], HasSubstr("expired"));
  EXPECT_EQ(authorizer_.Decide(StopRequest()).effect, Effect::kDeny);
  bool recorded = false;
  for (const audit::Record& r : audit_.records()) {
    recorded = recorded || (r.action == "opsgate:BreakGlassExpired" &&
                            r.principal == alice_.Id() && r.result == "ended");
  }
  EXPECT_TRUE(recorded);
}

TEST_F(BreakGlassTest, ReviewIsBySomeoneElseAndRequiredBeforeTheNextOne) {
  Say("break-glass prod db down", alice_);
  const std::string id = ActiveId(alice_);
  ASSERT_FALSE(id.empty());
  const Principal sam = Person("sam", {"security"});
  // Not while active.
  EXPECT_THAT(Say("review " + id + " ok", sam).text, HasSubstr("still active"));
  EXPECT_THAT(Say("break-glass end", alice_).text, HasSubstr("ended"));
  EXPECT_THAT(Say("break-glass end", alice_).text, HasSubstr("no active break-glass"));
  // Not by the elevated person, and no new elevation until reviewed.
  EXPECT_THAT(Say("review " + id + " ok", alice_).text, HasSubstr("someone else must"));
  EXPECT_THAT(Say("break-glass it is down again", alice_).text,
              HasSubstr("has not been reviewed yet"));
  EXPECT_THAT(Say("reviews", sam).text, HasSubstr("waiting for review: 1"));
  EXPECT_THAT(Say("review " + id + " misuse no incident on record", sam).text,
              HasSubstr("recorded: misuse"));
  EXPECT_THAT(Say("review " + id + " ok", sam).text, HasSubstr("already reviewed"));
  EXPECT_THAT(announced_.back(), HasSubstr("reviewed by sam@example.com: misuse"));
  bool audited = false;
  for (const audit::Record& r : audit_.records()) {
    audited = audited || (r.kind == audit::RecordKind::kOutcome &&
                          r.action == "opsgate:ReviewBreakGlass" && r.principal == sam.Id() &&
                          r.reason.find("reviewed: misuse") != std::string::npos);
  }
  EXPECT_TRUE(audited);
  EXPECT_THAT(Say("break-glass it is down again", alice_).text, HasSubstr("is active until"));
}

TEST_F(BreakGlassTest, PolicyDecidesWhoMayAndHowLong) {
  const Principal mallory = Person("mallory", {"devs"});
  EXPECT_THAT(Say("break-glass let me in", mallory).text, HasSubstr("Not allowed"));
  Principal stale = alice_;
  stale.mfa_at = clock_.Now() - std::chrono::hours(1);
  EXPECT_THAT(Say("break-glass prod down", stale).text, HasSubstr("step up"));
  EXPECT_THAT(Say("break-glass 2h prod down", alice_).text, HasSubstr("at most 60 min"));
  EXPECT_TRUE(announced_.empty());
  auto owed = elevations_.Unreviewed(clock_.Now() + std::chrono::hours(5), 10);
  ASSERT_TRUE(owed.has_value());
  EXPECT_TRUE(owed->empty());  // nothing was started
}

}  // namespace
}  // namespace opsgate::pipeline
