#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/policy.h"

namespace opsgate::policy {
namespace {

using ::testing::HasSubstr;
using E = Decision::Effect;
using namespace std::chrono;

constexpr std::string_view kPolicy = R"(version: 1
statements:
  - id: deny-terminate
    description: nobody terminates from chat
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Terminate*"]
    resources: ["*"]
  - id: deny-freeze
    effect: deny
    principals: {groups: [devs]}
    actions: ["ec2:Stop*", "ec2:Start*", "ec2:Reboot*"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions:
      time_windows:
        - {days: [fri], hours: "18:00-24:00"}
        - {days: [sat, sun], hours: "00:00-24:00"}
  - id: deny-readonly-channel
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Stop*"]
    resources: ["*"]
    conditions: {channels: [C-READONLY]}
  - id: describe-anyone
    effect: allow
    principals: {users: ["*"]}
    actions: ["ec2:Describe*"]
    resources: ["*"]
    conditions: {platforms: [slack, teams], allow_dm: true}
  - id: devs-stop-staging
    effect: allow
    principals: {groups: [devs]}
    actions: ["ec2:StopInstances", "ec2:StartInstances"]
    resources: ["arn:aws:ec2:eu-west-1:111111111111:instance/*"]
    conditions:
      workspaces: [T-ACME]
      channels: [C-OPS, C-READONLY]
      rate_caps:
        per_principal: {max: 5, window: 1h}
        total: {max: 20, window: 1h}
    session_duration: 15m
  - id: oncall-night
    effect: allow
    principals: {roles: [oncall]}
    actions: ["ec2:Reboot?nstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions:
      time_windows: [{days: [mon, tue, wed, thu, fri], hours: "22:00-06:00"}]
  - id: prod-stop-mfa
    effect: allow
    principals: {groups: [sre]}
    actions: ["ec2:StopInstances"]
    resources: ["arn:aws:ec2:*:222222222222:instance/*"]
    conditions: {mfa_max_age: 15m}
  - id: prod-modify-approval
    effect: allow
    principals: {groups: [sre]}
    actions: ["ec2:ModifyInstanceAttribute"]
    resources: ["arn:aws:ec2:*:222222222222:instance/*"]
    conditions:
      mfa_max_age: 1h
      approval: {count: 2, approver_group: sre-leads}
  - id: link-anyone
    effect: allow
    principals: {users: ["*"]}
    actions: ["opsgate:Link"]
    resources: ["*"]
    conditions: {allow_dm: true}
  - id: admins-all
    effect: allow
    principals: {users: [root@acme.com], roles: [admin]}
    actions: ["*"]
    resources: ["*"]
    conditions: {allow_dm: true}
  - id: s3-read
    effect: allow
    principals: {users: ["*@acme.com"]}
    actions: ["s3:Get*", "s3:List*"]
    resources: ["arn:aws:s3:::public-*"]
    conditions: {channels: [C-OPS]}
  - id: rds-snapshot
    effect: allow
    principals: {groups: [dba]}
    actions: ["rds:CreateDBSnapshot"]
    resources: ["opsgate:db/*"]
    conditions:
      approval: {count: 1, approver_group: dba, requester_excluded: false}
)";

constexpr const char* kStaging = "arn:aws:ec2:eu-west-1:111111111111:instance/i-1";
constexpr const char* kProd = "arn:aws:ec2:eu-west-1:222222222222:instance/i-9";

struct Approver {
  std::string id;
  std::string group;
  bool other_request = false;  // approved a different request
};

// One decision case. Dates are in November 2026: the 23rd is a Monday.
struct Row {
  const char* name;
  E want = E::kDeny;
  const char* statement = "default-deny";
  const char* reason_has = "";
  const char* user = "alice@acme.com";
  std::vector<std::string> groups = {};
  std::vector<std::string> roles = {};
  const char* action = "ec2:DescribeInstances";
  const char* resource = kStaging;
  const char* platform = "slack";
  const char* workspace = "T-ACME";
  const char* channel = "C-OPS";
  bool dm = false;
  int day = 24;  // Tuesday
  int hour = 10;
  int minute = 0;
  std::optional<int> mfa_minutes_ago = std::nullopt;  // negative: in the future
  std::vector<Approver> approvals = {};
  uint64_t used_by_principal = 0;
  uint64_t used_total = 0;
  bool counter_fails = false;
  std::optional<bool> external = std::nullopt;  // Request::channel_external
};

class FakeCounter final : public RateCounter {
 public:
  explicit FakeCounter(const Row& row) : row_(row) {}
  core::Result<uint64_t> Count(std::string_view key, seconds window) const override {
    if (row_.counter_fails) {
      return core::Fail(core::Error{core::ErrorCode::kUnavailable, "store down"});
    }
    EXPECT_EQ(window, hours(1));
    return key.find("|principal|") != std::string_view::npos ? row_.used_by_principal
                                                             : row_.used_total;
  }

 private:
  const Row& row_;
};

Request MakeRequest(const Row& row) {
  Request r;
  r.principal.user = row.user;
  r.principal.id = std::string("oidc|") + row.user;
  r.principal.groups = row.groups;
  r.principal.roles = row.roles;
  r.action = row.action;
  r.resource = row.resource;
  r.platform = row.platform;
  r.workspace = row.workspace;
  r.channel = row.channel;
  r.is_dm = row.dm;
  r.channel_external = row.external;
  r.now = sys_days{year{2026} / November / row.day} + hours(row.hour) + minutes(row.minute);
  if (row.mfa_minutes_ago) {
    r.principal.mfa_at = r.now - minutes(*row.mfa_minutes_ago);
  }
  return r;
}

EvalContext MakeContext(const Row& row, const Request& r, const RateCounter& counter) {
  EvalContext ctx;
  ctx.rates = &counter;
  for (const auto& a : row.approvals) {
    Request other = r;
    other.resource += "-other";
    ctx.approvals.push_back(
        ApprovalRecord{ApprovalKey(a.other_request ? other : r), a.id, {a.group}});
  }
  return ctx;
}

const std::vector<Row>& Rows() {
  static const std::vector<Row> kRows = {
      // Describe: wildcard edges, platforms, DMs.
      {.name = "describe_any_user", .want = E::kAllow, .statement = "describe-anyone",
       .reason_has = "pattern 'ec2:Describe*'"},
      {.name = "describe_case_insensitive_action", .want = E::kAllow,
       .statement = "describe-anyone", .action = "EC2:describeinstances"},
      {.name = "describe_star_matches_empty", .want = E::kAllow, .statement = "describe-anyone",
       .action = "ec2:Describe"},
      {.name = "describe_other_suffix", .want = E::kAllow, .statement = "describe-anyone",
       .action = "ec2:DescribeVolumes"},
      {.name = "describe_lowercase_prefix", .want = E::kAllow, .statement = "describe-anyone",
       .action = "ec2:describe"},
      {.name = "describe_prefix_too_short", .action = "ec2:Describ"},
      {.name = "service_must_match_exactly", .action = "ec2x:DescribeInstances"},
      {.name = "service_prefix_no_match", .action = "ec:DescribeInstances"},
      {.name = "describe_teams", .want = E::kAllow, .statement = "describe-anyone",
       .platform = "teams"},
      {.name = "describe_wrong_platform", .reason_has = "platform 'telegram'",
       .platform = "telegram"},
      {.name = "describe_missing_platform_denies", .statement = "describe-anyone",
       .reason_has = "cannot be evaluated", .platform = ""},
      {.name = "describe_in_dm_allowed", .want = E::kAllow, .statement = "describe-anyone",
       .channel = "", .dm = true},
      {.name = "describe_in_readonly_channel", .want = E::kAllow, .statement = "describe-anyone",
       .channel = "C-READONLY"},
      {.name = "describe_empty_resource", .want = E::kAllow, .statement = "describe-anyone",
       .resource = ""},
      {.name = "malformed_action_no_colon", .reason_has = "malformed action",
       .action = "DescribeInstances"},
      {.name = "malformed_action_colon_only", .reason_has = "malformed action", .action = ":"},
      {.name = "malformed_action_no_operation", .reason_has = "malformed action",
       .action = "ec2:"},
      {.name = "malformed_action_admin_still_denied", .reason_has = "malformed action",
       .roles = {"admin"}, .action = "*"},
      {.name = "describe_empty_user", .want = E::kAllow, .statement = "describe-anyone",
       .user = ""},

      // Explicit deny beats allow.
      {.name = "admin_terminate_denied", .statement = "deny-terminate",
       .reason_has = "explicit deny beats any allow", .roles = {"admin"},
       .action = "ec2:TerminateInstances"},
      {.name = "root_terminate_denied", .statement = "deny-terminate", .user = "root@acme.com",
       .action = "ec2:TerminateInstances"},
      {.name = "terminate_lowercase_denied", .statement = "deny-terminate", .roles = {"admin"},
       .action = "ec2:terminateinstances"},
      {.name = "terminate_upper_service_denied", .statement = "deny-terminate",
       .roles = {"admin"}, .action = "EC2:TerminateInstances"},
      {.name = "terminate_in_dm_denied", .statement = "deny-terminate", .roles = {"admin"},
       .action = "ec2:TerminateInstances", .channel = "", .dm = true},
      {.name = "admin_run_instances", .want = E::kAllow, .statement = "admins-all",
       .reason_has = "role 'admin'", .roles = {"admin"}, .action = "ec2:RunInstances"},
      {.name = "admin_star_any_service", .want = E::kAllow, .statement = "admins-all",
       .roles = {"admin"}, .action = "iam:CreateUser", .resource = "arn:aws:iam::1:user/x"},
      {.name = "admin_in_dm", .want = E::kAllow, .statement = "admins-all", .roles = {"admin"},
       .action = "iam:CreateUser", .channel = "", .dm = true},
      {.name = "root_user_any_action", .want = E::kAllow, .statement = "admins-all",
       .reason_has = "user 'root@acme.com'", .user = "root@acme.com", .action = "lambda:Invoke"},
      {.name = "root_lookalike_user", .user = "root@acme.co", .action = "lambda:Invoke"},
      {.name = "user_names_case_sensitive", .user = "ROOT@acme.com", .action = "lambda:Invoke"},
      {.name = "admin_role_as_group_does_not_count", .groups = {"admin"},
       .action = "lambda:Invoke"},

      // devs-stop-staging: channels, workspaces, rate caps, time freeze.
      {.name = "devs_stop_staging", .want = E::kAllow, .statement = "devs-stop-staging",
       .reason_has = "group 'devs'", .groups = {"devs"}, .action = "ec2:StopInstances"},
      {.name = "devs_start_staging", .want = E::kAllow, .statement = "devs-stop-staging",
       .groups = {"devs"}, .action = "ec2:StartInstances"},
      {.name = "deny_channel_beats_allow", .statement = "deny-readonly-channel",
       .groups = {"devs"}, .action = "ec2:StopInstances", .channel = "C-READONLY"},
      {.name = "channel_not_in_allow_list", .reason_has = "channel 'C-OTHER'", .groups = {"devs"},
       .action = "ec2:StopInstances", .channel = "C-OTHER"},
      {.name = "missing_channel_denies", .statement = "deny-readonly-channel",
       .reason_has = "cannot be evaluated", .groups = {"devs"}, .action = "ec2:StopInstances",
       .channel = ""},
      {.name = "dm_excluded_unless_allowed", .reason_has = "direct messages are not allowed",
       .groups = {"devs"}, .action = "ec2:StopInstances", .channel = "", .dm = true},
      {.name = "wrong_workspace", .reason_has = "workspace 'T-OTHER'", .groups = {"devs"},
       .action = "ec2:StopInstances", .workspace = "T-OTHER"},
      {.name = "missing_workspace_denies", .statement = "devs-stop-staging",
       .reason_has = "no workspace", .groups = {"devs"}, .action = "ec2:StopInstances",
       .workspace = ""},
      {.name = "devs_prod_account_no_match", .groups = {"devs"}, .action = "ec2:StopInstances",
       .resource = kProd},
      {.name = "devs_other_region_no_match", .groups = {"devs"}, .action = "ec2:StopInstances",
       .resource = "arn:aws:ec2:us-east-1:111111111111:instance/i-1"},
      {.name = "freeze_saturday", .statement = "deny-freeze", .groups = {"devs"},
       .action = "ec2:StopInstances", .day = 28},
      {.name = "freeze_friday_before_start", .want = E::kAllow, .statement = "devs-stop-staging",
       .groups = {"devs"}, .action = "ec2:StopInstances", .day = 27, .hour = 17, .minute = 59},
      {.name = "freeze_friday_at_start", .statement = "deny-freeze", .groups = {"devs"},
       .action = "ec2:StopInstances", .day = 27, .hour = 18},
      {.name = "freeze_sunday_last_minute", .statement = "deny-freeze", .groups = {"devs"},
       .action = "ec2:StopInstances", .day = 29, .hour = 23, .minute = 59},
      {.name = "freeze_over_monday_midnight", .want = E::kAllow, .statement = "devs-stop-staging",
       .groups = {"devs"}, .action = "ec2:StopInstances", .day = 30, .hour = 0},
      {.name = "rate_per_principal_below_cap", .want = E::kAllow,
       .statement = "devs-stop-staging", .groups = {"devs"}, .action = "ec2:StopInstances",
       .used_by_principal = 4},
      {.name = "rate_per_principal_reached", .statement = "devs-stop-staging",
       .reason_has = "rate cap reached (5 per 1h per principal, 20 per 1h in total)",
       .groups = {"devs"}, .action = "ec2:StopInstances", .used_by_principal = 5},
      {.name = "rate_total_below_cap", .want = E::kAllow, .statement = "devs-stop-staging",
       .groups = {"devs"}, .action = "ec2:StopInstances", .used_total = 19},
      {.name = "rate_total_reached", .statement = "devs-stop-staging",
       .reason_has = "rate cap reached", .groups = {"devs"}, .action = "ec2:StopInstances",
       .used_total = 20},
      {.name = "rate_counter_error_denies", .statement = "devs-stop-staging",
       .reason_has = "rate counter failed", .groups = {"devs"}, .action = "ec2:StopInstances",
       .counter_fails = true},
      {.name = "rate_capped_then_later_allow", .want = E::kAllow, .statement = "admins-all",
       .groups = {"devs"}, .roles = {"admin"}, .action = "ec2:StopInstances",
       .used_by_principal = 9},
      {.name = "devs_reboot_not_listed", .groups = {"devs"}, .action = "ec2:RebootInstances"},
      {.name = "exact_action_no_suffix", .groups = {"devs"}, .action = "ec2:StopInstancesNow"},
      {.name = "resource_star_matches_empty_tail", .want = E::kAllow,
       .statement = "devs-stop-staging", .groups = {"devs"}, .action = "ec2:StopInstances",
       .resource = "arn:aws:ec2:eu-west-1:111111111111:instance/"},
      {.name = "resource_other_type", .groups = {"devs"}, .action = "ec2:StopInstances",
       .resource = "arn:aws:ec2:eu-west-1:111111111111:volume/v-1"},
      {.name = "resources_case_sensitive", .groups = {"devs"}, .action = "ec2:StopInstances",
       .resource = "ARN:aws:ec2:eu-west-1:111111111111:instance/i-1"},

      // oncall-night: windows across midnight, day of week, '?'.
      {.name = "oncall_monday_night", .want = E::kAllow, .statement = "oncall-night",
       .reason_has = "role 'oncall'", .roles = {"oncall"}, .action = "ec2:RebootInstances",
       .day = 23, .hour = 23},
      {.name = "oncall_after_midnight_belongs_to_monday", .want = E::kAllow,
       .statement = "oncall-night", .roles = {"oncall"}, .action = "ec2:RebootInstances",
       .day = 24, .hour = 5, .minute = 59},
      {.name = "oncall_window_end_exclusive", .reason_has = "time windows",
       .roles = {"oncall"}, .action = "ec2:RebootInstances", .day = 24, .hour = 6},
      {.name = "oncall_friday_night_into_saturday", .want = E::kAllow,
       .statement = "oncall-night", .roles = {"oncall"}, .action = "ec2:RebootInstances",
       .day = 28, .hour = 1},
      {.name = "oncall_saturday_night", .reason_has = "time windows", .roles = {"oncall"},
       .action = "ec2:RebootInstances", .day = 28, .hour = 23},
      {.name = "oncall_sunday_night_into_monday", .roles = {"oncall"},
       .action = "ec2:RebootInstances", .day = 23, .hour = 1},
      {.name = "oncall_before_window", .roles = {"oncall"}, .action = "ec2:RebootInstances",
       .day = 23, .hour = 21, .minute = 59},
      {.name = "oncall_window_start_inclusive", .want = E::kAllow, .statement = "oncall-night",
       .roles = {"oncall"}, .action = "ec2:RebootInstances", .day = 23, .hour = 22},
      {.name = "question_mark_case_insensitive", .want = E::kAllow, .statement = "oncall-night",
       .roles = {"oncall"}, .action = "ec2:Rebootinstances", .day = 23, .hour = 23},
      {.name = "question_mark_any_char", .want = E::kAllow, .statement = "oncall-night",
       .roles = {"oncall"}, .action = "ec2:RebootXnstances", .day = 23, .hour = 23},
      {.name = "question_mark_needs_one_char", .roles = {"oncall"},
       .action = "ec2:Rebootnstances", .day = 23, .hour = 23},
      {.name = "question_mark_exactly_one_char", .roles = {"oncall"},
       .action = "ec2:RebootXXnstances", .day = 23, .hour = 23},
      {.name = "oncall_as_user_name_not_role", .user = "oncall",
       .action = "ec2:RebootInstances", .day = 23, .hour = 23},
      {.name = "oncall_as_group_not_role", .groups = {"oncall"},
       .action = "ec2:RebootInstances", .day = 23, .hour = 23},
      {.name = "freeze_beats_oncall", .statement = "deny-freeze", .groups = {"devs"},
       .roles = {"oncall"}, .action = "ec2:RebootInstances", .day = 28, .hour = 1},

      // MFA.
      {.name = "mfa_missing", .want = E::kNeedsMfa, .statement = "prod-stop-mfa",
       .reason_has = "no MFA on record", .groups = {"sre"}, .action = "ec2:StopInstances",
       .resource = kProd},
      {.name = "mfa_fresh", .want = E::kAllow, .statement = "prod-stop-mfa", .groups = {"sre"},
       .action = "ec2:StopInstances", .resource = kProd, .mfa_minutes_ago = 5},
      {.name = "mfa_exactly_max_age", .want = E::kAllow, .statement = "prod-stop-mfa",
       .groups = {"sre"}, .action = "ec2:StopInstances", .resource = kProd,
       .mfa_minutes_ago = 15},
      {.name = "mfa_too_old", .want = E::kNeedsMfa, .statement = "prod-stop-mfa",
       .reason_has = "last MFA 16m ago", .groups = {"sre"}, .action = "ec2:StopInstances",
       .resource = kProd, .mfa_minutes_ago = 16},
      {.name = "mfa_in_future_denies", .statement = "prod-stop-mfa",
       .reason_has = "in the future", .groups = {"sre"}, .action = "ec2:StopInstances",
       .resource = kProd, .mfa_minutes_ago = -5},
      {.name = "mfa_small_skew_ok", .want = E::kAllow, .statement = "prod-stop-mfa",
       .groups = {"sre"}, .action = "ec2:StopInstances", .resource = kProd,
       .mfa_minutes_ago = -1},
      {.name = "mfa_statement_no_dm", .reason_has = "direct messages", .groups = {"sre"},
       .action = "ec2:StopInstances", .resource = kProd, .channel = "", .dm = true,
       .mfa_minutes_ago = 1},
      {.name = "earlier_full_match_beats_mfa", .want = E::kAllow,
       .statement = "devs-stop-staging", .groups = {"sre", "devs"},
       .action = "ec2:StopInstances"},
      {.name = "sre_staging_no_match", .groups = {"sre"}, .action = "ec2:StopInstances"},
      {.name = "mfa_then_admin_allows", .want = E::kAllow, .statement = "admins-all",
       .groups = {"sre"}, .roles = {"admin"}, .action = "ec2:StopInstances", .resource = kProd},

      // Approvals.
      {.name = "approval_needs_mfa_first", .want = E::kNeedsMfa,
       .statement = "prod-modify-approval", .groups = {"sre"},
       .action = "ec2:ModifyInstanceAttribute", .resource = kProd},
      {.name = "approval_none_yet", .want = E::kNeedsApproval,
       .statement = "prod-modify-approval", .reason_has = "has 0", .groups = {"sre"},
       .action = "ec2:ModifyInstanceAttribute", .resource = kProd, .mfa_minutes_ago = 10},
      {.name = "approval_count_not_reached", .want = E::kNeedsApproval,
       .statement = "prod-modify-approval", .reason_has = "needs 2 approval(s)",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10, .approvals = {{"oidc|lead1", "sre-leads"}}},
      {.name = "approval_two_leads", .want = E::kAllow, .statement = "prod-modify-approval",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10,
       .approvals = {{"oidc|lead1", "sre-leads"}, {"oidc|lead2", "sre-leads"}}},
      {.name = "approval_same_approver_twice", .want = E::kNeedsApproval, .statement = "prod-modify-approval",
       .reason_has = "has 1", .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute",
       .resource = kProd, .mfa_minutes_ago = 10,
       .approvals = {{"oidc|lead1", "sre-leads"}, {"oidc|lead1", "sre-leads"}}},
      {.name = "approval_requester_own_not_counted", .want = E::kNeedsApproval,
       .statement = "prod-modify-approval", .reason_has = "other than the requester, has 1",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10,
       .approvals = {{"oidc|alice@acme.com", "sre-leads"}, {"oidc|lead1", "sre-leads"}}},
      {.name = "approval_outside_group", .want = E::kNeedsApproval, .statement = "prod-modify-approval", .reason_has = "has 1",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10,
       .approvals = {{"oidc|lead1", "sre-leads"}, {"oidc|intern", "interns"}}},
      {.name = "approval_for_other_request", .want = E::kNeedsApproval, .statement = "prod-modify-approval", .reason_has = "has 0",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10,
       .approvals = {{"oidc|lead1", "sre-leads", true}, {"oidc|lead2", "sre-leads", true}}},
      {.name = "approval_three", .want = E::kAllow, .statement = "prod-modify-approval",
       .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute", .resource = kProd,
       .mfa_minutes_ago = 10,
       .approvals = {{"oidc|l1", "sre-leads"}, {"oidc|l2", "sre-leads"}, {"oidc|l3", "sre-leads"}}},
      {.name = "approval_with_stale_mfa", .want = E::kNeedsMfa,
       .statement = "prod-modify-approval", .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute",
       .resource = kProd, .mfa_minutes_ago = 61,
       .approvals = {{"oidc|l1", "sre-leads"}, {"oidc|l2", "sre-leads"}}},
      {.name = "approval_empty_approver_ignored", .want = E::kNeedsApproval, .statement = "prod-modify-approval",
       .reason_has = "has 1", .groups = {"sre"}, .action = "ec2:ModifyInstanceAttribute",
       .resource = kProd, .mfa_minutes_ago = 10,
       .approvals = {{"", "sre-leads"}, {"oidc|l2", "sre-leads"}}},
      {.name = "approval_own_counts_when_not_excluded", .want = E::kAllow,
       .statement = "rds-snapshot", .groups = {"dba"}, .action = "rds:CreateDBSnapshot",
       .resource = "opsgate:db/orders", .approvals = {{"oidc|alice@acme.com", "dba"}}},
      {.name = "approval_missing_rds", .want = E::kNeedsApproval, .statement = "rds-snapshot",
       .reason_has = "needs 1 approval(s) from group 'dba', has 0", .groups = {"dba"},
       .action = "rds:CreateDBSnapshot", .resource = "opsgate:db/orders"},
      {.name = "opsgate_resource_mismatch", .groups = {"dba"}, .action = "rds:CreateDBSnapshot",
       .resource = "opsgate:cache/x"},

      // opsgate:Link.
      {.name = "link_in_dm", .want = E::kAllow, .statement = "link-anyone",
       .action = "opsgate:Link", .resource = "", .channel = "", .dm = true},
      {.name = "link_lowercase", .want = E::kAllow, .statement = "link-anyone",
       .action = "opsgate:link", .resource = ""},
      {.name = "link_longer_operation", .action = "opsgate:LinkAccount", .resource = ""},
      {.name = "link_any_platform", .want = E::kAllow, .statement = "link-anyone",
       .action = "opsgate:Link", .platform = "telegram"},
      {.name = "link_no_platform_needed", .want = E::kAllow, .statement = "link-anyone",
       .action = "opsgate:Link", .platform = "", .workspace = ""},

      // s3-read: user wildcards, ARN with empty region/account.
      {.name = "s3_get_public", .want = E::kAllow, .statement = "s3-read",
       .reason_has = "pattern '*@acme.com'", .user = "bob@acme.com", .action = "s3:GetObject",
       .resource = "arn:aws:s3:::public-assets"},
      {.name = "s3_other_domain", .user = "bob@evil.com", .action = "s3:GetObject",
       .resource = "arn:aws:s3:::public-assets"},
      {.name = "s3_domain_suffix_trick", .user = "bob@acme.com.evil.com",
       .action = "s3:GetObject", .resource = "arn:aws:s3:::public-assets"},
      {.name = "s3_empty_star", .want = E::kAllow, .statement = "s3-read",
       .user = "bob@acme.com", .action = "s3:ListBucket", .resource = "arn:aws:s3:::public-"},
      {.name = "s3_put_not_allowed", .user = "bob@acme.com", .action = "s3:PutObject",
       .resource = "arn:aws:s3:::public-assets"},
      {.name = "s3_private_bucket", .user = "bob@acme.com", .action = "s3:GetObject",
       .resource = "arn:aws:s3:::private-x"},
      {.name = "s3_wrong_channel", .reason_has = "closest: statement 's3-read'",
       .user = "bob@acme.com", .action = "s3:GetObject",
       .resource = "arn:aws:s3:::public-assets", .channel = "C-OTHER"},
      {.name = "s3_dm", .reason_has = "direct messages", .user = "bob@acme.com",
       .action = "s3:GetObject", .resource = "arn:aws:s3:::public-assets", .channel = "",
       .dm = true},

      // Default deny.
      {.name = "default_deny_reason", .reason_has = "no statement allows 'alice@acme.com' to "
                                                    "lambda:Invoke",
       .action = "lambda:Invoke", .resource = "arn:aws:lambda:eu-west-1:1:function:f"},
      {.name = "default_deny_unknown_service", .reason_has = "(default deny)",
       .action = "nosuch:Thing"},
      {.name = "admin_unknown_service", .want = E::kAllow, .statement = "admins-all",
       .roles = {"admin"}, .action = "nosuch:Thing"},
      {.name = "nobody_no_groups", .user = "x", .action = "ec2:StopInstances"},
  };
  return kRows;
}

const Policy& TestPolicy() {
  static const Policy kCompiled = [] {
    auto p = ParsePolicy(kPolicy, "test.yaml");
    if (!p) {
      for (const auto& d : p.error()) {
        ADD_FAILURE() << d.ToString();
      }
      return Policy{};
    }
    return *p;
  }();
  return kCompiled;
}

class DecisionTable : public ::testing::TestWithParam<Row> {};

TEST_P(DecisionTable, Decides) {
  const Row& row = GetParam();
  const Request request = MakeRequest(row);
  FakeCounter counter(row);
  const EvalContext ctx = MakeContext(row, request, counter);
  const Decision d = Evaluate(TestPolicy(), request, ctx);
  EXPECT_EQ(EffectName(d.effect), EffectName(row.want)) << d.reason;
  EXPECT_EQ(d.statement, row.statement) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr(row.reason_has));
  EXPECT_FALSE(d.reason.empty());

  // The same without the service index: the index is only a speed-up.
  Policy linear = TestPolicy();
  linear.index.reset();
  const Decision l = Evaluate(linear, request, ctx);
  EXPECT_EQ(l.effect, d.effect);
  EXPECT_EQ(l.statement, d.statement);
  EXPECT_EQ(l.reason, d.reason);
}

INSTANTIATE_TEST_SUITE_P(Policy, DecisionTable, ::testing::ValuesIn(Rows()),
                         [](const auto& row_info) { return std::string(row_info.param.name); });

TEST(DecisionTableSize, AtLeast100Cases) { EXPECT_GE(Rows().size(), 100u); }

// ---------------------------------------------------------------------------------------
// channel_posture: internal.

constexpr std::string_view kPosturePolicy = R"(statements:
  - id: stop-internal
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StopInstances", "ec2:TerminateInstances"]
    resources: ["*"]
    conditions: {channel_posture: internal, allow_dm: true}
  - id: start-internal
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StartInstances"]
    resources: ["*"]
    conditions: {channel_posture: internal}
  - id: reboot-internal
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:RebootInstances"]
    resources: ["*"]
    conditions:
      channel_posture: internal
      channels: [C-OPS]
      time_windows: [{days: [mon, tue, wed, thu, fri], hours: "08:00-18:00"}]
      mfa_max_age: 15m
  - id: admins-stop
    effect: allow
    principals: {roles: [admin]}
    actions: ["ec2:StopInstances"]
    resources: ["*"]
  - id: describe-anywhere
    effect: allow
    principals: {users: ["*"]}
    actions: ["ec2:Describe*"]
    resources: ["*"]
  - id: deny-terminate
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Terminate*"]
    resources: ["*"]
)";

const Policy& PosturePolicy() {
  static const Policy kCompiled = [] {
    auto p = ParsePolicy(kPosturePolicy, "posture.yaml");
    if (!p) {
      for (const auto& d : p.error()) {
        ADD_FAILURE() << d.ToString();
      }
      return Policy{};
    }
    return *p;
  }();
  return kCompiled;
}

const std::vector<Row>& PostureRows() {
  static const std::vector<Row> kRows = {
      {.name = "dm_satisfies_unknown", .want = E::kAllow, .statement = "stop-internal",
       .groups = {"ops"}, .action = "ec2:StopInstances", .channel = "", .dm = true},
      {.name = "dm_satisfies_even_if_flagged", .want = E::kAllow, .statement = "stop-internal",
       .groups = {"ops"}, .action = "ec2:StopInstances", .channel = "D1", .dm = true,
       .external = true},
      {.name = "dm_still_needs_allow_dm", .reason_has = "direct messages are not allowed",
       .groups = {"ops"}, .action = "ec2:StartInstances", .channel = "", .dm = true},
      {.name = "internal_channel_satisfies", .want = E::kAllow, .statement = "stop-internal",
       .groups = {"ops"}, .action = "ec2:StopInstances", .external = false},
      {.name = "external_channel_fails",
       .reason_has = "closest: statement 'stop-internal' matches but channel 'C-OPS' has "
                     "external or guest members (channel_posture: internal)",
       .groups = {"ops"}, .action = "ec2:StopInstances", .external = true},
      {.name = "external_channel_other_allow_decides", .want = E::kAllow,
       .statement = "admins-stop", .groups = {"ops"}, .roles = {"admin"},
       .action = "ec2:StopInstances", .external = true},
      {.name = "unknown_posture_cannot_be_evaluated", .statement = "stop-internal",
       .reason_has = "statement 'stop-internal' cannot be evaluated: the platform did not say "
                     "whether channel 'C-OPS' has external or guest members (channel_posture: "
                     "internal); mention the bot",
       .groups = {"ops"}, .action = "ec2:StopInstances"},
      {.name = "unknown_posture_says_what_to_do", .statement = "stop-internal",
       .reason_has = "or remove channel_posture from the statement", .groups = {"ops"},
       .action = "ec2:StopInstances"},
      {.name = "unknown_posture_beats_later_allow", .statement = "stop-internal",
       .reason_has = "a condition that cannot be evaluated denies", .groups = {"ops"},
       .roles = {"admin"}, .action = "ec2:StopInstances"},
      {.name = "unknown_posture_no_channel_id", .statement = "start-internal",
       .reason_has = "whether the request's channel has external", .groups = {"ops"},
       .action = "ec2:StartInstances", .channel = ""},
      {.name = "posture_only_where_listed", .want = E::kAllow, .statement = "describe-anywhere",
       .groups = {"ops"}, .action = "ec2:DescribeInstances", .external = true},
      {.name = "posture_only_where_listed_unknown", .want = E::kAllow,
       .statement = "describe-anywhere", .action = "ec2:DescribeInstances"},
      // Combined with channels, time windows and MFA.
      {.name = "combined_all_hold", .want = E::kAllow, .statement = "reboot-internal",
       .groups = {"ops"}, .action = "ec2:RebootInstances", .mfa_minutes_ago = 5,
       .external = false},
      {.name = "combined_needs_mfa", .want = E::kNeedsMfa, .statement = "reboot-internal",
       .reason_has = "MFA", .groups = {"ops"}, .action = "ec2:RebootInstances",
       .external = false},
      {.name = "combined_external_before_mfa",
       .reason_has = "channel 'C-OPS' has external or guest members", .groups = {"ops"},
       .action = "ec2:RebootInstances", .external = true},
      {.name = "combined_unknown_wrong_channel_does_not_apply",
       .reason_has = "channel 'C-OTHER' is not in its channel allow-list", .groups = {"ops"},
       .action = "ec2:RebootInstances", .channel = "C-OTHER", .mfa_minutes_ago = 5},
      {.name = "combined_unknown_outside_window_does_not_apply",
       .reason_has = "outside its time windows", .groups = {"ops"},
       .action = "ec2:RebootInstances", .day = 28 /* Saturday */, .mfa_minutes_ago = 5},
      {.name = "combined_unknown_otherwise_holds", .statement = "reboot-internal",
       .reason_has = "cannot be evaluated", .groups = {"ops"}, .action = "ec2:RebootInstances",
       .mfa_minutes_ago = 5},
      // An explicit deny later in the file still beats, whatever the posture.
      {.name = "deny_beats_internal_allow", .statement = "deny-terminate",
       .reason_has = "explicit deny beats any allow", .groups = {"ops"},
       .action = "ec2:TerminateInstances", .external = false},
      {.name = "deny_beats_unknown_posture", .statement = "deny-terminate", .groups = {"ops"},
       .action = "ec2:TerminateInstances"},
      {.name = "deny_beats_in_dm", .statement = "deny-terminate", .groups = {"ops"},
       .action = "ec2:TerminateInstances", .channel = "", .dm = true},
  };
  return kRows;
}

class PostureTable : public ::testing::TestWithParam<Row> {};

TEST_P(PostureTable, Decides) {
  const Row& row = GetParam();
  const Request request = MakeRequest(row);
  FakeCounter counter(row);
  const EvalContext ctx = MakeContext(row, request, counter);
  const Decision d = Evaluate(PosturePolicy(), request, ctx);
  EXPECT_EQ(EffectName(d.effect), EffectName(row.want)) << d.reason;
  EXPECT_EQ(d.statement, row.statement) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr(row.reason_has));

