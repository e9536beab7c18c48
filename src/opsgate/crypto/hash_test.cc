#include "opsgate/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace opsgate::crypto {
namespace {

using core::ErrorCode;

std::string Unhex(std::string_view hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.has_value()) << hex;
  return r.value_or("");
}

// FIPS 180-2 Appendix B.1/B.2 and the empty message.
TEST(Sha256, MatchesFipsVectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

struct HmacCase {
  const char* name;
  std::string key;
  std::string data;
  const char* hmac_sha256;
};

// RFC 4231 §4 (case 5 tests truncation, which HmacSha256 does not do).
TEST(HmacSha256, MatchesRfc4231) {
  const HmacCase cases[] = {
      {"1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4", Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const HmacCase& c : cases) {
    EXPECT_EQ(HexEncode(HmacSha256(c.key, c.data)), c.hmac_sha256) << "test case " << c.name;
  }
}

TEST(HmacSha256, AcceptsEmptyKeyAndData) {
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(HexEncode(HmacSha256(std::string_view(), std::string_view())),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("v0=abc", "v0=abc"));
  EXPECT_FALSE(ConstantTimeEquals("v0=abc", "v0=abd"));
  EXPECT_FALSE(ConstantTimeEquals("v0=abc", "v0=ab"));
  EXPECT_FALSE(ConstantTimeEquals("v0=ab", "v0=abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  // A prefix is not a match, even though a strcmp-style compare would stop at the NUL.
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(ConstantTimeEquals, ComparesDigests) {
  const Digest a = Sha256("a");
  Digest b = a;
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(ConstantTimeEquals(a, b));
}

TEST(Hex, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(HexDecode(hex).value(), all);
  EXPECT_EQ(HexDecode("DEADbeef").value(), "\xde\xad\xbe\xef");
  EXPECT_EQ(HexDecode("").value(), "");
}

TEST(Hex, RejectsOddLengthAndBadCharacters) {
  for (const char* bad : {"0", "abc", "0g", "zz", " 00", "00 ", "0x00", "+1"}) {
    auto r = HexDecode(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

// RFC 4648 §10.
TEST(Base64, MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded << ": " << decoded.error();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Url, MatchesRfc4648VectorsWithoutPadding) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    auto decoded = Base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded << ": " << decoded.error();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, UsesTheRightAlphabetForEachVariant) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64Decode("+/+/").value(), bytes);
  EXPECT_EQ(Base64UrlDecode("-_-_").value(), bytes);
  EXPECT_EQ(Base64Decode("-_-_").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Base64UrlDecode("+/+/").error().code, ErrorCode::kInvalidArgument);
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data += static_cast<char>((i * 37 + 11) & 0xff);
    EXPECT_EQ(Base64Decode(Base64Encode(data)).value(), data);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(data)).value(), data);
  }
}

TEST(Base64, StrictDecoderRejectsNonCanonicalInput) {
  for (const char* bad : {
           "Zg",        // missing padding
           "Zg=",       // short padding
           "Zg===",     // length not a multiple of 4
           "Z===",      // three padding characters
           "Zm9v====",  // a whole block of padding
           "=Zm9",      // padding first
           "Zg==Zg==",  // padding in the middle
           "Zm=v",      // padding inside a block
           "Zh==",      // non-zero trailing bits ("f" is "Zg==")
           "Zm9=",      // non-zero trailing bits ("fo" is "Zm8=")
           "Zm9v\n",    // whitespace
           "Zm 9v",     // whitespace
           "Zm9v*g==",  // character outside the alphabet
           "Zm9v\xc3\xa9==",
       }) {
    auto r = Base64Decode(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Base64Url, StrictDecoderRejectsNonCanonicalInput) {
  for (const char* bad : {
           "Zg==",   // padding is not used in the url variant
           "Zm8=",   // padding
           "Z",      // impossible length (4k+1)
           "Zm9vY",  // impossible length (4k+1)
           "Zh",     // non-zero trailing bits
           "Zm9",    // non-zero trailing bits
           "Zm9v Zg",
           "Zm.v",
       }) {
    auto r = Base64UrlDecode(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Digest, EncodesAsHexAndBase64) {
  const Digest d = Sha256("");
  EXPECT_EQ(HexEncode(d), HexEncode(AsStringView(d)));
  EXPECT_EQ(Base64Encode(d), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(Base64UrlEncode(d), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

}  // namespace
}  // namespace opsgate::crypto
