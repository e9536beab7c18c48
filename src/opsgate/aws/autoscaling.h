// File: opsgate/aws/autoscaling.h
//
// A typed EC2 Auto Scaling client over the Query protocol (docs/aws.md#operations):
// DescribeAutoScalingGroups for one group and SetDesiredCapacity, each one signed call
// through ApiClient (service "autoscaling", Version 2011-01-01).
//
//   AutoScalingClient asg(api);
//   auto group = asg.DescribeGroup("eu-west-1", session.credentials, "web");
//   if (!group) { return group.error(); }
//   if (auto why = CheckCapacity(*group, 7); !why.empty()) { reply(why); return; }
//   auto set = asg.SetDesiredCapacity("eu-west-1", session.credentials, "web", 7);
//
// Every call takes the region ("" = AWS_REGION / AWS_DEFAULT_REGION) and the credentials
// of the caller's scoped session.
//
// Errors (ApiError):
//   kInvalidArgument     a group name that is empty, longer than 255 characters or has
//                        control characters, or a negative capacity: no request is sent;
//                        AWS's ValidationError (e.g. desired capacity outside [min, max])
//   kNotFound            DescribeGroup: AWS lists no such group (code "", names the group)
//   kDataLoss            a 200 answer without the expected elements
//   others               as mapped by ApiClient (ScalingActivityInProgress is
//                        kFailedPrecondition, throttling kUnavailable, ...)
//
// Thread-safety: no mutable state; as safe as the ApiClient it wraps.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

inline constexpr std::string_view kAutoScalingVersion = "2011-01-01";

struct AutoScalingGroup {
  std::string name;
  std::string arn;
  int min_size = 0;
  int max_size = 0;
  int desired_capacity = 0;
  // The number of Instances members.
  int instances = 0;
  std::vector<std::string> instance_ids;
};

// What SetDesiredCapacity asked for (AWS's answer carries only a request id).
struct CapacityChange {
  std::string group;
  int desired = 0;
  std::string request_id;
};

class AutoScalingClient {
 public:
  // `api` must outlive the client.
  explicit AutoScalingClient(const ApiClient& api) : api_(api) {}

  // DescribeAutoScalingGroups with AutoScalingGroupNames.member.1 = `name`.
  [[nodiscard]] ApiResult<AutoScalingGroup> DescribeGroup(std::string_view region,
                                                          const Credentials& credentials,
                                                          std::string_view name) const;

  // SetDesiredCapacity (AutoScalingGroupName, DesiredCapacity, HonorCooldown).
  [[nodiscard]] ApiResult<CapacityChange> SetDesiredCapacity(std::string_view region,
                                                             const Credentials& credentials,
                                                             std::string_view name, int desired,
                                                             bool honor_cooldown = false) const;

 private:
  const ApiClient& api_;
};

// "" when min_size <= desired <= max_size; otherwise a message naming the group and the
// allowed range: "desired capacity 7 is outside web's range 1..5".
std::string CheckCapacity(const AutoScalingGroup& group, int desired);

// ---- Pieces exposed for tests ----------------------------------------------------------

// The groups of a DescribeAutoScalingGroupsResponse; kDataLoss when it is not one.
core::Result<std::vector<AutoScalingGroup>> ParseDescribeAutoScalingGroups(std::string_view body);

// kInvalidArgument unless `name` is 1..255 characters without control characters.
core::Status ValidateGroupName(std::string_view name);

}  // namespace opsgate::aws
