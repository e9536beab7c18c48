#include "opsgate/audit/tree_head.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

namespace opsgate::audit {
namespace {

constexpr std::string_view kPrefix = "opsgate-audit-tree-head-v1\n";

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

core::Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Fail(core::FailedPrecondition("cannot read the audit " + std::string(what) +
                                               " " + path +
                                               "; run `opsgate init` or set audit.signing_key / "
                                               "audit.public_key"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

core::Status CheckEd25519(EVP_PKEY* k, std::string_view where) {
  if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
    return core::Fail(core::FailedPrecondition(std::string(where) +
                                               ": the audit signing key must be Ed25519"));
  }
  return core::Ok();
}

}  // namespace

std::string TreeHeadMessage(const TreeHead& head) {
  std::string m(kPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) {
    m.push_back(static_cast<char>((head.tree_size >> shift) & 0xff));
  }
  const auto ts = static_cast<uint64_t>(head.timestamp_ms);
  for (int shift = 56; shift >= 0; shift -= 8) {
    m.push_back(static_cast<char>((ts >> shift) & 0xff));
  }
  m.append(crypto::AsStringView(head.root));
  return m;
}

TreeHeadKey::TreeHeadKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) == 1) {
    const Hash h = crypto::Sha256(std::string_view(reinterpret_cast<char*>(raw), len));
    key_id_ = crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(h.data()), 16));
  }
}

core::Result<TreeHeadKey> TreeHeadKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) {
    return core::Fail(core::FailedPrecondition("no PEM public key: " + OpenSslError()));
  }
  auto owned = Own(k);
  OPSGATE_RETURN_IF_ERROR(CheckEd25519(k, "public key"));
  return TreeHeadKey(std::move(owned));
}

core::Result<TreeHeadKey> TreeHeadKey::FromPemFile(const std::string& path) {
  auto pem = ReadFile(path, "public key");
  if (!pem) {
    return core::Fail(pem.error());
  }
  auto key = FromPem(*pem);
  if (!key) {
    return core::Fail(core::FailedPrecondition(path + ": " + key.error().message));
  }
  return key;
}

core::Status TreeHeadKey::Verify(const TreeHead& head, std::string_view signature) const {
  const std::string msg = TreeHeadMessage(head);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_.get());
  if (ok == 1) {
    ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(msg.data()),
                          msg.size());
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (ok != 1) {
    return core::Fail(core::DataLoss("tree head of size " + std::to_string(head.tree_size) +
                                     ": the signature does not verify with key " + key_id_));
  }
  return core::Ok();
}

core::Result<std::unique_ptr<TreeHeadSigner>> TreeHeadSigner::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) {
    return core::Fail(core::FailedPrecondition("no unencrypted PEM private key: " + OpenSslError()));
  }
  auto owned = Own(k);
  OPSGATE_RETURN_IF_ERROR(CheckEd25519(k, "private key"));
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1) {
    return core::Fail(core::Internal("cannot derive the audit public key: " + OpenSslError()));
  }
  EVP_PKEY* pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, len);
  if (pub == nullptr) {
    return core::Fail(core::Internal("cannot derive the audit public key: " + OpenSslError()));
  }
  return std::unique_ptr<TreeHeadSigner>(new TreeHeadSigner(std::move(owned), TreeHeadKey(Own(pub))));
}

core::Result<std::unique_ptr<TreeHeadSigner>> TreeHeadSigner::FromPemFile(
    const std::string& path) {
  auto pem = ReadFile(path, "signing key");
  if (!pem) {
    return core::Fail(pem.error());
  }
  auto s = FromPem(*pem);
  if (!s) {
    return core::Fail(core::FailedPrecondition(path + ": " + s.error().message));
  }
  return s;
}

core::Result<std::string> TreeHeadSigner::Sign(const TreeHead& head) const {
  const std::string msg = TreeHeadMessage(head);
  std::string sig(64, '\0');
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_.get());
  if (ok == 1) {
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  }
  EVP_MD_CTX_free(ctx);
  if (ok != 1) {
    return core::Fail(core::Internal("signing the audit tree head failed: " + OpenSslError()));
  }
  sig.resize(len);
  return sig;
}

}  // namespace opsgate::audit
