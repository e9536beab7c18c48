// File: opsgate/intents/intents.h
//
// The intent catalogue, modelled on Amazon Lex: an IntentSpec names one thing a user can
// ask for ("ec2.stop"), gives sample utterances with {slot} placeholders for the
// classifier, the typed slots it needs, whether and how it must be confirmed, and the
// IAM-style action and resource template the policy layer authorises.
//
//   const Catalogue catalogue = DefaultCatalogue();
//   const IntentSpec* stop = catalogue.Find("ec2.stop");
//   const SlotSpec* id = stop->Slot("instance_id");   // kAwsInstanceId, required
//
// DefaultCatalogue() is the catalogue of the starter config: ec2.describe, ec2.start,
// ec2.stop, ec2.reboot, ec2.resize, asg.scale, waf.block_ip, waf.unblock_ip,
// alarms.status, jira.create, pipeline.run, incident.open and help. Out-of-scope text is
// not an intent of the catalogue; the classifier reports it as "none".
//
// Ownership: plain value types. Pointers returned by Find() and Slot() point into the
// catalogue and stay valid while it is alive and not modified.
//
// Thread-safety: value types; a const Catalogue may be shared by any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate::intents {

// The built-in slot types; slot_types.h documents what each accepts and how it is
// normalised.
enum class SlotType {
  kAwsInstanceId,    // i-0abc1234 / i-0123456789abcdef0
  kAwsRegion,        // eu-west-1, us-gov-west-1
  kEc2InstanceType,  // t3.micro, m5.2xlarge
  kInteger,          // decimal, within [SlotSpec::min, SlotSpec::max]
  kIpOrCidr,         // 203.0.113.7, 2001:db8::/32
  kEnum,             // one of SlotSpec::values, or one of their synonyms
  kIdentifier,       // an Auto Scaling group, a pipeline, a branch, a service
  kJiraProjectKey,   // OPS
  kFreeText,         // a ticket summary
  kDuration,         // 30s, 15m, 2h, 1d
};

// Stable snake_case name of a slot type ("aws_instance_id"), as used in config.
std::string_view SlotTypeName(SlotType type);

// One value of an enum slot. Matching is ASCII case-insensitive on `value` and on every
// synonym; the normalised slot value is always `value`.
struct EnumValue {
  std::string value;
  std::vector<std::string> synonyms;
};

struct SlotSpec {
  std::string name;  // snake_case, unique within the intent
  SlotType type = SlotType::kFreeText;
  bool required = false;
  std::string prompt;  // what the dialog asks when the slot is missing
  // kInteger only: the accepted range, inclusive.
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  // kEnum only: the accepted values.
  std::vector<EnumValue> values;
};

enum class Confirmation {
  // Runs without asking.
  kNone,
  // The user answers yes/no to `confirmation_prompt`.
  kConfirm,
  // The user re-types the value of `typed_slot` (the instance id, the capacity).
  kTyped,
};

struct IntentSpec {
  std::string name;  // "<service>.<verb>" ("ec2.stop"), or a single word ("help")
  std::string description;
  std::vector<std::string> utterances;  // sample utterances with {slot} placeholders
  std::vector<SlotSpec> slots;          // in declaration order (the positional order)
  Confirmation confirmation = Confirmation::kNone;
  std::string typed_slot;           // kTyped: the slot the user re-types
  std::string confirmation_prompt;  // may use {slot} placeholders
  std::string action;               // "ec2:StopInstances"
  std::string resource_template;    // {slot} and {account} placeholders; see ResourceFor()
  bool destructive = false;         // stops, restarts, shrinks or cuts off something

  // The slot called `name`, or nullptr.
  const SlotSpec* Slot(std::string_view name) const;
};

struct Catalogue {
  std::vector<IntentSpec> intents;

  // The intent called exactly `name`, or nullptr.
  const IntentSpec* Find(std::string_view name) const;
};

// The default catalogue of the starter config (see the file comment).
Catalogue DefaultCatalogue();

}  // namespace opsgate::intents
