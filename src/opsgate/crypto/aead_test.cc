#include "opsgate/crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

#include "opsgate/crypto/hash.h"

namespace opsgate::crypto {
namespace {

using core::ErrorCode;

std::string Hex(std::string_view hex) { return HexDecode(hex).value(); }
core::Secret KeyHex(std::string_view hex) { return core::Secret(Hex(hex)); }

template <class T>
ErrorCode CodeOf(const core::Result<T>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? ErrorCode::kInternal : r.error().code;
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13-16
// (the AES-256 cases with 96-bit IVs), also in NIST's gcmEncryptExtIV256 vectors.
constexpr const char* kKey15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const GcmVector kVectors[] = {
    {"case13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case15", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"case16", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256Gcm, MatchesGcmSpecVectors) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const core::Secret key = KeyHex(v.key);
    auto sealed = internal::Aes256GcmSealWithNonce(key, Hex(v.nonce), Hex(v.plaintext),
                                                   Hex(v.aad));
    ASSERT_TRUE(sealed) << sealed.error();
    EXPECT_EQ(HexEncode(*sealed), std::string(v.nonce) + v.ciphertext + v.tag);
    auto opened = Aes256GcmOpen(key, *sealed, Hex(v.aad));
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_EQ(HexEncode(*opened), v.plaintext);
  }
}

TEST(Aes256Gcm, RoundTripsWithFreshNonces) {
  const core::Secret key(std::string(32, 'k'));
  auto a = Aes256GcmSeal(key, "hello audit", "aad");
  auto b = Aes256GcmSeal(key, "hello audit", "aad");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 11 + kGcmOverhead);
  EXPECT_NE(*a, *b);  // random nonces
  EXPECT_EQ(Aes256GcmOpen(key, *a, "aad").value(), "hello audit");
  EXPECT_EQ(Aes256GcmOpen(key, *b, "aad").value(), "hello audit");
  auto empty = Aes256GcmSeal(key, "", "");
  ASSERT_TRUE(empty);
  EXPECT_EQ(Aes256GcmOpen(key, *empty, "").value(), "");
}

TEST(Aes256Gcm, AnyFlippedByteIsDataLoss) {
  const core::Secret key(std::string(32, 'k'));
  const std::string sealed = Aes256GcmSeal(key, "pay 100 to alice", "ctx").value();
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_EQ(CodeOf(Aes256GcmOpen(key, bad, "ctx")), ErrorCode::kDataLoss) << "byte " << i;
  }
}

TEST(Aes256Gcm, TruncatedIsDataLoss) {
  const core::Secret key(std::string(32, 'k'));
  const std::string sealed = Aes256GcmSeal(key, "x", "").value();
  EXPECT_EQ(CodeOf(Aes256GcmOpen(key, sealed.substr(0, sealed.size() - 1), "")),
            ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Aes256GcmOpen(key, "short", "")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Aes256GcmOpen(key, "", "")), ErrorCode::kDataLoss);
}

TEST(Aes256Gcm, WrongAadOrKeyIsDataLoss) {
  const core::Secret key(std::string(32, 'k'));
  const std::string sealed = Aes256GcmSeal(key, "secret", "record:1").value();
  EXPECT_EQ(CodeOf(Aes256GcmOpen(key, sealed, "record:2")), ErrorCode::kDataLoss);
  EXPECT_EQ(CodeOf(Aes256GcmOpen(key, sealed, "")), ErrorCode::kDataLoss);
  const core::Secret other(std::string(32, 'K'));
  EXPECT_EQ(CodeOf(Aes256GcmOpen(other, sealed, "record:1")), ErrorCode::kDataLoss);
}

TEST(Aes256Gcm, WrongKeyLengthIsInvalidArgument) {
  const core::Secret short_key(std::string(16, 'k'));
  EXPECT_EQ(CodeOf(Aes256GcmSeal(short_key, "x", "")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(Aes256GcmOpen(short_key, std::string(40, 'x'), "")),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(Aes256GcmSeal(core::Secret(), "x", "")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(internal::Aes256GcmSealWithNonce(core::Secret(std::string(32, 'k')), "short",
                                                    "x", "")),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::crypto
