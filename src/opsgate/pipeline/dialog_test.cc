// Dialogs over a real (in-memory) SQLite store: slots asked for in turn, confirmations
// (yes/no and typed), cancel, time-out, did-you-mean and out-of-scope, with a stand-in
// for the classifier that returns what each test says it understood.
#include "opsgate/pipeline/dialog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "opsgate/pipeline/authorizer.h"
#include "opsgate/store/sqlite/sqlite_dialog_store.h"
#include "opsgate/store/sqlite/sqlite_nlu_store.h"
#include "opsgate/store/sqlite/sqlite_policy_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::pipeline {
namespace {

using ::testing::HasSubstr;
using Kind = Understanding::Kind;

std::shared_ptr<const policy::Policy> AllowEc2() {
  auto p = policy::ParsePolicy(R"(
statements:
  - {id: ops, effect: allow, principals: {users: ["*"]}, actions: ["ec2:*", "autoscaling:*"],
     resources: ["*"], conditions: {allow_dm: true}}
)",
                               "t.yaml");
  EXPECT_TRUE(p.has_value());
  return std::make_shared<const policy::Policy>(std::move(*p));
}

class DialogTest : public ::testing::Test {
 protected:
  DialogTest()
      : db_(std::move(*store::SqliteStore::Open(":memory:"))),
        dialogs_(*db_),
        candidates_(*db_),
        rates_(*db_),
        holder_(AllowEc2()),
        authorizer_(holder_, &rates_) {
    env_.catalogue = &catalogue_;
    env_.defaults.region = "eu-west-1";
    env_.dialogs = &dialogs_;
    env_.candidates = &candidates_;
    env_.redact = [](std::string_view t) {
      std::string out(t);
      if (const size_t at = out.find("hunter2"); at != std::string::npos) {
        out.replace(at, 7, "[redacted]");
      }
      return out;
    };
    env_.classify = [this](std::string_view text) {
      classified_texts_.emplace_back(text);
      return next_;
    };
    principal_.issuer = "iss";
    principal_.subject = "alice";
  }

  Planned Say(const std::string& text, const std::string& channel = "C1") {
    Message m;
    m.platform = "slack";
    m.workspace_id = "T1";
    m.user_id = "U1";
    m.text = text;
    m.reply_to.channel_id = channel;
    return Plan(m, principal_, env_, &authorizer_, clock_.Now());
  }
  static std::string Text(const Planned& p) { return p.understanding.reply.text; }

  testing::FakeClock clock_;
  intents::Catalogue catalogue_ = intents::DefaultCatalogue();
  std::unique_ptr<store::SqliteStore> db_;
  store::SqliteDialogStore dialogs_;
  store::SqliteNluCandidateStore candidates_;
  store::SqliteRateEventStore rates_;
  PolicyHolder holder_;
  Authorizer authorizer_;
  UnderstandEnv env_;
  Principal principal_;
  Classified next_;
  std::vector<std::string> classified_texts_;
};

TEST_F(DialogTest, PoliteFreeTextLeadsToAConfirmationOfExactlyThatInstance) {
  next_ = {"ec2.stop", 0.97, {{"instance_id", "i-0abc1234"}}, {}, false};
  const Planned asked = Say("could you stop i-0abc1234 please");
  ASSERT_EQ(asked.understanding.kind, Kind::kReply);
  EXPECT_EQ(Text(asked), "Stop instance i-0abc1234?");
  EXPECT_FALSE(asked.decision.has_value());  // nothing decided or done yet
  audit::Record record;
  DescribeForAudit(asked, record);
  EXPECT_EQ(record.intent, "ec2.stop");
  EXPECT_EQ(record.decision, "");
  EXPECT_EQ(record.reason, "dialog: asked to confirm; decided once confirmed");
  EXPECT_EQ(asked.understanding.request.slots.at("instance_id"), "i-0abc1234");
  const Planned confirmed = Say("Yes!");
  ASSERT_EQ(confirmed.understanding.kind, Kind::kCommand);
  EXPECT_EQ(confirmed.understanding.request.resource,
            "arn:aws:ec2:eu-west-1:*:instance/i-0abc1234");
  ASSERT_TRUE(confirmed.decision.has_value());
  EXPECT_EQ(confirmed.decision->effect, policy::Decision::Effect::kAllow);
  // The dialog is over.
  EXPECT_THAT(Text(Say("yes")), HasSubstr("Nothing is waiting"));
}

