// `opsgate policy explain`, `opsgate policy test` and the policy part of `opsgate check`,
// run as the CLI runs them, on temp files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "opsgate/app/commands.h"
#include "opsgate/app/init.h"
#include "opsgate/core/clock.h"
#include "test/fakes/capture_output.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

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
    conditions: {mfa_max_age: 15m, channels: [C0OPS]}
    session_duration: 15m
  - id: ops-reboot
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:RebootInstances"]
    resources: ["*"]
    conditions:
      mfa_max_age: 15m
      rate_caps: {per_principal: {max: 5, window: 1h}}
  - id: scale
    effect: allow
    principals: {groups: [ops]}
    actions: ["autoscaling:SetDesiredCapacity"]
    resources: ["*"]
    conditions: {approval: {count: 1, approver_group: leads}}
)";

using Run = opsgate::testing::CapturedRun;
using opsgate::testing::CaptureOutput;

class PolicyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("opsgate-policy-cmd-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    Write("p.yaml", kPolicy);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  PolicyExplainOptions Explain(std::string action) {
    PolicyExplainOptions o;
    o.policy_path = (dir_ / "p.yaml").string();
    o.principal = "alice";
    o.groups = {"ops"};
    o.action = std::move(action);
    o.resource = "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc";
    o.channel = "C0OPS";
    o.at = "2026-01-05T12:00:00Z";
    return o;
  }

  // A data directory from `opsgate init` (real clock: check validates the certificate).
  fs::path InitDir() {
    core::SystemClock clock;
    auto r = InitDataDir({(dir_ / "data").string(), {}, 90}, clock);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return dir_ / "data";
  }

  fs::path dir_;
};

TEST_F(PolicyCommandTest, ExplainAllowPrintsStatementReasonAndSession) {
  auto o = Explain("ec2:StopInstances");
  o.mfa_age = "5m";
  auto r = CaptureOutput([&] { return RunPolicyExplain(o); });
  EXPECT_EQ(r.code, kExplainAllow) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decision:  allow\n"));
  EXPECT_THAT(r.out, HasSubstr("statement: ops-stop\n"));
  EXPECT_THAT(r.out, HasSubstr("reason:    "));
  EXPECT_THAT(r.out, HasSubstr("session_duration: 15m\n"));
  EXPECT_THAT(r.out, HasSubstr("policy:    " + (dir_ / "p.yaml").string()));
  EXPECT_EQ(r.err, "");
}

TEST_F(PolicyCommandTest, ExplainDenyNeedsMfaAndNeedsApprovalExitCodes) {
  auto deny = CaptureOutput([&] { return RunPolicyExplain(Explain("ec2:TerminateInstances")); });
  EXPECT_EQ(deny.code, kExplainDeny);
  EXPECT_THAT(deny.out, HasSubstr("decision:  deny\nstatement: deny-terminate\n"));

  auto mfa = CaptureOutput([&] { return RunPolicyExplain(Explain("ec2:StopInstances")); });
  EXPECT_EQ(mfa.code, kExplainNeedsStepUp);
  EXPECT_THAT(mfa.out, HasSubstr("decision:  needs_mfa\nstatement: ops-stop\n"));

  auto stale = Explain("ec2:StopInstances");
  stale.mfa_age = "1h";
  EXPECT_EQ(CaptureOutput([&] { return RunPolicyExplain(stale); }).code, kExplainNeedsStepUp);

  auto approval = CaptureOutput([&] { return RunPolicyExplain(Explain("autoscaling:SetDesiredCapacity")); });
  EXPECT_EQ(approval.code, kExplainNeedsStepUp);
  EXPECT_THAT(approval.out, HasSubstr("decision:  needs_approval\nstatement: scale\n"));

  auto dm = Explain("ec2:StopInstances");
  dm.channel.clear();
  dm.dm = true;
  dm.mfa_age = "1m";
  auto in_dm = CaptureOutput([&] { return RunPolicyExplain(dm); });
  EXPECT_EQ(in_dm.code, kExplainDeny);
  EXPECT_THAT(in_dm.out, HasSubstr("statement: default-deny\n"));
}

