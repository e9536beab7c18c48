#include "opsgate/policy/policy_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "opsgate/policy/builtin_policy.h"
#include "opsgate/policy/lint.h"

namespace opsgate::policy {
namespace {

using ::testing::HasSubstr;
using E = Decision::Effect;
using namespace std::chrono;

constexpr std::string_view kPolicy = R"(statements:
  - id: deny-terminate
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Terminate*"]
    resources: ["*"]
  - id: ops-stop
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StopInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions:
      platforms: [slack]
      channels: [C0OPS]
      mfa_max_age: 15m
      rate_caps: {per_principal: {max: 5, window: 1h}, total: {max: 20, window: 1h}}
  - id: ops-scale
    effect: allow
    principals: {groups: [ops]}
    actions: ["autoscaling:SetDesiredCapacity"]
    resources: ["*"]
    conditions:
      approval: {count: 1, approver_group: ops-leads}
  - id: weekdays
    effect: allow
    principals: {users: ["*"]}
    actions: ["opsgate:Ping"]
    resources: ["*"]
    conditions:
      allow_dm: true
      time_windows: [{days: [mon, tue, wed, thu, fri], hours: "09:00-17:00"}]
)";

Policy TestPolicy() {
  auto p = ParsePolicy(kPolicy, "p.yaml");
  EXPECT_TRUE(p.has_value());
  return *p;
}

PolicyTable ParseOk(std::string_view yaml) {
  auto t = ParsePolicyTable(yaml, "t.yaml", "/etc/opsgate");
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error()[0].ToString());
  return t ? *t : PolicyTable{};
}

std::vector<std::string> Errors(std::string_view yaml) {
  auto t = ParsePolicyTable(yaml, "t.yaml", "/etc/opsgate");
  EXPECT_FALSE(t.has_value());
  std::vector<std::string> out;
  if (!t) {
    for (const auto& d : t.error()) {
      out.push_back(d.ToString());
    }
  }
  return out;
}

TEST(BuiltinPolicyTest, ParsesAndAllowsOnlyTheBuiltinCommands) {
  auto p = ParsePolicy(kBuiltinPolicyYaml, kBuiltinPolicyName);
  ASSERT_TRUE(p.has_value()) << p.error()[0].ToString();
  EXPECT_TRUE(Lint(*p).empty());
  Request r;
  r.principal = {"u", "anyone", {}, {}, std::nullopt};
  r.is_dm = true;
  for (const char* a : {"opsgate:Help", "opsgate:WhoAmI", "opsgate:Ping", "opsgate:Link",
                        "opsgate:Unlink"}) {
    r.action = a;
    EXPECT_EQ(Evaluate(*p, r, {}).effect, E::kAllow) << a;
  }
  r.action = "ec2:DescribeInstances";
  EXPECT_EQ(Evaluate(*p, r, {}).effect, E::kDeny);
}

TEST(UtcTimeTest, ParsesRfc3339Utc) {
  EXPECT_EQ(ParseUtcTime("2026-01-05T12:00:00Z"), DefaultTableTime());
  EXPECT_EQ(ParseUtcTime("2026-01-05T12:00:00.250Z"), DefaultTableTime());
  EXPECT_EQ(ParseUtcTime("1970-01-01T00:00:01Z"), WallTime{} + seconds{1});
  for (const char* bad : {"2026-01-05T12:00:00", "2026-01-05T12:00:00+01:00", "2026-02-30T00:00:00Z",
                          "2026-01-05 12:00:00Z", "2026-01-05T24:00:00Z", "yesterday", ""}) {
    EXPECT_FALSE(ParseUtcTime(bad).has_value()) << bad;
  }
}

TEST(AgeTest, ParsesDurations) {
  EXPECT_EQ(ParseAge("90s"), seconds{90});
  EXPECT_EQ(ParseAge("15m"), minutes{15});
  EXPECT_EQ(ParseAge("2h"), hours{2});
  EXPECT_EQ(ParseAge("1d"), hours{24});
  for (const char* bad : {"", "m", "15", "-1m", "1w", "1.5h"}) {
    EXPECT_FALSE(ParseAge(bad).has_value()) << bad;
  }
}