TEST_F(DialogTest, StopItAsksWhichInstanceAndChecksTheAnswer) {
  next_ = {"ec2.stop", 0.9, {}, {}, false};
  Planned p = Say("stop it");
  EXPECT_EQ(Text(p), "Which instance? (an id such as i-0abc1234)");
  p = Say("i-12");
  EXPECT_THAT(Text(p), HasSubstr("i-0abc1234"));
  EXPECT_THAT(Text(p), HasSubstr("expected an EC2 instance id"));
  p = Say("I-0ABC5678");
  EXPECT_EQ(Text(p), "Stop instance i-0abc5678?");
  p = Say("no");
  EXPECT_THAT(Text(p), HasSubstr("Cancelled"));
  EXPECT_EQ(classified_texts_.size(), 1u);  // the answers never reached the classifier
}

TEST_F(DialogTest, CancelWorksAtAnyPointAndDialogsTimeOut) {
  next_ = {"asg.scale", 0.9, {}, {}, false};
  EXPECT_EQ(Text(Say("scale it")), "Which Auto Scaling group?");
  EXPECT_THAT(Text(Say("cancel")), HasSubstr("Cancelled"));
  EXPECT_EQ(Text(Say("scale it")), "Which Auto Scaling group?");
  // Another channel is another conversation.
  next_ = {"none", 0.99, {}, {}, false};
  EXPECT_THAT(Text(Say("web-asg", "C2")), HasSubstr("can't help"));
  clock_.Advance(std::chrono::minutes(6));
  // Timed out: the answer is new text again.
  EXPECT_THAT(Text(Say("web-asg")), HasSubstr("can't help"));
}

TEST_F(DialogTest, TypedConfirmationNeedsTheExactValue) {
  next_ = {"asg.scale", 0.95, {{"group", "web-asg"}, {"capacity", "12"}}, {}, false};
  EXPECT_THAT(Text(Say("scale web-asg to 12 please")), HasSubstr("Type the number"));
  EXPECT_THAT(Text(Say("yes")), HasSubstr("does not match. Type 12"));
  EXPECT_THAT(Text(Say("13")), HasSubstr("does not match"));
  const Planned done = Say("12");
  ASSERT_EQ(done.understanding.kind, Kind::kCommand);
  EXPECT_EQ(done.understanding.request.slots.at("capacity"), "12");
  EXPECT_EQ(done.decision->effect, policy::Decision::Effect::kAllow);
}

TEST_F(DialogTest, ACommandInTheMiddleReplacesTheDialog) {
  next_ = {"ec2.stop", 0.9, {}, {}, false};
  Say("stop it");
  const Planned p = Say("ec2 describe i-0abc1234");
  EXPECT_EQ(p.understanding.kind, Kind::kCommand);
  EXPECT_EQ(p.understanding.request.intent, "ec2.describe");
  // The old question is gone: the answer is new text, which the classifier reads as a
  // stop without an instance.
  EXPECT_EQ(Text(Say("i-0abc1234")), "Which instance? (an id such as i-0abc1234)");
}

TEST_F(DialogTest, UnsureGuessesOfferTheBestFewAndOutOfScopeGetsHelp) {
  next_ = {"ec2.reboot", 0.41, {}, {{"ec2.stop", 0.35}, {"ec2.start", 0.12}}, true};
  const Planned p = Say("bounce the box");
  EXPECT_THAT(Text(p), HasSubstr("Did you mean"));
  ASSERT_FALSE(p.understanding.reply.blocks.empty());
  bool listed_stop = false;
  for (const ReplyBlock& b : p.understanding.reply.blocks) {
    for (const auto& [label, usage] : b.fields) {
      listed_stop = listed_stop || usage.rfind("ec2 stop", 0) == 0;
    }
  }
  EXPECT_TRUE(listed_stop);
  next_ = {"none", 0.95, {}, {}, false};
  EXPECT_THAT(Text(Say("tell me a joke")), HasSubstr("Type help"));
}

