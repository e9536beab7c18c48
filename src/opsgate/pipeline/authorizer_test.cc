// The policy step end to end inside the process: understanding a message, deciding it
// with a real policy, rate caps and approvals on a real (in-memory) SQLite store, and
// what the dispatcher says and records.
#include "opsgate/pipeline/authorizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opsgate/audit/sink.h"
#include "opsgate/core/work_queue.h"
#include "opsgate/pipeline/approvals.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/store/sqlite/sqlite_policy_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "opsgate/telemetry/log.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Effect = policy::Decision::Effect;

constexpr char kPolicy[] = R"(
version: 1
statements:
  - id: builtins
    effect: allow
    principals: {users: ["*"]}
    actions: ["opsgate:WhoAmI", "opsgate:Ping", "opsgate:Unlink"]
    resources: ["*"]
    conditions: {allow_dm: true}
  - id: no-terminate
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Terminate*"]
    resources: ["*"]
  - id: describe
    effect: allow
    principals: {users: ["*"]}
    actions: ["ec2:Describe*"]
    resources: ["*"]
    conditions: {allow_dm: true}
  - id: ops-start
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StartInstances"]
    resources: ["arn:aws:ec2:eu-west-1:*:instance/*"]
    conditions:
      allow_dm: true
      rate_caps: {per_principal: {max: 2, window: 1h}}
  - id: ops-stop
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StopInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions: {allow_dm: true, mfa_max_age: 15m}
  - id: ops-reboot
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:RebootInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions: {allow_dm: true, approval: {count: 2, approver_group: leads}}
)";

std::shared_ptr<const policy::Policy> Parse(const char* text) {
  auto parsed = policy::ParsePolicy(text, "test.yaml");
  EXPECT_TRUE(parsed.has_value());
  return std::make_shared<const policy::Policy>(std::move(*parsed));
}

Principal Person(std::string subject, std::vector<std::string> groups) {
  Principal p;
  p.issuer = "https://idp.example";
  p.subject = std::move(subject);
  p.email = p.subject + "@example.com";
  p.groups = std::move(groups);
  return p;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest()
      : holder_(Parse(kPolicy)),
        db_(std::move(*store::SqliteStore::Open(":memory:"))),
        rates_(*db_),
        approvals_(*db_),
        authorizer_(holder_, &rates_),
        log_(sink_, clock_),
        desk_(approvals_, authorizer_, clock_, Settings()),
        dispatcher_({&authorizer_, &desk_, &audit_, &clock_, &log_, &notifier_}) {
    env_.catalogue = &catalogue_;
    env_.defaults.region = "eu-west-1";
    env_.account = "111111111111";
    notifier_.Register("slack", [this](const PendingAction& to, const Reply& r) {
      told_.emplace_back(to.user_id, r.text);
    });
  }

  static config::ApprovalsConfig Settings() {
    config::ApprovalsConfig c;
    c.ttl = std::chrono::minutes(30);
    c.approver_mfa_max_age = std::chrono::minutes(15);
    return c;
  }

  Message Say(std::string text, std::string user = "U1") {
    Message m;
    m.platform = "slack";
    m.workspace_id = "T1";
    m.user_id = std::move(user);
    m.text = std::move(text);
    m.correlation_id = "corr-" + std::to_string(++sequence_);
    m.received_at = clock_.Now();
    m.is_direct = true;
    m.reply_to.channel_id = "D1";
    return m;
  }

  Planned PlanOf(const std::string& text, const Principal& who) {
    return Plan(Say(text), who, env_, &authorizer_, clock_.Now());
  }

  // What the dispatcher answers (and records) for `text` from `who`.
  Reply Run(const std::string& text, const Principal& who) {
    const Message m = Say(text);
    const Planned p = Plan(m, who, env_, &authorizer_, clock_.Now());
    EXPECT_TRUE(p.decision.has_value()) << text;
    return dispatcher_.Decided(
        m, who, p, "step up",
        [this](const store::ApprovalRequest& req, const PendingAction&,
               const policy::Approval& spec, const Reply& ask) {
          asked_.push_back(req.id + " " + spec.approver_group + " " + ask.text);
          return std::string("#approvals");
        });
  }

  std::string OpenedId() {
    EXPECT_FALSE(asked_.empty());
    return asked_.empty() ? "" : asked_.back().substr(0, asked_.back().find(' '));
  }

  testing::FakeClock clock_;
  intents::Catalogue catalogue_ = intents::DefaultCatalogue();
  UnderstandEnv env_;
  PolicyHolder holder_;
  std::unique_ptr<store::SqliteStore> db_;
  store::SqliteRateEventStore rates_;
  store::SqliteApprovalStore approvals_;
  Authorizer authorizer_;
  telemetry::MemorySink sink_;
  telemetry::Logger log_;
  audit::MemoryAuditSink audit_;
  Notifier notifier_;
  ApprovalDesk desk_;
  Dispatcher dispatcher_;
  std::vector<std::string> asked_;
  std::vector<std::pair<std::string, std::string>> told_;
  int sequence_ = 0;
};

