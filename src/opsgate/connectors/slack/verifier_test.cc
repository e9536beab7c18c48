#include "opsgate/connectors/slack/verifier.h"

#include <gtest/gtest.h>

#include "test/fakes/ci.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace opsgate::connectors::slack {
namespace {

struct Vector {
  std::string signing_secret;
  std::string timestamp;
  std::string body;
  std::string signature;
  int64_t now = 0;
};

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack),
// also in python-slack-sdk's tests. Published facts, so the verifier is always tested
// even where ../shared/vectors is not checked out.
Vector PublishedVector() {
  return {"8f742231b10e8888abcd99yyyzzz85a5", "1531420618",
          "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
          "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
          "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
          "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
          "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
          "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", 1531420618};
}

void ExpectRejected(const core::Status& s, SlackRejectReason reason) {
  ASSERT_FALSE(s.has_value()) << "expected rejection " << SlackRejectReasonName(reason);
  EXPECT_EQ(s.error().code, core::ErrorCode::kUnauthenticated) << s.error();
  const auto got = SlackRejectReasonOf(s.error());
  ASSERT_TRUE(got.has_value()) << s.error();
  EXPECT_EQ(*got, reason) << s.error();
}

// Every check the brief and python-slack-sdk's tests ask for, on one vector.
void CheckVector(const Vector& v) {
  const core::Secret secret(v.signing_secret);
  SCOPED_TRACE("vector body: " + v.body.substr(0, 40));

  // Valid with the clock at the vector's time.
  const core::Status ok = VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now);
  EXPECT_TRUE(ok.has_value()) << ok.error();
  EXPECT_EQ(ComputeSlackSignature(v.timestamp, v.body, secret), v.signature);

  // Stale one day later, and equally refused one day earlier (future timestamp).
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now + 86400),
                 SlackRejectReason::kStaleTimestamp);
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now - 86400),
                 SlackRejectReason::kStaleTimestamp);

  // Body + "------" does not match.
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body + "------", secret, v.now),
                 SlackRejectReason::kSignatureMismatch);

  // Each header missing.
  ExpectRejected(VerifySlackSignature(std::nullopt, v.signature, v.body, secret, v.now),
                 SlackRejectReason::kMissingHeader);
  ExpectRejected(VerifySlackSignature(v.timestamp, std::nullopt, v.body, secret, v.now),
                 SlackRejectReason::kMissingHeader);
  ExpectRejected(VerifySlackSignature(std::nullopt, std::nullopt, v.body, secret, v.now),
                 SlackRejectReason::kMissingHeader);

  // Another version prefix, and the right MAC in uppercase hex.
  std::string v1 = v.signature;
  v1[1] = '1';
  ExpectRejected(VerifySlackSignature(v.timestamp, v1, v.body, secret, v.now),
                 SlackRejectReason::kBadSignatureFormat);
  std::string upper = v.signature;
  for (size_t i = 3; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  ExpectRejected(VerifySlackSignature(v.timestamp, upper, v.body, secret, v.now),
                 SlackRejectReason::kBadSignatureFormat);

  // Timestamps that a lenient parser would read as the same number.
  for (const std::string& ts :
       {"+" + v.timestamp, " " + v.timestamp, v.timestamp + " ", std::string("1.531e9"),
        std::string("0x5B47A8CA"), std::string("-1531420618"), std::string(""), v.timestamp + ".0",
        std::string("99999999999999999999999")}) {
    SCOPED_TRACE("timestamp '" + ts + "'");
    ExpectRejected(VerifySlackSignature(ts, v.signature, v.body, secret, v.now),
                   SlackRejectReason::kBadTimestamp);
  }

  // An empty signing secret is a configuration error, not a refused request.
  const core::Status no_secret =
      VerifySlackSignature(v.timestamp, v.signature, v.body, core::Secret(""), v.now);
  ASSERT_FALSE(no_secret.has_value());
  EXPECT_EQ(no_secret.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(SlackRejectReasonOf(no_secret.error()).has_value());
}

std::optional<std::filesystem::path> VectorsDir() {
  if (const char* env = std::getenv("OPSGATE_VECTORS"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env);
  }
  if (const char* src = std::getenv("OPSGATE_SOURCE_DIR"); src != nullptr && *src != '\0') {
    return std::filesystem::path(src) / ".." / "shared" / "vectors";
  }
  return std::nullopt;
}

using opsgate::testing::InCi;

TEST(SlackVerifier, AcceptsAndRejectsPerPublishedVectorFile) {
  const auto dir = VectorsDir();
  const std::filesystem::path file =
      dir ? *dir / "webhooks" / "slack.json" : std::filesystem::path("webhooks/slack.json");
  std::ifstream in(file);
  if (!dir || !in) {
    const std::string why = "Slack vector file " + file.string() +
                            " not found; set OPSGATE_VECTORS to the shared vectors directory "
                            "(default <OPSGATE_SOURCE_DIR>/../shared/vectors)";
    if (InCi()) {
      FAIL() << why;
    }
    GTEST_SKIP() << why;
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text.str(), ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto& vec = doc.at("vector").as_object();
  Vector v;
  v.signing_secret = std::string(vec.at("signing_secret").as_string());
  v.timestamp = std::string(vec.at("timestamp").as_string());
  v.body = std::string(vec.at("body").as_string());
  v.signature = std::string(vec.at("expected_signature").as_string());
  v.now = vec.at("clock_now_for_valid").to_number<int64_t>();
  EXPECT_EQ(doc.at("window_seconds").to_number<int64_t>(), kDefaultToleranceSeconds);
  CheckVector(v);
}

TEST(SlackVerifier, AcceptsAndRejectsPerHardCodedPublishedVector) {
  CheckVector(PublishedVector());
}

TEST(SlackVerifier, ToleranceIsInclusiveInBothDirections) {
  const Vector v = PublishedVector();
  const core::Secret secret(v.signing_secret);
  EXPECT_TRUE(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now + 300));
  EXPECT_TRUE(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now - 300));
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now + 301),
                 SlackRejectReason::kStaleTimestamp);
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now - 301),
                 SlackRejectReason::kStaleTimestamp);
  // A custom tolerance.
  ExpectRejected(VerifySlackSignature(v.timestamp, v.signature, v.body, secret, v.now + 61, 60),
                 SlackRejectReason::kStaleTimestamp);
}

