// `opsgate nlu parse` and `opsgate nlu eval`, run as the CLI runs them, on a data
// directory from `opsgate init` and temp data files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "opsgate/app/commands.h"
#include "opsgate/app/init.h"
#include "opsgate/app/nlu_training.h"
#include "opsgate/config/loader.h"
#include "opsgate/core/clock.h"
#include "opsgate/store/sqlite/sqlite_nlu_store.h"
#include "opsgate/store/sqlite/sqlite_store.h"
#include "test/fakes/capture_output.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

using Run = opsgate::testing::CapturedRun;
using opsgate::testing::CaptureOutput;

class NluCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("opsgate-nlu-cmd-" + std::to_string(std::random_device{}())));
    fs::create_directories(*dir_);
    core::SystemClock clock;
    InitOptions o;
    o.dir = (*dir_ / "data").string();
    auto r = InitDataDir(o, clock);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    config_ = new std::string(r->config_path);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete config_;
  }

  static std::string Write(const std::string& name, std::string_view text) {
    std::ofstream(*dir_ / name) << text;
    return (*dir_ / name).string();
  }

  static fs::path* dir_;
  static std::string* config_;
};

fs::path* NluCommandTest::dir_ = nullptr;
std::string* NluCommandTest::config_ = nullptr;

TEST_F(NluCommandTest, ParsePrintsOneJsonObject) {
  auto r = CaptureOutput([&] { return RunNluParse({*config_, "could you stop I-0ABC1234 please"}); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  const json::object o = json::parse(r.out).as_object();
  EXPECT_EQ(o.at("intent").as_string(), "ec2.stop");
  EXPECT_EQ(o.at("slots").as_object().at("instance_id").as_string(), "i-0abc1234");
  EXPECT_EQ(o.at("slots").as_object().size(), 1u);
  const double confidence = o.at("confidence").as_double();
  EXPECT_GT(confidence, 0.5);
  EXPECT_LE(confidence, 1.0);
  EXPECT_FALSE(o.at("below_threshold").as_bool());
  const json::array& alts = o.at("alternatives").as_array();
  ASSERT_FALSE(alts.empty());
  EXPECT_TRUE(alts[0].as_object().contains("intent"));
  EXPECT_TRUE(alts[0].as_object().contains("confidence"));
}

TEST_F(NluCommandTest, ParseStopItHasNoSlotsAndOutOfScopeIsNone) {
  auto stop = CaptureOutput([&] { return RunNluParse({*config_, "stop it"}); });
  ASSERT_EQ(stop.code, 0);
  const json::object s = json::parse(stop.out).as_object();
  EXPECT_EQ(s.at("intent").as_string(), "ec2.stop");
  EXPECT_TRUE(s.at("slots").as_object().empty());

  auto joke = CaptureOutput([&] { return RunNluParse({*config_, "tell me a joke"}); });
  ASSERT_EQ(joke.code, 0);
  EXPECT_EQ(json::parse(joke.out).as_object().at("intent").as_string(), "none");
}

TEST_F(NluCommandTest, ParseNeedsALoadableConfig) {
  auto missing = CaptureOutput([&] { return RunNluParse({"/nonexistent/opsgate.yaml", "help"}); });
  EXPECT_EQ(missing.code, kNluUsageError);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err, "");
  const std::string bad = Write("bad.yaml", "server: [unclosed\n");
  EXPECT_EQ(CaptureOutput([&] { return RunNluParse({bad, "help"}); }).code, kNluUsageError);
  auto none = CaptureOutput([&] { return RunNluParse({"", "help"}); });
  EXPECT_EQ(none.code, kNluUsageError);
  EXPECT_THAT(none.err, HasSubstr("--config"));
}

TEST_F(NluCommandTest, EvalPrintsTheReport) {
  const std::string data =
      Write("data.jsonl",
            "{\"text\": \"could you stop i-0abc1234 please\", \"intent\": \"ec2.stop\", "
            "\"slots\": {\"instance_id\": \"i-0abc1234\"}}\n"
            "{\"text\": \"tell me a joke\", \"intent\": \"none\"}\n"
            "{\"text\": \"reboot i-0abc1234\", \"intent\": \"ec2.stop\", "
            "\"slots\": {\"instance_id\": \"i-0abc1234\"}}\n");
  auto text = CaptureOutput([&] { return RunNluEval({*config_, data, false}); });
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("intent_accuracy:  0.6667\n"));
  // Slots are compared whatever the intent: line 3's instance id is right.
  EXPECT_THAT(text.out, HasSubstr("slot_exact_match: 1.0000\n"));
  EXPECT_THAT(text.out, HasSubstr("macro_f1:"));
  EXPECT_THAT(text.out, HasSubstr("oos_precision:    1.0000\n"));
  EXPECT_THAT(text.out, HasSubstr("oos_recall:       1.0000\n"));
  EXPECT_THAT(text.out, HasSubstr("ec2.stop: ec2.reboot=1 ec2.stop=1\n"));
  EXPECT_THAT(text.out, HasSubstr("line 3: reboot i-0abc1234\n"));

  auto js = CaptureOutput([&] { return RunNluEval({*config_, data, true}); });
  ASSERT_EQ(js.code, 0) << js.err;
  const json::object o = json::parse(js.out).as_object();
  EXPECT_NEAR(o.at("intent_accuracy").as_double(), 2.0 / 3, 1e-4);
  EXPECT_DOUBLE_EQ(o.at("slot_exact_match").as_double(), 1.0);
  for (const char* key : {"macro_f1", "oos_precision", "oos_recall", "confusion", "errors"}) {
    EXPECT_TRUE(o.contains(key)) << key;
  }
  EXPECT_EQ(o.at("errors").as_array().size(), 1u);
}

