// File: opsgate/identity/oidc/mfa.h
//
// MFA from the OpenID Provider (docs/identity.md, "MFA from the provider"): whether a
// verified ID token shows a second factor, and when it was used. The one list of `amr`
// values (RFC 8176) opsgate counts as MFA; the web chat and identity linking both ask here.
//
//   auto who = rp.CompleteLogin(pending, callback);
//   if (ShowsMfa(*who)) principal.mfa_at = MfaTime(*who, clock.Now());
//
// Header-only so that any module holding an oidc::Identity can use it.
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/core/clock.h"
#include "opsgate/identity/oidc/relying_party.h"

namespace opsgate::identity::oidc {

// `amr` values (RFC 8176) that show MFA: "mfa" (multiple factors), "otp" (one-time
// password), "hwk"/"swk" (proof of a hardware/software key), "fido" (FIDO/WebAuthn),
// "sms" (code by text message). A password ("pwd") alone, or "pin", is not MFA.
inline constexpr std::array<std::string_view, 6> kMfaMethods = {"mfa", "otp", "hwk",
                                                                "swk", "fido", "sms"};

// Whether the verified ID token's amr names one of kMfaMethods (exact, case-sensitive
// match, as RFC 8176 registers them). acr is not consulted: its values are provider
// specific; ask for them with acr_values instead.
inline bool ShowsMfa(const Identity& who) {
  return std::any_of(who.amr.begin(), who.amr.end(), [](const std::string& method) {
    return std::find(kMfaMethods.begin(), kMfaMethods.end(), method) != kMfaMethods.end();
  });
}

// When the MFA shown by `who` happened: its auth_time when present and not after `now`,
// else `now` (the login is being completed now, so the factor was used no later than
// that). nullopt when the token does not show MFA.
inline std::optional<core::Clock::WallTime> MfaTime(const Identity& who,
                                                    core::Clock::WallTime now) {
  if (!ShowsMfa(who)) {
    return std::nullopt;
  }
  // Compared in seconds first: a hostile auth_time must not overflow the conversion.
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (who.auth_time && *who.auth_time >= 0 && *who.auth_time <= now_s) {
    return core::Clock::WallTime(std::chrono::duration_cast<core::Clock::WallTime::duration>(
        std::chrono::seconds(*who.auth_time)));
  }
  return now;
}

}  // namespace opsgate::identity::oidc
