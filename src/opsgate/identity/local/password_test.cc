#include "opsgate/identity/local/password.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace opsgate::identity::local {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Cheap parameters keep the suite fast; the default is measured separately.
ScryptParams Cheap() {
  ScryptParams p;
  p.log2_n = 10;
  return p;
}

core::Secret Pw(std::string s) { return core::Secret(std::move(s)); }

void ExpectInvalid(std::string_view phc, std::string_view fragment) {
  auto parsed = ParsePasswordHash(phc);
  ASSERT_FALSE(parsed.has_value()) << phc;
  EXPECT_EQ(parsed.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_THAT(parsed.error().message, HasSubstr(std::string(fragment))) << phc;
}

TEST(Password, HashVerifiesRoundTrip) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  ASSERT_TRUE(phc.has_value()) << phc.error();
  EXPECT_THAT(*phc, StartsWith("$scrypt$ln=10,r=8,p=1$"));
  auto ok = VerifyPassword(Pw("correct horse battery"), *phc);
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_TRUE(*ok);
}

TEST(Password, WrongPasswordDoesNotVerify) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  ASSERT_TRUE(phc.has_value());
  EXPECT_FALSE(*VerifyPassword(Pw("correct horse batterx"), *phc));
  EXPECT_FALSE(*VerifyPassword(Pw(""), *phc));
}

TEST(Password, SaltsDiffer) {
  auto a = HashPassword(Pw("correct horse battery"), Cheap());
  auto b = HashPassword(Pw("correct horse battery"), Cheap());
  EXPECT_NE(*a, *b);
}

TEST(Password, TamperedHashDoesNotVerify) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  ASSERT_TRUE(phc.has_value());
  std::string tampered = *phc;
  // Flip a character in the middle of the hash (keeps canonical base64).
  char& c = tampered[tampered.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  auto ok = VerifyPassword(Pw("correct horse battery"), tampered);
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_FALSE(*ok);
  // Cheaper work factor with the same salt and hash: also no match.
  std::string weaker = *phc;
  weaker.replace(weaker.find("r=8"), 3, "r=4");
  EXPECT_FALSE(*VerifyPassword(Pw("correct horse battery"), weaker));
}

TEST(Password, ParserRefusesUnknownAlgorithmsAndBadParameters) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  ASSERT_TRUE(phc.has_value());
  const std::string tail = phc->substr(phc->find("$", 8));  // $salt$hash
  ExpectInvalid("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA", "unsupported algorithm");
  ExpectInvalid("$2b$12$abcdefghijklmnopqrstuv", "unsupported algorithm");
  ExpectInvalid("scrypt$ln=10,r=8,p=1" + tail, "not a PHC string");
  ExpectInvalid("$scrypt$ln=9,r=8,p=1" + tail, "ln must be 10..22");
  ExpectInvalid("$scrypt$ln=23,r=8,p=1" + tail, "ln must be 10..22");
  ExpectInvalid("$scrypt$ln=010,r=8,p=1" + tail, "ln must be 10..22");
  ExpectInvalid("$scrypt$ln=10,r=0,p=1" + tail, "r must be 1..32");
  ExpectInvalid("$scrypt$ln=10,r=8,p=17" + tail, "p must be 1..16");
  ExpectInvalid("$scrypt$r=8,ln=10,p=1" + tail, "expected parameter ln");
  ExpectInvalid("$scrypt$ln=10,r=8,p=1,x=1" + tail, "exactly ln, r and p");
  ExpectInvalid("$scrypt$ln=10,r=8,p=1$c2FsdA$" + tail.substr(tail.rfind('$') + 1),
                "salt must be 16..64 bytes");
  ExpectInvalid(*phc + "=", "not unpadded base64");
  ExpectInvalid(*phc + "$extra", "expected $scrypt$");
  ExpectInvalid("$scrypt$ln=22,r=32,p=16" + tail, "more than 1 GiB");
  auto verify = VerifyPassword(Pw("x"), "$md5$abc");
  ASSERT_FALSE(verify.has_value());
  EXPECT_EQ(verify.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(Password, FormatIsTheInverseOfParse) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  auto parsed = ParsePasswordHash(*phc);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->salt.size(), 16u);
  EXPECT_EQ(parsed->hash.size(), 32u);
  EXPECT_EQ(FormatPasswordHash(*parsed), *phc);
}

TEST(Password, NeedsRehashWhenParametersChange) {
  auto phc = HashPassword(Pw("correct horse battery"), Cheap());
  EXPECT_FALSE(NeedsRehash(*phc, Cheap()));
  ScryptParams stronger = Cheap();
  stronger.log2_n = 11;
  EXPECT_TRUE(NeedsRehash(*phc, stronger));
  EXPECT_TRUE(NeedsRehash("garbage", Cheap()));
}

TEST(Password, RefusesBadHashingParameters) {
  ScryptParams p = Cheap();
  p.salt_len = 8;
  auto phc = HashPassword(Pw("correct horse battery"), p);
  ASSERT_FALSE(phc.has_value());
  EXPECT_EQ(phc.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(PasswordPolicy, LengthAndRepetition) {
  EXPECT_FALSE(CheckPasswordPolicy("elevenchars").has_value());
  EXPECT_TRUE(CheckPasswordPolicy("twelve chars").has_value());
  EXPECT_FALSE(CheckPasswordPolicy(std::string(1024, 'a')).has_value());
  std::string long_ok(1023, 'a');
  long_ok += 'b';
  EXPECT_TRUE(CheckPasswordPolicy(long_ok).has_value());
  long_ok += 'c';
  auto too_long = CheckPasswordPolicy(long_ok);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_THAT(too_long.error().message, HasSubstr("at most 1024"));
  auto same = CheckPasswordPolicy("aaaaaaaaaaaaaaaa");
  ASSERT_FALSE(same.has_value());
  EXPECT_EQ(same.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_THAT(same.error().message, StartsWith("password_policy:"));
  EXPECT_TRUE(CheckPasswordPolicy("pässwörd über alles").has_value());
}

TEST(Password, DefaultParametersCostTensOfMilliseconds) {
  const auto start = std::chrono::steady_clock::now();
  auto phc = HashPassword(Pw("correct horse battery"), ScryptParams{});
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ASSERT_TRUE(phc.has_value()) << phc.error();
  EXPECT_THAT(*phc, StartsWith("$scrypt$ln=14,r=8,p=1$"));
  RecordProperty("default_scrypt_ms", static_cast<int>(ms));
  std::printf("default scrypt (ln=14,r=8,p=1): %lld ms\n", static_cast<long long>(ms));
  EXPECT_LT(ms, 3000) << "default parameters are too slow for an interactive login";
}

}  // namespace
}  // namespace opsgate::identity::local
