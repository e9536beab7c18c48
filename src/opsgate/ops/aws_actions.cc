// File: opsgate/ops/aws_actions.cc
#include "opsgate/ops/aws_actions.h"

#include <algorithm>
#include <thread>

#include "opsgate/aws/autoscaling.h"
#include "opsgate/aws/cloudwatch.h"
#include "opsgate/aws/ec2.h"
#include "opsgate/aws/endpoints.h"

namespace opsgate::ops {
namespace {

using pipeline::ExecContext;
using pipeline::ExecResult;
using pipeline::Reply;
using pipeline::Say;

std::string SlotOr(const ExecContext& c, const std::string& name, std::string fallback = {}) {
  auto it = c.action.slots.find(name);
  return it == c.action.slots.end() || it->second.empty() || it->second == "*" ? fallback
                                                                               : it->second;
}

// The part of an UnauthorizedOperation message that says what is missing, without the
// opaque encoded blob.
std::string MissingPermission(std::string_view message) {
  const size_t blob = message.find("Encoded authorization failure message");
  std::string_view head = message.substr(0, blob);
  while (!head.empty() && (head.back() == ' ' || head.back() == '.')) {
    head.remove_suffix(1);
  }
  return std::string(head);
}

}  // namespace

RoleMap::RoleMap(std::vector<std::pair<std::string, std::string>> roles) {
  for (auto& [pattern, role] : roles) {
    roles_.push_back({policy::ActionPattern::Make(std::move(pattern)), std::move(role)});
  }
}

std::optional<std::string> RoleMap::RoleFor(std::string_view api_action) const {
  const size_t colon = api_action.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view service = api_action.substr(0, colon);
  const std::string_view operation = api_action.substr(colon + 1);
  const Entry* best = nullptr;
  for (const Entry& e : roles_) {
    if (e.pattern.text == api_action) {
      return e.role_arn;
    }
    if (e.pattern.Matches(service, operation) &&
        (best == nullptr || e.pattern.text.size() > best->pattern.text.size())) {
      best = &e;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  return best->role_arn;
}

std::string RoleMap::AccountOf(std::string_view role_arn) {
  // arn:partition:iam::ACCOUNT:role/...
  size_t at = 0;
  for (int field = 0; field < 4; ++field) {
    at = role_arn.find(':', at);
    if (at == std::string_view::npos) {
      return "";
    }
    ++at;
  }
  const size_t end = role_arn.find(':', at);
  return end == std::string_view::npos ? "" : std::string(role_arn.substr(at, end - at));
}

std::string AwsErrorText(const aws::ApiError& error, std::string_view what,
                         std::string_view decoded_refusal) {
  const std::string w(what);
  const std::string& code = error.code;
  std::string ref = error.request_id.empty() ? "" : " (AWS request id " + error.request_id + ")";
  if (error.clock_skew) {
    std::string text = "AWS refused to " + w + " because this opsgate host's clock is off";
    if (error.skew) {
      text += " by " + std::to_string(error.skew->count()) + " s";
    }
    return text + ". Fix the host's time (NTP) and try again." + ref;
  }
  if (error.throttling) {
    return "AWS is throttling requests; opsgate gave up on " + w + " after " +
           std::to_string(error.attempts) + " attempts. Try again in a minute." + ref;
  }
  if (code == "UnauthorizedOperation" || code.starts_with("AccessDenied")) {
    std::string text = "AWS did not allow opsgate to " + w + ".";
    if (!decoded_refusal.empty()) {
      text += " Missing permission: " + std::string(decoded_refusal) + ".";
    } else if (const std::string detail = MissingPermission(error.aws_message); !detail.empty()) {
      text += " AWS said: " + detail + ".";
    }
    return text + " Ask an AWS administrator to allow it for opsgate's role." + ref;
  }
  if (code == "InvalidInstanceID.NotFound" || code == "InvalidInstanceID.Malformed") {
    return "AWS does not know that instance, so opsgate could not " + w +
           ". Check the instance id and the region." + ref;
  }
  if (code == "IncorrectInstanceState") {
    return "The instance is not in a state that allows this, so opsgate could not " + w +
           (error.aws_message.empty() ? "." : ": " + error.aws_message) + ref;
  }
  if (code == "WAFNonexistentItemException") {
    return "The WAF IP set in opsgate's config (aws.waf) does not exist in that account and "
           "region, so opsgate could not " +
           w + "." + ref;
  }
  if (code == "WAFOptimisticLockException") {
    return "The WAF IP set kept changing while opsgate tried to " + w +
           "; nothing was changed. Try again." + ref;
  }
  if (code == "ValidationError" || code.starts_with("Invalid")) {
    return "AWS refused to " + w + (error.aws_message.empty() ? "." : ": " + error.aws_message) +
           ref;
  }
  return "opsgate could not " + w + ": " + error.error.message;
}

struct AwsActions::Impl {
  aws::SessionBroker& broker;
  const aws::ApiClient& api;
  AwsActionsOptions options;
  telemetry::Logger& log;
  aws::Ec2Client ec2{api};
  aws::AutoScalingClient autoscaling{api};
  aws::CloudWatchClient cloudwatch{api};
  aws::Wafv2Client wafv2{api};

  telemetry::Family<telemetry::Counter>* actions_total = nullptr;
  telemetry::Family<telemetry::Histogram>* action_seconds = nullptr;

  Impl(aws::SessionBroker& b, const aws::ApiClient& a, AwsActionsOptions o, telemetry::Logger& l)
      : broker(b), api(a), options(std::move(o)), log(l) {
    if (!options.sleep) {
      options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    }
    if (options.metrics != nullptr) {
      actions_total = &options.metrics->AddCounter(
          "opsgate_aws_actions_total",
          "AWS actions run, by policy action and result (ok, failed, refused).",
          {"action", "result"});
      action_seconds = &options.metrics->AddHistogram(
          "opsgate_aws_action_duration_seconds",
          "Time an AWS action took, sessions and polling included.", {"action"},
          {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900});
    }
  }

  void Count(std::string_view action, const ExecResult& r,
             std::chrono::steady_clock::duration took) {
    if (actions_total != nullptr) {
      actions_total->With({action, r.result}).Inc();
      action_seconds->With({action}).Observe(std::chrono::duration<double>(took).count());
    }
  }

  // One action's run: its region/account, and the sessions it used.
  struct Run {
    const ExecContext& ctx;
    std::string region;
    std::vector<std::string> sessions;  // "arn ... for action on resource"
  };

  // The region of the request: its slot, else the config's, else the environment's.
  core::Result<std::string> RegionFor(const ExecContext& ctx) const {
    const std::string slot = SlotOr(ctx, "region", options.region);
    return aws::ResolveRegion(slot, api.env());
  }

  std::string AccountFor(std::string_view api_action) const {
    if (!options.account.empty()) {
      return options.account;
    }
    auto role = options.roles.RoleFor(api_action);
    return role ? RoleMap::AccountOf(*role) : "";
  }

  // A session allowing only `api_action` on `resource`.
  aws::ApiResult<aws::Credentials> Session(Run& run, const std::string& api_action,
                                           const std::string& resource) {
    auto role = options.roles.RoleFor(api_action);
    if (!role) {
      return tl::unexpected(aws::LocalApiError(
          core::FailedPrecondition("no AWS role is configured for " + api_action +
                                   " (map it under aws.roles in the config)")));
    }
    aws::SessionRequest req;
    req.role_arn = *role;
    req.action = api_action;
    req.resource_arn = resource;
    req.principal_id = run.ctx.principal_id;
    req.principal_name = run.ctx.principal_name;
    req.platform = run.ctx.platform;
    // Session tags need a value: a request from no particular channel says so.
    req.channel = run.ctx.channel.empty() ? std::string("none") : run.ctx.channel;
    req.correlation_id = run.ctx.correlation_id;
    req.duration = run.ctx.decision.session_duration.value_or(aws::kMinSessionDuration);
    auto session = broker.Get(req);
    if (!session) {
      return tl::unexpected(aws::LocalApiError(session.error()));
    }
    std::string line = session->assumed_role_arn + " for " + api_action + " on " + resource;
    if (std::find(run.sessions.begin(), run.sessions.end(), line) == run.sessions.end()) {
      run.sessions.push_back(std::move(line));
    }
    return session->credentials;
  }

  std::string InstanceArn(const Run& run, const std::string& id,
                          std::string_view api_action) const {
    return "arn:aws:ec2:" + run.region + ":" + AccountFor(api_action) + ":instance/" + id;
  }

  // For a refused call: what AWS's encoded authorization message says was missing,
  // decoded by STS under a session allowed only that ("" when it cannot be decoded).
  std::string DecodedRefusal(Run& run, const aws::ApiError& error) {
    const std::string_view encoded = aws::EncodedAuthorizationMessage(error.aws_message);
    if (encoded.empty()) {
      return "";
    }
    auto creds = Session(run, "sts:DecodeAuthorizationMessage", "*");
    if (!creds) {
      return "";
    }
    auto decoded = aws::DecodeAuthorizationMessage(api, run.region, *creds, encoded);
    if (!decoded) {
      log.Info("aws.decode_refusal_failed", {{"correlation_id", run.ctx.correlation_id},
                                             {"error", decoded.error().error.message}});
      return "";
    }
    return aws::DescribeDecodedAuthorization(*decoded);
  }

  ExecResult Failed(Run& run, const aws::ApiError& error, std::string_view what) {
    ExecResult r;
    r.reply = Say(AwsErrorText(error, what, DecodedRefusal(run, error)));
    r.result = "failed";
    r.reason = error.code.empty() ? error.error.message : error.code;
    if (!error.request_id.empty()) {
      r.reason += " (request id " + error.request_id + ")";
    }
    r.session = Join(run.sessions);
    log.Warn("aws.action_failed", {{"correlation_id", run.ctx.correlation_id},
                                   {"action", run.ctx.action.action},
                                   {"code", error.code},
                                   {"error", error.error.message}});
    return r;
  }

  ExecResult Done(Run& run, std::string text, std::string output = {}) {
    ExecResult r;
    r.reply = Say(text);
    r.result = "ok";
    r.session = Join(run.sessions);
    r.output = output.empty() ? std::move(text) : std::move(output);
    return r;
  }

  static std::string Join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) {
      out += (out.empty() ? "" : ", ") + s;
    }
    return out;
  }

  // ---- EC2 ------------------------------------------------------------------------------

  ExecResult Describe(Run& run) {
    aws::DescribeInstancesQuery q;
    const std::string id = SlotOr(run.ctx, "instance_id");
    if (!id.empty()) {
      q.instance_ids.push_back(id);
    }
    q.name_tag = SlotOr(run.ctx, "name");
    if (const std::string state = SlotOr(run.ctx, "state"); !state.empty()) {
      q.states.push_back(state);
    }
    q.max_instances = 50;
    const std::string what = id.empty() ? "list the instances in " + run.region : "describe " + id;
    auto creds = Session(run, "ec2:DescribeInstances", "*");
    if (!creds) {
      return Failed(run, creds.error(), what);
    }
    auto result = ec2.DescribeInstances(run.region, *creds, q);
    if (!result) {
      return Failed(run, result.error(), what);
    }
    std::string text = aws::SummarizeInstances(*result);
    Reply reply(text);
    reply.Text(id.empty() ? "Instances in " + run.region + ":" : "Instance " + id + ":");
    reply.Code(text);
    ExecResult r = Done(run, text);
    r.reply = std::move(reply);
    return r;
  }

  ExecResult StartStop(Run& run, bool start) {
    const std::string id = SlotOr(run.ctx, "instance_id");
    const std::string api_action = start ? "ec2:StartInstances" : "ec2:StopInstances";
    const std::string what = (start ? "start " : "stop ") + id;
    auto creds = Session(run, api_action, InstanceArn(run, id, api_action));
    if (!creds) {
      return Failed(run, creds.error(), what);
    }
    auto change = start ? ec2.StartInstance(run.region, *creds, id)
                        : ec2.StopInstance(run.region, *creds, id);
    if (!change) {
      return Failed(run, change.error(), what);
    }
    std::string text;
    if (change->previous == change->current || (!start && change->previous == "stopped") ||
        (start && change->previous == "running")) {
      text = id + " was already " + change->previous + "; nothing changed.";
    } else {
      text = (start ? "Starting " : "Stopping ") + id + " in " + run.region + ": " +
             change->previous + " → " + change->current + ".";
    }
    return Done(run, text);
  }

  ExecResult Reboot(Run& run) {
    const std::string id = SlotOr(run.ctx, "instance_id");
    const std::string what = "reboot " + id;
    auto read = Session(run, "ec2:DescribeInstances", "*");
    if (!read) {
      return Failed(run, read.error(), what);
    }
    auto before = ec2.DescribeInstance(run.region, *read, id);
    if (!before) {
      return Failed(run, before.error(), what);
    }
    auto creds = Session(run, "ec2:RebootInstances", InstanceArn(run, id, "ec2:RebootInstances"));
    if (!creds) {
      return Failed(run, creds.error(), what);
    }
    if (auto rebooted = ec2.RebootInstance(run.region, *creds, id); !rebooted) {
      return Failed(run, rebooted.error(), what);
    }
    auto after = ec2.DescribeInstance(run.region, *read, id);
    const std::string now = after ? after->state : std::string("unknown");
    return Done(run, "Rebooting " + id + " in " + run.region + " (" + before->state + " → " + now +
                         "; the reboot itself takes a few minutes).");
  }

  ExecResult Resize(Run& run) {
    const std::string id = SlotOr(run.ctx, "instance_id");
    const std::string type = SlotOr(run.ctx, "instance_type");
    const std::string what = "resize " + id + " to " + type;
    auto read = [&]() { return Session(run, "ec2:DescribeInstances", "*"); };
    auto creds = read();
    if (!creds) {
      return Failed(run, creds.error(), what);
    }
    auto before = ec2.DescribeInstance(run.region, *creds, id);
    if (!before) {
      return Failed(run, before.error(), what);
    }
    if (before->type == type) {
      return Done(run, id + " is already a " + type + "; nothing changed.");
    }
    const bool was_running = before->state == "running" || before->state == "pending";
    if (before->state != "stopped") {
      auto stop_creds =
          Session(run, "ec2:StopInstances", InstanceArn(run, id, "ec2:StopInstances"));
      if (!stop_creds) {
        return Failed(run, stop_creds.error(), what);
      }
      auto stopped = ec2.StopInstance(run.region, *stop_creds, id);
      if (!stopped) {
        return Failed(run, stopped.error(), what);
      }
      Progress(run, "Stopping " + id + " to resize it (" + stopped->previous + " → " +
                        stopped->current + ")…");
      aws::WaitOptions wait;
      wait.timeout = options.resize_timeout;
      wait.first_delay = options.poll_first_delay;
      wait.max_delay = options.poll_max_delay;
      wait.sleep = options.sleep;
      std::chrono::seconds last_told{0};
      wait.progress = [&](std::string_view state, std::chrono::seconds waited) {
        if (state != "stopped" && waited - last_told >= options.progress_every) {
          last_told = waited;
          Progress(run, id + " is " + std::string(state) + " (" + std::to_string(waited.count()) +
                            " s so far)…");
        }
      };
      auto final_state = aws::WaitForInstanceState(ec2, run.region, read, id, "stopped", wait);
      if (!final_state) {
        return Failed(run, final_state.error(), what);
      }
    }
    auto modify = Session(run, "ec2:ModifyInstanceAttribute",
                          InstanceArn(run, id, "ec2:ModifyInstanceAttribute"));
    if (!modify) {
      return Failed(run, modify.error(), what);
    }
    if (auto changed = ec2.ModifyInstanceType(run.region, *modify, id, type); !changed) {
      return Failed(run, changed.error(), what);
    }
    std::string text = "Resized " + id + " from " + before->type + " to " + type + ".";
    if (was_running) {
      auto start_creds =
          Session(run, "ec2:StartInstances", InstanceArn(run, id, "ec2:StartInstances"));
      if (!start_creds) {
        return Failed(run, start_creds.error(), "start " + id + " again after resizing it");
      }
      auto started = ec2.StartInstance(run.region, *start_creds, id);
      if (!started) {
        return Failed(run, started.error(), "start " + id + " again after resizing it");
      }
      text += " Starting it again (" + started->previous + " → " + started->current + ").";
    } else {
      text += " It was " + before->state + " and stays stopped.";
    }
    return Done(run, text);
  }

  void Progress(Run& run, std::string text) {
    if (run.ctx.progress) {
      run.ctx.progress(Say(std::move(text)));
    }
  }

  // ---- Auto Scaling ---------------------------------------------------------------------

  ExecResult Scale(Run& run) {
    const std::string group = SlotOr(run.ctx, "group");
    const std::string capacity_text = SlotOr(run.ctx, "capacity");
    int capacity = 0;
    try {
      capacity = std::stoi(capacity_text);
    } catch (...) {
      return Failed(run,
                    aws::LocalApiError(
                        core::InvalidArgument("capacity '" + capacity_text + "' is not a number")),
                    "scale " + group);
    }
    const std::string what = "scale " + group + " to " + capacity_text;
    auto read = Session(run, "autoscaling:DescribeAutoScalingGroups", "*");
    if (!read) {
      return Failed(run, read.error(), what);
    }
    auto before = autoscaling.DescribeGroup(run.region, *read, group);
    if (!before) {
      return Failed(run, before.error(), what);
    }
    if (std::string problem = aws::CheckCapacity(*before, capacity); !problem.empty()) {
      ExecResult r;
      r.reply = Say("opsgate did not " + what + ": " + problem + ".");
      r.result = "refused";
      r.reason = problem;
      r.session = Join(run.sessions);
      return r;
    }
    if (before->desired_capacity == capacity) {
      return Done(run, group + " already wants " + capacity_text + " instances; nothing changed.");
    }
    auto set = Session(run, "autoscaling:SetDesiredCapacity", before->arn);
    if (!set) {
      return Failed(run, set.error(), what);
    }
    if (auto done = autoscaling.SetDesiredCapacity(run.region, *set, group, capacity); !done) {
      return Failed(run, done.error(), what);
    }
    auto after = autoscaling.DescribeGroup(run.region, *read, group);
    const int now = after ? after->desired_capacity : capacity;
    return Done(run, "Auto Scaling group " + group + ": desired capacity " +
                         std::to_string(before->desired_capacity) + " → " + std::to_string(now) +
                         " (min " + std::to_string(before->min_size) + ", max " +
                         std::to_string(before->max_size) + ", " +
                         std::to_string(before->instances) + " instances now).");
  }

  // ---- WAF ------------------------------------------------------------------------------

  ExecResult Waf(Run& run, bool block) {
    const std::string ip = SlotOr(run.ctx, "ip");
    const std::string what = (block ? "block " : "unblock ") + ip;
    auto normalized = aws::NormalizeWafAddress(ip);
    if (!normalized) {
      return Failed(run, aws::LocalApiError(normalized.error()), what);
    }
    const bool v6 = normalized->second == "IPV6";
    const std::optional<aws::IpSetRef>& set = v6 ? options.waf_ipv6 : options.waf_ipv4;
    if (!set) {
      ExecResult r;
      r.reply = Say(std::string("No WAF IP set for IPv") + (v6 ? "6" : "4") +
                    " addresses is configured (aws.waf." + (v6 ? "ipv6_ip_set" : "ip_set") +
                    "), so opsgate cannot " + what + ". Nothing was done.");
      r.result = "refused";
      r.reason = "no IP set configured";
      return r;
    }
    // CLOUDFRONT sets live in us-east-1 with a global ARN.
    const bool cloudfront = set->scope == "CLOUDFRONT";
    const std::string region = cloudfront ? std::string("us-east-1") : run.region;
    const std::string arn = "arn:aws:wafv2:" + region + ":" + AccountFor("wafv2:UpdateIPSet") +
                            ":" + (cloudfront ? "global" : "regional") + "/ipset/" + set->name +
                            "/" + set->id;
    auto creds = [&](std::string_view operation, std::string_view) {
      return Session(run, "wafv2:" + std::string(operation), arn);
    };
    auto changed = aws::ChangeIpSet(wafv2, region, creds, *set, ip,
                                    block ? aws::IpSetChange::kAdd : aws::IpSetChange::kRemove);
    if (!changed) {
      return Failed(run, changed.error(), what);
    }
    return Done(
        run, aws::DescribeIpSetChange(
                 *changed, block ? aws::IpSetChange::kAdd : aws::IpSetChange::kRemove, set->name));
  }

  // ---- CloudWatch -----------------------------------------------------------------------

  ExecResult Alarms(Run& run) {
    const std::string what = "list the alarms in " + run.region;
    // Listing alarms is authorized on "*" (a read action; see the header).
    auto creds = Session(run, "cloudwatch:DescribeAlarms", "*");
    if (!creds) {
      return Failed(run, creds.error(), what);
    }
    auto alarms = cloudwatch.DescribeAlarms(run.region, *creds);
    if (!alarms) {
      return Failed(run, alarms.error(), what);
    }
    return Done(run, aws::SummarizeAlarms(*alarms, run.region));
  }
};

namespace {

class AwsExecutor final : public pipeline::Executor {
 public:
  AwsExecutor(AwsActions::Impl& impl, std::function<ExecResult(AwsActions::Impl::Run&)> body,
              std::string started)
      : impl_(impl), body_(std::move(body)), started_(std::move(started)) {}

