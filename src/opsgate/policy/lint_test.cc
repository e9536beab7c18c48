#include "opsgate/policy/lint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace opsgate::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

Policy Parse(const std::string& statements) {
  auto p = ParsePolicy("statements:\n" + statements, "lint.yaml");
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error()[0].ToString());
  return p ? *p : Policy{};
}

std::vector<std::string> Rules(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    out.push_back(f.statement + ":" + f.rule);
  }
  return out;
}

TEST(PatternsOverlapTest, GlobIntersection) {
  EXPECT_TRUE(PatternsOverlap("*", "StopInstances", false));
  EXPECT_TRUE(PatternsOverlap("Stop*", "St*", false));
  EXPECT_TRUE(PatternsOverlap("*Instances", "Stop*", false));
  EXPECT_TRUE(PatternsOverlap("a?c", "*c", false));
  EXPECT_TRUE(PatternsOverlap("stop*", "Stop*", true));
  EXPECT_FALSE(PatternsOverlap("stop*", "Stop*", false));
  EXPECT_FALSE(PatternsOverlap("Describe*", "Stop*", false));
  EXPECT_FALSE(PatternsOverlap("a?", "abc", false));
  EXPECT_FALSE(PatternsOverlap("*x", "*y", false));
  EXPECT_TRUE(PatternsOverlap("", "*", false));
  EXPECT_FALSE(PatternsOverlap("", "?", false));
}

TEST(ActionPatternsOverlapTest, ServiceAndOperation) {
  EXPECT_TRUE(ActionPatternsOverlap("ec2:*", "ec2:Stop*"));
  EXPECT_TRUE(ActionPatternsOverlap("*", "iam:*"));
  EXPECT_TRUE(ActionPatternsOverlap("s3:DeleteObject", "*:Delete*"));
  EXPECT_TRUE(ActionPatternsOverlap("EC2:stopinstances", "ec2:Stop*"));
  EXPECT_FALSE(ActionPatternsOverlap("ec2:Describe*", "ec2:Stop*"));
  EXPECT_FALSE(ActionPatternsOverlap("ec2:StartInstances", "ec2:Stop*"));
  EXPECT_FALSE(ActionPatternsOverlap("opsgate:Unlink", "*:Delete*"));
}

