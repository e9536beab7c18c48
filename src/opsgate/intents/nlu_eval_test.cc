// nlu_eval: strict JSONL reading, the metrics on hand-made cases, and the held-out set of
// issue 7 (tests/nlu/heldout.jsonl), which must meet the targets.
#include "opsgate/intents/nlu_eval.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>

namespace opsgate::intents {
namespace {

using ::testing::HasSubstr;

const Classifier& Default() {
  static const Classifier c = *Classifier::Train(DefaultCatalogue());
  return c;
}

TEST(NluEvalTest, ParsesLinesAndSkipsBlankOnes) {
  auto data = ParseEvalData(
      "{\"text\": \"stop i-0abc1234\", \"intent\": \"ec2.stop\", \"slots\": {\"instance_id\": "
      "\"i-0abc1234\"}}\n\n{\"text\": \"tell me a joke\", \"intent\": \"none\"}\n",
      DefaultCatalogue());
  ASSERT_TRUE(data.has_value()) << data.error().message;
  ASSERT_EQ(data->size(), 2u);
  EXPECT_EQ((*data)[0].line, 1u);
  EXPECT_EQ((*data)[0].slots.at("instance_id"), "i-0abc1234");
  EXPECT_EQ((*data)[1].line, 3u);
  EXPECT_EQ((*data)[1].intent, "none");
}

TEST(NluEvalTest, RejectsBadLinesWithTheirNumber) {
  const Catalogue c = DefaultCatalogue();
  const std::string ok = "{\"text\": \"help\", \"intent\": \"help\"}\n";
  struct Case {
    std::string line;
    std::string message;
  };
  for (const Case& k : std::vector<Case>{
           {"not json", "line 2: not valid JSON"},
           {"[1]", "line 2: expected a JSON object"},
           {"{\"text\": 1, \"intent\": \"help\"}", "line 2: \"text\" must be a string"},
           {"{\"text\": \"x\"}", "line 2: missing \"intent\""},
           {"{\"intent\": \"help\"}", "line 2: missing or empty \"text\""},
           {"{\"text\": \"x\", \"intent\": \"ec2.nuke\"}", "line 2: unknown intent \"ec2.nuke\""},
           {"{\"text\": \"x\", \"intent\": \"ec2.stop\", \"slots\": {\"colour\": \"red\"}}",
            "line 2: intent ec2.stop has no slot \"colour\""},
           {"{\"text\": \"x\", \"intent\": \"ec2.stop\", \"slots\": {\"instance_id\": 5}}",
            "line 2: slot \"instance_id\" must have a string value"},
           {"{\"text\": \"x\", \"intent\": \"none\", \"slots\": {\"a\": \"b\"}}",
            "line 2: intent none has no slots"},
           {"{\"text\": \"x\", \"intent\": \"help\", \"extra\": 1}",
            "line 2: unknown key \"extra\""},
       }) {
    auto r = ParseEvalData(ok + k.line + "\n", c);
    ASSERT_FALSE(r.has_value()) << k.line;
    EXPECT_THAT(r.error().message, HasSubstr(k.message)) << k.line;
  }
  EXPECT_FALSE(ParseEvalData("\n\n", c).has_value());
  auto missing = ReadEvalFile("/nonexistent/heldout.jsonl", c);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
}

TEST(NluEvalTest, MetricsOnHandMadeCases) {
  std::vector<EvalExample> ex = {
      {1, "could you stop i-0abc1234 please", "ec2.stop", {{"instance_id", "i-0abc1234"}}},
      {2, "stop it", "ec2.stop", {}},
      {3, "tell me a joke", "none", {}},
      // Deliberately wrong expectations: an intent error and a slot error.
      {4, "reboot i-0abc1234", "ec2.stop", {{"instance_id", "i-0abc1234"}}},
      {5, "start i-0abc1234", "ec2.start", {{"instance_id", "i-0fff0000"}}},
  };
  const EvalReport r = Evaluate(Default(), ex);
  EXPECT_EQ(r.examples, 5u);
  EXPECT_EQ(r.in_scope_examples, 4u);
  EXPECT_DOUBLE_EQ(r.intent_accuracy, 4.0 / 5);
  EXPECT_DOUBLE_EQ(r.slot_exact_match, 3.0 / 4);
  EXPECT_DOUBLE_EQ(r.oos_precision, 1.0);
  EXPECT_DOUBLE_EQ(r.oos_recall, 1.0);
  EXPECT_EQ(r.confusion.at("ec2.stop").at("ec2.reboot"), 1u);
  EXPECT_EQ(r.confusion.at("ec2.stop").at("ec2.stop"), 2u);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 4u);
  EXPECT_EQ(r.errors[0].predicted_intent, "ec2.reboot");
  EXPECT_EQ(r.errors[1].line, 5u);
  // labels: ec2.stop (p 1, r 2/3), ec2.reboot (0), ec2.start (1), none (1).
  EXPECT_NEAR(r.macro_f1, (0.8 + 0 + 1 + 1) / 4, 1e-9);

  const std::string text = FormatReportText(r);
  EXPECT_THAT(text, HasSubstr("intent_accuracy:  0.8000\n"));
  EXPECT_THAT(text, HasSubstr("line 4: reboot i-0abc1234"));
  auto j = boost::json::parse(FormatReportJson(r)).as_object();
  EXPECT_DOUBLE_EQ(j.at("intent_accuracy").as_double(), 0.8);
  EXPECT_DOUBLE_EQ(j.at("slot_exact_match").as_double(), 0.75);
  EXPECT_EQ(j.at("confusion").at("ec2.stop").at("ec2.reboot").as_int64(), 1);
  EXPECT_EQ(j.at("errors").as_array().size(), 2u);
  for (const char* key : {"macro_f1", "oos_precision", "oos_recall"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

// Issue 7, "Done when": on held-out paraphrases at least 95% intent accuracy and 95% slot
// exact-match, with out-of-scope recall of at least 90%.
TEST(NluEvalTest, HeldOutSetMeetsTheTargets) {
  auto data = ReadEvalFile(OPSGATE_NLU_HELDOUT, Default().catalogue());
  ASSERT_TRUE(data.has_value()) << data.error().message;
  ASSERT_GE(data->size(), 150u);
  const EvalReport r = Evaluate(Default(), *data);
  std::cout << FormatReportText(r) << "temperature: " << Default().temperature() << "\n";
  EXPECT_GE(r.intent_accuracy, 0.95);
  EXPECT_GE(r.slot_exact_match, 0.95);
  EXPECT_GE(r.oos_recall, 0.90);
}

// The held-out set is held out: no line is a training utterance with its values.
TEST(NluEvalTest, HeldOutSetHasNoTrainingUtterance) {
  auto data = ReadEvalFile(OPSGATE_NLU_HELDOUT, Default().catalogue());
  ASSERT_TRUE(data.has_value());
  size_t none = 0;
  for (const EvalExample& ex : *data) {
    none += ex.intent == "none" ? 1 : 0;
    for (const IntentSpec& i : Default().catalogue().intents) {
      for (const std::string& u : i.utterances) {
        if (u.find('{') == std::string::npos) {
          EXPECT_NE(ex.text, u) << "line " << ex.line;
        }
      }
    }
  }
  EXPECT_GE(none, 30u);
}

}  // namespace
}  // namespace opsgate::intents
