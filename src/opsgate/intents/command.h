// File: opsgate/intents/command.h
//
// The deterministic command syntax, which always works whatever the classifier thinks:
//
//   <service> <verb> [positional values...] [slot=value ...]
//
//   ec2 stop i-0abc1234 region=eu-west-1
//   ec2 resize i-0abc1234 t3.large
//   asg scale web-asg 4
//   waf block-ip 203.0.113.0/24
//   jira create OPS "disk full on db-1"
//   incident open payments severity=p1 summary="checkout failing"
//   help
//
// The intent "ec2.stop" is typed "ec2 stop"; in the verb '-' stands for '_'
// ("waf block-ip" is waf.block_ip); an intent without a '.' ("help") is its service word
// alone. Service, verb and slot names match ASCII case-insensitively, and '-' in a slot
// name stands for '_' (instance-id=...).
//
// Tokens are separated by ASCII whitespace. Double quotes group a value with spaces;
// inside them \" is a quote and \\ a backslash (any other backslash is kept). A token is
// `name=value` when the text before its first '=' is unquoted and made only of letters,
// digits, '_' and '-'; otherwise it is a positional value. Positional values fill the
// intent's slots in declaration order, skipping the slots given by name anywhere in the
// command. Every value goes through NormaliseSlot().
//
//   auto parsed = ParseCommand(catalogue, "ec2 stop I-0ABC1234", {.region = "eu-west-1"});
//   // parsed->has_value(): intent ec2.stop, slots {instance_id: i-0abc1234,
//   //                      region: eu-west-1}, missing {}
//
// Ownership: ParsedCommand::intent points into the Catalogue passed to ParseCommand(),
// which must outlive it.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/intents/intents.h"

namespace opsgate::intents {

// Longest command text ParseCommand() accepts, in bytes.
inline constexpr size_t kMaxCommandBytes = 4096;

struct ParsedCommand {
  const IntentSpec* intent = nullptr;  // never null in a parsed command
  // Slot name -> normalised value, for the slots given (and defaulted). Only slots the
  // intent declares.
  std::map<std::string, std::string> slots;
  // The required slots not given, in declaration order; the dialog asks for them.
  std::vector<std::string> missing;
};

struct CommandDefaults {
  // Used for a slot called "region" that the command does not give; empty: none. It is
  // normalised like a typed value, and an invalid default is an error.
  std::string region;
};

// Parses `text` as a command (see the file comment).
//
// Returns nullopt when the first word is not the service word of an intent of
// `catalogue`: the text is free text for the classifier. Otherwise returns the parsed
// command, or:
//   ResourceExhausted  `text` is longer than kMaxCommandBytes (checked first, whatever
//                      the text is).
//   InvalidArgument    a known service with a missing or unknown verb, an unknown slot
//                      name, a slot given twice, more values than slots, an unterminated
//                      quote, or a value NormaliseSlot() refuses (the message names the
//                      slot). Messages are one line and end with the usage line(s).
//   InvalidArgument    `defaults.region` is used and is not a valid region ("the
//                      configured default region: ...").
[[nodiscard]] core::Result<std::optional<ParsedCommand>> ParseCommand(
    const Catalogue& catalogue, std::string_view text, const CommandDefaults& defaults = {});

// The usage line of an intent: the command words, then each required slot as a
// positional NAME in upper case, then each optional slot as [name=NAME].
//   "ec2 stop INSTANCE_ID [region=REGION]", "help"
std::string Usage(const IntentSpec& intent);

// The resource an intent acts on: `intent.resource_template` with each {placeholder}
// replaced, so that the policy layer can match it.
//
//   {account}        `account`, or "*" when `account` is empty.
//   {slot} given     the value in `slots` (which must be normalised).
//   {slot} optional  "*" when the slot is optional and not given (ec2.describe without an
//                    instance id -> "...:instance/*"), or when the intent has no such
//                    slot at all (asg.scale has no region: "arn:aws:autoscaling:*:...").
//   {slot} required  a required slot that is not given makes the whole result "".
//
// Why "*" fails closed: resources are matched BY policy patterns, so a literal '*' in the
// resource only matches a pattern that itself allows every value there ("instance/*"),
// never one naming a single instance; the request can only be allowed by a policy that
// allows it for all of them.
//
// Returns "" (unresolvable: the caller must refuse the request) when a required slot is
// missing, a value contains '*', '?', '{' or '}', or a '{' has no matching '}'.
std::string ResourceFor(const IntentSpec& intent, const std::map<std::string, std::string>& slots,
                        std::string_view account);

// The canonical serialisation of a command that approvals hash and compare. Format
// (version 1), where NS(x) is the netstring <decimal byte length of x> ':' x ',':
//
//   "opsgate-action-v1;" NS(intent name) NS(action) NS(resource) NS(<slot count>)
//   then for each slot in byte order of its name: NS(name) NS(value)
//
//   opsgate-action-v1;8:ec2.stop,17:ec2:StopInstances,...,1:2,11:instance_id,10:i-0abc1234,
//   6:region,9:eu-west-1,
//
// Length prefixes make the encoding injective: no two different commands give the same
// string whatever their values contain. REQUIRES: command.intent != nullptr.
std::string CanonicalAction(const ParsedCommand& command, std::string_view resource);

}  // namespace opsgate::intents