TEST_F(DialogTest, ASentenceStartingWithAServiceWordGoesToTheClassifier) {
  // "incident" is a service word, but "in" is no verb of it: this is a sentence.
  next_ = {"incident.open", 0.91, {{"service", "payments"}}, {}, false};
  Planned p = Say("incident in payments, please page someone");
  EXPECT_THAT(Text(p), ::testing::Not(HasSubstr("unknown command"))) << Text(p);
  EXPECT_EQ(classified_texts_.size(), 1u);  // asked once
  // Unsure, or out of scope: the command's own error, with its usage, answers.
  (void)Say("cancel");  // the incident dialog it started
  next_ = {"none", 0.9, {}, {}, false};
  p = Say("incident in payments");
  EXPECT_EQ(p.understanding.kind, Understanding::Kind::kInvalid);
  EXPECT_THAT(p.understanding.error, HasSubstr("unknown command"));
  // A known verb written with a wrong value keeps its precise error; no classifier.
  classified_texts_.clear();
  p = Say("ec2 stop i-nothex");
  EXPECT_EQ(p.understanding.kind, Understanding::Kind::kInvalid);
  EXPECT_THAT(p.understanding.error, HasSubstr("instance_id"));
  EXPECT_TRUE(classified_texts_.empty());
}

TEST_F(DialogTest, CommandSyntaxWithoutTheInstanceAsksForIt) {
  Planned p = Say("ec2 reboot");
  EXPECT_EQ(Text(p), "Which instance? (an id such as i-0abc1234)");
  p = Say("i-0abc1234");
  EXPECT_EQ(Text(p), "Reboot instance i-0abc1234?");
}

TEST_F(DialogTest, ACorrectedGuessIsKeptForReviewOnceConfirmed) {
  next_ = {"ec2.stop", 0.41, {{"instance_id", "i-0abc1234"}}, {{"ec2.reboot", 0.38}}, true};
  Planned p = Say("bounce I-0ABC1234 hunter2");
  EXPECT_THAT(Text(p), HasSubstr("Did you mean"));
  EXPECT_THAT(Text(Say("7")), HasSubstr("Reply with 1 to 2"));
  p = Say("2");  // ec2.reboot, with the instance the classifier found
  EXPECT_EQ(Text(p), "Reboot instance i-0abc1234?");
  EXPECT_TRUE(candidates_.List("pending", 10)->empty());  // not confirmed yet
  p = Say("yes");
  ASSERT_EQ(p.understanding.kind, Kind::kCommand);
  EXPECT_EQ(p.understanding.request.intent, "ec2.reboot");
  auto kept = candidates_.List("pending", 10);
  ASSERT_TRUE(kept.has_value());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].intent, "ec2.reboot");
  EXPECT_EQ((*kept)[0].guessed, "ec2.stop");
  EXPECT_EQ((*kept)[0].text, "bounce I-0ABC1234 [redacted]");
  EXPECT_EQ((*kept)[0].utterance, "bounce {instance_id} [redacted]");
  EXPECT_EQ((*kept)[0].principal, "slack:T1:U1");
}

TEST_F(DialogTest, ACommandAfterDidYouMeanIsACorrectionToo) {
  next_ = {"ec2.stop", 0.3, {}, {{"ec2.start", 0.2}}, true};
  Say("wake up box i-0abc1234");
  const Planned p = Say("ec2 describe i-0abc1234");  // not offered, still what they meant
  EXPECT_EQ(p.understanding.kind, Kind::kCommand);
  auto kept = candidates_.List("pending", 10);
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].intent, "ec2.describe");
  EXPECT_EQ((*kept)[0].utterance, "wake up box {instance_id}");
  // A cancelled correction keeps nothing.
  next_ = {"ec2.stop", 0.3, {{"instance_id", "i-0abc9999"}}, {{"ec2.reboot", 0.2}}, true};
  Say("zap i-0abc9999");
  Say("2");
  Say("cancel");
  EXPECT_EQ(candidates_.List("pending", 10)->size(), 1u);
}

}  // namespace
}  // namespace opsgate::pipeline