TEST(SlackVerifier, StaleMessageSaysHowFarOff) {
  const Vector v = PublishedVector();
  const core::Status s = VerifySlackSignature(v.timestamp, v.signature, v.body,
                                              core::Secret(v.signing_secret), v.now + 86400);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message.rfind("stale_timestamp: stale or future timestamp: 1531420618", 0),
            0u)
      << s.error();
  EXPECT_NE(s.error().message.find("86400"), std::string::npos) << s.error();
}

TEST(SlackVerifier, RejectsMalformedSignatures) {
  const Vector v = PublishedVector();
  const core::Secret secret(v.signing_secret);
  for (const std::string& sig :
       {std::string(""), std::string("v0="), std::string("v0"), v.signature.substr(3),
        v.signature + "0", v.signature.substr(0, v.signature.size() - 1),
        "v0=" + std::string(64, 'g'), "V0=" + v.signature.substr(3), " " + v.signature,
        v.signature + " ", std::string("v0=") + std::string(63, 'a') + std::string(1, '\0')}) {
    SCOPED_TRACE("signature '" + sig + "'");
    ExpectRejected(VerifySlackSignature(v.timestamp, sig, v.body, secret, v.now),
                   SlackRejectReason::kBadSignatureFormat);
  }
}

TEST(SlackVerifier, RejectsWrongSecretAsMismatch) {
  const Vector v = PublishedVector();
  ExpectRejected(
      VerifySlackSignature(v.timestamp, v.signature, v.body, core::Secret("another-secret"), v.now),
      SlackRejectReason::kSignatureMismatch);
}

TEST(SlackVerifier, TimestampIsPartOfTheSignedString) {
  // Same body, a different (but fresh) timestamp: the old signature must not verify.
  const Vector v = PublishedVector();
  ExpectRejected(VerifySlackSignature("1531420619", v.signature, v.body,
                                      core::Secret(v.signing_secret), v.now),
                 SlackRejectReason::kSignatureMismatch);
}

TEST(SlackVerifier, ErrorsNeverContainTheSecretOrTheExpectedSignature) {
  const Vector v = PublishedVector();
  const core::Secret secret(v.signing_secret);
  const std::string expected_hex = v.signature.substr(3);
  std::string wrong = v.signature;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const core::Status& s :
       {VerifySlackSignature(v.timestamp, wrong, v.body, secret, v.now),
        VerifySlackSignature("abc", wrong, v.body, secret, v.now),
        VerifySlackSignature(v.timestamp, "v1=" + expected_hex, v.body, secret, v.now)}) {
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().message.find(v.signing_secret), std::string::npos) << s.error();
    EXPECT_EQ(s.error().message.find(expected_hex), std::string::npos) << s.error();
  }
}

TEST(SlackVerifier, ReasonNamesAreStable) {
  EXPECT_EQ(SlackRejectReasonName(SlackRejectReason::kMissingHeader), "missing_header");
  EXPECT_EQ(SlackRejectReasonName(SlackRejectReason::kBadTimestamp), "bad_timestamp");
  EXPECT_EQ(SlackRejectReasonName(SlackRejectReason::kStaleTimestamp), "stale_timestamp");
  EXPECT_EQ(SlackRejectReasonName(SlackRejectReason::kBadSignatureFormat), "bad_signature_format");
  EXPECT_EQ(SlackRejectReasonName(SlackRejectReason::kSignatureMismatch), "signature_mismatch");
  EXPECT_FALSE(SlackRejectReasonOf(core::InvalidArgument("missing_header: x")).has_value());
  EXPECT_FALSE(SlackRejectReasonOf(core::Unauthenticated("something else")).has_value());
  EXPECT_FALSE(SlackRejectReasonOf(core::Unauthenticated("missing_header")).has_value());
}

}  // namespace
}  // namespace opsgate::connectors::slack