TEST_F(AuthorizerTest, UnderstandsBuiltinsCommandsAndTheRest) {
  EXPECT_EQ(Understand("whoami", env_).request.action, "opsgate:WhoAmI");
  EXPECT_EQ(Understand("ping", env_).kind, Understanding::Kind::kBuiltin);

  const Understanding stop = Understand("ec2 stop I-0ABC1234", env_);
  ASSERT_EQ(stop.kind, Understanding::Kind::kCommand);
  EXPECT_EQ(stop.request.intent, "ec2.stop");
  EXPECT_EQ(stop.request.action, "ec2:StopInstances");
  EXPECT_EQ(stop.request.resource, "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234");
  EXPECT_EQ(stop.request.slots.at("instance_id"), "i-0abc1234");
  EXPECT_TRUE(stop.request.destructive);
  EXPECT_FALSE(stop.request.canonical.empty());

  EXPECT_EQ(Understand("ec2 stop", env_).kind, Understanding::Kind::kMissingSlots);
  const Understanding bad = Understand("ec2 stop i-12", env_);
  EXPECT_EQ(bad.kind, Understanding::Kind::kInvalid);
  EXPECT_THAT(bad.error, HasSubstr("instance"));
  EXPECT_EQ(Understand("please stop my server", env_).kind, Understanding::Kind::kNotUnderstood);

  // Without a catalogue only built-ins are understood.
  EXPECT_EQ(Understand("ec2 stop i-0abc1234", UnderstandEnv{}).kind,
            Understanding::Kind::kNotUnderstood);
}

TEST_F(AuthorizerTest, UnlinkedAskersGetHelpAndLinkOnly) {
  const Message m = Say("whoami");
  EXPECT_TRUE(Plan(m, std::nullopt, env_, &authorizer_, clock_.Now()).needs_link);
  EXPECT_TRUE(
      Plan(Say("ec2 stop i-0abc1234"), std::nullopt, env_, &authorizer_, clock_.Now()).needs_link);
  for (const char* open : {"help", "link"}) {
    const Planned p = Plan(Say(open), std::nullopt, env_, &authorizer_, clock_.Now());
    EXPECT_FALSE(p.needs_link) << open;
    EXPECT_FALSE(p.decision.has_value()) << open;  // no policy can lock people out of these
  }
  // Without an authorizer (no identity linking): built-ins for everyone, nothing decided.
  const Planned off = Plan(m, std::nullopt, env_, nullptr, clock_.Now());
  EXPECT_FALSE(off.needs_link);
  EXPECT_FALSE(off.decision.has_value());
}

