#include "opsgate/app/init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/keys.h"
#include "opsgate/intents/catalogue_yaml.h"
#include "opsgate/telemetry/log.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;

struct PendingFile {
  fs::path path;
  std::string contents;
  mode_t mode;
};

// Creates `path` exclusively (O_EXCL: never follows or replaces an existing file)
// and writes `contents` with `mode`, fsyncing before close.
core::Status WriteNewFile(const PendingFile& f) {
  const int fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        f.mode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return core::Fail(core::AlreadyExists(f.path.string() +
                                            " exists; opsgate init never overwrites files "
                                            "(choose another directory or remove it)"));
    }
    return core::Fail(core::FailedPrecondition("cannot create " + f.path.string() + ": " +
                                               std::strerror(err)));
  }
  size_t done = 0;
  while (done < f.contents.size()) {
    const ssize_t n = ::write(fd, f.contents.data() + done, f.contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return core::Fail(core::FailedPrecondition("cannot write " + f.path.string() + ": " +
                                                 std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return core::Ok();
}

core::Status MakeDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return core::Fail(
        core::FailedPrecondition("cannot create directory " + dir.string() + ": " + ec.message()));
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return core::Fail(core::FailedPrecondition("cannot restrict " + dir.string() +
                                               " to its owner: " + ec.message()));
  }
  return core::Ok();
}

}  // namespace

std::string StarterConfig(const core::Clock& clock) {
  return "# opsgate configuration, written by `opsgate init` on " +
         telemetry::FormatTimestamp(clock.Now()) + R"(.
# Check it with:   opsgate check --config <this file>
# Reload it with:  kill -HUP <pid>   (limits, TLS certificate, log level, metrics token)
# Secrets are references, never literals: env:NAME or file:PATH.
# Relative paths below resolve against data_dir, which resolves against this file's folder.

data_dir: .

server:
  listen: 127.0.0.1:8443
  threads: 2
  drain_timeout: 10s
  tls:
    cert: tls/server.crt      # self-signed development certificate: replace it in production
    key: tls/server.key
    profile: intermediate     # Mozilla intermediate (TLS 1.2+1.3); "modern" is TLS 1.3 only
  limits:
    header_bytes: 8KiB        # larger headers get 431
    body_bytes: 64KiB         # larger bodies get 413 (routes may allow more)
    read_timeout: 10s         # a request must arrive whole within this (else 408)
    idle_timeout: 60s         # keep-alive connections close after this much silence
    write_timeout: 10s
    max_connections: 1024     # more concurrent connections get 503
  # metrics_token: env:OPSGATE_METRICS_TOKEN   # require "Authorization: Bearer ..." on /metrics

store:
  driver: sqlite
  path: opsgate.db

log:
  level: info

# Outbound HTTPS (replies to Slack, later AWS and others): TLS always verified, proxies
# from https_proxy / no_proxy.
# outbound:
#   ca_file: /etc/opsgate/extra-ca.pem   # trust these CAs instead of the system store

# Plain values may use ${NAME} or ${NAME:-default} (environment variables); secrets
# stay env:NAME / file:PATH references.
connectors:
  # Slack: set up the app with docs/slack.md. With enabled: auto the connector is on
  # when OPSGATE_SLACK_SIGNING_SECRET is set, and off (with a warning) otherwise.
  slack:
    enabled: auto
    signing_secret: env:OPSGATE_SLACK_SIGNING_SECRET   # Basic Information > Signing Secret
    bot_token: env:OPSGATE_SLACK_BOT_TOKEN             # xoxb-..., for mentions and DMs
    api_url: ${OPSGATE_SLACK_API_URL:-https://slack.com/api}
    team_ids: ${OPSGATE_SLACK_TEAM_IDS:-}              # comma-separated; empty refuses all
    command: /ops                 # the slash command registered in the app
    replay_window: 5m             # Slack's timestamp tolerance; also the replay memory
    body_bytes: 256KiB            # larger Slack requests get 413

# Who may do what from chat (docs/policy.md). Without policy.file only the built-in
# commands (help, whoami, ping, link, unlink) are allowed.
#   opsgate policy test policy-tests.yaml                 # the expected decisions
#   opsgate policy explain --config <this file> --principal sam --group security \
#       --action waf:BlockIp --resource opsgate:waf/ip/203.0.113.7 --channel C0SEC --mfa-age 5m
policy:
  file: policy.yaml
  # approvals:
  #   ttl: 1h                     # an unapproved request expires after this (1m..24h)
  #   approver_mfa_max_age: 15m   # approvers need MFA at most this old (1m..24h)
  #   slack_channel: C0APPROVALS  # where approval requests go; default: the request's channel

# What people can ask for in chat: intents with sample utterances, typed slots,
# confirmations and the action each maps to (docs/intents-catalogue.md). Without
# intents.file the built-in default catalogue is used; intents.yaml starts as a copy of it.
intents:
  file: intents.yaml

# AWS actions (docs/aws.md). Credentials, region and endpoints come from the environment
# as for the AWS CLI (AWS_PROFILE, AWS_ACCESS_KEY_ID, web identity, instance roles;
# AWS_REGION; AWS_ENDPOINT_URL). Every call runs under a session opsgate assumes for it,
# narrowed to that one action on that one resource; map actions to the roles to assume.
# AWS stays off until a role is mapped.
# aws:
#   region: eu-west-1
#   roles:
#     "ec2:*": arn:aws:iam::111111111111:role/opsgate-ec2
#     "autoscaling:*": arn:aws:iam::111111111111:role/opsgate-scaling
#     "wafv2:*": arn:aws:iam::111111111111:role/opsgate-waf
#     "cloudwatch:*": arn:aws:iam::111111111111:role/opsgate-read
#   waf:
#     ip_set: {name: blocked-ips, id: a1b2c3d4-5678-90ab-cdef-EXAMPLE11111}
#   resize_timeout: 15m   # how long a resize waits for the instance to stop
#   workers: 4            # AWS actions at once; up to `queue` more wait, then "busy"
#   queue: 64
)";
}

