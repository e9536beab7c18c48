// File: opsgate/pipeline/stage.h
//
// A Stage is one step of the request path (identity, intents, policy, audit,
// executor, redact). Stages are small, independent and testable alone with fakes.
//
// Thread-safety: Process() may be called concurrently for different Contexts; a
// Stage must not keep per-request state in members.
#pragma once

#include <string_view>

#include "opsgate/pipeline/message.h"

namespace opsgate::pipeline {

enum class StageOutcome {
  // Go on to the next stage.
  kContinue,
  // Stop here and send Context::reply (help text, "link your account", a result).
  kRespond,
  // Stop here and send nothing more than Context::reply, if any; the request was
  // refused (the stage has audited why).
  kReject,
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Short stable name for logs and metrics ("identity", "policy").
  virtual std::string_view Name() const = 0;
  // Reads and enriches `ctx`. Must not throw; failures become kReject/kRespond with a reply.
  virtual StageOutcome Process(Context& ctx) = 0;
};

}  // namespace opsgate::pipeline
