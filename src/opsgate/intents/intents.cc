#include "opsgate/intents/intents.h"

#include <utility>

namespace opsgate::intents {

std::string_view SlotTypeName(SlotType type) {
  switch (type) {
    case SlotType::kAwsInstanceId:
      return "aws_instance_id";
    case SlotType::kAwsRegion:
      return "aws_region";
    case SlotType::kEc2InstanceType:
      return "ec2_instance_type";
    case SlotType::kInteger:
      return "integer";
    case SlotType::kIpOrCidr:
      return "ip_or_cidr";
    case SlotType::kEnum:
      return "enum";
    case SlotType::kIdentifier:
      return "identifier";
    case SlotType::kJiraProjectKey:
      return "jira_project_key";
    case SlotType::kFreeText:
      return "free_text";
    case SlotType::kDuration:
      return "duration";
  }
  return "unknown";
}

const SlotSpec* IntentSpec::Slot(std::string_view slot_name) const {
  for (const SlotSpec& s : slots) {
    if (s.name == slot_name) {
      return &s;
    }
  }
  return nullptr;
}

const IntentSpec* Catalogue::Find(std::string_view intent_name) const {
  for (const IntentSpec& i : intents) {
    if (i.name == intent_name) {
      return &i;
    }
  }
  return nullptr;
}

namespace {

SlotSpec MakeSlot(std::string name, SlotType type, bool required, std::string prompt) {
  SlotSpec s;
  s.name = std::move(name);
  s.type = type;
  s.required = required;
  s.prompt = std::move(prompt);
  return s;
}

SlotSpec InstanceId(bool required) {
  return MakeSlot("instance_id", SlotType::kAwsInstanceId, required,
                  "Which instance? (an id such as i-0abc1234)");
}

SlotSpec Region() {
  return MakeSlot("region", SlotType::kAwsRegion, false, "Which region? (such as eu-west-1)");
}

constexpr const char* kEc2Resource = "arn:aws:ec2:{region}:{account}:instance/{instance_id}";

IntentSpec Ec2Describe() {
  IntentSpec i;
  i.name = "ec2.describe";
  i.description = "Show the state, type and addresses of EC2 instances.";
  i.utterances = {"describe instance {instance_id}",
                  "what is the status of {instance_id}",
                  "show me {instance_id} in {region}",
                  "list my instances",
                  "list instances in {region}",
                  "is {instance_id} running",
                  "give me details about server {instance_id}",
                  "show the instances named {name}",
                  "find the instance called {name}",
                  "list {state} instances"};
  // By Name tag and by state (pending, running, stopping, stopped, shutting-down,
  // terminated; the EC2 client refuses others): identifiers, so free text fills them
  // only after their cue words ("named", "called", "list ... instances").
  i.slots = {InstanceId(false), Region(),
             MakeSlot("name", SlotType::kIdentifier, false, "Which Name tag?"),
             MakeSlot("state", SlotType::kIdentifier, false,
                      "Which state? (running, stopped, pending, stopping, terminated)")};
  i.confirmation = Confirmation::kNone;
  i.action = "ec2:DescribeInstances";
  // Without an instance id the optional slot becomes '*': all instances of the region.
  i.resource_template = kEc2Resource;
  i.destructive = false;
  return i;
}

IntentSpec Ec2Simple(std::string verb, std::string description, std::vector<std::string> utt,
                     Confirmation confirmation, std::string prompt, std::string action,
                     bool destructive) {
  IntentSpec i;
  i.name = "ec2." + verb;
  i.description = std::move(description);
  i.utterances = std::move(utt);
  i.slots = {InstanceId(true), Region()};
  i.confirmation = confirmation;
  i.confirmation_prompt = std::move(prompt);
  i.action = std::move(action);
  i.resource_template = kEc2Resource;
  i.destructive = destructive;
  return i;
}

IntentSpec Ec2Resize() {
  IntentSpec i;
  i.name = "ec2.resize";
  i.description = "Change the instance type of a stopped EC2 instance.";
  i.utterances = {"resize {instance_id} to {instance_type}",
                  "change the instance type of {instance_id} to {instance_type}",
                  "make {instance_id} a {instance_type}",
                  "upgrade {instance_id} to {instance_type} in {region}",
                  "switch {instance_id} to {instance_type}",
                  "i need {instance_id} to be a {instance_type} instance"};
  i.slots = {InstanceId(true),
             MakeSlot("instance_type", SlotType::kEc2InstanceType, true,
                      "Which instance type? (such as t3.large)"),
             Region()};
  i.confirmation = Confirmation::kTyped;
  i.typed_slot = "instance_id";
  i.confirmation_prompt =
      "Resizing {instance_id} to {instance_type} needs it stopped. Type the instance id to "
      "confirm.";
  i.action = "ec2:ModifyInstanceAttribute";
  i.resource_template = kEc2Resource;
  i.destructive = true;
  return i;
}

IntentSpec AsgScale() {
  IntentSpec i;
  i.name = "asg.scale";
  i.description = "Set the desired capacity of an Auto Scaling group.";
  i.utterances = {"scale {group} to {capacity}",
                  "set desired capacity of {group} to {capacity}",
                  "scale the {group} group to {capacity} instances",
                  "resize auto scaling group {group} to {capacity}",
                  "change {group} capacity to {capacity}",
                  "i want {capacity} instances in {group}"};
  SlotSpec capacity =
      MakeSlot("capacity", SlotType::kInteger, true, "How many instances? (0 to 1000)");
  capacity.min = 0;
  capacity.max = 1000;
  i.slots = {MakeSlot("group", SlotType::kIdentifier, true, "Which Auto Scaling group?"),
             std::move(capacity)};
  i.confirmation = Confirmation::kTyped;
  i.typed_slot = "capacity";
  i.confirmation_prompt = "Set the desired capacity of {group} to {capacity}? Type the number "
                          "again to confirm.";
  i.action = "autoscaling:SetDesiredCapacity";
  // The group has no region slot: {region} is always '*' (see ResourceFor()).
  i.resource_template =
      "arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}";
  i.destructive = true;
  return i;
}

IntentSpec Waf(bool block) {
  IntentSpec i;
  i.name = block ? "waf.block_ip" : "waf.unblock_ip";
  if (block) {
    i.description = "Block an IP address or CIDR range at the web application firewall.";
    i.utterances = {"block {ip}",
                    "block ip {ip} on the waf",
                    "ban {ip}",
                    "add {ip} to the waf block list",
                    "deny traffic from {ip}",
                    "stop traffic from {ip} please"};
    i.confirmation_prompt = "Block all traffic from {ip} at the WAF?";
    i.action = "waf:BlockIp";
    i.destructive = true;
  } else {
    i.description = "Remove an IP address or CIDR range from the WAF block list.";
    i.utterances = {"unblock {ip}",
                    "unban {ip}",
                    "remove {ip} from the waf block list",
                    "allow traffic from {ip} again",
                    "lift the block on {ip}"};
    // Not destructive, but it re-admits traffic that someone chose to block.
    i.confirmation_prompt = "Allow traffic from {ip} through the WAF again?";
    i.action = "waf:UnblockIp";
    i.destructive = false;
  }
  i.slots = {MakeSlot("ip", SlotType::kIpOrCidr, true,
                      "Which IP address or CIDR range? (such as 203.0.113.7 or 2001:db8::/48)")};
  i.confirmation = Confirmation::kConfirm;
  i.resource_template = "opsgate:waf/ip/{ip}";
  return i;
}

IntentSpec AlarmsStatus() {
  IntentSpec i;
  i.name = "alarms.status";
  i.description = "List the CloudWatch alarms that are firing.";
  i.utterances = {"what alarms are firing",
                  "show alarms in {region}",
                  "alarm status",
                  "are there any alarms in {region}",
                  "which cloudwatch alarms are red",
                  "anything alerting right now"};
  i.slots = {Region()};
  i.action = "cloudwatch:DescribeAlarms";
  i.resource_template = "arn:aws:cloudwatch:{region}:{account}:alarm:*";
  return i;
}

IntentSpec JiraCreate() {
  IntentSpec i;
  i.name = "jira.create";
  i.description = "Open a Jira ticket in a project.";
  i.utterances = {"create a jira ticket in {project} saying {summary}",
                  "open a ticket in {project}: {summary}",
                  "file a jira issue for {project} about {summary}",
                  "new {project} ticket {summary}",
                  "raise a ticket in {project} for {summary}",
                  "log a bug in {project} called {summary}"};
  i.slots = {MakeSlot("project", SlotType::kJiraProjectKey, true,
                      "Which Jira project? (a key such as OPS)"),
             MakeSlot("summary", SlotType::kFreeText, true, "What should the summary say?")};
  i.action = "jira:CreateIssue";
  i.resource_template = "opsgate:jira/project/{project}";
  return i;
}

IntentSpec PipelineRun() {
  IntentSpec i;
  i.name = "pipeline.run";
  i.description = "Start a run of a CI/CD pipeline, optionally on a branch.";
  i.utterances = {"run pipeline {pipeline}",
                  "run {pipeline} on {branch}",
                  "trigger the {pipeline} pipeline",
                  "kick off {pipeline} for branch {branch}",
                  "start a build of {pipeline}",
                  "deploy {pipeline} from {branch}"};
  i.slots = {MakeSlot("pipeline", SlotType::kIdentifier, true, "Which pipeline?"),
             MakeSlot("branch", SlotType::kIdentifier, false,
                      "Which branch? (the pipeline's default if none)")};
  i.action = "pipeline:Run";
  i.resource_template = "opsgate:pipeline/{pipeline}";
  return i;
}

IntentSpec IncidentOpen() {
  IntentSpec i;
  i.name = "incident.open";
  i.description = "Declare an incident for a service and page its on-call.";
  i.utterances = {"open an incident for {service}",
                  "declare a {severity} incident on {service}: {summary}",
                  "{service} is down, open a {severity}",
                  "start an incident for {service} severity {severity}",
                  "page on-call for {service} about {summary}",
                  "raise a {severity} for {service} because {summary}"};
  SlotSpec severity =
      MakeSlot("severity", SlotType::kEnum, true, "How severe? (sev1, sev2, sev3 or sev4)");
  severity.values = {
      {"sev1", {"critical", "p1", "s1", "sev-1", "severity1"}},
      {"sev2", {"high", "major", "p2", "s2", "sev-2", "severity2"}},
      {"sev3", {"medium", "moderate", "p3", "s3", "sev-3", "severity3"}},
      {"sev4", {"low", "minor", "p4", "s4", "sev-4", "severity4"}},
  };
  i.slots = {MakeSlot("service", SlotType::kIdentifier, true, "Which service is affected?"),
             std::move(severity),
             MakeSlot("summary", SlotType::kFreeText, true, "What is happening, in one line?")};
  i.action = "incident:Open";
  i.resource_template = "opsgate:incident/{service}";
  return i;
}

IntentSpec Help() {
  IntentSpec i;
  i.name = "help";
  i.description = "Explain what the bot can do and how to ask for it.";
  i.utterances = {"help", "what can you do", "how do i use this bot", "show me the commands",
                  "what commands are there"};
  i.action = "opsgate:Help";
  i.resource_template = "*";
  return i;
}

}  // namespace

Catalogue DefaultCatalogue() {
  Catalogue c;
  c.intents.push_back(Ec2Describe());
  c.intents.push_back(Ec2Simple("start", "Start a stopped EC2 instance.",
                                {"start {instance_id}", "start instance {instance_id}",
                                 "boot up {instance_id} in {region}",
                                 "power on server {instance_id}",
                                 "please bring {instance_id} back up",
                                 "turn on {instance_id}"},
                                Confirmation::kNone, "", "ec2:StartInstances", false));
  c.intents.push_back(Ec2Simple("stop", "Stop a running EC2 instance.",
                                {"stop {instance_id}", "stop instance {instance_id}",
                                 "shut down {instance_id} in {region}",
                                 "power off server {instance_id}",
                                 "could you stop {instance_id} please",
                                 "turn off {instance_id}", "halt {instance_id}"},
                                Confirmation::kConfirm, "Stop instance {instance_id}?",
                                "ec2:StopInstances", true));
  c.intents.push_back(Ec2Simple("reboot", "Reboot an EC2 instance.",
                                {"reboot {instance_id}", "restart instance {instance_id}",
                                 "bounce {instance_id} in {region}",
                                 "power cycle server {instance_id}",
                                 "please reboot {instance_id}", "give {instance_id} a restart"},
                                Confirmation::kConfirm, "Reboot instance {instance_id}?",
                                "ec2:RebootInstances", true));
  c.intents.push_back(Ec2Resize());
  c.intents.push_back(AsgScale());
  c.intents.push_back(Waf(true));
  c.intents.push_back(Waf(false));
  c.intents.push_back(AlarmsStatus());
  c.intents.push_back(JiraCreate());
  c.intents.push_back(PipelineRun());
  c.intents.push_back(IncidentOpen());
  c.intents.push_back(Help());
  return c;
}

}  // namespace opsgate::intents
