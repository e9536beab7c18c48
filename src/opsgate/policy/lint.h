// File: opsgate/policy/lint.h
//
// Lint() looks for risky or useless statements in a policy that parsed fine. The rules
// (docs/policy.md#risky-policy-lint):
//
//   "star-on-star"    an allow of every action ("*" or "*:*") on every resource ("*");
//   "destructive"     an allow whose actions could match a destructive action
//                     (kDestructiveActions) without mfa_max_age and without approval;
//   "unreachable"     an allow no request can match: no principal names at all, or
//                     time windows none of which ever holds (no days, or start == end).
//                     ParsePolicy() already refuses these, and empty platforms /
//                     workspaces / channels lists, in files; the rule guards policies
//                     built in code;
//   "shadowed"        an allow every request of which a deny without conditions also
//                     covers (same or broader principals, actions and resources). A deny
//                     beats an allow wherever it appears, so the allow never decides.
//
// Findings are warnings: `opsgate check` prints them and still exits 0. The checks are
// conservative: "could match" is exact glob intersection, but "covers" only recognises
// "*", equal patterns and "prefix*" patterns, so an unusual deny may shadow without a
// finding, never the reverse.
//
//   for (const auto& f : Lint(policy)) std::cerr << "statements[" << f.statement << "]: "
//                                                << f.message << "\n";
//
// Thread-safety: pure function.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/policy/policy.h"

namespace opsgate::policy {

struct Finding {
  enum class Severity { kWarning };
  std::string statement;  // the statement's id
  Severity severity = Severity::kWarning;
  std::string rule;       // "star-on-star", "destructive", "unreachable", "shadowed"
  std::string message;    // what is risky, and what to do about it
};

// Action patterns treated as destructive by the "destructive" rule.
inline constexpr std::array<std::string_view, 10> kDestructiveActions = {
    "ec2:Stop*",  "ec2:Terminate*",   "ec2:Reboot*",
    "ec2:Modify*", "autoscaling:SetDesiredCapacity", "autoscaling:Update*",
    "waf:*",      "wafv2:Update*",    "iam:*",
    "*:Delete*",
};

// True when some string matches both globs ('*' and '?'), e.g. "ec2:*" and "ec2:Stop*",
// "*" and anything, "a?c" and "*c". ASCII case-insensitive when `case_insensitive`.
bool PatternsOverlap(std::string_view a, std::string_view b, bool case_insensitive);

// True when an action pattern ("*", "service:Operation" with wildcards) could match
// some action that `other` also matches.
bool ActionPatternsOverlap(std::string_view a, std::string_view b);

// Findings in statement order (several per statement are possible).
[[nodiscard]] std::vector<Finding> Lint(const Policy& policy);

}  // namespace opsgate::policy
