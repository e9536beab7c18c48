#include "opsgate/identity/local/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <vector>

#include "opsgate/core/strings.h"
#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"

namespace opsgate::identity::local {
namespace {

constexpr std::string_view kPrefix = "$scrypt$";
constexpr uint64_t kMaxMemoryBytes = uint64_t{1} << 30;

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

std::string B64NoPad(std::string_view bytes) {
  std::string s = crypto::Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') {
    s.pop_back();
  }
  return s;
}

core::Result<std::string> B64NoPadDecode(std::string_view text, std::string_view what) {
  if (text.find('=') != std::string_view::npos || text.size() % 4 == 1) {
    return core::Fail(core::InvalidArgument("password hash: " + std::string(what) +
                                            " is not unpadded base64"));
  }
  std::string padded(text);
  padded.append((4 - padded.size() % 4) % 4, '=');
  auto decoded = crypto::Base64Decode(padded);
  if (!decoded) {
    return core::Fail(core::InvalidArgument("password hash: " + std::string(what) +
                                            " is not canonical base64"));
  }
  return decoded;
}

core::Result<std::string> Scrypt(std::string_view password, std::string_view salt,
                                 const ScryptParams& p) {
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) {
    return core::Fail(core::Internal("OpenSSL has no SCRYPT KDF"));
  }
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) {
    return core::Fail(core::Internal("EVP_KDF_CTX_new failed"));
  }
  uint64_t n = uint64_t{1} << p.log2_n;
  uint32_t r = static_cast<uint32_t>(p.r);
  uint32_t par = static_cast<uint32_t>(p.p);
  // OpenSSL refuses work above maxmem (default 32 MiB, exactly the default's need), so
  // give it what these parameters need plus room for its bookkeeping.
  uint64_t maxmem = ScryptMemoryBytes(p) + (uint64_t{1} << 20);
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads them.
  std::string pw(password);
  std::string sl(salt);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pw.data(), pw.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, sl.data(), sl.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::string out(static_cast<size_t>(p.hash_len), '\0');
  const int ok = EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                                out.size(), params);
  OPENSSL_cleanse(pw.data(), pw.size());
  if (ok != 1) {
    return core::Fail(core::Internal("OpenSSL scrypt derivation failed"));
  }
  return out;
}

// A decimal without sign or leading zeros, within [lo, hi].
core::Result<int> ParseParam(std::string_view field, std::string_view name, int lo, int hi) {
  const std::string prefix = std::string(name) + "=";
  if (field.substr(0, prefix.size()) != prefix) {
    return core::Fail(core::InvalidArgument("password hash: expected parameter " +
                                            std::string(name) + " (ln, r, p in this order)"));
  }
  std::string_view digits = field.substr(prefix.size());
  auto v = core::ParseDigits(digits);
  if (!v || (digits.size() > 1 && digits[0] == '0') || *v < static_cast<uint64_t>(lo) ||
      *v > static_cast<uint64_t>(hi)) {
    return core::Fail(core::InvalidArgument("password hash: " + std::string(name) + " must be " +
                                            std::to_string(lo) + ".." + std::to_string(hi)));
  }
  return static_cast<int>(*v);
}

}  // namespace

uint64_t ScryptMemoryBytes(const ScryptParams& p) {
  if (p.log2_n < 0 || p.log2_n > 40 || p.r < 0 || p.p < 0) {
    return UINT64_MAX;
  }
  const uint64_t n = uint64_t{1} << p.log2_n;
  const uint64_t r = static_cast<uint64_t>(p.r);
  return 128 * r * n + 128 * r * static_cast<uint64_t>(p.p);
}

core::Status CheckScryptParams(const ScryptParams& p) {
  auto range = [](int v, int lo, int hi, std::string_view name) -> core::Status {
    if (v < lo || v > hi) {
      return core::Fail(core::InvalidArgument("scrypt " + std::string(name) + " must be " +
                                              std::to_string(lo) + ".." + std::to_string(hi) +
                                              ", got " + std::to_string(v)));
    }
    return core::Ok();
  };
  OPSGATE_RETURN_IF_ERROR(range(p.log2_n, 10, 22, "ln (log2 N)"));
  OPSGATE_RETURN_IF_ERROR(range(p.r, 1, 32, "r"));
  OPSGATE_RETURN_IF_ERROR(range(p.p, 1, 16, "p"));
  OPSGATE_RETURN_IF_ERROR(range(p.salt_len, 16, 64, "salt length"));
  OPSGATE_RETURN_IF_ERROR(range(p.hash_len, 16, 64, "hash length"));
  if (ScryptMemoryBytes(p) > kMaxMemoryBytes) {
    return core::Fail(core::InvalidArgument("scrypt parameters need more than 1 GiB of memory"));
  }
  return core::Ok();
}

