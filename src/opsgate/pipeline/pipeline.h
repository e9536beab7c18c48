// File: opsgate/pipeline/pipeline.h
//
// Runs stages in order on one Context until one of them stops it. The order is fixed
// when the app wires the pipeline (DESIGN.md §1); there is no going back.
//
//   Pipeline p;
//   p.Append(std::make_unique<IdentityStage>(...));
//   p.Append(std::make_unique<PolicyStage>(...));
//   RunResult r = p.Run(ctx);
//
// Thread-safety: Append() before use; Run() from any thread afterwards.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "opsgate/pipeline/stage.h"

namespace opsgate::pipeline {

struct RunResult {
  StageOutcome outcome = StageOutcome::kContinue;  // kContinue: every stage passed
  std::string stopped_by;                          // name of the stage that stopped, if any
};

class Pipeline {
 public:
  void Append(std::unique_ptr<Stage> stage) { stages_.push_back(std::move(stage)); }
  RunResult Run(Context& ctx) const;
  size_t size() const { return stages_.size(); }

 private:
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace opsgate::pipeline
