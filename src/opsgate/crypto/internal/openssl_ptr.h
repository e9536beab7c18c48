// File: opsgate/crypto/internal/openssl_ptr.h
//
// Internal to the crypto module: std::unique_ptr aliases with OpenSSL's free functions
// as deleters, so every OpenSSL object is released on every path, and a helper that
// turns OpenSSL's thread-local error queue into text for Error messages.
//
// Thread-safety: the aliases are plain unique_ptrs. OpenSslErrors() reads and clears
// the calling thread's error queue only.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace opsgate::crypto::internal {

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const noexcept { Free(p); }
};

// BIO_free returns int, so it needs a void adapter.
inline void FreeBio(BIO* b) { BIO_free_all(b); }
inline void FreeGeneralNames(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, FreeBio>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslDeleter<ASN1_STRING, ASN1_STRING_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, OpenSslDeleter<GENERAL_NAME, GENERAL_NAME_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES, FreeGeneralNames>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;

// Drains the calling thread's OpenSSL error queue into one line ("error:...; error:..."),
// or "no OpenSSL error reported" when it is empty. Call ERR_clear_error() before the
// operation so that stale errors from earlier calls are not blamed on it.
inline std::string OpenSslErrors() {
  std::string out;
  unsigned long code = 0;  // NOLINT(runtime/int): OpenSSL's type.
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  if (out.empty()) {
    out = "no OpenSSL error reported";
  }
  return out;
}

// The bytes held by a memory BIO, copied out.
inline std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int): OpenSSL's type.
  if (len <= 0 || data == nullptr) {
    return {};
  }
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace opsgate::crypto::internal
