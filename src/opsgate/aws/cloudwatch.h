// File: opsgate/aws/cloudwatch.h
//
// A typed CloudWatch client over the Query protocol (docs/aws.md#operations):
// DescribeAlarms for metric and composite alarms in one state, following NextToken,
// through ApiClient (signing name "monitoring", Version 2010-08-01).
//
//   CloudWatchClient cw(api);
//   auto alarms = cw.DescribeAlarms("eu-west-1", session.credentials);   // state ALARM
//   if (!alarms) { return alarms.error(); }
//   reply(SummarizeAlarms(*alarms, "eu-west-1"));
//
// Every call takes the region ("" = AWS_REGION / AWS_DEFAULT_REGION) and the credentials
// of the caller's scoped session.
//
// Errors (ApiError):
//   kInvalidArgument  a state other than "", "OK", "ALARM" or "INSUFFICIENT_DATA", or
//                     max_alarms 0: no request is sent; AWS's InvalidNextToken, ...
//   kDataLoss         a 200 answer without DescribeAlarmsResult, an alarm without a name,
//                     or a repeated NextToken
//   others            as mapped by ApiClient (permission, authentication, throttling)
//
// Thread-safety: no mutable state; as safe as the ApiClient it wraps.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

inline constexpr std::string_view kCloudWatchVersion = "2010-08-01";

struct Alarm {
  std::string name;
  // StateValue: "OK", "ALARM", "INSUFFICIENT_DATA".
  std::string state;
  std::string reason;
  // Metric alarms only ("" for composite alarms).
  std::string metric;
  std::string namespace_;
  // StateUpdatedTimestamp as AWS gives it.
  std::string updated;
  bool composite = false;
};

struct AlarmList {
  // Metric alarms first, then composite alarms, page by page.
  std::vector<Alarm> alarms;
  // More alarms matched than max_alarms (or the page cap was reached).
  bool truncated = false;
  // The state asked for ("" = any).
  std::string state;
  // Requests made.
  int pages = 0;
};

// One DescribeAlarms answer.
struct DescribeAlarmsPage {
  std::vector<Alarm> alarms;
  // "" on the last page.
  std::string next_token;
};

// At most this many DescribeAlarms requests per call.
inline constexpr int kMaxDescribeAlarmsPages = 50;

class CloudWatchClient {
 public:
  // `api` must outlive the client.
  explicit CloudWatchClient(const ApiClient& api) : api_(api) {}

  // DescribeAlarms with StateValue=`state` (omitted when ""), AlarmTypes.member.1 =
  // MetricAlarm and .2 = CompositeAlarm, following NextToken until the last page or
  // `max_alarms` alarms (then truncated = true).
  [[nodiscard]] ApiResult<AlarmList> DescribeAlarms(std::string_view region,
                                                    const Credentials& credentials,
                                                    std::string state = "ALARM",
                                                    size_t max_alarms = 100) const;

 private:
  const ApiClient& api_;
};

// "No alarms in ALARM state in eu-west-1." when empty; else a heading and one line per
// alarm: "web-5xx ALARM AWS/ApplicationELB HTTPCode_Target_5XX_Count since
// 2026-01-01T10:00:00.000Z: Threshold Crossed: ..." (reasons cut at 200 characters), and
// "… and more (showing first N)" when truncated.
std::string SummarizeAlarms(const AlarmList& list, std::string_view region);

// ---- Pieces exposed for tests ----------------------------------------------------------

// A DescribeAlarmsResponse body; kDataLoss when it is not one.
core::Result<DescribeAlarmsPage> ParseDescribeAlarms(std::string_view body);

}  // namespace opsgate::aws
