#include "opsgate/crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>

#include "opsgate/core/check.h"
#include "opsgate/core/strings.h"

namespace opsgate::crypto {
namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Value of `c` in the given 64-character alphabet, or -1.
int Base64Value(char c, const char* alphabet) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == alphabet[62]) {
    return 62;
  }
  if (c == alphabet[63]) {
    return 63;
  }
  return -1;
}

std::string EncodeBase64(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8) |
                       uint32_t{static_cast<uint8_t>(in[i + 2])};
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{static_cast<uint8_t>(in[i])} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) {
      out += "==";
    }
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) {
      out += '=';
    }
  }
  return out;
}

// Decodes `in`, which holds no padding, in the given alphabet. `what` names the
// encoding in messages.
core::Result<std::string> DecodeUnpadded(std::string_view in, const char* alphabet,
                                         std::string_view what) {
  if (in.size() % 4 == 1) {
    return core::Fail(core::InvalidArgument(std::string(what) + ": impossible length " +
                                            std::to_string(in.size())));
  }
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const int v = Base64Value(in[i], alphabet);
    if (v < 0) {
      return core::Fail(core::InvalidArgument(std::string(what) + ": invalid character at offset " +
                                              std::to_string(i)));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The leftover bits (2 or 4) are padding inside the last character and must be zero,
  // otherwise several encodings would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return core::Fail(
        core::InvalidArgument(std::string(what) + ": non-zero trailing bits (non-canonical)"));
  }
  return out;
}

}  // namespace

Digest Sha256(std::string_view data) {
  Digest out;
  unsigned int len = 0;
  // Fails only if OpenSSL itself is broken (no default provider): an invariant.
  OPSGATE_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) ==
                    1 &&
                len == out.size());
  return out;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  // OpenSSL's HMAC takes an int key length; keys that long do not exist in practice, but
  // RFC 2104 says to hash over-long keys first, which gives the same tag.
  Digest hashed_key;
  if (key.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    hashed_key = Sha256(key);
    key = AsStringView(hashed_key);
  }
  // A null key pointer means "reuse the previous key" to OpenSSL, so an empty key must
  // still point somewhere.
  static constexpr unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  Digest out;
  unsigned int len = 0;
  OPSGATE_CHECK(HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), Bytes(data), data.size(),
                     out.data(), &len) != nullptr &&
                len == out.size());
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeEquals(const Digest& a, const Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0x0f];
  }
  return out;
}

core::Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return core::Fail(core::InvalidArgument("hex: odd length " + std::to_string(hex.size())));
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = core::HexDigitValue(hex[i]);
    const int lo = core::HexDigitValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return core::Fail(core::InvalidArgument("hex: invalid character at offset " +
                                              std::to_string(hi < 0 ? i : i + 1)));
    }
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  return EncodeBase64(bytes, kBase64Alphabet, /*pad=*/true);
}

core::Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return core::Fail(core::InvalidArgument("base64: length " + std::to_string(text.size()) +
                                            " is not a multiple of 4"));
  }
  // At most two '=' and only at the very end; everything before them must be data.
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  std::string_view body = text.substr(0, text.size() - pad);
  if (body.find('=') != std::string_view::npos) {
    return core::Fail(core::InvalidArgument("base64: misplaced '=' padding"));
  }
  return DecodeUnpadded(body, kBase64Alphabet, "base64");
}

std::string Base64UrlEncode(std::string_view bytes) {
  return EncodeBase64(bytes, kBase64UrlAlphabet, /*pad=*/false);
}

core::Result<std::string> Base64UrlDecode(std::string_view text) {
  return DecodeUnpadded(text, kBase64UrlAlphabet, "base64url");
}

}  // namespace opsgate::crypto
