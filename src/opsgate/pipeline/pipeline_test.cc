#include "opsgate/pipeline/pipeline.h"

#include <gtest/gtest.h>

namespace opsgate::pipeline {
namespace {

// Records its name into the reply text and returns a fixed outcome.
class RecordingStage final : public Stage {
 public:
  RecordingStage(std::string name, StageOutcome outcome)
      : name_(std::move(name)), outcome_(outcome) {}
  std::string_view Name() const override { return name_; }
  StageOutcome Process(Context& ctx) override {
    if (!ctx.reply) {
      ctx.reply.emplace();
    }
    ctx.reply->text += name_ + ";";
    return outcome_;
  }

 private:
  std::string name_;
  StageOutcome outcome_;
};

TEST(Pipeline, RunsEveryStageInOrderWhenAllContinue) {
  Pipeline p;
  p.Append(std::make_unique<RecordingStage>("identity", StageOutcome::kContinue));
  p.Append(std::make_unique<RecordingStage>("policy", StageOutcome::kContinue));
  Context ctx;
  const RunResult r = p.Run(ctx);
  EXPECT_EQ(r.outcome, StageOutcome::kContinue);
  EXPECT_EQ(r.stopped_by, "");
  EXPECT_EQ(ctx.reply->text, "identity;policy;");
}

TEST(Pipeline, StopsAtTheFirstStageThatRejects) {
  Pipeline p;
  p.Append(std::make_unique<RecordingStage>("identity", StageOutcome::kContinue));
  p.Append(std::make_unique<RecordingStage>("policy", StageOutcome::kReject));
  p.Append(std::make_unique<RecordingStage>("executor", StageOutcome::kContinue));
  Context ctx;
  const RunResult r = p.Run(ctx);
  EXPECT_EQ(r.outcome, StageOutcome::kReject);
  EXPECT_EQ(r.stopped_by, "policy");
  EXPECT_EQ(ctx.reply->text, "identity;policy;");  // executor never ran
}

TEST(Pipeline, RespondStopsWithAnAnswer) {
  Pipeline p;
  p.Append(std::make_unique<RecordingStage>("intents", StageOutcome::kRespond));
  p.Append(std::make_unique<RecordingStage>("policy", StageOutcome::kContinue));
  Context ctx;
  EXPECT_EQ(p.Run(ctx).stopped_by, "intents");
}

}  // namespace
}  // namespace opsgate::pipeline