TEST_F(AuthorizerTest, PolicyRequestNamesThePrincipalByEmailAndDropsTheChannelOfADm) {
  Message m = Say("whoami");
  const Understanding u = Understand(m.text, env_);
  policy::Request r = Authorizer::ToRequest(Person("alice", {"ops"}), u.request, m, clock_.Now());
  EXPECT_EQ(r.principal.user, "alice@example.com");
  EXPECT_EQ(r.principal.id, "https://idp.example|alice");
  EXPECT_TRUE(r.is_dm);
  EXPECT_EQ(r.channel, "");
  Principal no_email = Person("bob", {});
  no_email.email.clear();
  m.is_direct = false;
  m.reply_to.channel_id = "C9";
  r = Authorizer::ToRequest(no_email, u.request, m, clock_.Now());
  EXPECT_EQ(r.principal.user, "bob");
  EXPECT_EQ(r.channel, "C9");
  EXPECT_FALSE(r.is_dm);
}

TEST_F(AuthorizerTest, DecisionsFollowThePolicy) {
  const Principal alice = Person("alice", {"ops"});
  const Principal mallory = Person("mallory", {});
  EXPECT_EQ(PlanOf("whoami", mallory).decision->effect, Effect::kAllow);
  EXPECT_EQ(PlanOf("ec2 describe", mallory).decision->effect, Effect::kAllow);
  const Planned denied = PlanOf("ec2 stop i-0abc1234", mallory);
  EXPECT_EQ(denied.decision->effect, Effect::kDeny);
  EXPECT_EQ(denied.decision->statement, "default-deny");
  EXPECT_EQ(PlanOf("ec2 stop i-0abc1234", alice).decision->effect, Effect::kNeedsMfa);
  Principal fresh = alice;
  fresh.mfa_at = clock_.Now() - std::chrono::minutes(5);
  EXPECT_EQ(PlanOf("ec2 stop i-0abc1234", fresh).decision->effect, Effect::kAllow);
  fresh.mfa_at = clock_.Now() - std::chrono::minutes(16);
  EXPECT_EQ(PlanOf("ec2 stop i-0abc1234", fresh).decision->effect, Effect::kNeedsMfa);
  EXPECT_EQ(PlanOf("ec2 reboot i-0abc1234", alice).decision->effect, Effect::kNeedsApproval);
}

TEST_F(AuthorizerTest, AuditRecordCarriesIntentSlotsAndDecision) {
  const Planned p = PlanOf("ec2 stop i-0abc1234", Person("mallory", {}));
  audit::Record r;
  DescribeForAudit(p, r);
  EXPECT_EQ(r.intent, "ec2.stop");
  EXPECT_EQ(r.action, "ec2:StopInstances");
  EXPECT_EQ(r.resource, "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234");
  EXPECT_EQ(r.decision, "deny");
  EXPECT_EQ(r.statement, "default-deny");
  EXPECT_THAT(r.reason, HasSubstr("no statement allows"));
  auto slots = audit::DecodeSlots(r.slots.bytes);
  ASSERT_TRUE(slots.has_value());
  EXPECT_EQ(slots->at("instance_id"), "i-0abc1234");
}

TEST_F(AuthorizerTest, DeniedAndMfaRepliesGiveTheReasonAndChangeNothing) {
  const Reply no = Run("ec2 stop i-0abc1234", Person("mallory", {}));
  EXPECT_THAT(
      no.text,
      StartsWith("Not allowed: no statement allows 'mallory@example.com' to ec2:StopInstances"));
  const Reply mfa = Run("ec2 stop i-0abc1234", Person("alice", {"ops"}));
  EXPECT_THAT(mfa.text, HasSubstr("step up"));
  EXPECT_TRUE(audit_.records().empty());  // nothing ran, nothing to record beyond the decision
}

