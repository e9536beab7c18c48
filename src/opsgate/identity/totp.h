// File: opsgate/identity/totp.h
//
// One-time passwords for built-in MFA: HOTP (RFC 4226) and TOTP (RFC 6238) with
// HMAC-SHA-1/256/512 (OpenSSL), 6..8 digits; RFC 4648 base32 for secrets; enrolment URIs
// in the otpauth:// format authenticator apps read
// (otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30).
//
//   core::Result<core::Secret> secret = GenerateTotpSecret();      // 20 random bytes
//   core::Secret uri = *OtpauthUri("opsgate", "alice@example.com", *secret, {});
//   ...
//   core::Result<int64_t> step = VerifyTotp(*secret, code, clock.UnixSeconds(), {});
//   if (step) { OPSGATE_RETURN_IF_ERROR(replay_guard.MarkUsed(user, *step)); }
//
// Verification accepts the code of the current step and of `window` steps either side,
// compares every candidate in constant time, and returns the matched step so that the
// caller can refuse reuse through a TotpReplayGuard (each code is usable once).
//
// Secrets are raw key bytes held in core::Secret; encrypting them at rest is the
// store's job. Thread-safety: free functions are pure; InMemoryTotpReplayGuard is
// internally locked.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::identity {

enum class OtpAlgorithm {
  kSha1,    // "SHA1", the default every authenticator app supports
  kSha256,  // "SHA256"
  kSha512,  // "SHA512"
};

// "SHA1", "SHA256", "SHA512".
std::string_view OtpAlgorithmName(OtpAlgorithm alg);

struct TotpParams {
  OtpAlgorithm algorithm = OtpAlgorithm::kSha1;
  // 6, 7 or 8.
  int digits = 6;
  // Time step X; 1..300 s.
  std::chrono::seconds period{30};
  // T0, the Unix time of step 0.
  int64_t t0 = 0;
};

// HOTP value for `counter` (RFC 4226 §5.3), zero-padded to `digits`.
// Errors: kInvalidArgument for digits outside 6..8 or an empty key.
[[nodiscard]] core::Result<std::string> Hotp(std::string_view key, uint64_t counter,
                                             OtpAlgorithm algorithm, int digits);

// The time step of `unix_time` (floor((t - T0) / X)). Errors: kInvalidArgument for a bad
// period or a time before T0.
[[nodiscard]] core::Result<int64_t> TotpStep(int64_t unix_time, const TotpParams& params);

// TOTP value at `unix_time`.
[[nodiscard]] core::Result<std::string> TotpAt(std::string_view key, int64_t unix_time,
                                               const TotpParams& params);

// Checks `code` against steps [now-window, now+window]. Returns the matched step.
// Errors: kInvalidArgument for bad params or window outside 0..10; kUnauthenticated when
// `code` is not exactly `digits` ASCII digits or matches no step in the window.
[[nodiscard]] core::Result<int64_t> VerifyTotp(const core::Secret& key, std::string_view code,
                                               int64_t unix_now, const TotpParams& params,
                                               int window = 1);

// Records accepted (user, step) pairs so that a code cannot be used twice.
class TotpReplayGuard {
 public:
  virtual ~TotpReplayGuard() = default;
  // Accepts `step` for `user` iff it is later than every step accepted for that user
  // before (a used code, or an older one still inside the window, is refused).
  // Errors: kUnauthenticated "totp_replayed: ..." when refused; implementations backed by
  // a store may return kUnavailable.
  [[nodiscard]] virtual core::Status MarkUsed(std::string_view user, int64_t step) = 0;
};

// Process-local guard: remembers the last accepted step per user. State is lost on
// restart (a code could then be replayed within its window); the store-backed guard
// replaces it in production wiring.
class InMemoryTotpReplayGuard final : public TotpReplayGuard {
 public:
  core::Status MarkUsed(std::string_view user, int64_t step) override;

 private:
  std::mutex mu_;
  std::unordered_map<std::string, int64_t> last_step_;  // GUARDED_BY(mu_)
};

// RFC 4648 §6 base32, upper case, without '=' padding (what otpauth URIs carry).
std::string Base32Encode(std::string_view bytes);

// Decodes base32: case-insensitive; '=' padding optional but, if present, must be exactly
// right; spaces are not allowed. Errors: kInvalidArgument on a bad character, an
// impossible length or non-zero unused bits.
[[nodiscard]] core::Result<std::string> Base32Decode(std::string_view text);

// A fresh 20-byte (160-bit, RFC 4226 §4 recommendation) secret. Errors: kUnavailable if
// the DRBG fails.
[[nodiscard]] core::Result<core::Secret> GenerateTotpSecret();

// otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=..&digits=..
// &period=.. with issuer and account percent-encoded (RFC 3986 unreserved kept).
// The URI embeds the secret, so it is returned as a Secret: render it into the enrolment
// QR code and nowhere else (never a log line).
// Errors: kInvalidArgument when issuer or account is empty or contains ':', or params
// are invalid.
[[nodiscard]] core::Result<core::Secret> OtpauthUri(std::string_view issuer,
                                                   std::string_view account,
                                                   const core::Secret& key,
                                                   const TotpParams& params);

}  // namespace opsgate::identity
