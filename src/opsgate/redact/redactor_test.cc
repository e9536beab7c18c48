#include "opsgate/redact/redactor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace opsgate::redact {
namespace {

std::string TestData(const std::string& name) {
  const char* root = std::getenv("OPSGATE_SOURCE_DIR");
  return std::string(root ? root : ".") + "/src/opsgate/redact/testdata/" + name;
}

std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(TestData(name));
  EXPECT_TRUE(in) << "cannot read " << TestData(name);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      lines.push_back(line);
    }
  }
  return lines;
}

Redactor Builtin() {
  auto r = Redactor::Create();
  EXPECT_TRUE(r) << r.error();
  return std::move(*r);
}

TEST(Redactor, RedactsCorpusOfRealFormatSecrets) {
  const Redactor r = Builtin();
  const auto lines = ReadLines("secrets.tsv");
  ASSERT_GE(lines.size(), 30u);
  for (const std::string& line : lines) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const std::string input = line.substr(0, tab);
    const std::string expected = line.substr(tab + 1);
    EXPECT_EQ(r.Redact(input), expected) << "input: " << input;
    EXPECT_TRUE(r.ContainsSecret(input)) << input;
    EXPECT_EQ(r.Redact(expected), expected) << "not idempotent: " << expected;
    EXPECT_FALSE(r.ContainsSecret(expected)) << expected;
  }
}

TEST(Redactor, LeavesNearMissesAlone) {
  const Redactor r = Builtin();
  const auto lines = ReadLines("near_misses.txt");
  ASSERT_GE(lines.size(), 20u);
  for (const std::string& line : lines) {
    EXPECT_EQ(r.Redact(line), line);
  }
}

TEST(Redactor, RedactsMultiLinePemPrivateKeys) {
  const Redactor r = Builtin();
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\n"
      "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
      "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
      "-----END RSA PRIVATE KEY-----";
  EXPECT_EQ(r.Redact("key:\n" + pem + "\ndone"), "key:\n[redacted:private-key]\ndone");
  const std::string pkcs8 =
      "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIH1x\n-----END PRIVATE KEY-----\n";
  EXPECT_EQ(r.Redact(pkcs8 + pkcs8), "[redacted:private-key]\n[redacted:private-key]\n");
  const std::string openssh =
      "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n"
      "-----END OPENSSH PRIVATE KEY-----";
  EXPECT_EQ(r.Redact(openssh), "[redacted:private-key]");
  // Cut off before the END line (a truncated log line): the body still goes.
  EXPECT_EQ(r.Redact("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpY"),
            "[redacted:private-key]");
  const std::string cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n"
                           "-----END CERTIFICATE-----";
  EXPECT_EQ(r.Redact(cert), cert);
}

TEST(Redactor, KeepsUserAndHostOfUrls) {
  const Redactor r = Builtin();
  EXPECT_EQ(r.Redact("amqp://guest:guest@rabbit:5672/"),
            "amqp://guest:[redacted:url-password]@rabbit:5672/");
  EXPECT_EQ(r.Redact("https://x-access-token:" + std::string("ghs_") + std::string(36, 'a') +
                     "@github.com/o/r.git"),
            "https://x-access-token:[redacted:github-token]@github.com/o/r.git");
}

TEST(Redactor, MergesOverlappingSecretsIntoOneMarker) {
  const Redactor r = Builtin();
  // Same start: the earlier rule names the marker; the union of both spans goes.
  EXPECT_EQ(r.Redact("password=AKIAIOSFODNN7EXAMPLE,more"),
            "password=[redacted:aws-access-key-id]");
  EXPECT_EQ(r.Redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
            "Authorization: Bearer [redacted:jwt]");
}

TEST(Redactor, MarkersAreNotRedactedAgain) {
  const Redactor r = Builtin();
  for (const std::string s :
       {"password=[redacted:password]", "\"password\": \"[redacted:password]\"",
        "https://u:[redacted:url-password]@h/", "Authorization: Bearer [redacted:authorization]"}) {
    EXPECT_EQ(r.Redact(s), s);
    EXPECT_FALSE(r.ContainsSecret(s)) << s;
  }
  EXPECT_EQ(r.Redact("password=[redacted:password]tail"), "password=[redacted:password]");
}

TEST(Redactor, ExtraPatternsReplaceFirstGroupOrWholeMatch) {
  auto r = Redactor::Create({R"(EMP-[0-9]{6})", R"(pin=([0-9]{4,8}))"});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->Redact("employee EMP-123456 pin=98765 ok"),
            "employee [redacted:custom] pin=[redacted:custom] ok");
  EXPECT_EQ(r->Redact("AKIAIOSFODNN7EXAMPLE"), "[redacted:aws-access-key-id]");
}

TEST(Redactor, InvalidExtraPatternIsNamed) {
  auto bad = Redactor::Create({"ok-[0-9]+", "broken(["});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("broken(["), std::string::npos) << bad.error();
  // Backreferences are not RE2 (they would need backtracking).
  auto backref = Redactor::Create({R"((a)\1)"});
  ASSERT_FALSE(backref);
  EXPECT_EQ(backref.error().code, core::ErrorCode::kInvalidArgument);
  auto empty = Redactor::Create({"x*"});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(Redactor, HandlesBinaryAndEmptyInput) {
  const Redactor r = Builtin();
  EXPECT_EQ(r.Redact(""), "");
  const std::string binary("\xff\xfe\x00password=\xc3\x28\xff tail", 20);
  EXPECT_EQ(r.Redact(binary), std::string("\xff\xfe\x00password=[redacted:password] tail", 36));
  const std::string big(1 << 20, 'a');
  EXPECT_EQ(r.Redact(big), big);
}

TEST(Redactor, IsSafeToShareAcrossThreads) {
  const Redactor r = Builtin();
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, &ok, t] {
      for (int i = 0; i < 200; ++i) {
        ok[static_cast<size_t>(t)] +=
            r.Redact("token " + std::string("ghp_") + std::string(36, 'z')) ==
            "token [redacted:github-token]";
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (const int n : ok) {
    EXPECT_EQ(n, 200);
  }
}

TEST(Redactor, NamesBuiltinRules) {
  const auto names = Redactor::BuiltinRuleNames();
  EXPECT_EQ(names.front(), "private-key");
  EXPECT_NE(std::find(names.begin(), names.end(), "slack-token"), names.end());
}

}  // namespace
}  // namespace opsgate::redact
