// File: opsgate/crypto/key_provider.h
//
// Envelope encryption for sensitive fields (message text, slot values, outputs, user
// names). A data key (DEK, AES-256) encrypts the fields; a key-encryption key (KEK)
// held by a KeyProvider wraps the DEK. Only the wrapped DEK is ever stored.
//
//   auto kek = LocalFileKeyProvider::Open(data_dir / "keys");
//   FieldSealer sealer(**kek);
//   auto blob = sealer.Seal(message_text, "audit:seq=42:field=text");
//   auto text = sealer.Open(*blob, "audit:seq=42:field=text");
//
// KeyProvider is the seam for other key stores. AWS KMS maps onto it directly:
// WrapKey = kms:Encrypt (or GenerateDataKey, which returns DEK and wrapped DEK at once),
// UnwrapKey = kms:Decrypt, key_id = the KMS key ARN; KMS rotation keeps old key material,
// so old records stay readable just as with LocalFileKeyProvider::Rotate().
//
// Sealed field format, version 1 (all lengths in bytes, integers big-endian):
//
//   offset  size  field
//   0       1     version = 0x01
//   1       1     K = length of the KEK id (1..255)
//   2       K     KEK id (ASCII; for LocalFileKeyProvider 16 lowercase hex characters)
//   2+K     2     W = length of the wrapped DEK (1..65535)
//   4+K     W     wrapped DEK (provider-specific; LocalFileKeyProvider: AES-256-GCM of
//                 the 32-byte DEK under the KEK = 12 nonce ‖ 32 ciphertext ‖ 16 tag,
//                 with associated data "opsgate-kek-wrap-v1:" ‖ KEK id)
//   4+K+W   N+28  AES-256-GCM under the DEK: 12 nonce ‖ N ciphertext ‖ 16 tag, with
//                 associated data = bytes [0, 4+K+W) of this blob ‖ caller's aad
//
// The header is authenticated with the field, so a blob cannot be re-labelled. Each blob
// repeats its wrapped DEK (108 bytes of overhead in all with a local KEK) so it can be
// opened on its own; FieldSealer caches unwrapped DEKs, so only the first blob of each
// DEK costs a KEK operation.
//
// Thread-safety: LocalFileKeyProvider and FieldSealer are safe to use from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::crypto {

// A DEK as wrapped by a KEK, with the id of the KEK that can unwrap it.
struct WrappedKey {
  std::string key_id;   // which KEK (stable; stored next to the wrapped key)
  std::string wrapped;  // opaque to callers
};

// The key-encryption key store. Implementations must be thread-safe.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // Wraps `data_key` under the current KEK.
  // Errors: kInvalidArgument for an unusable data key; kUnavailable if the key store is
  // unreachable; kInternal on a crypto failure.
  [[nodiscard]] virtual core::Result<WrappedKey> WrapKey(const core::Secret& data_key) = 0;

  // Unwraps a key wrapped by this provider under the current or any retired KEK.
  // Errors: kNotFound if no KEK has that id; kDataLoss if the wrapped bytes were
  // altered; kUnavailable if the key store is unreachable.
  [[nodiscard]] virtual core::Result<core::Secret> UnwrapKey(const WrappedKey& wrapped) = 0;

  // The id WrapKey uses now.
  virtual std::string CurrentKeyId() const = 0;
};

// KEKs in files in one directory (the data dir's keys/, written by `opsgate init`):
//   data.key        the current KEK: base64 of 32 random bytes, one line
//   data-<id>.key   retired KEKs, same format, kept for unwrapping old DEKs
// A KEK's id is the first 8 bytes of SHA-256 of the raw key, as 16 lowercase hex
// characters. Every key file must be a regular file with mode 0600 or stricter (no group
// or other access).
class LocalFileKeyProvider final : public KeyProvider {
 public:
  // Loads every key file in `dir`.
  // Errors: kFailedPrecondition if the directory or data.key is missing, a key file is
  // readable by group or others (the message says `chmod 600 <file>`), is not base64 of
  // 32 bytes, or a retired file's name does not match its key's id.
  [[nodiscard]] static core::Result<std::unique_ptr<LocalFileKeyProvider>> Open(
      const std::filesystem::path& dir);

  core::Result<WrappedKey> WrapKey(const core::Secret& data_key) override;
  core::Result<core::Secret> UnwrapKey(const WrappedKey& wrapped) override;
  std::string CurrentKeyId() const override;

  // Makes a fresh KEK current: data.key is hard-linked to data-<old id>.key, the new key is
  // written to a new file (O_EXCL, mode 0600, fsynced) and renamed over data.key. Nothing
  // else is rewritten; DEKs wrapped under old KEKs still unwrap. A crash leaves either
  // the old or the new key current, never neither. Returns the new key id.
  // Errors: kUnavailable if the random generator fails; kFailedPrecondition on a file
  // system error (the message names the file).
  [[nodiscard]] core::Result<std::string> Rotate();

  // Re-reads the directory, for a running process after `opsgate keys rotate` (SIGHUP):
  // data.key becomes current; keys loaded before stay usable even if their files went.
  // Returns whether the current key changed. On error nothing changes.
  // Errors: those of Open.
  [[nodiscard]] core::Result<bool> Reload();

  // Ids of every loaded KEK, current included.
  std::vector<std::string> KeyIds() const;

 private:
  explicit LocalFileKeyProvider(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::string current_id_;                  // GUARDED_BY(mu_)
  std::map<std::string, core::Secret> keys_;  // GUARDED_BY(mu_)
};

// The id LocalFileKeyProvider gives a raw 32-byte KEK.
std::string KeyFingerprint(const core::Secret& key);

// Seals and opens sensitive fields with envelope encryption (format above). Holds one
// DEK, made on first use and replaced after `max_fields_per_dek` fields or when the
// provider's current KEK id changes (after a rotation). The provider must outlive it.
class FieldSealer {
 public:
  explicit FieldSealer(KeyProvider& provider, uint64_t max_fields_per_dek = uint64_t{1} << 24)
      : provider_(provider), max_fields_per_dek_(max_fields_per_dek) {}

  // Encrypts `plaintext`, binding `aad` (e.g. record sequence number and field name).
  // Errors: those of KeyProvider::WrapKey; kUnavailable if the random generator fails.
  [[nodiscard]] core::Result<std::string> Seal(std::string_view plaintext, std::string_view aad);

  // Decrypts a blob sealed by any FieldSealer with a provider that has its KEK.
  // Errors: kDataLoss for an unknown version, a truncated or altered blob, or the wrong
  // aad; kNotFound if the blob's KEK id is unknown to the provider (message names it).
  [[nodiscard]] core::Result<std::string> Open(std::string_view blob, std::string_view aad);

  static constexpr uint8_t kVersion = 1;

 private:
  struct CurrentDek {
    core::Secret key;
    std::string header;  // version ‖ id length ‖ id ‖ wrapped length ‖ wrapped
    std::string kek_id;
    uint64_t uses = 0;
  };

  core::Result<core::Secret> UnwrapCached(std::string_view kek_id, std::string_view wrapped);

  KeyProvider& provider_;
  const uint64_t max_fields_per_dek_;
  std::mutex mu_;
  std::unique_ptr<CurrentDek> current_;                    // GUARDED_BY(mu_)
  std::unordered_map<std::string, core::Secret> cache_;  // GUARDED_BY(mu_); by header hash
};

}  // namespace opsgate::crypto
