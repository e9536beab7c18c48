// File: opsgate/crypto/random.h
//
// Cryptographically secure random bytes from OpenSSL's DRBG (RAND_bytes), and the
// correlation ids that follow a request through logs and the audit log.
//
// Thread-safety: safe to call from any thread (OpenSSL 3 keeps a DRBG per thread).
#pragma once

#include <cstddef>
#include <string>

#include "opsgate/core/result.h"

namespace opsgate::crypto {

// `n` random bytes. kUnavailable if the DRBG cannot produce them (it could not be
// seeded); callers must not fall back to a weaker source.
[[nodiscard]] core::Result<std::string> RandomBytes(size_t n);

// A fresh correlation id: 16 random bytes as 32 lowercase hex characters. Aborts if the
// DRBG fails, which means OpenSSL is unusable and nothing else would work either.
std::string NewCorrelationId();

}  // namespace opsgate::crypto