  Policy linear = PosturePolicy();
  linear.index.reset();
  const Decision l = Evaluate(linear, request, ctx);
  EXPECT_EQ(l.effect, d.effect);
  EXPECT_EQ(l.reason, d.reason);
}

INSTANTIATE_TEST_SUITE_P(Posture, PostureTable, ::testing::ValuesIn(PostureRows()),
                         [](const auto& row_info) { return std::string(row_info.param.name); });

TEST(Evaluate, ChannelPostureInHandBuiltDenyIsIgnored) {
  // ParsePolicy refuses it; a deny built in code ignores it (which only widens the deny).
  Statement s;
  s.id = "hand-deny";
  s.effect = Effect::kDeny;
  s.principals.users.emplace_back("*");
  s.actions.push_back(ActionPattern::Make("*"));
  s.resources.emplace_back("*");
  s.conditions.channel_posture = ChannelPosture::kInternal;
  Policy p;
  p.statements.push_back(s);
  for (const std::optional<bool> external : {std::optional<bool>(), std::optional<bool>(true),
                                             std::optional<bool>(false)}) {
    Row row{.name = "x", .external = external};
    const Decision d = Evaluate(p, MakeRequest(row), EvalContext{});
    EXPECT_EQ(d.effect, E::kDeny);
    EXPECT_EQ(d.statement, "hand-deny");
  }
}

