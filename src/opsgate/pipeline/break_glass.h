// File: opsgate/pipeline/break_glass.h
//
// Break-glass (issue 6 item 5, docs/policy.md#break-glass): a time-boxed elevation that
// policy must allow (action opsgate:BreakGlass), announced where everyone concerned sees
// it, ended automatically, and reviewed afterwards by someone else.
//
//   break-glass 30m prod database down, pager #4711   -> role `break-glass` for 30 minutes
//   break-glass end                                    -> ends it now
//   reviews                                            -> elevations waiting for review
//   review K7Q3XZ9A ok|misuse NOTE                     -> the after-the-fact review
//
// While elevated, the principal holds the role `break-glass` (Authorizer adds it to each
// decision), so statements with `principals: {roles: [break-glass]}` say what the
// elevation permits. Nothing else changes: every action is still decided and audited.
// A principal cannot break glass again while an earlier elevation awaits its review.
//
// Each command is an action of its own (opsgate:BreakGlass, opsgate:EndBreakGlass,
// opsgate:ReviewBreakGlass, opsgate:ListBreakGlass) run by this Executor once policy
// allowed it; the Dispatcher records the outcome.
//
// Thread-safety: safe to share.
#pragma once

#include <string>
#include <string_view>

#include "opsgate/audit/sink.h"
#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/pipeline/executor.h"
#include "opsgate/store/policy_store.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::pipeline {

inline constexpr std::string_view kBreakGlassRole = "break-glass";

// The four actions, for Dispatcher::Register.
inline constexpr std::string_view kBreakGlassActions[] = {
    "opsgate:BreakGlass", "opsgate:EndBreakGlass", "opsgate:ReviewBreakGlass",
    "opsgate:ListBreakGlass"};

// Recognises the break-glass commands; nullopt for anything else. A malformed one is
// kInvalid with the usage.
std::optional<Understanding> UnderstandBreakGlass(std::string_view text);

class BreakGlass final : public Executor {
 public:
  BreakGlass(store::ElevationStore& store, const core::Clock& clock,
             config::BreakGlassConfig settings, const Notifier& announcer,
             audit::AuditSink& audit, telemetry::Logger& log)
      : store_(store),
        clock_(clock),
        settings_(std::move(settings)),
        announcer_(announcer),
        audit_(audit),
        log_(log) {}

  ExecResult Run(const ExecContext& context) override;

  // Ends what expired since the last sweep: announces it, asks for the review, and
  // records it. The gateway calls it every few seconds.
  void Sweep();

 private:
  ExecResult Start(const ExecContext& context);
  ExecResult End(const ExecContext& context);
  ExecResult Review(const ExecContext& context);
  ExecResult List();

  store::ElevationStore& store_;
  const core::Clock& clock_;
  const config::BreakGlassConfig settings_;
  const Notifier& announcer_;
  audit::AuditSink& audit_;
  telemetry::Logger& log_;
};

}  // namespace opsgate::pipeline
