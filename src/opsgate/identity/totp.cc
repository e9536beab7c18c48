#include "opsgate/identity/totp.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <optional>

#include "opsgate/crypto/hash.h"
#include "opsgate/crypto/random.h"

namespace opsgate::identity {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const char* DigestName(OtpAlgorithm alg) {
  switch (alg) {
    case OtpAlgorithm::kSha1:
      return "SHA1";
    case OtpAlgorithm::kSha256:
      return "SHA256";
    case OtpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

core::Result<std::string> Hmac(OtpAlgorithm alg, std::string_view key, std::string_view data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) {
    return core::Fail(core::Internal("OpenSSL has no HMAC"));
  }
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[16];
  std::string name = DigestName(alg);
  name.copy(digest, sizeof(digest) - 1);
  digest[name.size()] = '\0';
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  size_t out_len = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) ==
          1 &&
      EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  if (!ok) {
    return core::Fail(core::Internal("HMAC computation failed"));
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

core::Status CheckParams(const TotpParams& p) {
  if (p.digits < 6 || p.digits > 8) {
    return core::Fail(core::InvalidArgument("OTP digits must be 6, 7 or 8"));
  }
  if (p.period.count() < 1 || p.period.count() > 300) {
    return core::Fail(core::InvalidArgument("TOTP period must be 1..300 s"));
  }
  return core::Ok();
}

bool AllAsciiDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace

std::string_view OtpAlgorithmName(OtpAlgorithm alg) { return DigestName(alg); }

core::Result<std::string> Hotp(std::string_view key, uint64_t counter, OtpAlgorithm algorithm,
                               int digits) {
  if (digits < 6 || digits > 8) {
    return core::Fail(core::InvalidArgument("OTP digits must be 6, 7 or 8"));
  }
  if (key.empty()) {
    return core::Fail(core::InvalidArgument("OTP key is empty"));
  }
  std::array<char, 8> msg{};
  for (int i = 7; i >= 0; --i) {
    msg[static_cast<size_t>(i)] = static_cast<char>(counter & 0xFF);
    counter >>= 8;
  }
  auto mac = Hmac(algorithm, key, std::string_view(msg.data(), msg.size()));
  if (!mac) {
    return core::Fail(mac.error());
  }
  // Dynamic truncation (RFC 4226 §5.4): offset from the low nibble of the LAST byte,
  // which for SHA-256/512 is not byte 19.
  const auto* h = reinterpret_cast<const unsigned char*>(mac->data());
  const size_t offset = h[mac->size() - 1] & 0x0F;
  const uint32_t bin = (static_cast<uint32_t>(h[offset] & 0x7F) << 24) |
                       (static_cast<uint32_t>(h[offset + 1]) << 16) |
                       (static_cast<uint32_t>(h[offset + 2]) << 8) |
                       static_cast<uint32_t>(h[offset + 3]);
  uint32_t mod = 1;
  for (int i = 0; i < digits; ++i) {
    mod *= 10;
  }
  std::string code = std::to_string(bin % mod);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

core::Result<int64_t> TotpStep(int64_t unix_time, const TotpParams& params) {
  OPSGATE_RETURN_IF_ERROR(CheckParams(params));
  if (unix_time < params.t0) {
    return core::Fail(core::InvalidArgument("time is before T0"));
  }
  return (unix_time - params.t0) / params.period.count();
}

core::Result<std::string> TotpAt(std::string_view key, int64_t unix_time,
                                 const TotpParams& params) {
  auto step = TotpStep(unix_time, params);
  if (!step) {
    return core::Fail(step.error());
  }
  return Hotp(key, static_cast<uint64_t>(*step), params.algorithm, params.digits);
}

core::Result<int64_t> VerifyTotp(const core::Secret& key, std::string_view code, int64_t unix_now,
                                 const TotpParams& params, int window) {
  if (window < 0 || window > 10) {
    return core::Fail(core::InvalidArgument("TOTP window must be 0..10 steps"));
  }
  auto now_step = TotpStep(unix_now, params);
  if (!now_step) {
    return core::Fail(now_step.error());
  }
  if (code.size() != static_cast<size_t>(params.digits) || !AllAsciiDigits(code)) {
    return core::Fail(core::Unauthenticated("totp_malformed: code must be " +
                                            std::to_string(params.digits) + " ASCII digits"));
  }
  // Every candidate is computed and compared, so timing does not tell which step matched.
  std::optional<int64_t> matched;
  for (int64_t d = -window; d <= window; ++d) {
    const int64_t step = *now_step + d;
    if (step < 0) {
      continue;
    }
    auto expected = Hotp(key.Reveal(), static_cast<uint64_t>(step), params.algorithm,
                         params.digits);
    if (!expected) {
      return core::Fail(expected.error());
    }
    if (crypto::ConstantTimeEquals(*expected, code) && !matched.has_value()) {
      matched = step;
    }
  }
  if (!matched.has_value()) {
    return core::Fail(core::Unauthenticated("totp_mismatch: code does not match"));
  }
  return *matched;
}

core::Status InMemoryTotpReplayGuard::MarkUsed(std::string_view user, int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = last_step_.try_emplace(std::string(user), step);
  if (inserted) {
    return core::Ok();
  }
  if (step <= it->second) {
    return core::Fail(core::Unauthenticated("totp_replayed: code already used"));
  }
  it->second = step;
  return core::Ok();
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32Alphabet[(buffer >> (bits - 5)) & 0x1F];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += kBase32Alphabet[(buffer << (5 - bits)) & 0x1F];
  }
  return out;
}

core::Result<std::string> Base32Decode(std::string_view text) {
  // Strip padding, checking it is exactly what RFC 4648 prescribes for the length.
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') {
    --end;
  }
  const size_t pad = text.size() - end;
  const size_t rem = end % 8;
  static constexpr std::array<int, 8> kValidRem = {1, -1, 1, -1, 1, 1, -1, 1};
  // rem: 0 → 0 bytes, 2 → 1 byte (6 pad), 4 → 2 (4 pad), 5 → 3 (3 pad), 7 → 4 (1 pad).
  if (kValidRem[rem] < 0) {
    return core::Fail(core::InvalidArgument("base32: impossible length"));
  }
  if (pad != 0) {
    static constexpr std::array<size_t, 8> kPad = {0, 0, 6, 0, 4, 3, 0, 1};
    if (rem == 0 || pad != kPad[rem]) {
      return core::Fail(core::InvalidArgument("base32: wrong padding"));
    }
  }
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    const size_t v = kBase32Alphabet.find(c);
    if (v == std::string_view::npos) {
      return core::Fail(core::InvalidArgument("base32: invalid character"));
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
    return core::Fail(core::InvalidArgument("base32: non-zero trailing bits"));
  }
  return out;
}

core::Result<core::Secret> GenerateTotpSecret() {
  auto bytes = crypto::RandomBytes(20);
  if (!bytes) {
    return core::Fail(bytes.error());
  }
  return core::Secret(std::move(*bytes));
}

core::Result<core::Secret> OtpauthUri(std::string_view issuer, std::string_view account,
                                     const core::Secret& key, const TotpParams& params) {
  OPSGATE_RETURN_IF_ERROR(CheckParams(params));
  if (issuer.empty() || account.empty() || issuer.find(':') != std::string_view::npos ||
      account.find(':') != std::string_view::npos) {
    return core::Fail(core::InvalidArgument("issuer and account must be non-empty, without ':'"));
  }
  if (key.empty()) {
    return core::Fail(core::InvalidArgument("OTP key is empty"));
  }
  const std::string enc_issuer = PercentEncode(issuer);
  std::string uri = "otpauth://totp/" + enc_issuer + ":" + PercentEncode(account);
  uri += "?secret=" + Base32Encode(key.Reveal());
  uri += "&issuer=" + enc_issuer;
  uri += "&algorithm=" + std::string(OtpAlgorithmName(params.algorithm));
  uri += "&digits=" + std::to_string(params.digits);
  uri += "&period=" + std::to_string(params.period.count());
  return core::Secret(std::move(uri));
}

}  // namespace opsgate::identity