TEST(Evaluate, AllowCarriesSessionDurationAndRateKeys) {
  Row row{.name = "x", .groups = {"devs"}, .action = "ec2:StopInstances"};
  const Request r = MakeRequest(row);
  FakeCounter counter(row);
  const Decision d = Evaluate(TestPolicy(), r, MakeContext(row, r, counter));
  ASSERT_EQ(d.effect, E::kAllow);
  EXPECT_EQ(d.session_duration, minutes(15));
  EXPECT_THAT(d.rate_keys, ::testing::ElementsAre("devs-stop-staging|principal|oidc|alice@acme.com",
                                                  "devs-stop-staging|total"));
}

TEST(Evaluate, RateCapsWithoutCounterDeny) {
  Row row{.name = "x", .groups = {"devs"}, .action = "ec2:StopInstances"};
  const Decision d = Evaluate(TestPolicy(), MakeRequest(row), EvalContext{});
  EXPECT_EQ(d.effect, E::kDeny);
  EXPECT_EQ(d.statement, "devs-stop-staging");
  EXPECT_THAT(d.reason, HasSubstr("no rate counter"));
}

TEST(Evaluate, EmptyPolicyDeniesByDefault) {
  Row row{.name = "x"};
  const Decision d = Evaluate(Policy{}, MakeRequest(row), EvalContext{});
  EXPECT_EQ(d.effect, E::kDeny);
  EXPECT_EQ(d.statement, kDefaultDenyId);
}

