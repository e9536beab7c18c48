#include "opsgate/aws/cloudwatch.h"

#include <set>

#include "opsgate/aws/query.h"
#include "opsgate/aws/xml.h"

namespace opsgate::aws {
namespace {

constexpr std::string_view kWhere = "monitoring DescribeAlarms";

std::string Text(const XmlElement& e, std::string_view path) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::string_view s = e.ChildText(path);
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) {
    return {};
  }
  return std::string(s.substr(b, s.find_last_not_of(kSpace) - b + 1));
}

template <class T>
ApiResult<T> Local(core::Error e) {
  return tl::unexpected(LocalApiError(std::move(e)));
}

}  // namespace

core::Result<DescribeAlarmsPage> ParseDescribeAlarms(std::string_view body) {
  const std::string where = std::string(kWhere) + " response: ";
  auto doc = ParseResponseDocument(body, "monitoring", "DescribeAlarms");
  if (!doc) {
    return core::Fail(doc.error());
  }
  const XmlElement* result = doc->Child("DescribeAlarmsResult");
  if (result == nullptr) {
    return core::Fail(core::DataLoss(where + "no DescribeAlarmsResult element"));
  }
  DescribeAlarmsPage page;
  page.next_token = Text(*result, "NextToken");
  for (const bool composite : {false, true}) {
    const XmlElement* list = result->Child(composite ? "CompositeAlarms" : "MetricAlarms");
    if (list == nullptr) {
      continue;
    }
    for (const XmlElement* m : list->Children("member")) {
      Alarm a;
      a.composite = composite;
      a.name = Text(*m, "AlarmName");
      if (a.name.empty()) {
        return core::Fail(core::DataLoss(where + "an alarm has no AlarmName"));
      }
      a.state = Text(*m, "StateValue");
      a.reason = Text(*m, "StateReason");
      a.metric = Text(*m, "MetricName");
      a.namespace_ = Text(*m, "Namespace");
      a.updated = Text(*m, "StateUpdatedTimestamp");
      page.alarms.push_back(std::move(a));
    }
  }
  return page;
}

ApiResult<AlarmList> CloudWatchClient::DescribeAlarms(std::string_view region,
                                                      const Credentials& credentials,
                                                      std::string state, size_t max_alarms) const {
  if (!state.empty() && state != "OK" && state != "ALARM" && state != "INSUFFICIENT_DATA") {
    return Local<AlarmList>(core::InvalidArgument(std::string(kWhere) + ": unknown alarm state '" +
                                                  state.substr(0, 40) +
                                                  "' (OK, ALARM or INSUFFICIENT_DATA)"));
  }
  if (max_alarms == 0) {
    return Local<AlarmList>(
        core::InvalidArgument(std::string(kWhere) + ": max_alarms must be at least 1"));
  }
  QueryParams base;
  if (!state.empty()) {
    base.Add("StateValue", state);
  }
  base.Add("AlarmTypes", QueryValue::StringList({"MetricAlarm", "CompositeAlarm"}));

  AlarmList out;
  out.state = state;
  std::string token;
  std::set<std::string> seen;
  while (true) {
    QueryParams params = base;
    if (!token.empty()) {
      params.Add("NextToken", token);
    }
    auto body = api_.Call(ApiCall::Query("monitoring", std::string(region), "DescribeAlarms",
                                         EncodeQuery("DescribeAlarms", kCloudWatchVersion, params)),
                          credentials);
    ++out.pages;
    if (!body) {
      return tl::unexpected(std::move(body.error()));
    }
    auto page = ParseDescribeAlarms(*body);
    if (!page) {
      return Local<AlarmList>(std::move(page.error()));
    }
    for (auto& a : page->alarms) {
      if (out.alarms.size() >= max_alarms) {
        out.truncated = true;
        break;
      }
      out.alarms.push_back(std::move(a));
    }
    if (page->next_token.empty()) {
      break;
    }
    if (out.alarms.size() >= max_alarms || out.pages >= kMaxDescribeAlarmsPages) {
      out.truncated = true;
      break;
    }
    if (!seen.insert(page->next_token).second) {
      return Local<AlarmList>(core::DataLoss(std::string(kWhere) +
                                             ": AWS repeated a NextToken (page " +
                                             std::to_string(out.pages) + ")"));
    }
    token = std::move(page->next_token);
  }
  return out;
}

std::string SummarizeAlarms(const AlarmList& list, std::string_view region) {
  const std::string state = list.state.empty() ? "any" : list.state;
  const std::string where = region.empty() ? "the default region" : std::string(region);
  if (list.alarms.empty()) {
    return "No alarms in " + state + " state in " + where + ".";
  }
  std::string out = std::to_string(list.alarms.size()) +
                    (list.alarms.size() == 1 ? " alarm" : " alarms") + " in " + state +
                    " state in " + where + ":";
  for (const auto& a : list.alarms) {
    out += "\n" + a.name + " " + a.state;
    if (a.composite) {
      out += " (composite)";
    } else if (!a.namespace_.empty() || !a.metric.empty()) {
      out += " " + a.namespace_ + (a.namespace_.empty() ? "" : " ") + a.metric;
    }
    if (!a.updated.empty()) {
      out += " since " + a.updated;
    }
    if (!a.reason.empty()) {
      out += ": " + (a.reason.size() > 200 ? a.reason.substr(0, 200) + "…" : a.reason);
    }
  }
  if (list.truncated) {
    out += "\n… and more (showing first " + std::to_string(list.alarms.size()) + ")";
  }
  return out;
}

}  // namespace opsgate::aws
