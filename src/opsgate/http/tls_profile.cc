#include "opsgate/http/tls_profile.h"

namespace opsgate::http {
namespace {

constexpr const char* kCiphersuitesTls13 =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// Mozilla 6.0 lists X25519MLKEM768 first. OpenSSL 3.0 (Debian 12) has no ML-KEM, and
// SSL_CTX_set1_groups_list() fails on an unknown name, so the hybrid group is left out;
// add it back in front when the build moves to OpenSSL >= 3.5.
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

constexpr long kHstsMaxAge = 63072000;  // Mozilla hsts_min_age: two years

constexpr TlsProfileSpec kIntermediate = {
    "TLSv1.2",
    "TLSv1.3",
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    kCiphersuitesTls13,
    kGroups,
    false,
    kHstsMaxAge,
};

constexpr TlsProfileSpec kModern = {
    "TLSv1.3", "TLSv1.3", "", kCiphersuitesTls13, kGroups, false, kHstsMaxAge,
};

}  // namespace

const TlsProfileSpec& SpecFor(config::TlsProfile profile) {
  switch (profile) {
    case config::TlsProfile::kModern:
      return kModern;
    case config::TlsProfile::kIntermediate:
      break;
  }
  return kIntermediate;
}

}  // namespace opsgate::http
