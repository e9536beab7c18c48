// File: opsgate/pipeline/builtins.h
//
// The built-in commands every platform offers before intents and policy: `help`,
// `whoami`, `ping`, `link` and `unlink` (identity linking, docs/identity.md). Pure
// functions from what was asked to a platform-neutral Reply (reply.h); connectors
// render it and do the store work `link`/`unlink` need.
//
//   const ParsedBuiltin cmd = ParseBuiltin(message.text);
//   if (!principal && !AllowedWithoutPrincipal(cmd.verb)) return NeedsLinkReply(env);
//   Reply r = AnswerBuiltin(cmd, message, principal, env);
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/pipeline/message.h"
#include "opsgate/pipeline/reply.h"

namespace opsgate::pipeline {

enum class Builtin { kHelp, kWhoAmI, kPing, kLink, kUnlink, kUnknown };

struct ParsedBuiltin {
  Builtin verb = Builtin::kUnknown;
  std::string_view text;  // the whole trimmed text, for "not understood"
};

// Case-insensitive; empty text is help. A verb followed by more words is kUnknown
// ("ping me" is not ping).
ParsedBuiltin ParseBuiltin(std::string_view text);

// What an asker without a linked principal may run: help and link.
bool AllowedWithoutPrincipal(Builtin verb);

struct BuiltinEnv {
  std::string_view invocation;  // how users reach opsgate: "/ops", "@opsgate", "" (web chat)
  core::Clock::WallTime now{};
  bool linking = false;         // identity linking is configured (identity.oidc)
};

// help, whoami, ping and not-understood. kLink/kUnlink need the store: use the
// replies below once done.
Reply AnswerBuiltin(const ParsedBuiltin& command, const Message& message,
                    const std::optional<Principal>& principal, const BuiltinEnv& env);

// An unlinked asker tried more than help/link.
Reply NeedsLinkReply(const BuiltinEnv& env, bool expired);
// The link to open (only the asker sees it).
Reply LinkReply(const std::string& url, std::chrono::seconds valid_for);
// `link` while identity linking is not configured.
Reply LinkingUnavailableReply();
Reply UnlinkReply(bool was_linked);
// Something failed on opsgate's side (store down): nothing changed, try again.
Reply ServiceErrorReply(std::string_view what);

}  // namespace opsgate::pipeline