TEST_F(AuthorizerTest, AllowedActionIsRecordedAndCountsTowardsItsRateCap) {
  const Principal alice = Person("alice", {"ops"});
  for (int i = 0; i < 2; ++i) {
    const Reply r = Run("ec2 start i-0abc1234", alice);
    EXPECT_THAT(r.text, HasSubstr("cannot run ec2:StartInstances yet")) << i;
  }
  ASSERT_EQ(audit_.records().size(), 2u);
  const audit::Record outcome = audit_.records()[0];
  EXPECT_EQ(outcome.kind, audit::RecordKind::kOutcome);
  EXPECT_EQ(outcome.result, "not_run");
  EXPECT_EQ(outcome.statement, "ops-start");
  EXPECT_EQ(outcome.principal, "https://idp.example|alice");
  // Two uses in the hour: the cap (max 2) is reached.
  const Planned third = PlanOf("ec2 start i-0abc1234", alice);
  EXPECT_EQ(third.decision->effect, Effect::kDeny);
  EXPECT_EQ(third.decision->statement, "ops-start");
  EXPECT_THAT(third.decision->reason, HasSubstr("rate"));
  clock_.Advance(std::chrono::minutes(61));
  EXPECT_EQ(PlanOf("ec2 start i-0abc1234", alice).decision->effect, Effect::kAllow);
}