  bool Slow() const override { return true; }

  Reply Started(const ExecContext& context) override {
    std::string text = started_;
    for (const auto& [name, value] : context.action.slots) {
      const std::string key = "{" + name + "}";
      for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
        text.replace(at, key.size(), value);
        at += value.size();
      }
    }
    return Say(text + " I will post the result here.");
  }

  ExecResult Run(const ExecContext& context) override {
    AwsActions::Impl::Run run{context, {}, {}};
    auto region = impl_.RegionFor(context);
    if (!region) {
      ExecResult r;
      r.reply = Say("opsgate does not know which AWS region to use: " + region.error().message +
                    ". Name one in the command (\"in eu-west-1\") or set aws.region.");
      r.result = "refused";
      r.reason = region.error().message;
      return r;
    }
    run.region = *region;
    const auto start = std::chrono::steady_clock::now();
    ExecResult result = body_(run);
    impl_.Count(context.action.action, result, std::chrono::steady_clock::now() - start);
    return result;
  }

 private:
  AwsActions::Impl& impl_;
  std::function<ExecResult(AwsActions::Impl::Run&)> body_;
  std::string started_;
};

}  // namespace

const std::vector<std::string_view>& AwsActions::Actions() {
  static const std::vector<std::string_view> kActions = {"ec2:DescribeInstances",
                                                         "ec2:StartInstances",
                                                         "ec2:StopInstances",
                                                         "ec2:RebootInstances",
                                                         "ec2:ModifyInstanceAttribute",
                                                         "autoscaling:SetDesiredCapacity",
                                                         "waf:BlockIp",
                                                         "waf:UnblockIp",
                                                         "cloudwatch:DescribeAlarms"};
  return kActions;
}

