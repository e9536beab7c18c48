// File: opsgate/crypto/aead.h
//
// AES-256-GCM authenticated encryption (NIST SP 800-38D) through OpenSSL's EVP
// interface. Sealed bytes are self-contained:
//
//   nonce (12 random bytes) ‖ ciphertext (len(plaintext) bytes) ‖ tag (16 bytes)
//
// so a sealed value is 28 bytes longer than its plaintext. The associated data (aad) is
// authenticated but not stored: Open must be given the same aad as Seal.
//
//   auto sealed = Aes256GcmSeal(key, "message text", "record:42");
//   auto plain = Aes256GcmOpen(key, *sealed, "record:42");
//
// Random nonces: a key must not seal more than 2^32 messages (SP 800-38D §8.3); the
// envelope scheme in key_provider.h uses a fresh data key per process start, far below.
//
// Ownership: values in, values out. Thread-safety: every function is safe to call from
// any thread.
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
// Bytes Aes256GcmSeal adds to the plaintext.
inline constexpr size_t kGcmOverhead = kGcmNonceSize + kGcmTagSize;

// Encrypts and authenticates `plaintext` and authenticates `aad` under `key32` with a
// fresh random nonce. Returns nonce ‖ ciphertext ‖ tag.
// Errors: kInvalidArgument if key32 is not 32 bytes; kUnavailable if the random generator
// fails; kInternal if OpenSSL fails.
[[nodiscard]] core::Result<std::string> Aes256GcmSeal(const core::Secret& key32,
                                                      std::string_view plaintext,
                                                      std::string_view aad);

// Checks and decrypts what Aes256GcmSeal produced. Never returns partial plaintext.
// Errors: kInvalidArgument if key32 is not 32 bytes; kDataLoss if `sealed` is shorter
// than 28 bytes or fails authentication (wrong key, wrong aad, any altered byte);
// kInternal if OpenSSL fails.
[[nodiscard]] core::Result<std::string> Aes256GcmOpen(const core::Secret& key32,
                                                      std::string_view sealed,
                                                      std::string_view aad);

namespace internal {

// Aes256GcmSeal with a caller-chosen nonce, for known-answer tests only. Reusing a nonce
// under one key destroys GCM's security: production code must call Aes256GcmSeal.
// Errors: as Aes256GcmSeal, plus kInvalidArgument if nonce is not 12 bytes.
[[nodiscard]] core::Result<std::string> Aes256GcmSealWithNonce(const core::Secret& key32,
                                                               std::string_view nonce,
                                                               std::string_view plaintext,
                                                               std::string_view aad);

}  // namespace internal
}  // namespace opsgate::crypto