core::Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return core::Fail(core::InvalidArgument("password_policy: use at least " +
                                            std::to_string(kMinPasswordBytes) +
                                            " characters (a passphrase of several words works)"));
  }
  if (password.size() > kMaxPasswordBytes) {
    return core::Fail(core::InvalidArgument("password_policy: use at most " +
                                            std::to_string(kMaxPasswordBytes) + " bytes"));
  }
  if (password.find_first_not_of(password[0]) == std::string_view::npos) {
    return core::Fail(
        core::InvalidArgument("password_policy: a single repeated character is not a password"));
  }
  return core::Ok();
}

core::Result<std::string> HashPassword(const core::Secret& password, const ScryptParams& params) {
  OPSGATE_RETURN_IF_ERROR(CheckScryptParams(params));
  if (password.size() > kMaxPasswordBytes) {
    return core::Fail(core::InvalidArgument("password longer than " +
                                            std::to_string(kMaxPasswordBytes) + " bytes"));
  }
  auto salt = crypto::RandomBytes(static_cast<size_t>(params.salt_len));
  if (!salt) {
    return core::Fail(salt.error());
  }
  auto hash = Scrypt(password.Reveal(), *salt, params);
  if (!hash) {
    return core::Fail(hash.error());
  }
  return FormatPasswordHash({params, std::move(*salt), std::move(*hash)});
}

std::string FormatPasswordHash(const ParsedPasswordHash& parsed) {
  return std::string(kPrefix) + "ln=" + std::to_string(parsed.params.log2_n) +
         ",r=" + std::to_string(parsed.params.r) + ",p=" + std::to_string(parsed.params.p) +
         "$" + B64NoPad(parsed.salt) + "$" + B64NoPad(parsed.hash);
}

core::Result<ParsedPasswordHash> ParsePasswordHash(std::string_view phc) {
  if (phc.size() > 512) {
    return core::Fail(core::InvalidArgument("password hash: longer than 512 bytes"));
  }
  std::vector<std::string_view> parts = core::Split(phc, '$');
  if (parts.size() < 2 || !parts[0].empty()) {
    return core::Fail(core::InvalidArgument("password hash: not a PHC string ($alg$...)"));
  }
  if (parts[1] != "scrypt") {
    return core::Fail(core::InvalidArgument("password hash: unsupported algorithm \"" +
                                            core::SanitizeUtf8(parts[1].substr(0, 32)) +
                                            "\" (only scrypt)"));
  }
  if (parts.size() != 5) {
    return core::Fail(core::InvalidArgument(
        "password hash: expected $scrypt$ln=..,r=..,p=..$<salt>$<hash>"));
  }
  std::vector<std::string_view> fields = core::Split(parts[2], ',');
  if (fields.size() != 3) {
    return core::Fail(core::InvalidArgument("password hash: expected exactly ln, r and p"));
  }
  ParsedPasswordHash out;
  auto ln = ParseParam(fields[0], "ln", 10, 22);
  auto r = ParseParam(fields[1], "r", 1, 32);
  auto p = ParseParam(fields[2], "p", 1, 16);
  for (auto* v : {&ln, &r, &p}) {
    if (!*v) {
      return core::Fail(v->error());
    }
  }
  out.params.log2_n = *ln;
  out.params.r = *r;
  out.params.p = *p;
  auto salt = B64NoPadDecode(parts[3], "salt");
  if (!salt) {
    return core::Fail(salt.error());
  }
  auto hash = B64NoPadDecode(parts[4], "hash");
  if (!hash) {
    return core::Fail(hash.error());
  }
  if (salt->size() < 16 || salt->size() > 64) {
    return core::Fail(core::InvalidArgument("password hash: salt must be 16..64 bytes"));
  }
  if (hash->size() < 16 || hash->size() > 64) {
    return core::Fail(core::InvalidArgument("password hash: hash must be 16..64 bytes"));
  }
  out.params.salt_len = static_cast<int>(salt->size());
  out.params.hash_len = static_cast<int>(hash->size());
  OPSGATE_RETURN_IF_ERROR(CheckScryptParams(out.params));
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  return out;
}

core::Result<bool> VerifyPassword(const core::Secret& password, std::string_view phc) {
  auto parsed = ParsePasswordHash(phc);
  if (!parsed) {
    return core::Fail(parsed.error());
  }
  if (password.size() > kMaxPasswordBytes) {
    return false;
  }
  auto computed = Scrypt(password.Reveal(), parsed->salt, parsed->params);
  if (!computed) {
    return core::Fail(computed.error());
  }
  const bool equal = computed->size() == parsed->hash.size() &&
                     CRYPTO_memcmp(computed->data(), parsed->hash.data(), computed->size()) == 0;
  OPENSSL_cleanse(computed->data(), computed->size());
  return equal;
}

bool NeedsRehash(std::string_view phc, const ScryptParams& current) {
  auto parsed = ParsePasswordHash(phc);
  return !parsed || !(parsed->params == current);
}

}  // namespace opsgate::identity::local