TEST(Evaluate, HandBuiltStatementWithoutCompile) {
  Statement s;
  s.id = "hand";
  s.effect = Effect::kAllow;
  s.principals.users.emplace_back("*");
  s.actions.push_back(ActionPattern::Make("ec2:*"));
  s.resources.emplace_back("*");
  Policy p;
  p.statements.push_back(s);
  Row row{.name = "x", .action = "ec2:Anything"};
  EXPECT_EQ(Evaluate(p, MakeRequest(row), EvalContext{}).effect, E::kAllow);
  p.Compile();
  EXPECT_EQ(Evaluate(p, MakeRequest(row), EvalContext{}).effect, E::kAllow);
  row.action = "s3:Anything";
  EXPECT_EQ(Evaluate(p, MakeRequest(row), EvalContext{}).effect, E::kDeny);
}

TEST(ApprovalKey, DistinguishesEveryField) {
  Row row{.name = "x"};
  const Request base = MakeRequest(row);
  std::vector<std::string> keys = {ApprovalKey(base)};
  for (int i = 0; i < 7; ++i) {
    Request r = base;
    switch (i) {
      case 0: r.principal.id += "x"; break;
      case 1: r.action += "x"; break;
      case 2: r.resource += "x"; break;
      case 3: r.platform += "x"; break;
      case 4: r.workspace += "x"; break;
      case 5: r.channel += "x"; break;
      case 6: r.is_dm = true; break;
    }
    keys.push_back(ApprovalKey(r));
  }
  // Field boundaries cannot be shifted to forge a key.
  Request a = base;
  a.action = "ec2:A";
  a.resource = "B";
  Request b = base;
  b.action = "ec2:AB";
  b.resource = "";
  EXPECT_NE(ApprovalKey(a), ApprovalKey(b));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end());
  EXPECT_EQ(ApprovalKey(base), ApprovalKey(MakeRequest(row)));
}