AwsActions::AwsActions(aws::SessionBroker& broker, const aws::ApiClient& api,
                       AwsActionsOptions options, telemetry::Logger& log)
    : impl_(std::make_unique<Impl>(broker, api, std::move(options), log)) {
  using R = Impl::Run;
  Impl& i = *impl_;
  auto add = [&](std::function<ExecResult(R&)> body, std::string started) {
    executors_.push_back(std::make_unique<AwsExecutor>(i, std::move(body), std::move(started)));
  };
  add([&i](R& r) { return i.Describe(r); }, "Looking that up in AWS…");
  add([&i](R& r) { return i.StartStop(r, true); }, "Starting {instance_id}…");
  add([&i](R& r) { return i.StartStop(r, false); }, "Stopping {instance_id}…");
  add([&i](R& r) { return i.Reboot(r); }, "Rebooting {instance_id}…");
  add([&i](R& r) { return i.Resize(r); },
      "Resizing {instance_id} to {instance_type}: stop, change the type, start.");
  add([&i](R& r) { return i.Scale(r); }, "Setting the desired capacity of {group} to {capacity}…");
  add([&i](R& r) { return i.Waf(r, true); }, "Blocking {ip} at the WAF…");
  add([&i](R& r) { return i.Waf(r, false); }, "Unblocking {ip} at the WAF…");
  add([&i](R& r) { return i.Alarms(r); }, "Asking CloudWatch for alarms…");
}

AwsActions::~AwsActions() = default;

pipeline::Executor* AwsActions::ExecutorFor(std::string_view action) const {
  const auto& actions = Actions();
  for (size_t i = 0; i < actions.size(); ++i) {
    if (actions[i] == action) {
      return executors_[i].get();
    }
  }
  return nullptr;
}

void AwsActions::RegisterWith(pipeline::Dispatcher& dispatcher) {
  const auto& actions = Actions();
  for (size_t i = 0; i < actions.size(); ++i) {
    dispatcher.Register(std::string(actions[i]), executors_[i].get());
  }
}

}  // namespace opsgate::ops
