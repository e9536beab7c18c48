// File: opsgate/ops/aws_actions.h
//
// The executors that carry out allowed AWS actions (docs/aws.md#actions): the intents
// ec2.describe/start/stop/reboot/resize, asg.scale, waf.block_ip/unblock_ip and
// alarms.status end as AWS API calls here, each made under its own scoped session
// (session_broker.h): the role config maps to that API action, an inline policy allowing
// only that action on that one resource, named after the principal.
//
//   AwsActions actions(broker, api, options, log);
//   actions.RegisterWith(dispatcher);   // "ec2:StopInstances" -> the stop executor, ...
//
// Calls per action (each line one session, scoped to exactly that call):
//   ec2:DescribeInstances         DescribeInstances on "*" (AWS has no resource-level
//                                 permission for it), by id, Name tag or state
//   ec2:Start/Stop/RebootInstances  the call on the instance ARN (its answer has the
//                                 state before and after; reboot: a describe first)
//   ec2:ModifyInstanceAttribute   describe; StopInstances; DescribeInstances polled with
//   (resize)                      back-off until stopped (progress told to the asker);
//                                 ModifyInstanceAttribute InstanceType; StartInstances
//                                 if it was running
//   autoscaling:SetDesiredCapacity  DescribeAutoScalingGroups ("*"), then
//                                 SetDesiredCapacity on the group's ARN, then describe
//   waf:BlockIp / waf:UnblockIp   wafv2:GetIPSet and wafv2:UpdateIPSet on the configured
//                                 IP set's ARN, with its LockToken (re-read and retried
//                                 on WAFOptimisticLockException)
//   cloudwatch:DescribeAlarms     DescribeAlarms in state ALARM, on "*" (a listing)
//
// Every executor is slow (Executor::Slow): the dispatcher runs it on its worker pool.
// AWS errors become answers a person can act on (AwsErrorReply); the outcome record
// gets the role session ARN(s) and the result. No secret key, session token or signature
// reaches a reply, a log line or the audit record.
//
// Thread-safety: the executors are safe to run concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/session_broker.h"
#include "opsgate/aws/wafv2.h"
#include "opsgate/pipeline/dispatcher.h"
#include "opsgate/pipeline/executor.h"
#include "opsgate/policy/policy.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::ops {

// aws.roles: which role an API action runs under. The most specific pattern wins: the
// exact action name, then the longest matching pattern ('*' and '?' globs).
class RoleMap {
 public:
  RoleMap() = default;
  // (action pattern, role ARN) pairs; patterns as the loader checks them ("*" or
  // "service:Operation" with '*'/'?'), matched as IAM does (ASCII case-insensitive).
  explicit RoleMap(std::vector<std::pair<std::string, std::string>> roles);
  // The role ARN for "ec2:StopInstances", or nullopt when no pattern matches.
  std::optional<std::string> RoleFor(std::string_view api_action) const;
  bool empty() const { return roles_.empty(); }
  // The account id in a role ARN ("arn:aws:iam::111111111111:role/x" -> "111111111111").
  static std::string AccountOf(std::string_view role_arn);

 private:
  struct Entry {
    policy::ActionPattern pattern;
    std::string role_arn;
  };
  std::vector<Entry> roles_;
};

struct AwsActionsOptions {
  // Commands that name no region; "" = AWS_REGION / AWS_DEFAULT_REGION.
  std::string region;
  // The account in resource ARNs; "" = the account of the role the action maps to.
  std::string account;
  RoleMap roles;
  std::optional<aws::IpSetRef> waf_ipv4;
  std::optional<aws::IpSetRef> waf_ipv6;
  std::chrono::seconds resize_timeout{900};
  // Polling of a stopping instance: first wait, doubled up to max.
  std::chrono::milliseconds poll_first_delay{2000};
  std::chrono::milliseconds poll_max_delay{15000};
  // Waits between polls; tests record instead of sleeping. Default: sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // At most one progress message per this much waiting (the first is always sent).
  std::chrono::seconds progress_every{30};
  // opsgate_aws_actions_total{action,result} and
  // opsgate_aws_action_duration_seconds{action}; null: not counted.
  telemetry::MetricsRegistry* metrics = nullptr;
};

class AwsActions {
 public:
  // `broker`, `api` and `log` must outlive this object and the dispatcher it registers with.
  AwsActions(aws::SessionBroker& broker, const aws::ApiClient& api, AwsActionsOptions options,
             telemetry::Logger& log);
  ~AwsActions();
  AwsActions(const AwsActions&) = delete;
  AwsActions& operator=(const AwsActions&) = delete;

  // Registers an executor for each action in Actions().
  void RegisterWith(pipeline::Dispatcher& dispatcher);
  // The executor for one of Actions(); null for any other action.
  pipeline::Executor* ExecutorFor(std::string_view action) const;

  // The policy actions handled: "ec2:DescribeInstances", ..., "waf:BlockIp", ...
  static const std::vector<std::string_view>& Actions();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::vector<std::unique_ptr<pipeline::Executor>> executors_;
};

// The chat answer for an AWS error in `what` ("stop i-0abc1234"), with what to do.
// `decoded_refusal`: for UnauthorizedOperation, what sts:DecodeAuthorizationMessage said
// was missing (DescribeDecodedAuthorization), when it could be decoded.
std::string AwsErrorText(const aws::ApiError& error, std::string_view what,
                         std::string_view decoded_refusal = {});

}  // namespace opsgate::ops
