#include "opsgate/aws/ec2.h"

#include <algorithm>
#include <set>

#include "opsgate/aws/query.h"
#include "opsgate/aws/xml.h"

namespace opsgate::aws {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Text(const XmlElement& e, std::string_view path) {
  return std::string(Trim(e.ChildText(path)));
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

const std::set<std::string, std::less<>>& KnownStates() {
  static const std::set<std::string, std::less<>> k = {"pending",    "running",  "shutting-down",
                                                       "terminated", "stopping", "stopped"};
  return k;
}

core::Result<XmlElement> ParseRoot(std::string_view body, std::string_view operation) {
  return ParseResponseDocument(body, "ec2", operation);
}

template <class T>
ApiResult<T> Local(core::Error e) {
  return tl::unexpected(LocalApiError(std::move(e)));
}

ApiResult<std::string> Send(const ApiClient& api, std::string_view region,
                            const Credentials& credentials, std::string_view operation,
                            const QueryParams& params) {
  return api.Call(ApiCall::Query("ec2", std::string(region), std::string(operation),
                                 EncodeQuery(operation, kEc2Version, params)),
                  credentials);
}

ApiResult<StateChange> ChangeState(const ApiClient& api, std::string_view region,
                                   const Credentials& credentials, std::string_view operation,
                                   std::string_view id, bool force) {
  if (auto ok = ValidateInstanceId(id); !ok) {
    return Local<StateChange>(
        core::InvalidArgument("ec2 " + std::string(operation) + ": " + ok.error().message));
  }
  QueryParams params;
  params.protocol = QueryProtocol::kEc2;
  params.Add("InstanceId", QueryValue::StringList({std::string(id)}));
  if (force) {
    params.Add("Force", QueryValue::Bool(true));
  }
  auto body = Send(api, region, credentials, operation, params);
  if (!body) {
    return tl::unexpected(std::move(body.error()));
  }
  auto change = ParseStateChange(*body, operation);
  if (!change) {
    return Local<StateChange>(std::move(change.error()));
  }
  if (change->instance_id != id) {
    return Local<StateChange>(core::DataLoss("ec2 " + std::string(operation) +
                                             " response: reports instance '" + change->instance_id +
                                             "', not " + std::string(id)));
  }
  return *change;
}

// A response whose only content is <return>true</return>.
ApiResult<void> ExpectReturnTrue(const ApiResult<std::string>& body, std::string_view operation,
                                 std::string_view id) {
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto doc = ParseRoot(*body, operation);
  if (!doc) {
    return Local<void>(std::move(doc.error()));
  }
  const auto ret = doc->OptionalChildText("return");
  if (!ret) {
    return Local<void>(
        core::DataLoss("ec2 " + std::string(operation) + " response: no <return> element"));
  }
  if (Trim(*ret) != "true") {
    return Local<void>(core::FailedPrecondition("ec2 " + std::string(operation) + " " +
                                                std::string(id) + ": AWS returned false"));
  }
  return {};
}

}  // namespace

core::Status ValidateInstanceId(std::string_view id) {
  const bool ok = id.size() > 2 && id.substr(0, 2) == "i-" &&
                  (id.size() == 10 || id.size() == 19) &&
                  std::all_of(id.begin() + 2, id.end(), IsHex);
  if (!ok) {
    return core::Fail(core::InvalidArgument(
        "'" + std::string(id.substr(0, 40)) + (id.size() > 40 ? "...'" : "'") +
        " is not an EC2 instance id (i- and 8 or 17 lower-case hex digits)"));
  }
  return core::Ok();
}

core::Status ValidateInstanceType(std::string_view type) {
  const auto dot = type.find('.');
  const bool chars_ok = std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  const bool ok = chars_ok && type.size() <= 64 && dot != std::string_view::npos && dot > 0 &&
                  dot + 1 < type.size() && type.front() != '-' && type.back() != '.';
  if (!ok) {
    return core::Fail(core::InvalidArgument(
        "'" + std::string(type.substr(0, 64)) + (type.size() > 64 ? "...'" : "'") +
        " is not an EC2 instance type (family.size, e.g. t3.micro)"));
  }
  return core::Ok();
}

core::Result<DescribeInstancesPage> ParseDescribeInstances(std::string_view body) {
  auto doc = ParseRoot(body, "DescribeInstances");
  if (!doc) {
    return core::Fail(std::move(doc.error()));
  }
  DescribeInstancesPage page;
  page.next_token = Text(*doc, "nextToken");
  const XmlElement* reservations = doc->Child("reservationSet");
  if (reservations == nullptr) {
    return page;
  }
  for (const XmlElement* reservation : reservations->Children("item")) {
    const XmlElement* set = reservation->Child("instancesSet");
    if (set == nullptr) {
      continue;
    }
    for (const XmlElement* item : set->Children("item")) {
      Ec2Instance in;
      in.id = Text(*item, "instanceId");
      if (in.id.empty()) {
        return core::Fail(core::DataLoss(
            "ec2 DescribeInstances response: an instancesSet item has no instanceId"));
      }
      in.state = Text(*item, "instanceState/name");
      in.type = Text(*item, "instanceType");
      in.private_ip = Text(*item, "privateIpAddress");
      in.public_ip = Text(*item, "ipAddress");
      in.availability_zone = Text(*item, "placement/availabilityZone");
      in.launch_time = Text(*item, "launchTime");
      if (const XmlElement* tags = item->Child("tagSet")) {
        for (const XmlElement* tag : tags->Children("item")) {
          std::string key = Text(*tag, "key");
          std::string value = Text(*tag, "value");
          if (key == "Name" && in.name.empty()) {
            in.name = value;
          }
          in.tags.emplace_back(std::move(key), std::move(value));
        }
      }
      page.instances.push_back(std::move(in));
    }
  }
  return page;
}

core::Result<StateChange> ParseStateChange(std::string_view body, std::string_view operation) {
  auto doc = ParseRoot(body, operation);
  if (!doc) {
    return core::Fail(std::move(doc.error()));
  }
  const XmlElement* item = doc->Find("instancesSet/item");
  if (item == nullptr) {
    return core::Fail(core::DataLoss("ec2 " + std::string(operation) +
                                     " response: no instancesSet/item element"));
  }
  StateChange out;
  out.instance_id = Text(*item, "instanceId");
  out.previous = Text(*item, "previousState/name");
  out.current = Text(*item, "currentState/name");
  if (out.instance_id.empty() || out.current.empty()) {
    return core::Fail(core::DataLoss("ec2 " + std::string(operation) +
                                     " response: instancesSet item lacks instanceId or "
                                     "currentState/name"));
  }
  return out;
}

ApiResult<DescribeInstancesResult> Ec2Client::DescribeInstances(
    std::string_view region, const Credentials& credentials,
    const DescribeInstancesQuery& query) const {
  auto invalid = [](std::string msg) {
    return Local<DescribeInstancesResult>(
        core::InvalidArgument("ec2 DescribeInstances: " + std::move(msg)));
  };
  for (const auto& id : query.instance_ids) {
    if (auto ok = ValidateInstanceId(id); !ok) {
      return invalid(ok.error().message);
    }
  }
  for (const auto& s : query.states) {
    if (!KnownStates().contains(s)) {
      return invalid("unknown instance state '" + s.substr(0, 40) +
                     "' (pending, running, shutting-down, terminated, stopping, stopped)");
    }
  }
  if (query.page_size != 0 && (query.page_size < 5 || query.page_size > 1000)) {
    return invalid("page_size must be 0 (omitted) or 5..1000, not " +
                   std::to_string(query.page_size));
  }
  if (query.page_size != 0 && !query.instance_ids.empty()) {
    return invalid("page_size (MaxResults) cannot be combined with instance ids");
  }
  if (query.max_instances == 0) {
    return invalid("max_instances must be at least 1");
  }

  QueryParams base;
  base.protocol = QueryProtocol::kEc2;
  if (!query.instance_ids.empty()) {
    base.Add("InstanceId", QueryValue::StringList(query.instance_ids));
  }
  std::vector<QueryValue> filters;
  auto filter = [](std::string name, const std::vector<std::string>& values) {
    return QueryValue::Structure(
        {{"Name", QueryValue::String(std::move(name))}, {"Value", QueryValue::StringList(values)}});
  };
  if (!query.name_tag.empty()) {
    filters.push_back(filter("tag:Name", {query.name_tag}));
  }
  if (!query.states.empty()) {
    filters.push_back(filter("instance-state-name", query.states));
  }
  if (!filters.empty()) {
    base.Add("Filter", QueryValue::List(std::move(filters)));
  }
  if (query.page_size != 0) {
    base.Add("MaxResults", QueryValue::Int(query.page_size));
  }

  DescribeInstancesResult result;
  std::string token;
  std::set<std::string> seen_tokens;
  while (true) {
    QueryParams params = base;
    if (!token.empty()) {
      params.Add("NextToken", token);
    }
    auto body = Send(api_, region, credentials, "DescribeInstances", params);
    ++result.pages;
    if (!body) {
      return tl::unexpected(std::move(body.error()));
    }
    auto page = ParseDescribeInstances(*body);
    if (!page) {
      return Local<DescribeInstancesResult>(std::move(page.error()));
    }
    for (auto& in : page->instances) {
      if (result.instances.size() >= query.max_instances) {
        result.truncated = true;
        break;
      }
      result.instances.push_back(std::move(in));
    }
    if (page->next_token.empty()) {
      break;
    }
    if (result.instances.size() >= query.max_instances ||
        result.pages >= kMaxDescribeInstancesPages) {
      result.truncated = true;
      break;
    }
    if (!seen_tokens.insert(page->next_token).second) {
      return Local<DescribeInstancesResult>(
          core::DataLoss("ec2 DescribeInstances: AWS repeated a NextToken (page " +
                         std::to_string(result.pages) + "); stopping to avoid a loop"));
    }
    token = std::move(page->next_token);
  }
  return result;
}

ApiResult<Ec2Instance> Ec2Client::DescribeInstance(std::string_view region,
                                                   const Credentials& credentials,
                                                   std::string_view id) const {
  DescribeInstancesQuery query;
  query.instance_ids = {std::string(id)};
  auto r = DescribeInstances(region, credentials, query);
  if (!r) {
    return tl::unexpected(std::move(r.error()));
  }
  for (auto& in : r->instances) {
    if (in.id == id) {
      return std::move(in);
    }
  }
  return Local<Ec2Instance>(
      core::NotFound("ec2 DescribeInstances: instance " + std::string(id) + " not found"));
}

ApiResult<StateChange> Ec2Client::StartInstance(std::string_view region,
                                                const Credentials& credentials,
                                                std::string_view id) const {
  return ChangeState(api_, region, credentials, "StartInstances", id, false);
}

ApiResult<StateChange> Ec2Client::StopInstance(std::string_view region,
                                               const Credentials& credentials, std::string_view id,
                                               bool force) const {
  return ChangeState(api_, region, credentials, "StopInstances", id, force);
}

ApiResult<void> Ec2Client::RebootInstance(std::string_view region, const Credentials& credentials,
                                          std::string_view id) const {
  if (auto ok = ValidateInstanceId(id); !ok) {
    return Local<void>(core::InvalidArgument("ec2 RebootInstances: " + ok.error().message));
  }
  QueryParams params;
  params.protocol = QueryProtocol::kEc2;
  params.Add("InstanceId", QueryValue::StringList({std::string(id)}));
  return ExpectReturnTrue(Send(api_, region, credentials, "RebootInstances", params),
                          "RebootInstances", id);
}

ApiResult<void> Ec2Client::ModifyInstanceType(std::string_view region,
                                              const Credentials& credentials, std::string_view id,
                                              std::string_view type) const {
  if (auto ok = ValidateInstanceId(id); !ok) {
    return Local<void>(core::InvalidArgument("ec2 ModifyInstanceAttribute: " + ok.error().message));
  }
  if (auto ok = ValidateInstanceType(type); !ok) {
    return Local<void>(core::InvalidArgument("ec2 ModifyInstanceAttribute: " + ok.error().message));
  }
  QueryParams params;
  params.protocol = QueryProtocol::kEc2;
  params.Add("InstanceId", std::string(id));
  params.Add("InstanceType",
             QueryValue::Structure({{"Value", QueryValue::String(std::string(type))}}));
  return ExpectReturnTrue(Send(api_, region, credentials, "ModifyInstanceAttribute", params),
                          "ModifyInstanceAttribute", id);
}

ApiResult<std::string> WaitForInstanceState(
    const Ec2Client& ec2, std::string_view region,
    const std::function<ApiResult<Credentials>()>& credentials, std::string_view id,
    std::string target_state, const WaitOptions& options) {
  using std::chrono::milliseconds;
  const std::string what = "waiting for " + std::string(id) + " to be " + target_state;
  if (auto ok = ValidateInstanceId(id); !ok) {
    return Local<std::string>(core::InvalidArgument(ok.error().message));
  }
  if (!KnownStates().contains(target_state)) {
    return Local<std::string>(core::InvalidArgument(
        "waiting for " + std::string(id) + ": unknown target state '" + target_state.substr(0, 40) +
        "' (pending, running, shutting-down, terminated, stopping, stopped)"));
  }
  if (!credentials || !options.sleep || options.first_delay <= milliseconds(0) ||
      options.max_delay < options.first_delay) {
    return Local<std::string>(
        core::InvalidArgument(what +
                              ": needs a target state, a credentials source, a sleep function and "
                              "0 < first_delay <= max_delay"));
  }
  const bool waiting_for_end = target_state == "terminated" || target_state == "shutting-down";
  const milliseconds timeout = options.timeout;
  milliseconds elapsed{0};
  milliseconds delay = options.first_delay;
  std::string last_state = "(not polled yet)";
  int transient_failures = 0;
  while (elapsed < timeout) {
    const milliseconds d = std::min(delay, timeout - elapsed);
    options.sleep(d);
    elapsed += d;
    delay = std::min(delay * 2, options.max_delay);

    auto creds = credentials();
    if (!creds) {
      return tl::unexpected(std::move(creds.error()));
    }
    auto instance = ec2.DescribeInstance(region, *creds, id);
    if (!instance) {
      // EC2 is eventually consistent: an instance just changed can briefly be unknown to
      // the endpoint answering, and a poll can meet a passing outage. A few in a row are
      // tolerated; the deadline still bounds the wait.
      const bool transient = instance.error().code == "InvalidInstanceID.NotFound" ||
                             instance.error().error.code == core::ErrorCode::kNotFound ||
                             instance.error().error.code == core::ErrorCode::kUnavailable;
      if (transient && ++transient_failures <= kMaxTransientPollFailures) {
        continue;
      }
      return tl::unexpected(std::move(instance.error()));
    }
    transient_failures = 0;
    last_state = instance->state;
    if (options.progress) {
      options.progress(last_state, std::chrono::duration_cast<std::chrono::seconds>(elapsed));
    }
    if (last_state == target_state) {
      return last_state;
    }
    if (!waiting_for_end && (last_state == "terminated" || last_state == "shutting-down")) {
      return Local<std::string>(core::FailedPrecondition(what + ": the instance is " + last_state));
    }
  }
  return Local<std::string>(core::DeadlineExceeded(
      what + ": still " + last_state + " after " +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()) + "s"));
}

std::string SummarizeInstances(const DescribeInstancesResult& result) {
  if (result.instances.empty()) {
    return "No instances matched.";
  }
  std::string out;
  for (const auto& in : result.instances) {
    if (!out.empty()) {
      out += '\n';
    }
    out += in.id;
    if (!in.name.empty()) {
      out += " (" + in.name + ")";
    }
    for (const std::string* f : {&in.state, &in.type, &in.private_ip}) {
      if (!f->empty()) {
        out += ' ';
        out += *f;
      }
    }
    if (!in.public_ip.empty()) {
      out += " public " + in.public_ip;
    }
    if (!in.availability_zone.empty()) {
      out += ' ';
      out += in.availability_zone;
    }
  }
  if (result.truncated) {
    out += "\n… and more (showing first " + std::to_string(result.instances.size()) + ")";
  }
  return out;
}

}  // namespace opsgate::aws