TEST(PolicyTableTest, ParsesEveryField) {
  auto t = ParseOk(R"(policy: rules/p.yaml
cases:
  - name: full
    principal: {user: alice, groups: [ops, devs], roles: [oncall], mfa_age: 5m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    platform: slack
    workspace: T1
    channel: C0OPS
    at: 2026-01-06T08:30:00Z
    approvals: [{approver: carol, groups: [ops-leads]}]
    uses: {per_principal: 4, total: 19}
    expect: needs_mfa
    statement: ops-stop
  - name: dm
    principal: {user: bob}
    action: opsgate:Ping
    dm: true
    expect: allow
)");
  EXPECT_EQ(t.policy_path, "/etc/opsgate/rules/p.yaml");
  ASSERT_EQ(t.cases.size(), 2u);
  const TableCase& c = t.cases[0];
  EXPECT_EQ(c.name, "full");
  EXPECT_EQ(c.line, 3);
  EXPECT_EQ(c.request.principal.id, "alice");
  EXPECT_EQ(c.request.principal.groups, (std::vector<std::string>{"ops", "devs"}));
  EXPECT_EQ(c.request.principal.roles, (std::vector<std::string>{"oncall"}));
  EXPECT_EQ(c.request.now, *ParseUtcTime("2026-01-06T08:30:00Z"));
  EXPECT_EQ(c.request.principal.mfa_at, c.request.now - minutes{5});
  EXPECT_EQ(c.request.channel, "C0OPS");
  EXPECT_FALSE(c.request.is_dm);
  ASSERT_EQ(c.approvals.size(), 1u);
  EXPECT_EQ(c.approvals[0].request_key, ApprovalKey(c.request));
  EXPECT_EQ(c.approvals[0].approver_id, "carol");
  EXPECT_EQ(c.per_principal_uses, 4u);
  EXPECT_EQ(c.total_uses, 19u);
  EXPECT_EQ(c.expect, E::kNeedsMfa);
  EXPECT_EQ(c.expect_statement, "ops-stop");
  EXPECT_TRUE(t.cases[1].request.is_dm);
  EXPECT_EQ(t.cases[1].request.now, DefaultTableTime());
  EXPECT_FALSE(t.cases[1].request.principal.mfa_at.has_value());
}

TEST(PolicyTableTest, StrictDiagnosticsWithPositions) {
  auto e = Errors(R"(cases:
  - name: a
    principal: {user: alice, grups: [ops]}
    action: ec2:StopInstances
    expect: alow
  - name: a
    principal: {user: bob}
    action: x:Y
    channel: C1
    dm: true
    expect: deny
  - principal: {groups: [ops]}
    at: tomorrow
    expect: deny
)");
  ASSERT_GE(e.size(), 6u);
  std::string all;
  for (const auto& s : e) {
    all += s + "\n";
  }
  EXPECT_THAT(all, HasSubstr("t.yaml:3:30: cases[0].principal.grups: unknown key (did you mean 'groups'?)"));
  EXPECT_THAT(all, HasSubstr("t.yaml:5:13: cases[0].expect:"));
  EXPECT_THAT(all, HasSubstr("cases[1].dm: a case is either in a channel or a DM"));
  EXPECT_THAT(all, HasSubstr("cases[2].name: missing"));
  EXPECT_THAT(all, HasSubstr("cases[2].principal.user: missing"));
  EXPECT_THAT(all, HasSubstr("cases[2].action: missing"));
  EXPECT_THAT(all, HasSubstr("cases[2].at: expected an RFC 3339 UTC time"));
}

TEST(PolicyTableTest, DuplicateNamesAndBadShapes) {
  auto dup = Errors(R"(cases:
  - {name: a, principal: {user: u}, action: "x:Y", expect: deny}
  - {name: a, principal: {user: u}, action: "x:Z", expect: deny}
)");
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_THAT(dup[0], HasSubstr("duplicate case name 'a' (first used by cases[0])"));
  EXPECT_THAT(Errors("cases: []\n")[0], HasSubstr("expected a non-empty list of cases"));
  EXPECT_THAT(Errors("policy: p.yaml\n")[0], HasSubstr("cases: missing"));
  EXPECT_THAT(Errors("")[0], HasSubstr("empty table"));
  EXPECT_THAT(Errors("cases: [5]\n")[0], HasSubstr("cases[0]: expected a case mapping"));
  EXPECT_THAT(Errors("cases:\n  - {name: a, principal: {user: u}, action: 'x:Y', expect: deny, "
                     "uses: {per_principal: -1}}\n")[0],
              HasSubstr("cases[0].uses.per_principal"));
  EXPECT_THAT(Errors("policy: &a p.yaml\ncases: *a\n")[0], HasSubstr("alias"));
}

TEST(PolicyTableTest, RunsCasesAgainstThePolicy) {
  auto t = ParseOk(R"(cases:
  - name: stop with fresh mfa
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    platform: slack
    channel: C0OPS
    expect: allow
    statement: ops-stop
  - name: stop without mfa
    principal: {user: alice, groups: [ops]}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    platform: slack
    channel: C0OPS
    expect: needs_mfa
  - name: rate cap reached
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    platform: slack
    channel: C0OPS
    uses: {per_principal: 5}
    expect: deny
    statement: ops-stop
  - name: total cap reached
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    platform: slack
    channel: C0OPS
    uses: {per_principal: 0, total: 20}
    expect: deny
  - name: scale approved by a lead
    principal: {user: alice, groups: [ops]}
    action: autoscaling:SetDesiredCapacity
    approvals: [{approver: carol, groups: [ops-leads]}]
    expect: allow
  - name: own approval does not count
    principal: {user: alice, groups: [ops, ops-leads]}
    action: autoscaling:SetDesiredCapacity
    approvals: [{approver: alice, groups: [ops-leads]}]
    expect: needs_approval
  - name: ping on saturday
    principal: {user: bob}
    action: opsgate:Ping
    dm: true
    at: 2026-01-10T12:00:00Z
    expect: deny
  - name: wrong expectation
    principal: {user: bob}
    action: ec2:TerminateInstances
    expect: allow
    statement: nope
)");
  auto report = RunPolicyTable(TestPolicy(), t);
  ASSERT_EQ(report.outcomes.size(), 8u);
  for (size_t i = 0; i + 1 < report.outcomes.size(); ++i) {
    EXPECT_TRUE(report.outcomes[i].passed) << FormatOutcome(report.outcomes[i]);
  }
  EXPECT_EQ(report.passed, 7u);
  EXPECT_EQ(report.failed, 1u);
  EXPECT_EQ(FormatOutcome(report.outcomes[0]), "PASS stop with fresh mfa");
  EXPECT_THAT(FormatOutcome(report.outcomes[7]),
              HasSubstr("FAIL wrong expectation: expected allow (statement nope), got deny by "
                        "deny-terminate: "));
}

TEST(PolicyTableTest, ChannelPostureIsWhatThePlatformSaid) {
  auto policy = ParsePolicy(R"(statements:
  - {id: internal-only, effect: allow, principals: {users: ["*"]}, actions: ["ec2:Describe*"],
     resources: ["*"], conditions: {channel_posture: internal}}
)", "p.yaml");
  ASSERT_TRUE(policy.has_value());
  auto t = ParseOk(R"(cases:
  - {name: internal, principal: {user: u}, action: ec2:DescribeInstances, channel: C1,
     channel_posture: internal, expect: allow}
  - {name: shared, principal: {user: u}, action: ec2:DescribeInstances, channel: C1,
     channel_posture: shared, expect: deny}
  - {name: unknown, principal: {user: u}, action: ec2:DescribeInstances, channel: C1,
     expect: deny, statement: internal-only}
)");
  auto report = RunPolicyTable(*policy, t);
  EXPECT_EQ(report.passed, 3u);
  for (const auto& o : report.outcomes) {
    EXPECT_TRUE(o.passed) << FormatOutcome(o);
  }
  // Only the two words the platform can say.
  auto bad = ParsePolicyTable("cases:\n  - {name: x, principal: {user: u}, action: a:B, "
                              "channel_posture: maybe, expect: deny}\n",
                              "t.yaml", "/tmp");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().front().ToString(), HasSubstr("channel_posture"));
}

TEST(PolicyTableTest, ExpectedStatementMustMatch) {
  auto t = ParseOk(R"(cases:
  - {name: s, principal: {user: u}, action: "ec2:TerminateInstances", expect: deny, statement: default-deny}
)");
  auto report = RunPolicyTable(TestPolicy(), t);
  EXPECT_EQ(report.failed, 1u);
  EXPECT_THAT(FormatOutcome(report.outcomes[0]),
              HasSubstr("expected deny (statement default-deny), got deny by deny-terminate"));
}

TEST(PolicyTableTest, LoadResolvesPolicyAgainstTheTableFolder) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("opsgate-table-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "t.yaml") << "policy: p.yaml\ncases:\n  - {name: a, principal: {user: u}, "
                                   "action: 'x:Y', expect: deny}\n";
  auto t = LoadPolicyTable((dir / "t.yaml").string());
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->policy_path, (dir / "p.yaml").string());
  auto missing = LoadPolicyTable((dir / "none.yaml").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error()[0].ToString(), HasSubstr("none.yaml: no such file"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace opsgate::policy
