// File: opsgate/policy/policy_table.h
//
// Policy tests for administrators (`opsgate policy test FILE`, docs/policy.md#policy-tests):
// a YAML table of requests and the decision each should get.
//
//   policy: policy.yaml            # relative to the table file; optional if given elsewhere
//   cases:
//     - name: ops may stop with fresh MFA
//       principal: {user: alice, groups: [ops], mfa_age: 5m}
//       action: ec2:StopInstances
//       resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
//       platform: slack
//       channel: C0OPS               # or dm: true
//       at: 2026-01-05T12:00:00Z     # default kDefaultTableTime
//       approvals: [{approver: carol, groups: [ops-leads]}]
//       uses: {per_principal: 4, total: 10}
//       expect: allow                # allow | deny | needs_mfa | needs_approval
//       statement: ops-ec2-power     # optional: the deciding statement
//
//   auto table = LoadPolicyTable("/etc/opsgate/policy-tests.yaml");
//   auto report = RunPolicyTable(policy, *table);
//   for (const auto& o : report.outcomes) std::cout << FormatOutcome(o) << "\n";
//
// Parsing is strict (unknown keys with did-you-mean, wrong types, duplicate keys and case
// names, aliases): every problem is a Diagnostic "FILE:LINE:COL: cases[2].expect: ...".
// The principal's id is its user name, so approvals name approvers by user name. Each
// approval is recorded for the case's exact request (ApprovalKey). Rate-capped statements
// see a counter that returns `uses` (0 and 0 when absent) for every key.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/policy.h"

namespace opsgate::policy {

struct TableCase {
  std::string name;
  int line = 0;  // where the case starts in the table file
  Request request;
  std::vector<ApprovalRecord> approvals;  // request_key already set to the case's request
  uint64_t per_principal_uses = 0;
  uint64_t total_uses = 0;
  Decision::Effect expect = Decision::Effect::kDeny;
  std::string expect_statement;  // empty: any deciding statement
};

struct PolicyTable {
  std::string policy_path;  // from `policy:`, resolved against the table's folder; may be empty
  std::vector<TableCase> cases;
};

using TableParseResult = tl::expected<PolicyTable, std::vector<Diagnostic>>;

// `base_dir` resolves a relative `policy:` path; `source_name` is used in diagnostics.
[[nodiscard]] TableParseResult ParsePolicyTable(std::string_view yaml,
                                                std::string_view source_name,
                                                const std::string& base_dir);
// Reads `path` (at most kMaxTableBytes) and parses it, resolving `policy:` against the
// file's folder.
[[nodiscard]] TableParseResult LoadPolicyTable(const std::string& path);

inline constexpr size_t kMaxTableBytes = 4 * 1024 * 1024;

struct CaseOutcome {
  std::string name;
  int line = 0;
  bool passed = false;
  Decision::Effect expect = Decision::Effect::kDeny;
  std::string expect_statement;
  Decision got;
};

struct TableReport {
  std::vector<CaseOutcome> outcomes;  // in table order
  size_t passed = 0;
  size_t failed = 0;
};

// Evaluates every case against `policy`.
[[nodiscard]] TableReport RunPolicyTable(const Policy& policy, const PolicyTable& table);

// "PASS name" or "FAIL name: expected X (statement Y), got Z by W: reason".
std::string FormatOutcome(const CaseOutcome& outcome);

// Shared with `opsgate policy explain`.
// The instant cases are evaluated at when they give no `at`: 2026-01-05T12:00:00Z, a Monday.
WallTime DefaultTableTime();
// "2026-01-05T12:00:00Z" (RFC 3339, UTC only, optional fraction of a second).
std::optional<WallTime> ParseUtcTime(std::string_view text);
// "90s", "15m", "1h", "7d": a non-negative integer and a unit.
std::optional<std::chrono::seconds> ParseAge(std::string_view text);

}  // namespace opsgate::policy
