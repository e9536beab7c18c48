// File: opsgate/pipeline/executor.h
//
// An Executor runs an allowed action (DESIGN.md §1 "executor"). The Dispatcher looks one
// up by action name ("opsgate:BreakGlass", later "ec2:StopInstances") once policy said
// allow and the decision is on record; it records the outcome the executor reports.
//
//   class BreakGlass final : public Executor { ExecResult Run(const ExecContext&) override; };
//   dispatcher.Register("opsgate:BreakGlass", &break_glass);
//
// Thread-safety: Run() may be called from several threads at once.
#pragma once

#include <string>

#include "opsgate/pipeline/authorizer.h"
#include "opsgate/pipeline/reply.h"
#include "opsgate/policy/evaluator.h"

namespace opsgate::pipeline {

// Who asked for what, where, and under which decision.
struct ExecContext {
  const ActionRequest& action;
  const policy::Decision& decision;
  std::string principal_id;    // "issuer|subject"
  std::string principal_name;  // for people: email, else subject (may be empty)
  std::string correlation_id;
  std::string platform;
  std::string workspace;
  std::string channel;
  std::string user_id;
};

struct ExecResult {
  Reply reply;
  std::string result = "ok";  // the outcome record's result: "ok", "failed", "refused", ...
  std::string reason;         // why, for the outcome record; never a secret
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual ExecResult Run(const ExecContext& context) = 0;
};

}  // namespace opsgate::pipeline
