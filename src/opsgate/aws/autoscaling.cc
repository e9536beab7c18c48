#include "opsgate/aws/autoscaling.h"

#include <charconv>

#include "opsgate/aws/query.h"
#include "opsgate/aws/xml.h"

namespace opsgate::aws {
namespace {

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

template <class T>
ApiResult<T> Local(core::Error e) {
  return tl::unexpected(LocalApiError(std::move(e)));
}

core::Result<XmlElement> ParseRoot(std::string_view body, std::string_view operation) {
  return ParseResponseDocument(body, "autoscaling", operation);
}

bool ParseInt(std::string_view s, int& out) {
  s = Trim(s);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

core::Status ValidateGroupName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 255;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    ok = ok && u >= 0x20 && u != 0x7f;
  }
  if (!ok) {
    return core::Fail(core::InvalidArgument(
        "'" + std::string(name.substr(0, 64)) + (name.size() > 64 ? "...'" : "'") +
        " is not an Auto Scaling group name (1..255 characters, no control characters)"));
  }
  return core::Ok();
}

core::Result<std::vector<AutoScalingGroup>> ParseDescribeAutoScalingGroups(std::string_view body) {
  constexpr std::string_view kWhere = "autoscaling DescribeAutoScalingGroups response: ";
  auto doc = ParseRoot(body, "DescribeAutoScalingGroups");
  if (!doc) {
    return core::Fail(std::move(doc.error()));
  }
  const XmlElement* groups = doc->Find("DescribeAutoScalingGroupsResult/AutoScalingGroups");
  if (groups == nullptr) {
    return core::Fail(core::DataLoss(
        std::string(kWhere) + "no DescribeAutoScalingGroupsResult/AutoScalingGroups element"));
  }
  std::vector<AutoScalingGroup> out;
  for (const XmlElement* m : groups->Children("member")) {
    AutoScalingGroup g;
    g.name = std::string(Trim(m->ChildText("AutoScalingGroupName")));
    g.arn = std::string(Trim(m->ChildText("AutoScalingGroupARN")));
    if (g.name.empty()) {
      return core::Fail(
          core::DataLoss(std::string(kWhere) + "a group has no AutoScalingGroupName"));
    }
    if (!ParseInt(m->ChildText("MinSize"), g.min_size) ||
        !ParseInt(m->ChildText("MaxSize"), g.max_size) ||
        !ParseInt(m->ChildText("DesiredCapacity"), g.desired_capacity)) {
      return core::Fail(core::DataLoss(std::string(kWhere) + "group " + g.name +
                                       " lacks a numeric MinSize, MaxSize or DesiredCapacity"));
    }
    if (const XmlElement* instances = m->Child("Instances")) {
      for (const XmlElement* i : instances->Children("member")) {
        ++g.instances;
        if (auto id = Trim(i->ChildText("InstanceId")); !id.empty()) {
          g.instance_ids.emplace_back(id);
        }
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

ApiResult<AutoScalingGroup> AutoScalingClient::DescribeGroup(std::string_view region,
                                                             const Credentials& credentials,
                                                             std::string_view name) const {
  if (auto ok = ValidateGroupName(name); !ok) {
    return Local<AutoScalingGroup>(
        core::InvalidArgument("autoscaling DescribeAutoScalingGroups: " + ok.error().message));
  }
  QueryParams params;
  params.Add("AutoScalingGroupNames", QueryValue::StringList({std::string(name)}));
  auto body = api_.Call(
      ApiCall::Query("autoscaling", std::string(region), "DescribeAutoScalingGroups",
                     EncodeQuery("DescribeAutoScalingGroups", kAutoScalingVersion, params)),
      credentials);
  if (!body) {
    return tl::unexpected(std::move(body.error()));
  }
  auto groups = ParseDescribeAutoScalingGroups(*body);
  if (!groups) {
    return Local<AutoScalingGroup>(std::move(groups.error()));
  }
  for (auto& g : *groups) {
    if (g.name == name) {
      return std::move(g);
    }
  }
  return Local<AutoScalingGroup>(core::NotFound("autoscaling DescribeAutoScalingGroups: group '" +
                                                std::string(name) + "' not found"));
}

ApiResult<CapacityChange> AutoScalingClient::SetDesiredCapacity(std::string_view region,
                                                                const Credentials& credentials,
                                                                std::string_view name, int desired,
                                                                bool honor_cooldown) const {
  if (auto ok = ValidateGroupName(name); !ok) {
    return Local<CapacityChange>(
        core::InvalidArgument("autoscaling SetDesiredCapacity: " + ok.error().message));
  }
  if (desired < 0) {
    return Local<CapacityChange>(core::InvalidArgument(
        "autoscaling SetDesiredCapacity: desired capacity must not be negative, got " +
        std::to_string(desired)));
  }
  QueryParams params;
  params.Add("AutoScalingGroupName", std::string(name));
  params.Add("DesiredCapacity", QueryValue::Int(desired));
  params.Add("HonorCooldown", QueryValue::Bool(honor_cooldown));
  auto body =
      api_.Call(ApiCall::Query("autoscaling", std::string(region), "SetDesiredCapacity",
                               EncodeQuery("SetDesiredCapacity", kAutoScalingVersion, params)),
                credentials);
  if (!body) {
    return tl::unexpected(std::move(body.error()));
  }
  auto doc = ParseRoot(*body, "SetDesiredCapacity");
  if (!doc) {
    return Local<CapacityChange>(std::move(doc.error()));
  }
  CapacityChange out;
  out.group = std::string(name);
  out.desired = desired;
  out.request_id = std::string(Trim(doc->ChildText("ResponseMetadata/RequestId")));
  return out;
}

std::string CheckCapacity(const AutoScalingGroup& group, int desired) {
  if (desired >= group.min_size && desired <= group.max_size) {
    return "";
  }
  return "desired capacity " + std::to_string(desired) + " is outside " + group.name + "'s range " +
         std::to_string(group.min_size) + ".." + std::to_string(group.max_size);
}

}  // namespace opsgate::aws
