// File: opsgate/policy/builtin_policy.h
//
// The policy used when the config names no policy file (policy.file empty): the
// built-in chat commands for everyone, also in direct messages, and nothing else.
// `opsgate policy explain --config` and the request path both use this one text.
#pragma once

#include <string_view>

namespace opsgate::policy {

inline constexpr std::string_view kBuiltinPolicyYaml = R"(version: 1
statements:
  - id: builtin-commands
    description: the built-in commands (help, whoami, ping, link, unlink) for everyone
    effect: allow
    principals: {users: ["*"]}
    actions: ["opsgate:Help", "opsgate:WhoAmI", "opsgate:Ping", "opsgate:Link", "opsgate:Unlink"]
    resources: ["*"]
    conditions: {allow_dm: true}
)";

// The source name diagnostics and `opsgate check` use for kBuiltinPolicyYaml.
inline constexpr std::string_view kBuiltinPolicyName = "<built-in policy>";

}  // namespace opsgate::policy