// A slow executor that waits until the test lets it finish.
class GatedExecutor final : public Executor {
 public:
  bool Slow() const override { return true; }
  Reply Started(const ExecContext& c) override { return Reply("starting " + c.action.resource); }
  ExecResult Run(const ExecContext& c) override {
    if (c.progress) {
      c.progress(Reply("half way"));
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
    ExecResult r;
    r.reply = Reply("started " + c.action.slots.at("instance_id"));
    r.session = "arn:aws:sts::111111111111:assumed-role/ops/opsgate-alice";
    r.output = "stopped -> pending";
    return r;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_F(AuthorizerTest, SlowExecutorsAnswerAtOnceAndTellTheResultLater) {
  core::WorkQueue work("test", 1, 2);
  Dispatcher slow({&authorizer_, &desk_, &audit_, &clock_, &log_, &notifier_, &work});
  GatedExecutor executor;
  slow.Register("ec2:StartInstances", &executor);
  const Principal alice = Person("alice", {"ops"});
  const Message m = Say("ec2 start i-0abc1234");
  const Planned p = Plan(m, alice, env_, &authorizer_, clock_.Now());
  const Reply first = slow.Decided(m, alice, p, "step up", nullptr);
  EXPECT_EQ(first.text, "starting arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234");
  // A second one waits in the queue.
  const Reply second = slow.Decided(m, alice, p, "step up", nullptr);
  EXPECT_THAT(second.text, HasSubstr("starting"));
  executor.Open();
  work.Shutdown();
  // The requester heard the progress and both results, through the notifier.
  EXPECT_THAT(told_,
              ::testing::Contains(std::make_pair(std::string("U1"), std::string("half way"))));
  EXPECT_EQ(std::count(told_.begin(), told_.end(),
                       std::make_pair(std::string("U1"), std::string("started i-0abc1234"))),
            2);
  // Each run recorded its outcome with the role session and the output.
  ASSERT_EQ(audit_.records().size(), 2u);
  for (const audit::Record& r : audit_.records()) {
    EXPECT_EQ(r.kind, audit::RecordKind::kOutcome);
    EXPECT_EQ(r.result, "ok");
    EXPECT_THAT(r.reason, HasSubstr("role session arn:aws:sts::111111111111:assumed-role/ops/"));
    EXPECT_EQ(r.output.bytes, "stopped -> pending");
  }
  // After shutdown the pool refuses: the asker hears "busy" and the refusal is recorded.
  const Reply busy = slow.Decided(m, alice, p, "step up", nullptr);
  EXPECT_THAT(busy.text, HasSubstr("busy"));
  ASSERT_EQ(audit_.records().size(), 3u);
  EXPECT_EQ(audit_.records().back().result, "refused");
}

// An executor whose report is far larger than an audit record may be.
class VerboseExecutor final : public Executor {
 public:
  ExecResult Run(const ExecContext&) override {
    ExecResult r;
    r.reply = Reply("done");
    r.output = std::string(300 * 1024, 'x');
    r.reason = std::string(300 * 1024, 'y');
    return r;
  }
};

TEST_F(AuthorizerTest, AnExecutorsReportIsBoundedInTheOutcomeRecord) {
  VerboseExecutor executor;
  Dispatcher d({&authorizer_, &desk_, &audit_, &clock_, &log_, &notifier_});
  d.Register("ec2:StartInstances", &executor);
  const Principal alice = Person("alice", {"ops"});
  const Message m = Say("ec2 start i-0abc1234");
  const Planned p = Plan(m, alice, env_, &authorizer_, clock_.Now());
  EXPECT_EQ(d.Decided(m, alice, p, "step up", nullptr).text, "done");
  ASSERT_EQ(audit_.records().size(), 1u);
  const audit::Record r = audit_.records()[0];  // records() returns a copy
  EXPECT_LE(r.output.bytes.size(), 64u * 1024 + 20);
  EXPECT_NE(r.output.bytes.find("[truncated]"), std::string::npos);
  EXPECT_LE(r.reason.size(), 64u * 1024 + 20);
}

class ApprovalTest : public AuthorizerTest {
 protected:
  Principal Lead(std::string name, bool fresh_mfa = true) {
    Principal p = Person(std::move(name), {"leads"});
    if (fresh_mfa) {
      p.mfa_at = clock_.Now() - std::chrono::minutes(1);
    }
    return p;
  }
  Dispatcher::VoteOutcome Vote(const std::string& id, const Principal& who, bool approve) {
    return dispatcher_.Vote(Say(approve ? "approve " + id : "deny " + id, "U9"), id, who, approve);
  }
  const Principal alice_ = Person("alice", {"ops", "leads"});
};

TEST_F(ApprovalTest, TwoDistinctApproversReleaseTheExactRequestOnce) {
  const Reply opened = Run("ec2 reboot i-0abc1234", alice_);
  EXPECT_THAT(opened.text, HasSubstr("needs 2 approval(s) from leads"));
  const std::string id = OpenedId();
  ASSERT_EQ(id.size(), 8u);
  EXPECT_THAT(asked_.back(), HasSubstr("leads"));
  ASSERT_EQ(audit_.records().size(), 1u);
  EXPECT_EQ(audit_.records()[0].kind, audit::RecordKind::kApproval);
  EXPECT_EQ(audit_.records()[0].result, "requested");

  // The requester, although a lead, may not approve their own request.
  Principal self = alice_;
  self.mfa_at = clock_.Now();
  auto own = Vote(id, self, true);
  EXPECT_EQ(own.vote.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(own.vote.message, HasSubstr("your own request"));

  auto first = Vote(id, Lead("bob"), true);
  EXPECT_EQ(first.vote.outcome, VoteResult::Outcome::kRecorded);
  EXPECT_THAT(first.vote.message, HasSubstr("1 of 2"));
  auto again = Vote(id, Lead("bob"), true);
  EXPECT_EQ(again.vote.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(again.vote.message, HasSubstr("already voted"));
  EXPECT_TRUE(told_.empty());

  auto second = Vote(id, Lead("carol"), true);
  ASSERT_EQ(second.vote.outcome, VoteResult::Outcome::kApproved);
  EXPECT_EQ(second.vote.decision.effect, Effect::kAllow);
  EXPECT_EQ(second.vote.decision.statement, "ops-reboot");
  EXPECT_EQ(second.vote.pending->action.resource,
            "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234");
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].first, "U1");
  EXPECT_THAT(told_[0].second, HasSubstr("was approved"));

  // Released once: later votes change nothing.
  auto late = Vote(id, Lead("dave"), true);
  EXPECT_EQ(late.vote.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(late.vote.message, HasSubstr("already approved"));

  // Both principals are on record: approvers' votes and the requester's outcome.
  bool outcome_for_requester = false;
  int votes = 0;
  for (const audit::Record& r : audit_.records()) {
    if (r.kind == audit::RecordKind::kOutcome) {
      outcome_for_requester = r.principal == "https://idp.example|alice";
    }
    if (r.kind == audit::RecordKind::kApproval && r.action == "opsgate:Approve") {
      ++votes;
      EXPECT_THAT(r.reason, HasSubstr("requester https://idp.example|alice"));
    }
  }
  EXPECT_TRUE(outcome_for_requester);
  EXPECT_EQ(votes, 5);  // own (refused), bob, bob again (refused), carol, dave (refused)
}

TEST_F(ApprovalTest, ApproversOutsideTheGroupOrWithoutFreshMfaAreRefused) {
  Run("ec2 reboot i-0abc1234", alice_);
  const std::string id = OpenedId();
  Principal outsider = Person("eve", {"ops"});
  outsider.mfa_at = clock_.Now();
  EXPECT_THAT(Vote(id, outsider, true).vote.message, HasSubstr("Only members of leads"));
  EXPECT_THAT(Vote(id, Lead("bob", /*fresh_mfa=*/false), true).vote.message,
              HasSubstr("MFA confirmation within the last 15 min"));
  Principal stale = Lead("carol");
  stale.mfa_at = clock_.Now() - std::chrono::minutes(20);
  EXPECT_EQ(Vote(id, stale, true).vote.outcome, VoteResult::Outcome::kRefused);
  // None of them counted.
  auto votes = approvals_.Votes(id);
  ASSERT_TRUE(votes.has_value());
  EXPECT_TRUE(votes->empty());
}

TEST_F(ApprovalTest, OneDenyClosesTheRequestAndTellsTheRequester) {
  Run("ec2 reboot i-0abc1234", alice_);
  const std::string id = OpenedId();
  auto no = Vote(id, Lead("bob"), false);
  EXPECT_EQ(no.vote.outcome, VoteResult::Outcome::kDenied);
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_THAT(told_[0].second, HasSubstr("was not approved"));
  EXPECT_THAT(Vote(id, Lead("carol"), true).vote.message, HasSubstr("already denied"));
}

TEST_F(ApprovalTest, ExpiredRequestCannotBeApproved) {
  Run("ec2 reboot i-0abc1234", alice_);
  const std::string id = OpenedId();
  clock_.Advance(std::chrono::minutes(31));
  auto late = Vote(id, Lead("bob"), true);
  EXPECT_EQ(late.vote.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(late.vote.message, HasSubstr("expired"));
}

TEST_F(ApprovalTest, UnknownIdIsRefused) {
  EXPECT_THAT(Vote("NOPE0000", Lead("bob"), true).vote.message,
              HasSubstr("no approval request NOPE0000"));
  // A malformed id (a forged button value) is just as unknown, and echoed only in part.
  const auto forged = Vote("x'; DROP TABLE approvals;--" + std::string(100, 'A'), Lead("bob"), true);
  EXPECT_EQ(forged.vote.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(forged.vote.message, HasSubstr("There is no approval request x'; DROP"));
  EXPECT_LT(forged.vote.message.size(), 100u);
}

// A store whose stored payload was changed after the approval request was opened.
class TamperedStore final : public store::ApprovalStore {
 public:
  explicit TamperedStore(store::ApprovalStore& real) : real_(real) {}
  core::Status Create(const store::ApprovalRequest& r) override { return real_.Create(r); }
  core::Result<std::optional<store::ApprovalRequest>> Find(std::string_view id) const override {
    auto found = real_.Find(id);
    if (found && found->has_value()) {
      auto pending = DecodePendingAction((*found)->payload);
      if (pending) {
        pending->action.slots["instance_id"] = "i-0def5678";
        pending->action.resource = "arn:aws:ec2:eu-west-1:111111111111:instance/i-0def5678";
        pending->request.resource = pending->action.resource;
        (*found)->payload = EncodePendingAction(*pending);
      }
    }
    return found;
  }
  core::Result<std::vector<store::ApprovalVote>> Votes(std::string_view id) const override {
    return real_.Votes(id);
  }
  core::Result<std::vector<store::ApprovalVote>> AddVote(const store::ApprovalVote& v) override {
    return real_.AddVote(v);
  }
  core::Result<bool> Transition(std::string_view id, store::ApprovalState from,
                                store::ApprovalState to, core::Clock::WallTime at) override {
    return real_.Transition(id, from, to, at);
  }
  core::Result<std::vector<store::ApprovalRequest>> ListPending(core::Clock::WallTime now,
                                                                size_t limit) const override {
    return real_.ListPending(now, limit);
  }
  core::Result<std::vector<store::ApprovalRequest>> ExpireDue(core::Clock::WallTime now) override {
    return real_.ExpireDue(now);
  }

 private:
  store::ApprovalStore& real_;
};

TEST_F(ApprovalTest, ApprovalOfAModifiedRequestIsRefused) {
  Run("ec2 reboot i-0abc1234", alice_);
  const std::string id = OpenedId();
  TamperedStore tampered(approvals_);
  ApprovalDesk desk(tampered, authorizer_, clock_, Settings());
  const VoteResult v = desk.Vote(id, Lead("bob"), true);
  EXPECT_EQ(v.outcome, VoteResult::Outcome::kRefused);
  EXPECT_THAT(v.message, HasSubstr("no longer matches"));
  auto stored = approvals_.Find(id);
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->state, store::ApprovalState::kDenied);
}

TEST_F(ApprovalTest, PolicyChangedWhileWaitingClosesTheRequest) {
  Run("ec2 reboot i-0abc1234", alice_);
  const std::string id = OpenedId();
  holder_.Replace(Parse(R"(
statements:
  - {id: builtins, effect: allow, principals: {users: ["*"]}, actions: ["opsgate:Ping"],
     resources: ["*"]}
)"));
  const auto v = Vote(id, Lead("bob"), true);
  EXPECT_EQ(v.vote.outcome, VoteResult::Outcome::kDenied);
  EXPECT_THAT(v.vote.message, HasSubstr("no longer asks for approval"));
}

TEST_F(ApprovalTest, PendingActionRoundTripsAndHashCoversEveryField) {
  PendingAction p;
  p.request.principal.id = "iss|alice";
  p.request.principal.user = "alice@example.com";
  p.request.principal.groups = {"ops"};
  p.request.principal.mfa_at = clock_.Now();
  p.request.action = "ec2:RebootInstances";
  p.request.resource = "arn:aws:ec2:eu-west-1:1:instance/i-0abc1234";
  p.request.platform = "slack";
  p.request.now = clock_.Now();
  p.action.intent = "ec2.reboot";
  p.action.slots = {{"instance_id", "i-0abc1234"}};
  p.action.canonical = "canonical";
  p.statement = "ops-reboot";
  auto back = DecodePendingAction(EncodePendingAction(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(ApprovalHash(*back), ApprovalHash(p));
  EXPECT_EQ(back->action.slots, p.action.slots);
  PendingAction other = p;
  other.request.channel = "C2";
  EXPECT_NE(ApprovalHash(other), ApprovalHash(p));
  other = p;
  other.action.canonical = "canonical2";
  EXPECT_NE(ApprovalHash(other), ApprovalHash(p));
  EXPECT_FALSE(DecodePendingAction("{\"v\":1}").has_value());
  EXPECT_FALSE(DecodePendingAction("not json").has_value());
}

}  // namespace
}  // namespace opsgate::pipeline
