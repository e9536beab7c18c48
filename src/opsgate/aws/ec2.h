// File: opsgate/aws/ec2.h
//
// A typed EC2 client over the EC2 Query protocol (docs/aws.md#operations): the few
// operations the chat commands need, each one signed call through ApiClient (service
// "ec2", Version 2016-11-15), plus a bounded waiter and a chat summary.
//
//   Ec2Client ec2(api);
//   auto found = ec2.DescribeInstances("eu-west-1", session.credentials,
//                                      {.name_tag = "web-1", .states = {"running"}});
//   if (!found) { return found.error(); }          // ApiError: .error, .code, .request_id
//   reply(SummarizeInstances(*found));
//   auto change = ec2.StopInstance("eu-west-1", session.credentials, "i-0abc1234");
//   // change->previous == "running", change->current == "stopping"
//   auto state = WaitForInstanceState(ec2, "eu-west-1", renew_session, "i-0abc1234",
//                                     "stopped", {.sleep = sleeper});
//
// Every call takes the region ("" = AWS_REGION / AWS_DEFAULT_REGION) and the credentials
// of the caller's scoped session, so one client serves every session.
//
// Errors (ApiError; `code` is AWS's code when AWS answered):
//   kInvalidArgument     an instance id (i- and 8 or 17 lower-case hex digits), instance
//                        type or query that fails local validation: no request is sent;
//                        AWS's Invalid* codes
//   kNotFound            InvalidInstanceID.NotFound; WaitForInstanceState: the instance
//                        is not listed any more
//   kFailedPrecondition  IncorrectInstanceState; WaitForInstanceState: the instance
//                        reached "shutting-down"/"terminated" while waiting for another state
//   kDeadlineExceeded    WaitForInstanceState ran out of time (names instance, target and
//                        the last state seen)
//   kDataLoss            a 200 answer without the expected elements
//   others               as mapped by ApiClient (permission, authentication, throttling)
// Messages name the operation and the instance, never credentials.
//
// Thread-safety: Ec2Client has no mutable state; as safe as the ApiClient it wraps.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

inline constexpr std::string_view kEc2Version = "2016-11-15";

struct Ec2Instance {
  std::string id;
  // instanceState/name: "pending", "running", "stopping", "stopped", "shutting-down",
  // "terminated".
  std::string state;
  std::string type;
  // The value of the Name tag, "" when none.
  std::string name;
  std::string private_ip;
  std::string public_ip;
  std::string availability_zone;
  // As AWS gives it: "2012-10-16T20:00:13.000Z".
  std::string launch_time;
  // (key, value) in document order.
  std::vector<std::pair<std::string, std::string>> tags;
};

struct DescribeInstancesQuery {
  // InstanceId.N; each must pass ValidateInstanceId.
  std::vector<std::string> instance_ids;
  // "" for none; otherwise a tag:Name filter with this exact value.
  std::string name_tag;
  // An instance-state-name filter ("running", "stopped", ...); empty for any state.
  std::vector<std::string> states;
  // MaxResults per page: 0 omits it, else 5..1000. AWS refuses it together with
  // instance_ids, so that combination is refused locally.
  int page_size = 0;
  // Stop after this many instances (>= 1); the result is then marked truncated.
  size_t max_instances = 200;
};

struct DescribeInstancesResult {
  std::vector<Ec2Instance> instances;
  // More instances matched than were collected (max_instances or the page cap reached).
  bool truncated = false;
  // Requests made.
  int pages = 0;
};

// One DescribeInstances answer.
struct DescribeInstancesPage {
  std::vector<Ec2Instance> instances;
  // "" on the last page.
  std::string next_token;
};

// One instancesSet item of StartInstances / StopInstances.
struct StateChange {
  std::string instance_id;
  std::string previous;
  std::string current;
};

// At most this many DescribeInstances requests per call (guards a NextToken loop).
inline constexpr int kMaxDescribeInstancesPages = 100;
// Consecutive polls of WaitForInstanceState that may fail with NotFound or kUnavailable
// (eventual consistency, a passing outage) before the wait gives up.
inline constexpr int kMaxTransientPollFailures = 2;

