// File: opsgate/identity/local/password.h
//
// Password hashing for local accounts: scrypt (RFC 7914) through OpenSSL 3's EVP_KDF
// ("SCRYPT"), stored as a PHC string (the format of the Password Hashing Competition
// reference, as libsodium/passlib write it):
//
//   $scrypt$ln=14,r=8,p=1$<salt, unpadded base64>$<hash, unpadded base64>
//
// ln is log2 of the CPU/memory cost N. Debian 12's OpenSSL 3.0 has no Argon2, hence
// scrypt. The default (ln=14, r=8, p=1: 16 MiB and ~65 ms per hash on the 2-core
// build machine) is sized for an interactive login; tests pass cheaper parameters.
//
//   auto phc = HashPassword(core::Secret(pw), ScryptParams{});
//   auto ok = VerifyPassword(core::Secret(pw), *phc);   // Result<bool>
//   if (*ok && NeedsRehash(*phc, ScryptParams{})) { store the new HashPassword(...) }
//
// The parser is strict: anything a canonical encoder would not have produced (another
// algorithm, unknown or reordered parameters, out-of-range values, padded or non-canonical
// base64, a salt shorter than 16 or a hash shorter than 16 bytes) is kInvalidArgument
// naming what is wrong. Verification compares with CRYPTO_memcmp.
//
// Password policy (CheckPasswordPolicy): at least 12 bytes (UTF-8 passphrases welcome),
// at most 1024 bytes (a bound on hashing work per request), not one character repeated.
// No composition rules (NIST SP 800-63B §5.1.1.2).
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::identity::local {

struct ScryptParams {
  // log2(N). Accepted when parsing/hashing: 10..22 (N = 1 Ki .. 4 Mi).
  int log2_n = 14;
  // Block size r: 1..32.
  int r = 8;
  // Parallelism p: 1..16.
  int p = 1;
  // Salt and derived-key lengths in bytes: 16..64 each.
  int salt_len = 16;
  int hash_len = 32;

  friend bool operator==(const ScryptParams&, const ScryptParams&) = default;
};

// Memory scrypt needs for `params`, in bytes (128 * r * N * p, plus the 128 * r * p
// block buffer); parameters above 1 GiB are refused.
uint64_t ScryptMemoryBytes(const ScryptParams& params);

// Validates ranges. Errors: kInvalidArgument naming the parameter and its range.
[[nodiscard]] core::Status CheckScryptParams(const ScryptParams& params);

inline constexpr size_t kMinPasswordBytes = 12;
inline constexpr size_t kMaxPasswordBytes = 1024;

// Errors: kInvalidArgument "password_policy: ..." saying what to change.
[[nodiscard]] core::Status CheckPasswordPolicy(std::string_view password);

// Hashes `password` with a fresh random salt. Does not apply the policy (call
// CheckPasswordPolicy when a password is set; hashing a dummy must not fail on it).
// Errors: kInvalidArgument for bad params or a password over kMaxPasswordBytes;
// kUnavailable if the DRBG fails; kInternal if OpenSSL's scrypt fails.
[[nodiscard]] core::Result<std::string> HashPassword(const core::Secret& password,
                                                     const ScryptParams& params);

// A parsed PHC string.
struct ParsedPasswordHash {
  ScryptParams params;
  std::string salt;
  std::string hash;
};

// Parses a stored PHC string strictly (see above).
[[nodiscard]] core::Result<ParsedPasswordHash> ParsePasswordHash(std::string_view phc);

// Formats a PHC string (the inverse of ParsePasswordHash).
std::string FormatPasswordHash(const ParsedPasswordHash& parsed);

// True iff `password` hashes to `phc`. Errors: those of ParsePasswordHash (a stored hash
// that does not parse is an error, never a silent false) and kInternal on OpenSSL
// failure. A password over kMaxPasswordBytes is false without hashing.
[[nodiscard]] core::Result<bool> VerifyPassword(const core::Secret& password,
                                                std::string_view phc);

// True when `phc` does not parse or was made with parameters other than `current`
// (rehash it on the next successful login).
bool NeedsRehash(std::string_view phc, const ScryptParams& current);

}  // namespace opsgate::identity::local
