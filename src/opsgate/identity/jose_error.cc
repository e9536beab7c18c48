#include "opsgate/identity/jose_error.h"

#include <array>

namespace opsgate::identity {
namespace {

constexpr std::array<std::string_view, 20> kNames = {
    "malformed",         "too_large",        "alg_not_allowed", "alg_mismatch",
    "unknown_kid",       "no_usable_key",    "bad_signature",   "crit_unsupported",
    "embedded_jwk",      "key_reference_refused", "bad_key",    "expired",
    "not_yet_valid",     "issued_in_future", "wrong_issuer",    "wrong_audience",
    "missing_claim",     "bad_claim_type",   "nonce_mismatch",  "wrong_type",
};

}  // namespace

std::string_view JoseReasonName(JoseReason reason) {
  const auto i = static_cast<size_t>(reason);
  return i < kNames.size() ? kNames[i] : "unknown";
}

core::Error JoseRefusal(JoseReason reason, std::string_view detail) {
  std::string msg(JoseReasonName(reason));
  msg += ": ";
  msg += detail;
  return core::Unauthenticated(std::move(msg));
}

std::string_view JoseReasonOf(const core::Error& error) {
  const std::string_view msg = error.message;
  const size_t colon = msg.find(": ");
  if (colon == std::string_view::npos) {
    return {};
  }
  const std::string_view word = msg.substr(0, colon);
  for (std::string_view name : kNames) {
    if (name == word) {
      return name;
    }
  }
  return {};
}

}  // namespace opsgate::identity
