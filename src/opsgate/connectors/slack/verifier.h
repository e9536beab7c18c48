// File: opsgate/connectors/slack/verifier.h
//
// Slack request signing (v0), as a pure function: no clock, no I/O.
// https://api.slack.com/authentication/verifying-requests-from-slack
//
//   basestring = "v0:" + X-Slack-Request-Timestamp + ":" + raw_body
//   X-Slack-Signature = "v0=" + lowercase_hex(HMAC-SHA256(signing_secret, basestring))
//
//   core::Status ok = VerifySlackSignature(req.Header("x-slack-request-timestamp"),
//                                          req.Header("x-slack-signature"), req.body,
//                                          signing_secret, clock.UnixSeconds());
//   if (!ok) {
//     if (auto reason = SlackRejectReasonOf(ok.error())) {
//       rejections.With({SlackRejectReasonName(*reason)}).Inc();
//     }
//     return http::Response::Error(401, "bad_signature", ...);
//   }
//
// Verify the raw bytes exactly as received, before parsing anything. The timestamp
// window is checked in both directions (|now - ts| <= tolerance), as python-slack-sdk
// does; replayed requests inside the window are the connector's dedupe job.
//
// Thread-safety: pure function; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::connectors::slack {

// Slack's replay window: five minutes.
inline constexpr int64_t kDefaultToleranceSeconds = 300;

// Why a request was refused; the stable label of opsgate_slack_rejections_total{reason}.
enum class SlackRejectReason {
  // X-Slack-Request-Timestamp or X-Slack-Signature is absent.
  kMissingHeader,
  // The timestamp is not a plain decimal number of seconds (signs, spaces, exponents,
  // fractions, hex, empty or out of range).
  kBadTimestamp,
  // The timestamp is further than the tolerance from now, in either direction.
  kStaleTimestamp,
  // The signature is not "v0=" followed by 64 lowercase hex digits (includes other
  // versions such as "v1=").
  kBadSignatureFormat,
  // Well-formed, but not the HMAC of this body under our secret.
  kSignatureMismatch,
};

// "missing_header", "bad_timestamp", "stale_timestamp", "bad_signature_format",
// "signature_mismatch".
std::string_view SlackRejectReasonName(SlackRejectReason reason);

// Verifies a Slack request signature.
//   timestamp_header   X-Slack-Request-Timestamp, if the request had it
//   signature_header   X-Slack-Signature, if the request had it
//   raw_body           the body bytes exactly as received
//   signing_secret     the app's signing secret, used as is (not hex-decoded)
//   now_unix           current Unix time in seconds (from the injected clock)
// Errors:
//   kFailedPrecondition  `signing_secret` is empty: a configuration error, checked first.
//   kUnauthenticated     the request is refused. The message starts with the reason's
//                        name and a colon ("stale_timestamp: stale or future timestamp:
//                        ..."); SlackRejectReasonOf() recovers the reason. Messages never
//                        contain the secret or the expected signature.
[[nodiscard]] core::Status VerifySlackSignature(
    std::optional<std::string_view> timestamp_header,
    std::optional<std::string_view> signature_header, std::string_view raw_body,
    const core::Secret& signing_secret, int64_t now_unix,
    int64_t tolerance_seconds = kDefaultToleranceSeconds);

// The reason of a kUnauthenticated error returned by VerifySlackSignature; nullopt for
// any other error.
std::optional<SlackRejectReason> SlackRejectReasonOf(const core::Error& error);

// The X-Slack-Signature value for `raw_body` at `timestamp` ("v0=<64 hex>"). For tests
// and tools that need to produce signed requests; the verifier does not use it.
std::string ComputeSlackSignature(std::string_view timestamp, std::string_view raw_body,
                                  const core::Secret& signing_secret);

}  // namespace opsgate::connectors::slack