// ---------------------------------------------------------------------------------------
// Patterns.

TEST(Pattern, GlobEdges) {
  EXPECT_TRUE(Pattern("*").Matches(""));
  EXPECT_TRUE(Pattern("a*").Matches("a"));
  EXPECT_FALSE(Pattern("a*").Matches(""));
  EXPECT_TRUE(Pattern("*a").Matches("ba"));
  EXPECT_FALSE(Pattern("*a").Matches("ab"));
  EXPECT_TRUE(Pattern("a*b*c").Matches("abc"));
  EXPECT_TRUE(Pattern("a*b*c").Matches("aXbYbZc"));
  EXPECT_FALSE(Pattern("a*b*c").Matches("aXbYbZ"));
  EXPECT_TRUE(Pattern("?").Matches("x"));
  EXPECT_FALSE(Pattern("?").Matches(""));
  EXPECT_FALSE(Pattern("?").Matches("xy"));
  EXPECT_TRUE(Pattern("**").Matches("anything"));
  EXPECT_TRUE(Pattern("*?").Matches("x"));
  EXPECT_FALSE(Pattern("*?").Matches(""));
  EXPECT_TRUE(Pattern("arn:aws:ec2:*:*:instance/*").Matches("arn:aws:ec2:eu-west-1:1:instance/i-1"));
  EXPECT_FALSE(Pattern("arn:aws:ec2:*:*:instance/*").Matches("arn:aws:ec2:eu-west-1:1:volume/v"));
  EXPECT_FALSE(Pattern("Ab").Matches("ab"));
  EXPECT_TRUE(Pattern("Ab", true).Matches("aB"));
  EXPECT_TRUE(Pattern("A*z", true).Matches("abcZ"));
}

