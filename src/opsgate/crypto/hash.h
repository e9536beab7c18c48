// File: opsgate/crypto/hash.h
//
// SHA-256, HMAC-SHA256, constant-time comparison and the text encodings that carry
// digests and keys (hex, base64, base64url). The digests are OpenSSL 3's; the codecs
// are plain table lookups (encodings, not cryptography).
//
//   const Digest mac = HmacSha256(signing_secret.Reveal(), base_string);
//   if (!ConstantTimeEquals(HexEncode(mac), header_hex)) { ... }
//
// Decoders are strict, because their input usually comes from the network: anything
// that a canonical encoder would not have produced is kInvalidArgument.
//
// Ownership: values in, values out. Thread-safety: every function is safe to call
// from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::crypto {

// A SHA-256 digest or HMAC-SHA256 tag.
using Digest = std::array<uint8_t, 32>;

// SHA-256 of `data` (FIPS 180-4).
Digest Sha256(std::string_view data);

// HMAC-SHA256 (RFC 2104) of `data` under `key`. Any key length, including empty.
Digest HmacSha256(std::string_view key, std::string_view data);

// Views the bytes of a digest (or any byte array) as a string_view, without copying.
// The array must outlive the view.
template <size_t N>
std::string_view AsStringView(const std::array<uint8_t, N>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), N};
}

// True iff a and b hold the same bytes. The time taken depends only on the lengths,
// never on the contents (CRYPTO_memcmp); different lengths return false at once, which
// reveals the length only. Use it for every MAC, token or signature comparison.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
bool ConstantTimeEquals(const Digest& a, const Digest& b);

// Lowercase hex, two characters per byte.
std::string HexEncode(std::string_view bytes);
inline std::string HexEncode(const Digest& digest) { return HexEncode(AsStringView(digest)); }

// Decodes hex (either case). kInvalidArgument on an odd length or a non-hex character.
[[nodiscard]] core::Result<std::string> HexDecode(std::string_view hex);

// Standard base64 (RFC 4648 §4) with '=' padding.
std::string Base64Encode(std::string_view bytes);
inline std::string Base64Encode(const Digest& d) { return Base64Encode(AsStringView(d)); }

// Decodes standard base64 with padding required. kInvalidArgument on a character outside
// the alphabet (including whitespace), a length that is not a multiple of 4, misplaced
// or superfluous '=', or non-zero unused bits in the last character (non-canonical).
[[nodiscard]] core::Result<std::string> Base64Decode(std::string_view text);

// base64url (RFC 4648 §5) without padding, as used by JWS/JWT.
std::string Base64UrlEncode(std::string_view bytes);
inline std::string Base64UrlEncode(const Digest& d) { return Base64UrlEncode(AsStringView(d)); }

// Decodes unpadded base64url. kInvalidArgument on any '=' , a character outside the
// url-safe alphabet, an impossible length (4k+1) or non-zero unused trailing bits.
[[nodiscard]] core::Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace opsgate::crypto
