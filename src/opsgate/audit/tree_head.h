// File: opsgate/audit/tree_head.h
//
// Signed tree heads: (tree size, root, timestamp) signed with Ed25519 by the key that
// `opsgate init` writes to keys/audit-signing.key. The signed message is
//
//   "opsgate-audit-tree-head-v1\n" || u64 tree_size || i64 timestamp_ms || root (32)
//
// (big-endian integers; docs/audit-format.md §Tree heads). The text prefix keeps a
// signature from being valid for any other opsgate message.
//
//   auto signer = TreeHeadSigner::FromPemFile(config.audit.signing_key);
//   auto sig = signer->Sign(head);
//   auto key = TreeHeadKey::FromPemFile(config.audit.public_key);
//   Status ok = key->Verify(head, sig);
//
// Thread-safety: Sign and Verify are safe to call concurrently (EVP contexts per call).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "opsgate/audit/merkle.h"
#include "opsgate/core/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace opsgate::audit {

struct TreeHead {
  uint64_t tree_size = 0;
  Hash root{};
  int64_t timestamp_ms = 0;
};

// The bytes that are signed.
std::string TreeHeadMessage(const TreeHead& head);

// An Ed25519 public key that checks tree-head signatures.
class TreeHeadKey {
 public:
  // Errors: kFailedPrecondition for an unreadable file, no PEM public key, or a key that
  // is not Ed25519 (the message names the file).
  [[nodiscard]] static core::Result<TreeHeadKey> FromPemFile(const std::string& path);
  [[nodiscard]] static core::Result<TreeHeadKey> FromPem(std::string_view pem);

  // Errors: kDataLoss when the signature does not verify.
  [[nodiscard]] core::Status Verify(const TreeHead& head, std::string_view signature) const;
  // Hex of the first 16 bytes of SHA-256(raw 32-byte public key): names the key in
  // tree_heads.key_id so a rotated key can be told apart.
  const std::string& key_id() const { return key_id_; }

 private:
  friend class TreeHeadSigner;
  explicit TreeHeadKey(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  std::string key_id_;
};

// An Ed25519 private key that signs tree heads.
class TreeHeadSigner {
 public:
  // Reads a PKCS#8 PEM private key (unencrypted). Errors: kFailedPrecondition naming the
  // file, for a missing/unreadable file or a key that is not Ed25519.
  [[nodiscard]] static core::Result<std::unique_ptr<TreeHeadSigner>> FromPemFile(
      const std::string& path);
  [[nodiscard]] static core::Result<std::unique_ptr<TreeHeadSigner>> FromPem(std::string_view pem);

  // 64-byte Ed25519 signature. Errors: kInternal if OpenSSL fails.
  [[nodiscard]] core::Result<std::string> Sign(const TreeHead& head) const;
  // The matching public key.
  const TreeHeadKey& public_key() const { return public_key_; }

 private:
  TreeHeadSigner(std::shared_ptr<EVP_PKEY> key, TreeHeadKey pub)
      : key_(std::move(key)), public_key_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> key_;
  TreeHeadKey public_key_;
};

}  // namespace opsgate::audit