TEST(Pattern, WorstCaseIsFast) {
  const std::string text(10000, 'a');
  const Pattern p("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
  const auto start = steady_clock::now();
  EXPECT_FALSE(p.Matches(text));
  EXPECT_LT(steady_clock::now() - start, seconds(1));
}

// ---------------------------------------------------------------------------------------
// Parser diagnostics.

std::vector<std::string> Errors(std::string_view yaml) {
  auto p = ParsePolicy(yaml, "p.yaml");
  std::vector<std::string> out;
  if (p) {
    return out;
  }
  for (const auto& d : p.error()) {
    out.push_back(d.ToString());
  }
  return out;
}

std::string Statement1(std::string_view extra, std::string_view actions = "[\"ec2:Describe*\"]",
                       std::string_view effect = "allow") {
  return std::string("statements:\n  - id: s1\n    effect: ") + std::string(effect) +
         "\n    principals: {users: [\"*\"]}\n    actions: " + std::string(actions) +
         "\n    resources: [\"*\"]\n" + std::string(extra);
}

TEST(ParsePolicy, AcceptsTheTestPolicy) {
  auto p = ParsePolicy(kPolicy, "test.yaml");
  ASSERT_TRUE(p) << (p ? "" : p.error()[0].ToString());
  ASSERT_EQ(p->statements.size(), 12u);
  const Statement& s = p->statements[4];
  EXPECT_EQ(s.id, "devs-stop-staging");
  EXPECT_EQ(s.conditions.per_principal->max, 5u);
  EXPECT_EQ(s.conditions.total->window, hours(1));
  EXPECT_EQ(s.session_duration, minutes(15));
  const Statement& night = p->statements[5];
  ASSERT_EQ(night.conditions.time_windows.size(), 1u);
  EXPECT_EQ(night.conditions.time_windows[0].start_minute, 22 * 60);
  EXPECT_EQ(night.conditions.time_windows[0].end_minute, 6 * 60);
  EXPECT_EQ(night.conditions.time_windows[0].days, 0x1f);
  EXPECT_TRUE(p->statements[7].conditions.approval->requester_excluded);
  EXPECT_FALSE(p->statements[11].conditions.approval->requester_excluded);
}

TEST(ParsePolicy, ExactFormatWithLineColumnAndPath) {
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:Describe*\", \"ec2\"]")),
              ::testing::ElementsAre("p.yaml:5:32: statements[0].actions[1]: expected "
                                     "service:Operation, e.g. ec2:StopInstances or ec2:Describe* "
                                     "(got 'ec2')"));
}