TEST_F(PolicyCommandTest, ExplainSaysRateCappedStatementsCannotBeEvaluated) {
  auto o = Explain("ec2:RebootInstances");
  o.mfa_age = "1m";
  auto r = CaptureOutput([&] { return RunPolicyExplain(o); });
  EXPECT_EQ(r.code, kExplainDeny);
  EXPECT_THAT(r.out, HasSubstr("statement: ops-reboot\n"));
  EXPECT_THAT(r.out, HasSubstr("note: statement 'ops-reboot' has rate caps"));
}

TEST_F(PolicyCommandTest, ExplainUsageErrorsExit2) {
  auto both = Explain("ec2:StopInstances");
  both.config_path = "/nonexistent/opsgate.yaml";
  auto r = CaptureOutput([&] { return RunPolicyExplain(both); });
  EXPECT_EQ(r.code, kPolicyUsageError);
  EXPECT_THAT(r.err, HasSubstr("exactly one of --config FILE and --policy FILE"));

  auto at = Explain("ec2:StopInstances");
  at.at = "2026-01-05 12:00";
  EXPECT_THAT(CaptureOutput([&] { return RunPolicyExplain(at); }).err, HasSubstr("--at"));
  EXPECT_EQ(CaptureOutput([&] { return RunPolicyExplain(at); }).code, kPolicyUsageError);

  auto mfa = Explain("ec2:StopInstances");
  mfa.mfa_age = "soon";
  EXPECT_EQ(CaptureOutput([&] { return RunPolicyExplain(mfa); }).code, kPolicyUsageError);

  auto missing = Explain("ec2:StopInstances");
  missing.policy_path = (dir_ / "none.yaml").string();
  auto m = CaptureOutput([&] { return RunPolicyExplain(missing); });
  EXPECT_EQ(m.code, kPolicyUsageError);
  EXPECT_THAT(m.err, HasSubstr("none.yaml: no such file"));

  auto bad = Explain("ec2:StopInstances");
  bad.policy_path = Write("bad.yaml", "statements:\n  - id: x\n    efect: allow\n");
  auto b = CaptureOutput([&] { return RunPolicyExplain(bad); });
  EXPECT_EQ(b.code, kPolicyUsageError);
  EXPECT_THAT(b.err, HasSubstr("bad.yaml:3:5: statements[0].efect: unknown key"));
}

TEST_F(PolicyCommandTest, ExplainWithConfigUsesItsPolicyOrTheBuiltinOne) {
  const fs::path data = InitDir();
  PolicyExplainOptions o;
  o.config_path = (data / "opsgate.yaml").string();
  o.principal = "dana";
  o.action = "ec2:DescribeInstances";
  o.dm = true;
  auto starter = CaptureOutput([&] { return RunPolicyExplain(o); });
  EXPECT_EQ(starter.code, kExplainAllow) << starter.out << starter.err;
  EXPECT_THAT(starter.out, HasSubstr("statement: read-only\n"));

  // Without policy.file: the built-in policy allows the built-in commands only.
  std::string config = StarterConfig(core::SystemClock());
  const std::string line = "  file: policy.yaml\n";
  ASSERT_NE(config.find(line), std::string::npos);
  config.erase(config.find(line), line.size());
  fs::remove(data / "opsgate.yaml");
  std::ofstream(data / "opsgate.yaml") << config;
  auto builtin = CaptureOutput([&] { return RunPolicyExplain(o); });
  EXPECT_EQ(builtin.code, kExplainDeny);
  EXPECT_THAT(builtin.out, HasSubstr("policy:    <built-in policy>"));
  o.action = "opsgate:WhoAmI";
  auto whoami = CaptureOutput([&] { return RunPolicyExplain(o); });
  EXPECT_EQ(whoami.code, kExplainAllow);
  EXPECT_THAT(whoami.out, HasSubstr("statement: builtin-commands\n"));
}

TEST_F(PolicyCommandTest, PolicyTestOnTheStarterFilesPasses) {
  const fs::path data = InitDir();
  auto r = CaptureOutput([&] { return RunPolicyTest({(data / "policy-tests.yaml").string(), "", ""}); });
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS anyone gets help in a DM\n"));
  EXPECT_THAT(r.out, HasSubstr(" passed, 0 failed (" + (data / "policy.yaml").string() + ")\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL")));
}

