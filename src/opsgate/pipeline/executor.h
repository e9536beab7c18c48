// File: opsgate/pipeline/executor.h
//
// An Executor runs an allowed action (DESIGN.md §1 "executor"). The Dispatcher looks one
// up by action name ("opsgate:BreakGlass", later "ec2:StopInstances") once policy said
// allow and the decision is on record; it records the outcome the executor reports.
//
//   class BreakGlass final : public Executor { ExecResult Run(const ExecContext&) override; };
//   dispatcher.Register("opsgate:BreakGlass", &break_glass);
//
// Slow executors (those that call remote APIs: AWS) say so with Slow(); the dispatcher
// then runs them on its bounded worker pool, answers at once with Started(), and tells
// the requester the result through the Notifier when Run() returns (dispatcher.h).
//
// Thread-safety: Run() may be called from several threads at once.
#pragma once

#include <functional>
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
  std::string thread;  // where the request was asked (a thread), for later messages
  // Tells the requester how a slow action is going ("i-0abc1234 is stopping (20 s)").
  // Set by the dispatcher for slow executors; null otherwise.
  std::function<void(const Reply&)> progress;
  // The asking message's one-shot reply URL (Slack response_url), if it had one: later
  // messages may go there when the platform has no other way (no bot token).
  std::string response_url;
};

struct ExecResult {
  Reply reply;
  std::string result = "ok";  // the outcome record's result: "ok", "failed", "refused", ...
  std::string reason;         // why, for the outcome record; never a secret
  // The cloud identity the action ran under (the STS role session ARN), for the outcome
  // record; "" when none.
  std::string session;
  // What the action returned (states before/after...), sealed in the outcome record.
  std::string output;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual ExecResult Run(const ExecContext& context) = 0;
  // True when Run() may take long (remote calls): run it off the caller's thread.
  virtual bool Slow() const { return false; }
  // For slow executors: the answer given at once, before Run() ("Stopping i-0abc1234...").
  virtual Reply Started(const ExecContext& context);
};

}  // namespace opsgate::pipeline