TEST(LintTest, StarOnStar) {
  auto f = Lint(Parse(R"(
  - {id: god, effect: allow, principals: {groups: [admins]}, actions: ["*"], resources: ["*"],
     conditions: {mfa_max_age: 5m}}
  - {id: god2, effect: allow, principals: {groups: [admins]}, actions: ["*:*"], resources: ["*"],
     conditions: {approval: {approver_group: leads}}}
)"));
  EXPECT_EQ(Rules(f), (std::vector<std::string>{"god:star-on-star", "god2:star-on-star"}));
  EXPECT_THAT(f[0].message, HasSubstr("every action"));
  EXPECT_EQ(f[0].severity, Finding::Severity::kWarning);
}

TEST(LintTest, StarActionsOnSomeResourcesOrSomeActionsEverywhereAreNotStarOnStar) {
  auto f = Lint(Parse(R"(
  - {id: a, effect: allow, principals: {groups: [g]}, actions: ["*"], resources: ["opsgate:db/*"],
     conditions: {mfa_max_age: 5m}}
  - {id: b, effect: allow, principals: {groups: [g]}, actions: ["ec2:Describe*"], resources: ["*"]}
  - {id: c, effect: deny, principals: {groups: [g]}, actions: ["*"], resources: ["*"],
     conditions: {channels: [C1]}}
)"));
  EXPECT_THAT(f, IsEmpty());
}

TEST(LintTest, DestructiveWithoutMfaOrApproval) {
  auto f = Lint(Parse(R"(
  - {id: ec2-all, effect: allow, principals: {groups: [g]}, actions: ["ec2:*"], resources: ["*"]}
  - {id: stop, effect: allow, principals: {groups: [g]}, actions: ["ec2:StopInstances"], resources: ["*"]}
  - {id: scale, effect: allow, principals: {groups: [g]}, actions: ["autoscaling:SetDesiredCapacity"], resources: ["*"]}
  - {id: waf, effect: allow, principals: {groups: [g]}, actions: ["waf:BlockIp"], resources: ["*"]}
  - {id: del, effect: allow, principals: {groups: [g]}, actions: ["s3:Delete*"], resources: ["*"]}
  - {id: iam, effect: allow, principals: {groups: [g]}, actions: ["IAM:CreateUser"], resources: ["*"]}
)"));
  EXPECT_EQ(Rules(f), (std::vector<std::string>{"ec2-all:destructive", "stop:destructive",
                                                "scale:destructive", "waf:destructive",
                                                "del:destructive", "iam:destructive"}));
  EXPECT_THAT(f[0].message, HasSubstr("'ec2:*' could match ec2:Stop*"));
  EXPECT_THAT(f[0].message, HasSubstr("mfa_max_age"));
}

TEST(LintTest, DestructiveWithMfaOrApprovalOrHarmlessActionsIsFine) {
  auto f = Lint(Parse(R"(
  - {id: mfa, effect: allow, principals: {groups: [g]}, actions: ["ec2:Stop*"], resources: ["*"],
     conditions: {mfa_max_age: 15m}}
  - {id: appr, effect: allow, principals: {groups: [g]}, actions: ["ec2:Modify*"], resources: ["*"],
     conditions: {approval: {count: 1, approver_group: leads}}}
  - {id: look, effect: allow, principals: {groups: [g]}, actions: ["ec2:Describe*", "ec2:StartInstances"], resources: ["*"]}
  - {id: deny-all, effect: deny, principals: {users: ["*"]}, actions: ["ec2:Terminate*"], resources: ["*"]}
)"));
  EXPECT_THAT(f, IsEmpty());
}

TEST(LintTest, UnreachableAllow) {
  Policy p;
  Statement nobody;
  nobody.id = "nobody";
  nobody.effect = Effect::kAllow;
  nobody.actions.push_back(ActionPattern::Make("ec2:DescribeInstances"));
  nobody.resources.emplace_back("*");
  Statement never = nobody;
  never.id = "never";
  never.principals.users.emplace_back("*");
  never.conditions.time_windows = {TimeWindow{0, 60, 120}, TimeWindow{0x7f, 60, 60}};
  Statement fine = never;
  fine.id = "fine";
  fine.conditions.time_windows.push_back(TimeWindow{0x01, 0, 1440});
  p.statements = {nobody, never, fine};
  auto f = Lint(p);
  EXPECT_EQ(Rules(f), (std::vector<std::string>{"nobody:unreachable", "never:unreachable"}));
  EXPECT_THAT(f[0].message, HasSubstr("names no users, groups or roles"));
  EXPECT_THAT(f[1].message, HasSubstr("time_windows"));
}

TEST(LintTest, ShadowedByUnconditionalDeny) {
  auto f = Lint(Parse(R"(
  - {id: reboot, effect: allow, principals: {groups: [ops]}, actions: ["ec2:RebootInstances"],
     resources: ["arn:aws:ec2:*:*:instance/*"], conditions: {mfa_max_age: 5m}}
  - {id: deny-ec2, effect: deny, principals: {users: ["*"]}, actions: ["ec2:Reboot*", "ec2:Stop*"],
     resources: ["arn:aws:ec2:*:*:instance/*"]}
  - {id: link, effect: allow, principals: {groups: [contractors]}, actions: ["opsgate:Link"], resources: ["*"]}
  - {id: deny-contractors, effect: deny, principals: {groups: ["contract*"]}, actions: ["opsgate:*"], resources: ["*"]}
)"));
  EXPECT_EQ(Rules(f), (std::vector<std::string>{"reboot:shadowed", "link:shadowed"}));
  EXPECT_THAT(f[0].message, HasSubstr("deny statement 'deny-ec2'"));
}

TEST(LintTest, NotShadowedWhenTheDenyIsNarrowerOrConditional) {
  auto f = Lint(Parse(R"(
  - {id: reboot, effect: allow, principals: {groups: [ops], users: [bob]}, actions: ["ec2:RebootInstances"],
     resources: ["*"], conditions: {mfa_max_age: 5m}}
  - {id: deny-ops, effect: deny, principals: {groups: [ops]}, actions: ["ec2:Reboot*"], resources: ["*"]}
  - {id: start, effect: allow, principals: {groups: [ops]}, actions: ["ec2:StartInstances"], resources: ["*"]}
  - {id: deny-night, effect: deny, principals: {users: ["*"]}, actions: ["*"], resources: ["*"],
     conditions: {time_windows: [{hours: "00:00-06:00"}]}}
  - {id: deny-some, effect: deny, principals: {users: ["*"]}, actions: ["ec2:StartInstances"],
     resources: ["arn:aws:ec2:*:111111111111:instance/*"]}
)"));
  EXPECT_THAT(f, IsEmpty());
}

}  // namespace
}  // namespace opsgate::policy