TEST(ParsePolicy, UnknownKeyDidYouMean) {
  EXPECT_THAT(Errors(Statement1("    efect: allow\n")),
              ::testing::ElementsAre(HasSubstr("statements[0].efect: unknown key (did you mean "
                                               "'effect'?)")));
  EXPECT_THAT(Errors(Statement1("    conditions: {chanels: [C1]}\n")),
              ::testing::ElementsAre(HasSubstr("statements[0].conditions.chanels: unknown key "
                                               "(did you mean 'channels'?)")));
  EXPECT_THAT(Errors("statement: []\n"),
              ::testing::Contains(HasSubstr("did you mean 'statements'?")));
}

TEST(ParsePolicy, DuplicateIds) {
  const std::string two = Statement1("") + Statement1("").substr(std::string("statements:\n").size());
  EXPECT_THAT(Errors(two), ::testing::ElementsAre(
                               "p.yaml:7:9: statements[1].id: duplicate id 's1' (first used by "
                               "statements[0])"));
}

TEST(ParsePolicy, EmptyStatementsAndPolicy) {
  EXPECT_THAT(Errors("statements:\n  - {}\n"),
              ::testing::ElementsAre(HasSubstr("statements[0]: empty statement")));
  EXPECT_THAT(Errors("statements: []\n"),
              ::testing::ElementsAre(HasSubstr("statements: expected a non-empty list")));
  EXPECT_THAT(Errors(""), ::testing::ElementsAre(HasSubstr("empty policy")));
  EXPECT_THAT(Errors("version: 1\n"),
              ::testing::ElementsAre(HasSubstr("statements: missing")));
}

TEST(ParsePolicy, MissingRequiredKeys) {
  EXPECT_THAT(Errors("statements:\n  - id: a\n    effect: allow\n"),
              ::testing::ElementsAre(HasSubstr("statements[0].principals: missing"),
                                     HasSubstr("statements[0].actions: missing"),
                                     HasSubstr("statements[0].resources: missing")));
}

TEST(ParsePolicy, UnknownEffect) {
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:Describe*\"]", "alow")),
              ::testing::ElementsAre(HasSubstr("statements[0].effect: unknown effect 'alow' (did "
                                               "you mean 'allow'?)")));
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:Describe*\"]", "permit")),
              ::testing::ElementsAre(HasSubstr("(expected allow or deny)")));
}

TEST(ParsePolicy, BadActionPatterns) {
  EXPECT_THAT(Errors(Statement1("", "[\":Stop\"]")),
              ::testing::ElementsAre(HasSubstr("both service and Operation")));
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:\"]")),
              ::testing::ElementsAre(HasSubstr("both service and Operation")));
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:Stop.*\"]")),
              ::testing::ElementsAre(HasSubstr("Operation may hold only")));
  EXPECT_THAT(Errors(Statement1("", "[\"ec 2:Stop\"]")),
              ::testing::ElementsAre(HasSubstr("service may hold only")));
  EXPECT_THAT(Errors(Statement1("", "[\"ec2:[A-Z]*\"]")),
              ::testing::ElementsAre(HasSubstr("Operation may hold only")));
  EXPECT_THAT(Errors(Statement1("", "[]")),
              ::testing::ElementsAre(HasSubstr("statements[0].actions: must not be empty")));
  EXPECT_THAT(Errors(Statement1("", "ec2:StopInstances")),
              ::testing::ElementsAre(HasSubstr("expected a list (got 'ec2:StopInstances')")));
}

TEST(ParsePolicy, BadResourcePatterns) {
  auto with_resource = [](std::string_view r) {
    return "statements:\n  - id: s1\n    effect: allow\n    principals: {users: [a]}\n    "
           "actions: [\"*\"]\n    resources: [\"" +
           std::string(r) + "\"]\n";
  };
  EXPECT_THAT(Errors(with_resource("arn:aws:ec2:instance")),
              ::testing::ElementsAre(HasSubstr("an ARN has six parts")));
  EXPECT_THAT(Errors(with_resource("arn:aws:ec2:eu:1:")),
              ::testing::ElementsAre(HasSubstr("resource part of the ARN is empty")));
  EXPECT_THAT(Errors(with_resource("db/(a|b)")),
              ::testing::ElementsAre(HasSubstr("character '(' is not allowed")));
  EXPECT_THAT(Errors(with_resource("")),
              ::testing::ElementsAre(HasSubstr("statements[0].resources[0]: expected a non-empty "
                                               "string")));
}

TEST(ParsePolicy, PrincipalsMustNameSomebody) {
  EXPECT_THAT(Errors("statements:\n  - id: a\n    effect: allow\n    principals: {}\n    "
                     "actions: [\"*\"]\n    resources: [\"*\"]\n"),
              ::testing::ElementsAre(HasSubstr("statements[0].principals: names nobody")));
  EXPECT_THAT(Errors("statements:\n  - id: a\n    effect: allow\n    principals: {teams: [x]}\n"
                     "    actions: [\"*\"]\n    resources: [\"*\"]\n"),
              ::testing::Contains(HasSubstr("unknown key")));
}

TEST(ParsePolicy, IdRules) {
  EXPECT_THAT(Errors("statements:\n  - id: default-deny\n    effect: deny\n    principals: "
                     "{users: [\"*\"]}\n    actions: [\"*\"]\n    resources: [\"*\"]\n"),
              ::testing::ElementsAre(HasSubstr("reserved")));
  EXPECT_THAT(Errors("statements:\n  - id: \"bad id\"\n    effect: deny\n    principals: "
                     "{users: [\"*\"]}\n    actions: [\"*\"]\n    resources: [\"*\"]\n"),
              ::testing::ElementsAre(HasSubstr("ids start with a letter or digit")));
}

TEST(ParsePolicy, AllowOnlyConditionsRefusedInDeny) {
  for (const char* extra : {"    conditions: {mfa_max_age: 15m}\n",
                            "    conditions: {allow_dm: true}\n",
                            "    conditions: {approval: {approver_group: g}}\n",
                            "    conditions: {rate_caps: {total: {max: 1, window: 1h}}}\n",
                            "    conditions: {channel_posture: internal}\n",
                            "    session_duration: 15m\n"}) {
    EXPECT_THAT(Errors(Statement1(extra, "[\"*\"]", "deny")),
                ::testing::ElementsAre(HasSubstr("only allowed in allow statements")))
        << extra;
  }
}

