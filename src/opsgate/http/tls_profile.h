// File: opsgate/http/tls_profile.h
//
// The TLS parameters of Mozilla's server-side TLS guidelines 6.0
// (https://ssl-config.mozilla.org/guidelines/6.0.json) for the two profiles opsgate
// offers, as OpenSSL strings. server.cc builds its SSL_CTX from these, and a test
// compares them with the published JSON, so a drift shows up as a failing test.
//
// Thread-safety: immutable static data.
#pragma once

#include "opsgate/config/config.h"

namespace opsgate::http {

struct TlsProfileSpec {
  const char* min_version;         // "TLSv1.2" or "TLSv1.3"
  const char* max_version;         // "TLSv1.3"
  const char* ciphers_tls12;       // SSL_CTX_set_cipher_list(); empty for TLS 1.3 only
  const char* ciphersuites_tls13;  // SSL_CTX_set_ciphersuites()
  const char* groups;              // SSL_CTX_set1_groups_list()
  bool server_preferred_order;     // SSL_OP_CIPHER_SERVER_PREFERENCE
  long hsts_max_age_seconds;       // Strict-Transport-Security max-age
};

// The spec of `profile`; the reference stays valid for the program's lifetime.
const TlsProfileSpec& SpecFor(config::TlsProfile profile);

}  // namespace opsgate::http