std::string StarterPolicy() {
  return R"(# opsgate policy, written by `opsgate init`. The language: docs/policy.md.
#
# Deny by default: what no statement allows is refused, and a deny beats any allow.
# Groups (ops, ops-leads, security) come from the identity provider or local accounts.
#   opsgate check --config opsgate.yaml         # parses this file, warns about risky statements
#   opsgate policy test policy-tests.yaml       # the expected decisions; keep them passing
#   opsgate policy explain --policy policy.yaml --principal alice --group ops \
#       --action autoscaling:SetDesiredCapacity --channel C0OPS   # -> needs_approval, exit 3
version: 1
statements:
  # Nobody terminates instances from chat, whatever else allows it.
  - id: deny-terminate
    effect: deny
    principals: {users: ["*"]}
    actions: ["ec2:Terminate*"]
    resources: ["*"]

  # The built-in commands, for everyone, also in direct messages.
  - id: builtin-commands
    effect: allow
    principals: {users: ["*"]}
    actions: ["opsgate:Help", "opsgate:WhoAmI", "opsgate:Ping", "opsgate:Link", "opsgate:Unlink"]
    resources: ["*"]
    conditions: {allow_dm: true}

  # Looking is harmless: anyone may list instances and alarms, also in DMs.
  - id: read-only
    effect: allow
    principals: {users: ["*"]}
    actions: ["ec2:Describe*", "cloudwatch:DescribeAlarms"]
    resources: ["*"]
    conditions: {allow_dm: true}

  # Ops start, stop and reboot instances from a channel (not a DM), with MFA at most
  # 15 minutes old, at most 10 per hour each and 30 per hour in total.
  # To restrict to some channels add `channels: [C0OPS]` (and `platforms: [slack]`).
  - id: ops-ec2-power
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"]
    resources: ["arn:aws:ec2:*:*:instance/*"]
    conditions:
      mfa_max_age: 15m
      rate_caps:
        per_principal: {max: 10, window: 1h}
        total: {max: 30, window: 1h}
    session_duration: 15m

  # Resizing an instance or scaling a group needs one ops lead's approval (not the
  # requester's own).
  - id: ops-resize-scale
    effect: allow
    principals: {groups: [ops]}
    actions: ["ec2:ModifyInstanceAttribute", "autoscaling:SetDesiredCapacity"]
    resources: ["arn:aws:ec2:*:*:instance/*", "arn:aws:autoscaling:*:*:autoScalingGroup:*"]
    conditions:
      approval: {count: 1, approver_group: ops-leads}
    session_duration: 15m

  # Security blocks and unblocks IP addresses at the WAF, with fresh MFA.
  - id: security-waf
    effect: allow
    principals: {groups: [security]}
    actions: ["waf:BlockIp", "waf:UnblockIp"]
    resources: ["opsgate:waf/ip/*"]
    conditions: {mfa_max_age: 15m}
    session_duration: 15m
)";
}