class Ec2Client {
 public:
  // `api` must outlive the client.
  explicit Ec2Client(const ApiClient& api) : api_(api) {}

  // Follows NextToken until the last page or max_instances (then truncated = true).
  [[nodiscard]] ApiResult<DescribeInstancesResult> DescribeInstances(
      std::string_view region, const Credentials& credentials,
      const DescribeInstancesQuery& query) const;

  // The one instance `id`; kNotFound when AWS lists none.
  [[nodiscard]] ApiResult<Ec2Instance> DescribeInstance(std::string_view region,
                                                        const Credentials& credentials,
                                                        std::string_view id) const;

  [[nodiscard]] ApiResult<StateChange> StartInstance(std::string_view region,
                                                     const Credentials& credentials,
                                                     std::string_view id) const;
  // `force`: Force=true (no clean shutdown).
  [[nodiscard]] ApiResult<StateChange> StopInstance(std::string_view region,
                                                    const Credentials& credentials,
                                                    std::string_view id, bool force = false) const;
  [[nodiscard]] ApiResult<void> RebootInstance(std::string_view region,
                                               const Credentials& credentials,
                                               std::string_view id) const;
  // ModifyInstanceAttribute InstanceType.Value=`type` (the instance must be stopped, else
  // AWS answers IncorrectInstanceState).
  [[nodiscard]] ApiResult<void> ModifyInstanceType(std::string_view region,
                                                   const Credentials& credentials,
                                                   std::string_view id,
                                                   std::string_view type) const;

 private:
  const ApiClient& api_;
};

struct WaitOptions {
  // Give up once the sleeps add up to this much.
  std::chrono::seconds timeout{600};
  // The wait before the first poll; doubled after each poll up to max_delay.
  std::chrono::milliseconds first_delay{2000};
  std::chrono::milliseconds max_delay{15000};
  // REQUIRED: waits the given time (tests record instead).
  std::function<void(std::chrono::milliseconds)> sleep;
  // Optional: called after each poll with the state seen and the time waited so far.
  std::function<void(std::string_view state, std::chrono::seconds waited)> progress;
};

// Polls DescribeInstance until `id` is in `target_state` and returns that state. Sleeps
// first_delay, polls, doubles the delay (capped at max_delay), ...; elapsed time is the
// sum of the sleeps (the last sleep is shortened to end at the timeout). `credentials` is
// asked before each poll (the session may have been renewed); its error is returned as is.
// kDeadlineExceeded on time-out; kFailedPrecondition when the instance reaches
// "shutting-down" or "terminated" and the target is neither; kNotFound when AWS no
// longer lists the instance; kInvalidArgument for a bad id, a target that is not an
// instance state, a missing sleep or credentials source, or 0 >= first_delay > max_delay.
// Other poll errors (after ApiClient's retries) end the wait and are returned as is.
[[nodiscard]] ApiResult<std::string> WaitForInstanceState(
    const Ec2Client& ec2, std::string_view region,
    const std::function<ApiResult<Credentials>()>& credentials, std::string_view id,
    std::string target_state, const WaitOptions& options);

// One line per instance, "i-0abc1234 (web-1) running t3.micro 10.0.0.5 eu-west-1a"
// (missing fields left out), "No instances matched." when empty, and a final
// "… and more (showing first N)" line when truncated.
std::string SummarizeInstances(const DescribeInstancesResult& result);

// ---- Pieces exposed for tests ----------------------------------------------------------

// kInvalidArgument unless `id` is "i-" and 8 or 17 lower-case hex digits.
core::Status ValidateInstanceId(std::string_view id);
// kInvalidArgument unless `type` is "family.size" of lower-case letters, digits, '-' and
// '.', at most 64 characters ("t3.micro", "u-6tb1.metal").
core::Status ValidateInstanceType(std::string_view type);

// A DescribeInstancesResponse body; kDataLoss when it is not one.
core::Result<DescribeInstancesPage> ParseDescribeInstances(std::string_view body);
// The first instancesSet item of a StartInstancesResponse / StopInstancesResponse
// (`operation` is "StartInstances" or "StopInstances"); kDataLoss when missing.
core::Result<StateChange> ParseStateChange(std::string_view body, std::string_view operation);

}  // namespace opsgate::aws