TEST_F(NluCommandTest, EvalErrorsExit2) {
  const std::string bad =
      Write("bad.jsonl", "{\"text\": \"help\", \"intent\": \"help\"}\n{\"text\": 3}\n");
  auto r = CaptureOutput([&] { return RunNluEval({*config_, bad, false}); });
  EXPECT_EQ(r.code, kNluUsageError);
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl: line 2: \"text\" must be a string"));
  EXPECT_EQ(r.out, "");
  auto missing = CaptureOutput([&] { return RunNluEval({*config_, "/nonexistent/x.jsonl", false}); });
  EXPECT_EQ(missing.code, kNluUsageError);
  auto no_config = CaptureOutput([&] { return RunNluEval({"/nonexistent/c.yaml", bad, false}); });
  EXPECT_EQ(no_config.code, kNluUsageError);
}

// The held-out set of the repository through the CLI path.
TEST_F(NluCommandTest, EvalHeldOutSet) {
  const std::string path = OPSGATE_NLU_HELDOUT;
  auto r = CaptureOutput([&] { return RunNluEval({*config_, path, true}); });
  ASSERT_EQ(r.code, 0) << r.err;
  const json::object o = json::parse(r.out).as_object();
  EXPECT_GE(o.at("intent_accuracy").as_double(), 0.95);
  EXPECT_GE(o.at("slot_exact_match").as_double(), 0.95);
}

TEST_F(NluCommandTest, ReviewAcceptAndRejectCandidates) {
  int64_t first = 0;
  int64_t second = 0;
  {
    // What the running gateway keeps when someone corrects an unsure guess.
    auto loaded = config::LoadConfigFile(*config_);
    ASSERT_TRUE(loaded.has_value());
    auto db = store::SqliteStore::Open(loaded->config->store.path);
    ASSERT_TRUE(db.has_value()) << db.error();
    store::SqliteNluCandidateStore candidates(**db);
    store::NluCandidate c;
    c.text = "bounce i-0abc1234";
    c.utterance = "bounce {instance_id}";
    c.intent = "ec2.reboot";
    c.guessed = "ec2.stop";
    c.confidence = 0.42;
    c.principal = "slack:T1:U1";
    c.created_at = std::chrono::system_clock::now();
    first = *candidates.Add(c);
    c.utterance = "kick {instance_id}";
    c.text = "kick i-0abc1234";
    second = *candidates.Add(c);
  }
  auto r = CaptureOutput([&] { return RunNluReview({*config_, "pending", {}, ""}); });
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ec2.reboot  \"bounce {instance_id}\""));
  EXPECT_THAT(r.out, HasSubstr("guessed ec2.stop (42%)"));
  r = CaptureOutput([&] { return RunNluDecide({*config_, "", {first}, "accepted"}); });
  EXPECT_EQ(r.code, 0) << r.err;
  r = CaptureOutput([&] { return RunNluDecide({*config_, "", {first, 999}, "rejected"}); });
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("already reviewed"));
  EXPECT_THAT(r.err, HasSubstr("no candidate 999"));
  r = CaptureOutput([&] { return RunNluDecide({*config_, "", {second}, "rejected"}); });
  EXPECT_EQ(r.code, 0);
  r = CaptureOutput([&] { return RunNluReview({*config_, "accepted", {}, ""}); });
  EXPECT_THAT(r.out, HasSubstr("bounce {instance_id}"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("kick")));

  // The training catalogue has the accepted utterance, and only that one.
  auto loaded = config::LoadConfigFile(*config_);
  auto db = store::SqliteStore::Open(loaded->config->store.path);
  store::SqliteNluCandidateStore candidates(**db);
  size_t learned = 0;
  auto catalogue = TrainingCatalogue(*loaded->config, &candidates, &learned);
  ASSERT_TRUE(catalogue.has_value());
  EXPECT_EQ(learned, 1u);
  const intents::IntentSpec* reboot = catalogue->Find("ec2.reboot");
  ASSERT_NE(reboot, nullptr);
  EXPECT_EQ(reboot->utterances.back(), "bounce {instance_id}");
}

}  // namespace
}  // namespace opsgate::app