std::string StarterPolicyTests() {
  return R"(# Expected decisions of policy.yaml, written by `opsgate init`:
#   opsgate policy test policy-tests.yaml
# Exit 0 when every case passes, 1 when one fails. Add a case for every change you make.
# Format: docs/policy.md#policy-tests. Cases run at 2026-01-05T12:00:00Z unless `at` says
# otherwise; `mfa_age` is how long ago the principal last passed MFA.
policy: policy.yaml
cases:
  - name: anyone gets help in a DM
    principal: {user: dana}
    action: opsgate:Help
    dm: true
    expect: allow
    statement: builtin-commands

  - name: anyone links their account in a channel
    principal: {user: dana}
    action: opsgate:Link
    platform: slack
    channel: C0GENERAL
    expect: allow
    statement: builtin-commands

  - name: anyone lists instances
    principal: {user: dana}
    action: ec2:DescribeInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0GENERAL
    expect: allow
    statement: read-only

  - name: anyone lists alarms in a DM
    principal: {user: dana}
    action: cloudwatch:DescribeAlarms
    dm: true
    expect: allow
    statement: read-only

  - name: ops stop an instance with fresh MFA
    principal: {user: alice, groups: [ops], mfa_age: 5m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    platform: slack
    channel: C0OPS
    expect: allow
    statement: ops-ec2-power

  - name: ops without MFA are asked for it
    principal: {user: alice, groups: [ops]}
    action: ec2:RebootInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    expect: needs_mfa
    statement: ops-ec2-power

  - name: ops with stale MFA are asked again
    principal: {user: alice, groups: [ops], mfa_age: 1h}
    action: ec2:StartInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    expect: needs_mfa
    statement: ops-ec2-power

  - name: ops rate cap reached
    principal: {user: alice, groups: [ops], mfa_age: 5m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    uses: {per_principal: 10, total: 12}
    expect: deny
    statement: ops-ec2-power

  - name: ops cannot stop instances from a DM
    principal: {user: alice, groups: [ops], mfa_age: 5m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    dm: true
    expect: deny
    statement: default-deny

  - name: non-ops cannot stop instances
    principal: {user: dana, groups: [devs], mfa_age: 1m}
    action: ec2:StopInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    expect: deny
    statement: default-deny

  - name: nobody terminates, not even ops with MFA
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: ec2:TerminateInstances
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    expect: deny
    statement: deny-terminate

  - name: resizing needs approval
    principal: {user: alice, groups: [ops]}
    action: ec2:ModifyInstanceAttribute
    resource: arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc
    channel: C0OPS
    expect: needs_approval
    statement: ops-resize-scale

  - name: scaling approved by an ops lead
    principal: {user: alice, groups: [ops]}
    action: autoscaling:SetDesiredCapacity
    resource: arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:1234:autoScalingGroupName/web
    channel: C0OPS
    approvals: [{approver: carol, groups: [ops-leads]}]
    expect: allow
    statement: ops-resize-scale

  - name: a lead cannot approve their own request
    principal: {user: carol, groups: [ops, ops-leads]}
    action: autoscaling:SetDesiredCapacity
    resource: arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:1234:autoScalingGroupName/web
    channel: C0OPS
    approvals: [{approver: carol, groups: [ops-leads]}]
    expect: needs_approval
    statement: ops-resize-scale

  - name: approval by someone outside ops-leads does not count
    principal: {user: alice, groups: [ops]}
    action: autoscaling:SetDesiredCapacity
    resource: arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:1234:autoScalingGroupName/web
    channel: C0OPS
    approvals: [{approver: bob, groups: [ops]}]
    expect: needs_approval

  - name: security blocks an IP with fresh MFA
    principal: {user: sam, groups: [security], mfa_age: 2m}
    action: waf:BlockIp
    resource: opsgate:waf/ip/203.0.113.7
    channel: C0SEC
    expect: allow
    statement: security-waf

  - name: security without MFA are asked for it
    principal: {user: sam, groups: [security]}
    action: waf:UnblockIp
    resource: opsgate:waf/ip/203.0.113.7
    channel: C0SEC
    expect: needs_mfa
    statement: security-waf

  - name: ops cannot touch the WAF
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: waf:BlockIp
    resource: opsgate:waf/ip/203.0.113.7
    channel: C0OPS
    expect: deny
    statement: default-deny

  - name: actions nobody was granted are denied
    principal: {user: alice, groups: [ops], mfa_age: 1m}
    action: jira:CreateIssue
    channel: C0OPS
    expect: deny
    statement: default-deny
)";
}

core::Result<InitResult> InitDataDir(const InitOptions& options, const core::Clock& clock) {
  if (options.dir.empty()) {
    return core::Fail(core::InvalidArgument("opsgate init needs a directory"));
  }
  const fs::path dir = fs::absolute(options.dir).lexically_normal();

  auto cert = crypto::GenerateDevCertificate(options.extra_hosts, options.cert_validity_days,
                                             clock.Now());
  if (!cert) {
    return core::Fail(cert.error());
  }
  auto audit_key = crypto::GenerateEd25519KeyPair();
  if (!audit_key) {
    return core::Fail(audit_key.error());
  }
  auto data_key = crypto::GenerateAes256Key();
  if (!data_key) {
    return core::Fail(data_key.error());
  }

  const std::vector<PendingFile> files = {
      {dir / "opsgate.yaml", StarterConfig(clock), 0640},
      {dir / "policy.yaml", StarterPolicy(), 0640},
      {dir / "policy-tests.yaml", StarterPolicyTests(), 0640},
      {dir / "intents.yaml", intents::DefaultCatalogueYaml(), 0640},
      {dir / "tls" / "server.crt", cert->cert_pem, 0644},
      {dir / "tls" / "server.key", std::string(cert->key_pem.Reveal()), 0600},
      {dir / "keys" / "audit-signing.key", std::string(audit_key->private_pem.Reveal()), 0600},
      {dir / "keys" / "audit-signing.pub", audit_key->public_pem, 0644},
      {dir / "keys" / "data.key", crypto::Base64Encode(data_key->Reveal()) + "\n", 0600},
  };

  // Check everything first so that a refusal writes nothing.
  for (const auto& f : files) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(f.path, ec))) {
      return core::Fail(core::AlreadyExists(f.path.string() +
                                            " exists; opsgate init never overwrites files "
                                            "(choose another directory or remove it)"));
    }
  }
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir));
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir / "tls"));
  OPSGATE_RETURN_IF_ERROR(MakeDir(dir / "keys"));

  InitResult result;
  for (const auto& f : files) {
    OPSGATE_RETURN_IF_ERROR(WriteNewFile(f));
    result.files.push_back(f.path.string());
  }
  result.config_path = (dir / "opsgate.yaml").string();
  result.cert_path = (dir / "tls" / "server.crt").string();
  return result;
}

}  // namespace opsgate::app
