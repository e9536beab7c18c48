#include "opsgate/intents/slot_types.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "opsgate/core/strings.h"

namespace opsgate::intents {
namespace {

using core::Fail;
using core::Result;

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiAlpha(char c) { return IsAsciiLower(c) || IsAsciiUpper(c); }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (IsAsciiUpper(c)) {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (IsAsciiLower(c)) {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (IsAsciiUpper(x)) {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (IsAsciiUpper(y)) {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

core::Error Expected(std::string_view what, std::string_view raw) {
  return core::InvalidArgument("expected " + std::string(what) + " (got " +
                               QuoteForMessage(raw) + ")");
}

// A decimal number of 1 to `max_digits` digits, no sign, no leading zero unless it is
// "0" itself when `allow_leading_zero` is false.
std::optional<uint64_t> SmallNumber(std::string_view s, size_t max_digits,
                                    bool allow_leading_zero) {
  if (s.empty() || s.size() > max_digits) {
    return std::nullopt;
  }
  if (!allow_leading_zero && s.size() > 1 && s[0] == '0') {
    return std::nullopt;
  }
  return core::ParseDigits(s);
}

Result<std::string> InstanceId(std::string_view v) {
  constexpr std::string_view kWhat = "an EC2 instance id: i- followed by 8 or 17 hex digits";
  std::string lower = AsciiLower(v);
  if (lower.size() != 10 && lower.size() != 19) {
    return Fail(Expected(kWhat, v));
  }
  if (lower.compare(0, 2, "i-") != 0) {
    return Fail(Expected(kWhat, v));
  }
  for (size_t i = 2; i < lower.size(); ++i) {
    if (core::HexDigitValue(lower[i]) < 0) {
      return Fail(Expected(kWhat, v));
    }
  }
  return lower;
}

Result<std::string> Region(std::string_view v) {
  constexpr std::string_view kWhat =
      "an AWS region such as eu-west-1 or us-gov-west-1 (<area>-<direction>-<number>)";
  static constexpr std::array<std::string_view, 15> kAreas = {
      "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn",
      "us-gov", "us-iso", "us-isob", "us-isof", "eu-isoe"};
  static constexpr std::array<std::string_view, 9> kDirections = {
      "east", "west", "north", "south", "central", "northeast", "northwest", "southeast",
      "southwest"};
  if (v.size() > 32) {
    return Fail(Expected(kWhat, v));
  }
  std::string lower = AsciiLower(v);
  const size_t last = lower.rfind('-');
  if (last == std::string::npos || last == 0) {
    return Fail(Expected(kWhat, v));
  }
  const size_t mid = lower.rfind('-', last - 1);
  if (mid == std::string::npos || mid == 0) {
    return Fail(Expected(kWhat, v));
  }
  const std::string_view s = lower;
  const std::string_view area = s.substr(0, mid);
  const std::string_view direction = s.substr(mid + 1, last - mid - 1);
  const std::string_view number = s.substr(last + 1);
  bool area_ok = false;
  for (std::string_view a : kAreas) {
    area_ok = area_ok || a == area;
  }
  bool direction_ok = false;
  for (std::string_view d : kDirections) {
    direction_ok = direction_ok || d == direction;
  }
  const auto n = SmallNumber(number, 2, false);
  if (!area_ok || !direction_ok || !n || *n == 0) {
    return Fail(Expected(kWhat, v));
  }
  return lower;
}

bool ValidFamily(std::string_view f) {
  if (f.empty() || f.size() > 16 || !IsAsciiLower(f[0])) {
    return false;
  }
  bool digit = false;
  char prev = '-';
  for (char c : f) {
    if (c == '-') {
      if (prev == '-') {
        return false;  // empty part (also catches a leading '-')
      }
    } else if (IsAsciiDigit(c)) {
      digit = true;
    } else if (!IsAsciiLower(c)) {
      return false;
    }
    prev = c;
  }
  return digit && prev != '-';
}

// "<N>xlarge" with N from 2 to 999 without a leading zero, or `suffix` after "metal-".
bool MultipleOf(std::string_view s, std::string_view suffix) {
  if (s.size() <= suffix.size() || s.substr(s.size() - suffix.size()) != suffix) {
    return false;
  }
  const auto n = SmallNumber(s.substr(0, s.size() - suffix.size()), 3, false);
  return n && *n >= 2;
}

bool ValidSize(std::string_view s) {
  static constexpr std::array<std::string_view, 7> kSizes = {
      "nano", "micro", "small", "medium", "large", "xlarge", "metal"};
  for (std::string_view k : kSizes) {
    if (s == k) {
      return true;
    }
  }
  if (MultipleOf(s, "xlarge")) {
    return true;
  }
  constexpr std::string_view kMetal = "metal-";
  return s.substr(0, kMetal.size()) == kMetal && MultipleOf(s.substr(kMetal.size()), "xl");
}

Result<std::string> InstanceType(std::string_view v) {
  constexpr std::string_view kWhat =
      "an EC2 instance type: <family>.<size> such as t3.micro or m5.2xlarge";
  if (v.size() > 40) {
    return Fail(Expected(kWhat, v));
  }
  std::string lower = AsciiLower(v);
  const size_t dot = lower.find('.');
  if (dot == std::string::npos || lower.find('.', dot + 1) != std::string::npos) {
    return Fail(Expected(kWhat, v));
  }
  const std::string_view s = lower;
  if (!ValidFamily(s.substr(0, dot)) || !ValidSize(s.substr(dot + 1))) {
    return Fail(Expected(kWhat, v));
  }
  return lower;
}

Result<std::string> Integer(const SlotSpec& spec, std::string_view v) {
  const bool bounded = spec.min != INT64_MIN || spec.max != INT64_MAX;
  const std::string what = bounded ? "an integer from " + std::to_string(spec.min) + " to " +
                                         std::to_string(spec.max)
                                   : std::string("an integer");
  std::string_view digits = v;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  // Leading zeros are harmless but must not make a small number look like an overflow.
  while (digits.size() > 1 && digits[0] == '0') {
    digits.remove_prefix(1);
  }
  const auto magnitude = core::ParseDigits(digits);
  if (!magnitude) {
    return Fail(Expected(what, v));
  }
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(INT64_MAX);
  int64_t value = 0;
  if (negative) {
    if (*magnitude > kMaxPositive + 1) {
      return Fail(Expected(what, v));
    }
    value = *magnitude == kMaxPositive + 1 ? INT64_MIN : -static_cast<int64_t>(*magnitude);
  } else {
    if (*magnitude > kMaxPositive) {
      return Fail(Expected(what, v));
    }
    value = static_cast<int64_t>(*magnitude);
  }
  if (value < spec.min || value > spec.max) {
    return Fail(Expected(what, v));
  }
  return std::to_string(value);
}

Result<std::string> IpOrCidr(std::string_view v) {
  constexpr std::string_view kWhat =
      "an IPv4 or IPv6 address or CIDR such as 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32";
  if (v.find('%') != std::string_view::npos) {
    return Fail(core::InvalidArgument("expected an IP address or CIDR without a zone id (got " +
                                      QuoteForMessage(v) + ")"));
  }
  // Checked before inet_pton so that an embedded NUL cannot end the C string early.
  if (v.empty() || v.size() > 64) {
    return Fail(Expected(kWhat, v));
  }
  for (char c : v) {
    if (!(core::HexDigitValue(c) >= 0 || c == ':' || c == '.' || c == '/')) {
      return Fail(Expected(kWhat, v));
    }
  }
  const size_t slash = v.find('/');
  const std::string address(v.substr(0, slash));
  const bool v6 = address.find(':') != std::string::npos;
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) {
    return Fail(Expected(kWhat, v));
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text.data(), text.size()) == nullptr) {
    return Fail(Expected(kWhat, v));
  }
  std::string out(text.data());
  if (slash == std::string_view::npos) {
    return out;
  }
  const uint64_t max_prefix = v6 ? 128 : 32;
  const auto prefix = SmallNumber(v.substr(slash + 1), 3, false);
  if (!prefix || *prefix > max_prefix) {
    return Fail(core::InvalidArgument("expected a CIDR prefix length from 0 to " +
                                      std::to_string(max_prefix) + " (got " +
                                      QuoteForMessage(v) + ")"));
  }
  // Mask the host bits: if that changes the address the user named a host inside a
  // network; we refuse rather than silently act on the whole network.
  std::array<unsigned char, 16> network = bytes;
  const size_t len = v6 ? 16 : 4;
  for (size_t i = 0; i < len; ++i) {
    const uint64_t bit = i * 8;
    if (bit >= *prefix) {
      network[i] = 0;
    } else if (*prefix - bit < 8) {
      network[i] = static_cast<unsigned char>(network[i] & (0xff << (8 - (*prefix - bit))));
    }
  }
  if (network != bytes) {
    std::array<char, INET6_ADDRSTRLEN> net_text{};
    inet_ntop(v6 ? AF_INET6 : AF_INET, network.data(), net_text.data(), net_text.size());
    return Fail(core::InvalidArgument(
        "expected a CIDR without host bits set: did you mean " + std::string(net_text.data()) +
        "/" + std::to_string(*prefix) + "? (got " + QuoteForMessage(v) + ")"));
  }
  return out + "/" + std::to_string(*prefix);
}

Result<std::string> Enum(const SlotSpec& spec, std::string_view v) {
  for (const EnumValue& e : spec.values) {
    if (EqualsIgnoreCase(e.value, v)) {
      return e.value;
    }
    for (const std::string& syn : e.synonyms) {
      if (EqualsIgnoreCase(syn, v)) {
        return e.value;
      }
    }
  }
  std::string what = "one of ";
  for (size_t i = 0; i < spec.values.size(); ++i) {
    what += (i == 0 ? "" : ", ") + spec.values[i].value;
  }
  if (spec.values.empty()) {
    what = "a value, but this slot lists none (a configuration error)";
  }
  return Fail(Expected(what, v));
}

Result<std::string> Identifier(std::string_view v) {
  constexpr std::string_view kWhat =
      "a name of 1 to 128 letters, digits and - _ . / starting with a letter, a digit or _, "
      "without '..'";
  if (v.empty() || v.size() > 128 || !(IsAsciiAlnum(v[0]) || v[0] == '_') ||
      v.find("..") != std::string_view::npos) {
    return Fail(Expected(kWhat, v));
  }
  for (char c : v) {
    if (!(IsAsciiAlnum(c) || c == '-' || c == '_' || c == '.' || c == '/')) {
      return Fail(Expected(kWhat, v));
    }
  }
  return std::string(v);
}

Result<std::string> JiraProjectKey(std::string_view v) {
  constexpr std::string_view kWhat =
      "a Jira project key: 2 to 10 letters and digits starting with a letter, such as OPS";
  if (v.size() < 2 || v.size() > 10 || !IsAsciiAlpha(v[0])) {
    return Fail(Expected(kWhat, v));
  }
  for (char c : v) {
    if (!IsAsciiAlnum(c)) {
      return Fail(Expected(kWhat, v));
    }
  }
  return AsciiUpper(v);
}

// Code points refused in free text although they are valid UTF-8: C1 controls, the
// line/paragraph separators and the bidirectional embeddings, overrides and isolates
// that can make a summary read differently from what it says ("Trojan Source").
bool RefusedCodePoint(std::string_view seq) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(seq[i]); };
  if (seq.size() == 2) {
    return b(0) == 0xc2 && b(1) >= 0x80 && b(1) <= 0x9f;
  }
  if (seq.size() == 3 && b(0) == 0xe2) {
    if (b(1) == 0x80) {
      return b(2) >= 0xa8 && b(2) <= 0xae;  // U+2028..U+202E
    }
    if (b(1) == 0x81) {
      return b(2) >= 0xa6 && b(2) <= 0xa9;  // U+2066..U+2069
    }
  }
  return false;
}

Result<std::string> FreeText(std::string_view v) {
  constexpr std::string_view kWhat =
      "text of 1 to 2000 bytes of UTF-8 without control or bidirectional-override characters";
  if (!core::IsValidUtf8(v)) {
    return Fail(core::InvalidArgument("expected " + std::string(kWhat) +
                                      " (got bytes that are not valid UTF-8)"));
  }
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    const size_t n = core::Utf8SequenceLength(v, i);
    const std::string_view seq = v.substr(i, n);
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\t' || c == '\n' || c == '\r') {
      out.push_back(' ');
    } else if (c < 0x20 || c == 0x7f || RefusedCodePoint(seq)) {
      return Fail(core::InvalidArgument("expected " + std::string(kWhat) +
                                        " (got a control character at byte " +
                                        std::to_string(i) + ")"));
    } else {
      out.append(seq);
    }
    i += n;
  }
  const std::string_view trimmed = core::Trim(out);
  if (trimmed.empty() || trimmed.size() > 2000) {
    return Fail(core::InvalidArgument("expected " + std::string(kWhat) + " (got " +
                                      std::to_string(trimmed.size()) + " bytes)"));
  }
  return std::string(trimmed);
}