TEST_F(PolicyCommandTest, PolicyTestReportsFailuresAndErrors) {
  const std::string table = Write("t.yaml", R"(policy: p.yaml
cases:
  - name: stop with mfa
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:1:instance/i-1
    channel: C0OPS
    expect: allow
  - name: wrong
    principal: {user: bob}
    action: ec2:StopInstances
    expect: allow
    statement: ops-stop
)");
  auto r = CaptureOutput([&] { return RunPolicyTest({table, "", ""}); });
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("PASS stop with mfa\n"));
  EXPECT_THAT(r.out, HasSubstr("FAIL wrong: expected allow (statement ops-stop), got deny by "
                               "default-deny: "));
  EXPECT_THAT(r.out, HasSubstr("1 passed, 1 failed"));

  // --policy overrides the table's policy: the built-in-like policy allows nothing here.
  const std::string other = Write("other.yaml", R"(statements:
  - {id: ping, effect: allow, principals: {users: ["*"]}, actions: ["opsgate:Ping"], resources: ["*"]}
)");
  auto over = CaptureOutput([&] { return RunPolicyTest({table, "", other}); });
  EXPECT_EQ(over.code, 1);
  EXPECT_THAT(over.out, HasSubstr("0 passed, 2 failed (" + other + ")"));

  const std::string broken = Write("broken.yaml", "cases:\n  - name: x\n    expect: maybe\n");
  auto b = CaptureOutput([&] { return RunPolicyTest({broken, "", ""}); });
  EXPECT_EQ(b.code, kPolicyUsageError);
  EXPECT_THAT(b.err, HasSubstr("broken.yaml:3:13: cases[0].expect:"));

  const std::string nopolicy =
      Write("np.yaml", "cases:\n  - {name: x, principal: {user: u}, action: 'x:Y', expect: deny}\n");
  auto np = CaptureOutput([&] { return RunPolicyTest({nopolicy, "", ""}); });
  EXPECT_EQ(np.code, kPolicyUsageError);
  EXPECT_THAT(np.err, HasSubstr("no policy"));
}

TEST_F(PolicyCommandTest, CheckAcceptsTheStarterPolicyWithoutPolicyWarnings) {
  const fs::path data = InitDir();
  auto r = CaptureOutput([&] { return RunCheck({(data / "opsgate.yaml").string()}); });
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(": OK"));
  EXPECT_THAT(r.err, Not(HasSubstr("policy.yaml")));
}

TEST_F(PolicyCommandTest, CheckWarnsAboutRiskyPolicyAndFailsOnBrokenPolicy) {
  const fs::path data = InitDir();
  fs::remove(data / "policy.yaml");
  std::ofstream(data / "policy.yaml") << R"(statements:
  - {id: god, effect: allow, principals: {groups: [admins]}, actions: ["*"], resources: ["*"]}
)";
  auto risky = CaptureOutput([&] { return RunCheck({(data / "opsgate.yaml").string()}); });
  EXPECT_EQ(risky.code, 0) << risky.err;
  EXPECT_THAT(risky.err, HasSubstr((data / "policy.yaml").string() +
                                   ": statements[god]: star-on-star: allows every action"));
  EXPECT_THAT(risky.err, HasSubstr("statements[god]: destructive: "));
  EXPECT_THAT(risky.out, HasSubstr(": OK ("));

  fs::remove(data / "policy.yaml");
  std::ofstream(data / "policy.yaml") << "statements:\n  - id: x\n    effect: alow\n";
  auto broken = CaptureOutput([&] { return RunCheck({(data / "opsgate.yaml").string()}); });
  EXPECT_EQ(broken.code, 1);
  EXPECT_THAT(broken.err, HasSubstr((data / "policy.yaml").string() +
                                    ":3:13: statements[0].effect: unknown effect 'alow'"));
  EXPECT_THAT(broken.out, Not(HasSubstr("OK")));
}

}  // namespace
}  // namespace opsgate::app
