#include "opsgate/identity/totp.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "opsgate/crypto/hash.h"
#include "opsgate/identity/testing/vectors.h"

namespace opsgate::identity {
namespace {

namespace json = boost::json;

const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 =
    "1234567890123456789012345678901234567890123456789012345678901234";

TotpParams Params(OtpAlgorithm alg, int digits) {
  TotpParams p;
  p.algorithm = alg;
  p.digits = digits;
  return p;
}

TEST(Hotp, HardCodedRfc4226Rows) {
  EXPECT_EQ(Hotp(kSeed20, 0, OtpAlgorithm::kSha1, 6), "755224");
  EXPECT_EQ(Hotp(kSeed20, 1, OtpAlgorithm::kSha1, 6), "287082");
  EXPECT_EQ(Hotp(kSeed20, 9, OtpAlgorithm::kSha1, 6), "520489");
}

TEST(Totp, HardCodedRfc6238Rows) {
  EXPECT_EQ(TotpAt(kSeed20, 59, Params(OtpAlgorithm::kSha1, 8)), "94287082");
  EXPECT_EQ(TotpAt(kSeed20, 1111111109, Params(OtpAlgorithm::kSha1, 8)), "07081804");
  EXPECT_EQ(TotpAt(kSeed32, 59, Params(OtpAlgorithm::kSha256, 8)), "46119246");
  EXPECT_EQ(TotpAt(kSeed64, 59, Params(OtpAlgorithm::kSha512, 8)), "90693936");
  EXPECT_EQ(TotpAt(kSeed20, 20000000000, Params(OtpAlgorithm::kSha1, 8)), "65353130")
      << "64-bit time steps (past 2038)";
  EXPECT_EQ(TotpAt(kSeed20, 59, Params(OtpAlgorithm::kSha1, 6)), "287082");
}

TEST(OtpVectors, Rfc4226AllRows) {
  OPSGATE_REQUIRE_VECTORS(dir);
  const json::value doc = json::parse(testing::ReadFileOrDie(dir / "otp" / "rfc4226-hotp.json"));
  const std::string secret(doc.at("secret_ascii").as_string());
  int rows = 0;
  for (const json::value& v : doc.at("vectors").as_array()) {
    const auto count = static_cast<uint64_t>(v.at("count").to_number<int64_t>());
    EXPECT_EQ(Hotp(secret, count, OtpAlgorithm::kSha1, 6), std::string(v.at("hotp").as_string()))
        << "count " << count;
    ++rows;
  }
  EXPECT_EQ(rows, 10);
}

TEST(OtpVectors, Rfc6238AllRows) {
  OPSGATE_REQUIRE_VECTORS(dir);
  const json::value doc = json::parse(testing::ReadFileOrDie(dir / "otp" / "rfc6238-totp.json"));
  const json::object& seeds = doc.at("seeds").as_object();
  int rows = 0;
  for (const json::value& v : doc.at("vectors").as_array()) {
    const std::string mode(v.at("mode").as_string());
    const OtpAlgorithm alg = mode == "SHA1"     ? OtpAlgorithm::kSha1
                             : mode == "SHA256" ? OtpAlgorithm::kSha256
                                                : OtpAlgorithm::kSha512;
    const std::string seed(seeds.at(mode).at("ascii").as_string());
    const int64_t t = v.at("time").to_number<int64_t>();
    const std::string want(v.at("totp").as_string());
    EXPECT_EQ(TotpAt(seed, t, Params(alg, 8)), want) << mode << " t=" << t;
    // The same code verifies at that time, and its step is T.
    auto step = VerifyTotp(core::Secret(seed), want, t, Params(alg, 8));
    ASSERT_TRUE(step.has_value()) << mode << " t=" << t;
    EXPECT_EQ(*step, t / 30);
    ++rows;
  }
  EXPECT_EQ(rows, 18);
}

TEST(VerifyTotp, AcceptsOneStepEitherSideAndNoFurther) {
  const core::Secret key(kSeed20);
  const TotpParams p = Params(OtpAlgorithm::kSha1, 6);
  const int64_t now = 1'700'000'010;  // step 56666667
  const int64_t step = now / 30;
  for (int64_t d = -2; d <= 2; ++d) {
    const std::string code = *Hotp(kSeed20, static_cast<uint64_t>(step + d), OtpAlgorithm::kSha1, 6);
    auto r = VerifyTotp(key, code, now, p);
    if (d >= -1 && d <= 1) {
      ASSERT_TRUE(r.has_value()) << d;
      EXPECT_EQ(*r, step + d);
    } else {
      ASSERT_FALSE(r.has_value()) << d;
      EXPECT_EQ(r.error().code, core::ErrorCode::kUnauthenticated);
    }
  }
  // Window 0: only the current step.
  const std::string prev = *Hotp(kSeed20, static_cast<uint64_t>(step - 1), OtpAlgorithm::kSha1, 6);
  EXPECT_FALSE(VerifyTotp(key, prev, now, p, 0).has_value());
}

TEST(VerifyTotp, StepBoundaryIsExact) {
  const core::Secret key(kSeed20);
  const TotpParams p = Params(OtpAlgorithm::kSha1, 8);
  // 94287082 is the code of step 1 (t = 30..59).
  EXPECT_EQ(VerifyTotp(key, "94287082", 59, p, 0), 1);
  EXPECT_EQ(VerifyTotp(key, "94287082", 30, p, 0), 1);
  EXPECT_FALSE(VerifyTotp(key, "94287082", 29, p, 0).has_value());
  EXPECT_FALSE(VerifyTotp(key, "94287082", 60, p, 0).has_value());
  EXPECT_EQ(VerifyTotp(key, "94287082", 89, p, 1), 1);
  EXPECT_FALSE(VerifyTotp(key, "94287082", 90, p, 1).has_value());
}

TEST(VerifyTotp, RefusesMalformedCodes) {
  const core::Secret key(kSeed20);
  const TotpParams p = Params(OtpAlgorithm::kSha1, 6);
  for (std::string_view bad : {"", "28708", "2870822", " 287082", "287 82", "28708a", "+87082",
                               "２８７０８２", "287082\n"}) {
    auto r = VerifyTotp(key, bad, 59, p);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, core::ErrorCode::kUnauthenticated);
    EXPECT_EQ(r.error().message.rfind("totp_malformed", 0), 0u) << bad;
  }
  EXPECT_EQ(VerifyTotp(key, "287082", 59, p, 11).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(VerifyTotp(key, "287082", 59, Params(OtpAlgorithm::kSha1, 9)).error().code,
            core::ErrorCode::kInvalidArgument);
}

TEST(TotpReplayGuard, EachCodeIsUsableOnce) {
  InMemoryTotpReplayGuard guard;
  const core::Secret key(kSeed20);
  const TotpParams p = Params(OtpAlgorithm::kSha1, 6);
  const std::string code = *TotpAt(kSeed20, 1'700'000'000, p);
  auto step = VerifyTotp(key, code, 1'700'000'000, p);
  ASSERT_TRUE(step.has_value());
  EXPECT_TRUE(guard.MarkUsed("alice", *step).has_value());
  auto again = VerifyTotp(key, code, 1'700'000'005, p);
  ASSERT_TRUE(again.has_value());
  auto replay = guard.MarkUsed("alice", *again);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_FALSE(guard.MarkUsed("alice", *step - 1).has_value()) << "older step refused too";
  EXPECT_TRUE(guard.MarkUsed("bob", *step).has_value()) << "per user";
  EXPECT_TRUE(guard.MarkUsed("alice", *step + 1).has_value());
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32Encode(kSeed20), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base32Decode(Base32Encode(s)), std::string(s));
  }
  EXPECT_EQ(Base32Decode("MZXW6YQ="), "foob");
  EXPECT_EQ(Base32Decode("MZXW6==="), "foo");
  EXPECT_EQ(Base32Decode("mzxw6ytboi"), "foobar");
}

TEST(Base32, RefusesMalformedInput) {
  for (std::string_view bad : {"M", "MZX", "MZXW6Y", "MZXW6=", "MZ=XW", "MZXW 6", "MZXW1",
                               "MZ======", "MZXQ===", "MZ7"}) {
    EXPECT_FALSE(Base32Decode(bad).has_value()) << bad;
  }
}

TEST(GenerateTotpSecret, Returns20RandomBytes) {
  auto a = GenerateTotpSecret();
  auto b = GenerateTotpSecret();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->size(), 20u);
  EXPECT_NE(a->Reveal(), b->Reveal());
}

TEST(OtpauthUri, MatchesTheKeyUriFormat) {
  TotpParams p;
  auto uri = OtpauthUri("ACME Co", "john.doe@email.com", core::Secret(kSeed20), p);
  ASSERT_TRUE(uri.has_value());
  EXPECT_EQ(uri->Reveal(),
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30");
  p.algorithm = OtpAlgorithm::kSha256;
  p.digits = 8;
  p.period = std::chrono::seconds(60);
  auto uri2 = OtpauthUri("ops&gate", "a/b?c", core::Secret(kSeed20), p);
  ASSERT_TRUE(uri2.has_value());
  EXPECT_EQ(uri2->Reveal(),
            "otpauth://totp/ops%26gate:a%2Fb%3Fc?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=ops%26gate&algorithm=SHA256&digits=8&period=60");
  EXPECT_FALSE(OtpauthUri("a:b", "x", core::Secret(kSeed20), {}).has_value());
  EXPECT_FALSE(OtpauthUri("a", "", core::Secret(kSeed20), {}).has_value());
}

}  // namespace
}  // namespace opsgate::identity
