#include "opsgate/crypto/aead.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "opsgate/crypto/internal/openssl_ptr.h"
#include "opsgate/crypto/random.h"

namespace opsgate::crypto {
namespace {

using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, internal::OpenSslDeleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

core::Status CheckKey(const core::Secret& key) {
  if (key.size() != kAes256KeySize) {
    return core::Fail(core::InvalidArgument("AES-256-GCM key must be 32 bytes, got " +
                                            std::to_string(key.size())));
  }
  return core::Ok();
}

// EVP takes int lengths; refuse anything that would not fit rather than truncate.
core::Status CheckLength(std::string_view s, const char* what) {
  if (s.size() > static_cast<size_t>(INT_MAX / 2)) {
    return core::Fail(core::InvalidArgument(std::string(what) + " too large for AES-GCM"));
  }
  return core::Ok();
}

core::Error OpenSslFailure(const char* step) {
  return core::Internal(std::string("AES-256-GCM ") + step + " failed: " +
                        internal::OpenSslErrors());
}

}  // namespace

namespace internal {

core::Result<std::string> Aes256GcmSealWithNonce(const core::Secret& key32,
                                                 std::string_view nonce,
                                                 std::string_view plaintext,
                                                 std::string_view aad) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(key32));
  OPSGATE_RETURN_IF_ERROR(CheckLength(plaintext, "plaintext"));
  OPSGATE_RETURN_IF_ERROR(CheckLength(aad, "associated data"));
  if (nonce.size() != kGcmNonceSize) {
    return core::Fail(core::InvalidArgument("AES-256-GCM nonce must be 12 bytes"));
  }
  ERR_clear_error();
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) {
    return core::Fail(OpenSslFailure("context allocation"));
  }
  // The default GCM IV length is 12 bytes, so key and nonce can go in one call.
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key32.Reveal()),
                         Bytes(nonce)) != 1) {
    return core::Fail(OpenSslFailure("init"));
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    return core::Fail(OpenSslFailure("aad"));
  }
  std::string out(kGcmNonceSize + plaintext.size() + kGcmTagSize, '\0');
  out.replace(0, kGcmNonceSize, nonce);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + kGcmNonceSize);
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), ct, &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return core::Fail(OpenSslFailure("encrypt"));
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + written, &len) != 1) {
    return core::Fail(OpenSslFailure("final"));
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size()) {
    return core::Fail(core::Internal("AES-256-GCM produced an unexpected ciphertext length"));
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out.data() + kGcmNonceSize + plaintext.size()) != 1) {
    return core::Fail(OpenSslFailure("get tag"));
  }
  return out;
}

}  // namespace internal

core::Result<std::string> Aes256GcmSeal(const core::Secret& key32, std::string_view plaintext,
                                        std::string_view aad) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(key32));
  auto nonce = RandomBytes(kGcmNonceSize);
  if (!nonce) {
    return core::Fail(nonce.error());
  }
  return internal::Aes256GcmSealWithNonce(key32, *nonce, plaintext, aad);
}

core::Result<std::string> Aes256GcmOpen(const core::Secret& key32, std::string_view sealed,
                                        std::string_view aad) {
  OPSGATE_RETURN_IF_ERROR(CheckKey(key32));
  OPSGATE_RETURN_IF_ERROR(CheckLength(sealed, "sealed data"));
  OPSGATE_RETURN_IF_ERROR(CheckLength(aad, "associated data"));
  if (sealed.size() < kGcmOverhead) {
    return core::Fail(core::DataLoss("AES-256-GCM sealed data is truncated (" +
                                     std::to_string(sealed.size()) + " bytes, need at least 28)"));
  }
  const std::string_view nonce = sealed.substr(0, kGcmNonceSize);
  const std::string_view ct =
      sealed.substr(kGcmNonceSize, sealed.size() - kGcmNonceSize - kGcmTagSize);
  std::string tag(sealed.substr(sealed.size() - kGcmTagSize));

  ERR_clear_error();
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) {
    return core::Fail(OpenSslFailure("context allocation"));
  }
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key32.Reveal()),
                         Bytes(nonce)) != 1) {
    return core::Fail(OpenSslFailure("init"));
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    return core::Fail(OpenSslFailure("aad"));
  }
  std::string plain(ct.size(), '\0');
  auto* pt = reinterpret_cast<unsigned char*>(plain.data());
  int written = 0;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), pt, &len, Bytes(ct), static_cast<int>(ct.size())) != 1) {
      return core::Fail(OpenSslFailure("decrypt"));
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize),
                          tag.data()) != 1) {
    return core::Fail(OpenSslFailure("set tag"));
  }
  if (EVP_DecryptFinal_ex(ctx.get(), pt + written, &len) != 1) {
    // Authentication failed: wipe what was decrypted so no partial plaintext survives.
    OPENSSL_cleanse(plain.data(), plain.size());
    ERR_clear_error();
    return core::Fail(core::DataLoss(
        "AES-256-GCM authentication failed: wrong key, wrong associated data or altered bytes"));
  }
  return plain;
}

}  // namespace opsgate::crypto