Result<std::string> Duration(std::string_view v) {
  constexpr std::string_view kWhat =
      "a duration such as 30s, 15m, 2h, 1d or 1h30m, from 1 second to 365 days";
  constexpr std::string_view kUnits = "dhms";  // decreasing
  constexpr std::array<uint64_t, 4> kSeconds = {86400, 3600, 60, 1};
  constexpr uint64_t kMax = 365 * 86400;
  if (v.empty() || v.size() > 32) {
    return Fail(Expected(kWhat, v));
  }
  uint64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the largest unit still allowed
  size_t i = 0;
  while (i < v.size()) {
    size_t j = i;
    while (j < v.size() && IsAsciiDigit(v[j])) {
      ++j;
    }
    if (j == i || j == v.size()) {
      return Fail(Expected(kWhat, v));
    }
    const auto n = SmallNumber(v.substr(i, j - i), 9, true);
    const char unit = IsAsciiUpper(v[j]) ? static_cast<char>(v[j] - 'A' + 'a') : v[j];
    const size_t u = kUnits.find(unit);
    if (!n || u == std::string_view::npos || u < next_unit) {
      return Fail(Expected(kWhat, v));
    }
    total += *n * kSeconds[u];  // at most 10^9 * 86400 * 4 groups: no overflow
    next_unit = u + 1;
    i = j + 1;
  }
  if (total < 1 || total > kMax) {
    return Fail(Expected(kWhat, v));
  }
  return std::to_string(total) + "s";
}

}  // namespace

