#include "opsgate/pipeline/pipeline.h"

namespace opsgate::pipeline {

RunResult Pipeline::Run(Context& ctx) const {
  for (const auto& stage : stages_) {
    const StageOutcome outcome = stage->Process(ctx);
    if (outcome != StageOutcome::kContinue) {
      return {outcome, std::string(stage->Name())};
    }
  }
  return {};
}

}  // namespace opsgate::pipeline
