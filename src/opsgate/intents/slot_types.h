// File: opsgate/intents/slot_types.h
//
// Validation and normalisation of one slot value by its type. Every value that reaches
// a policy decision, an approval hash or a backend call has been through
// NormaliseSlot(), so equal requests look equal and nothing a type does not allow (a
// '*', a control character, a second address) gets through.
//
//   auto id = NormaliseSlot(*stop->Slot("instance_id"), "I-0ABC1234");   // "i-0abc1234"
//   auto bad = NormaliseSlot(*stop->Slot("instance_id"), "i-12");
//   // InvalidArgument: "expected an EC2 instance id: i- followed by 8 or 17 hex digits
//   //                   (got 'i-12')"
//
// Leading and trailing ASCII whitespace is ignored for every type. What each type
// accepts, and what it returns:
//
//   aws_instance_id    "i-" and 8 or 17 hex digits, either case -> lower case.
//   aws_region         <area>-<direction>-<n>: area one of us, eu, ap, sa, ca, me, af, il,
//                      mx, cn, us-gov, us-iso, us-isob, us-isof, eu-isoe; direction one of
//                      east, west, north, south, central, northeast, northwest, southeast,
//                      southwest; n 1 to 99 without a leading zero. Either case -> lower case.
//                      The shape is checked, not the list of regions AWS runs today.
//   ec2_instance_type  <family>.<size>, either case -> lower case. family: '-'-separated
//                      alphanumeric parts, the first starting with a letter, at least one
//                      digit, at most 16 characters (t3, c7gn, u-6tb1, mac2-m2pro). size:
//                      nano, micro, small, medium, large, xlarge, <N>xlarge (N 2 to 999),
//                      metal or metal-<N>xl.
//   integer            optional '+' or '-' then decimal digits, within [min, max] of the
//                      slot, no overflow -> canonical decimal ("+007" -> "7", "-0" -> "0").
//   ip_or_cidr         an IPv4 or IPv6 address, or a CIDR with prefix 0-32 / 0-128 (no
//                      leading zeros), parsed by inet_pton -> inet_ntop's canonical text
//                      ("2001:DB8:0::1" -> "2001:db8::1"). Zone ids ("fe80::1%eth0") are
//                      refused. A CIDR with host bits set ("10.0.0.1/24") is REFUSED, not
//                      masked, and the message names the network ("10.0.0.0/24"): widening
//                      a block or an unblock silently would act on more than was asked.
//   enum               ASCII case-insensitive match on a value or a synonym -> the value.
//   identifier         1 to 128 of A-Z a-z 0-9 - _ . /, starting with a letter, a digit or
//                      '_', with no ".." -> unchanged (names are case-sensitive).
//   jira_project_key   2 to 10 letters and digits starting with a letter -> upper case.
//   free_text          valid UTF-8; tab, CR and LF become spaces; other C0 controls, DEL,
//                      C1 controls, U+2028/U+2029 and the bidirectional overrides
//                      (U+202A-U+202E, U+2066-U+2069) are refused; 1 to 2000 bytes after
//                      trimming -> the trimmed text.
//   duration           one or more <number><unit> groups, units s, m, h, d (either case)
//                      in decreasing order without repeats ("1h30m"), total from 1 second
//                      to 365 days -> the total in seconds followed by 's' ("15m" -> "900s").
//
// Every normalised value is a fixed point: NormaliseSlot(spec, *NormaliseSlot(spec, x))
// returns the same value.
//
// Error messages quote at most 64 bytes of the input, with control characters and
// invalid UTF-8 replaced, so they are safe to echo back into a chat.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/intents/intents.h"

namespace opsgate::intents {

// The normalised form of `raw` as a value of `spec` (see the file comment), or
// InvalidArgument saying what was expected and what was given. The message does not
// name the slot; callers that know the context prefix it.
[[nodiscard]] core::Result<std::string> NormaliseSlot(const SlotSpec& spec, std::string_view raw);

// `raw` as it may appear inside an error message: at most 64 bytes ("..." appended
// when cut), invalid UTF-8 and control characters replaced by '?', wrapped in single
// quotes.
std::string QuoteForMessage(std::string_view raw);

}  // namespace opsgate::intents