std::string QuoteForMessage(std::string_view raw) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  size_t i = 0;
  while (i < raw.size() && i < kMax) {
    const size_t n = core::Utf8SequenceLength(raw, i);
    if (n == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    if (i + n > kMax) {
      break;  // never cut a sequence in half
    }
    const std::string_view seq = raw.substr(i, n);
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c < 0x20 || c == 0x7f || RefusedCodePoint(seq)) {
      out.push_back('?');
    } else {
      out.append(seq);
    }
    i += n;
  }
  if (i < raw.size()) {
    out += "...";
  }
  out.push_back('\'');
  return out;
}

Result<std::string> NormaliseSlot(const SlotSpec& spec, std::string_view raw) {
  const std::string_view v = core::Trim(raw);
  switch (spec.type) {
    case SlotType::kAwsInstanceId:
      return InstanceId(v);
    case SlotType::kAwsRegion:
      return Region(v);
    case SlotType::kEc2InstanceType:
      return InstanceType(v);
    case SlotType::kInteger:
      return Integer(spec, v);
    case SlotType::kIpOrCidr:
      return IpOrCidr(v);
    case SlotType::kEnum:
      return Enum(spec, v);
    case SlotType::kIdentifier:
      return Identifier(v);
    case SlotType::kJiraProjectKey:
      return JiraProjectKey(v);
    case SlotType::kFreeText:
      return FreeText(v);
    case SlotType::kDuration:
      return Duration(v);
  }
  return Fail(core::Internal("unknown slot type"));
}

}  // namespace opsgate::intents
