#include "opsgate/connectors/slack/verifier.h"

#include <array>
#include <limits>
#include <string>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"

namespace opsgate::connectors::slack {
namespace {

constexpr std::string_view kVersionPrefix = "v0=";
constexpr size_t kHexDigits = 64;  // SHA-256 as hex

constexpr std::array<SlackRejectReason, 5> kAllReasons = {
    SlackRejectReason::kMissingHeader, SlackRejectReason::kBadTimestamp,
    SlackRejectReason::kStaleTimestamp, SlackRejectReason::kBadSignatureFormat,
    SlackRejectReason::kSignatureMismatch};

core::Unexpected Reject(SlackRejectReason reason, std::string_view detail) {
  std::string message(SlackRejectReasonName(reason));
  message += ": ";
  message += detail;
  return core::Fail(core::Unauthenticated(std::move(message)));
}

bool IsLowerHex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// The header value for a message, shortened and stripped of anything that could
// forge a log line.
std::string Printable(std::string_view s) {
  constexpr size_t kMax = 32;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : static_cast<char>(c);
  }
  if (s.size() > kMax) {
    out += "...";
  }
  return out;
}

std::string BaseString(std::string_view timestamp, std::string_view raw_body) {
  std::string base;
  base.reserve(3 + timestamp.size() + 1 + raw_body.size());
  base += "v0:";
  base += timestamp;
  base += ':';
  base += raw_body;
  return base;
}

}  // namespace

std::string_view SlackRejectReasonName(SlackRejectReason reason) {
  switch (reason) {
    case SlackRejectReason::kMissingHeader:
      return "missing_header";
    case SlackRejectReason::kBadTimestamp:
      return "bad_timestamp";
    case SlackRejectReason::kStaleTimestamp:
      return "stale_timestamp";
    case SlackRejectReason::kBadSignatureFormat:
      return "bad_signature_format";
    case SlackRejectReason::kSignatureMismatch:
      return "signature_mismatch";
  }
  return "unknown";
}

std::optional<SlackRejectReason> SlackRejectReasonOf(const core::Error& error) {
  if (error.code != core::ErrorCode::kUnauthenticated) {
    return std::nullopt;
  }
  const std::string_view message = error.message;
  for (const SlackRejectReason r : kAllReasons) {
    const std::string_view name = SlackRejectReasonName(r);
    if (message.size() > name.size() && message.substr(0, name.size()) == name &&
        message[name.size()] == ':') {
      return r;
    }
  }
  return std::nullopt;
}

std::string ComputeSlackSignature(std::string_view timestamp, std::string_view raw_body,
                                  const core::Secret& signing_secret) {
  return std::string(kVersionPrefix) +
         crypto::HexEncode(
             crypto::HmacSha256(signing_secret.Reveal(), BaseString(timestamp, raw_body)));
}

core::Status VerifySlackSignature(std::optional<std::string_view> timestamp_header,
                                  std::optional<std::string_view> signature_header,
                                  std::string_view raw_body, const core::Secret& signing_secret,
                                  int64_t now_unix, int64_t tolerance_seconds) {
  if (signing_secret.empty()) {
    return core::Fail(core::FailedPrecondition(
        "Slack signing secret is empty: set connectors.slack.signing_secret to the app's "
        "Signing Secret (Basic Information page)"));
  }
  if (!timestamp_header) {
    return Reject(SlackRejectReason::kMissingHeader, "missing X-Slack-Request-Timestamp");
  }
  if (!signature_header) {
    return Reject(SlackRejectReason::kMissingHeader, "missing X-Slack-Signature");
  }

  // Digits only: ParseDigits refuses signs, spaces, exponents, fractions and hex, so
  // the bytes we sign over are exactly the number we checked against the clock.
  const std::optional<uint64_t> ts = core::ParseDigits(*timestamp_header);
  if (!ts || *ts > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Reject(SlackRejectReason::kBadTimestamp,
                  "X-Slack-Request-Timestamp is not a Unix time in decimal seconds: \"" +
                      Printable(*timestamp_header) + "\"");
  }
  const int64_t ts_signed = static_cast<int64_t>(*ts);
  // Both values are within int64, so compute the distance without overflow.
  const uint64_t distance =
      ts_signed > now_unix ? static_cast<uint64_t>(ts_signed) - static_cast<uint64_t>(now_unix)
                           : static_cast<uint64_t>(now_unix) - static_cast<uint64_t>(ts_signed);
  const uint64_t tolerance = tolerance_seconds < 0 ? 0 : static_cast<uint64_t>(tolerance_seconds);
  if (distance > tolerance) {
    return Reject(
        SlackRejectReason::kStaleTimestamp,
        "stale or future timestamp: " + std::to_string(*ts) + " is " + std::to_string(distance) +
            " s " + (ts_signed > now_unix ? "ahead of" : "behind") + " the clock (" +
            std::to_string(now_unix) + "); tolerance is " + std::to_string(tolerance) + " s");
  }

  const std::string_view sig = *signature_header;
  if (sig.substr(0, kVersionPrefix.size()) != kVersionPrefix) {
    return Reject(SlackRejectReason::kBadSignatureFormat,
                  "X-Slack-Signature must start with \"v0=\" (the only version Slack uses): \"" +
                      Printable(sig.substr(0, 8)) + "\"");
  }
  const std::string_view hex = sig.substr(kVersionPrefix.size());
  if (hex.size() != kHexDigits || !IsLowerHex(hex)) {
    return Reject(SlackRejectReason::kBadSignatureFormat,
                  "X-Slack-Signature must be \"v0=\" and 64 lowercase hex digits (got " +
                      std::to_string(sig.size()) + " characters)");
  }

  const std::string expected = crypto::HexEncode(
      crypto::HmacSha256(signing_secret.Reveal(), BaseString(*timestamp_header, raw_body)));
  if (!crypto::ConstantTimeEquals(expected, hex)) {
    return Reject(SlackRejectReason::kSignatureMismatch,
                  "X-Slack-Signature does not match the request body; check the signing secret "
                  "and that nothing rewrote the body on the way");
  }
  return core::Ok();
}

}  // namespace opsgate::connectors::slack