TEST(ParsePolicy, ChannelPosture) {
  auto p = ParsePolicy(Statement1("    conditions: {channel_posture: internal}\n"), "p.yaml");
  ASSERT_TRUE(p) << (p ? "" : p.error()[0].ToString());
  EXPECT_EQ(p->statements[0].conditions.channel_posture, ChannelPosture::kInternal);
  auto none = ParsePolicy(Statement1(""), "p.yaml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->statements[0].conditions.channel_posture, ChannelPosture::kAny);

  EXPECT_THAT(Errors(Statement1("    conditions: {channel_posture: interal}\n")),
              ::testing::ElementsAre(
                  "p.yaml:7:35: statements[0].conditions.channel_posture: unknown channel "
                  "posture 'interal' (did you mean 'internal'?)"));
  EXPECT_THAT(Errors(Statement1("    conditions: {channel_posture: Internal}\n")),
              ::testing::ElementsAre(HasSubstr("(did you mean 'internal'?)")));
  // The opposite word gets no did-you-mean, and the way to allow any channel.
  EXPECT_THAT(Errors(Statement1("    conditions: {channel_posture: external}\n")),
              ::testing::ElementsAre(
                  AllOf(HasSubstr("unknown channel posture 'external' (the only posture is "
                                  "'internal'"),
                        HasSubstr("leave channel_posture out"),
                        ::testing::Not(HasSubstr("did you mean")))));
  for (const char* bad : {"[internal]", "{a: b}", "true", "\"\"", "any"}) {
    EXPECT_THAT(Errors(Statement1(std::string("    conditions: {channel_posture: ") + bad + "}\n")),
                ::testing::ElementsAre(HasSubstr("conditions.channel_posture: unknown channel "
                                                 "posture")))
        << bad;
  }
  EXPECT_THAT(Errors(Statement1("    conditions: {chanel_posture: internal}\n")),
              ::testing::ElementsAre(HasSubstr("did you mean 'channel_posture'?")));
}

TEST(ParsePolicy, TimeWindows) {
  EXPECT_THAT(Errors(Statement1("    conditions:\n      time_windows: [{hours: \"9-17\"}]\n")),
              ::testing::ElementsAre(HasSubstr("conditions.time_windows[0].hours: expected "
                                               "HH:MM-HH:MM")));
  EXPECT_THAT(Errors(Statement1("    conditions:\n      time_windows: [{hours: \"09:00-09:00\"}]\n")),
              ::testing::ElementsAre(HasSubstr("start and end are equal")));
  EXPECT_THAT(Errors(Statement1("    conditions:\n      time_windows: [{hours: \"24:00-09:00\"}]\n")),
              ::testing::ElementsAre(HasSubstr("expected HH:MM-HH:MM")));
  EXPECT_THAT(
      Errors(Statement1("    conditions:\n      time_windows: [{days: [mnn], hours: \"09:00-17:00\"}]\n")),
      ::testing::ElementsAre(HasSubstr("time_windows[0].days[0]: unknown day (did you mean "
                                       "'mon'?)")));
  EXPECT_THAT(Errors(Statement1("    conditions:\n      time_windows: [{days: [mon]}]\n")),
              ::testing::ElementsAre(HasSubstr("time_windows[0].hours: missing")));
  EXPECT_TRUE(Errors(Statement1("    conditions:\n      time_windows: [{hours: \"00:00-24:00\"}]\n"))
                  .empty());
}

TEST(ParsePolicy, ScalarsAndDurations) {
  EXPECT_THAT(Errors(Statement1("    conditions: {mfa_max_age: 15}\n")),
              ::testing::ElementsAre(HasSubstr("expected a duration from 1s to 7d")));
  EXPECT_THAT(Errors(Statement1("    conditions: {mfa_max_age: 30d}\n")),
              ::testing::ElementsAre(HasSubstr("expected a duration")));
  EXPECT_THAT(Errors(Statement1("    conditions: {allow_dm: yes}\n")),
              ::testing::ElementsAre(HasSubstr("expected true or false (got 'yes')")));
  EXPECT_THAT(Errors(Statement1("    session_duration: 2d\n")),
              ::testing::ElementsAre(HasSubstr("session_duration: expected a duration from 1m "
                                               "to 1d")));
  EXPECT_THAT(Errors("version: 2\n" + Statement1("")),
              ::testing::ElementsAre(HasSubstr("version: expected an integer from 1 to 1")));
}

TEST(ParsePolicy, ApprovalAndRateCaps) {
  EXPECT_THAT(Errors(Statement1("    conditions: {approval: {count: 2}}\n")),
              ::testing::ElementsAre(HasSubstr("approval.approver_group: missing")));
  EXPECT_THAT(Errors(Statement1("    conditions: {approval: {count: 0, approver_group: g}}\n")),
              ::testing::ElementsAre(HasSubstr("approval.count: expected an integer from 1 to 10")));
  EXPECT_THAT(Errors(Statement1("    conditions: {rate_caps: {}}\n")),
              ::testing::ElementsAre(HasSubstr("needs per_principal, total or both")));
  EXPECT_THAT(Errors(Statement1("    conditions: {rate_caps: {total: {max: 5}}}\n")),
              ::testing::ElementsAre(HasSubstr("needs both max and window")));
  EXPECT_THAT(Errors(Statement1("    conditions: {rate_caps: {total: {max: 5, windw: 1h}}}\n")),
              ::testing::Contains(HasSubstr("did you mean 'window'?")));
}

TEST(ParsePolicy, ChannelListsAreLiteral) {
  EXPECT_THAT(Errors(Statement1("    conditions: {channels: [\"C*\"]}\n")),
              ::testing::ElementsAre(HasSubstr("conditions.channels[0]: wildcards are not "
                                               "allowed")));
  EXPECT_THAT(Errors(Statement1("    conditions: {platforms: []}\n")),
              ::testing::ElementsAre(HasSubstr("conditions.platforms: must not be empty")));
}

TEST(ParsePolicy, YamlLevelProblems) {
  EXPECT_THAT(Errors(Statement1("") + "    id: again\n"),
              ::testing::Contains(HasSubstr("statements[0].id: duplicate key")));
  EXPECT_THAT(Errors("a: &x 1\nb: *x\n"), ::testing::Contains(HasSubstr("aliases are not "
                                                                        "supported")));
  EXPECT_THAT(Errors(Statement1("") + "---\n" + Statement1("")),
              ::testing::Contains(HasSubstr("only one YAML document")));
  EXPECT_THAT(Errors("statements: [\n"), ::testing::ElementsAre(HasSubstr("YAML syntax")));
  EXPECT_THAT(Errors(std::string(100, '[')), ::testing::ElementsAre(HasSubstr("too deep")));
  EXPECT_THAT(Errors("- 1\n"), ::testing::ElementsAre(HasSubstr("expected a mapping (got a "
                                                                "list)")));
  EXPECT_THAT(Errors(std::string("statements: x\0y", 15)),
              ::testing::ElementsAre(HasSubstr("NUL")));
}

TEST(ParsePolicy, ManyErrorsAreCapped) {
  std::string yaml = "statements:\n";
  for (int i = 0; i < 300; ++i) {
    yaml += "  - {bogus" + std::to_string(i) + ": 1}\n";
  }
  auto p = ParsePolicy(yaml, "p.yaml");
  ASSERT_FALSE(p);
  EXPECT_LE(p.error().size(), 100u);
}

TEST(LoadPolicyFile, ReadsParsesAndNamesTheFile) {
  char dir_template[] = "/tmp/opsgate-policy-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string good = dir + "/good.yaml";
  const std::string bad = dir + "/bad.yaml";
  {
    std::ofstream(good) << "version: 1\nstatements:\n  - {id: a, effect: allow, "
                           "principals: {users: ['*']}, actions: ['opsgate:Ping'], "
                           "resources: ['*']}\n";
    std::ofstream(bad) << "version: 1\nstatements:\n  - {id: a, effect: maybe}\n";
  }
  auto loaded = LoadPolicyFile(good);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->statements.size(), 1u);

  auto broken = LoadPolicyFile(bad);
  ASSERT_FALSE(broken.has_value());
  EXPECT_THAT(broken.error().front().ToString(), ::testing::StartsWith(bad + ":3:"));

  auto missing = LoadPolicyFile(dir + "/absent.yaml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().front().ToString(), ::testing::HasSubstr("no such file"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace opsgate::policy
