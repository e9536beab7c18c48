#include "opsgate/aws/shared_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace opsgate::aws {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

EnvLookup MapEnv(std::map<std::string, std::string> m) {
  return [m = std::move(m)](std::string_view k) -> std::optional<std::string> {
    auto it = m.find(std::string(k));
    if (it == m.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

TEST(SharedConfigTest, ParsesCredentialsFile) {
  const std::string text =
      "# comment\n"
      "; another\n"
      "[default]\n"
      "aws_access_key_id = AKIDEXAMPLE\n"
      "aws_secret_access_key=" +
      std::string(kSecret) +
      "\r\n"
      "\n"
      "  [ci]  # trailing comment\n"
      "AWS_ACCESS_KEY_ID : AKIDCI\n"
      "aws_secret_access_key = s;ec#ret\n"
      "aws_session_token = tok\n";
  auto r = ParseSharedConfig(text, SharedFileKind::kCredentials, "credentials");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 2u);
  const Profile& d = r->at("default");
  EXPECT_EQ(d.line, 3u);
  EXPECT_EQ(d.Get("aws_access_key_id"), "AKIDEXAMPLE");
  ASSERT_NE(d.GetSecret("aws_secret_access_key"), nullptr);
  EXPECT_EQ(d.GetSecret("aws_secret_access_key")->Reveal(), kSecret);
  EXPECT_FALSE(d.Get("aws_secret_access_key"));  // secrets never in values
  const Profile& ci = r->at("ci");
  EXPECT_EQ(ci.Get("aws_access_key_id"), "AKIDCI");
  EXPECT_EQ(ci.GetSecret("aws_secret_access_key")->Reveal(), "s;ec#ret");
  EXPECT_EQ(ci.GetSecret("aws_session_token")->Reveal(), "tok");
}

TEST(SharedConfigTest, ParsesConfigFileProfilesAndSkipsOtherSections) {
  const std::string text =
      "[default]\n"
      "region = eu-west-1\n"
      "[profile ops]\n"
      "role_arn = arn:aws:iam::123456789012:role/ops\n"
      "source_profile = default\n"
      "duration_seconds = 900\n"
      "s3 =\n"
      "  addressing_style = path\n"
      "  max_concurrent_requests = 10\n"
      "output = json\n"
      "[services local]\n"
      "ec2 =\n"
      "  endpoint_url = http://localhost:4566\n"
      "[sso-session my]\n"
      "sso_region = us-east-1\n"
      "[profile   spaced  ]\n"
      "region = us-east-2\n";
  auto r = ParseSharedConfig(text, SharedFileKind::kConfig, "config");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(r->at("default").Get("region"), "eu-west-1");
  const Profile& ops = r->at("ops");
  EXPECT_EQ(ops.Get("role_arn"), "arn:aws:iam::123456789012:role/ops");
  EXPECT_EQ(ops.Get("source_profile"), "default");
  EXPECT_EQ(ops.Get("s3"), "");
  EXPECT_EQ(ops.Get("s3.addressing_style"), "path");
  EXPECT_EQ(ops.Get("s3.max_concurrent_requests"), "10");
  EXPECT_EQ(ops.Get("output"), "json");
  EXPECT_EQ(r->at("spaced").Get("region"), "us-east-2");
}

TEST(SharedConfigTest, ProfileDefaultInConfigIsDefault) {
  auto r = ParseSharedConfig("[profile default]\nregion=x\n", SharedFileKind::kConfig, "c");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->at("default").Get("region"), "x");
}

struct BadCase {
  std::string text;
  std::string expected_prefix;
};

TEST(SharedConfigTest, RejectsMalformedInputWithLineNumbers) {
  const BadCase cases[] = {
      {"aws_access_key_id = x\n", "f:1: key before any section header"},
      {"[a]\nnovalue\n", "f:2: expected 'key = value'"},
      {"[a\n", "f:1: section header without ']'"},
      {"[a] junk\n", "f:1: text after a section header"},
      {"[]\n", "f:1: empty section name"},
      {"[a]\nx=1\n[a]\n", "f:3: duplicate profile 'a' (first at line 1)"},
      {"[a]\nx=1\nX=2\n", "f:3: duplicate key 'x' in profile 'a'"},
      {"[a]\n= 1\n", "f:2: empty key"},
      {"[a]\nk y = 1\n", "f:2: key with a character"},
      {"[a]\nx=1\n  continued\n", "f:3: indented line outside a nested section"},
      {std::string("[a]\nx=\0\n", 7), "f:2: control or NUL byte"},
      {"[a b]\n", "f:1: profile name with whitespace"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseSharedConfig(c.text, SharedFileKind::kCredentials, "f");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << c.text;
    EXPECT_EQ(r.error().message.rfind(c.expected_prefix, 0), 0u) << r.error().message;
  }
  auto r = ParseSharedConfig("[profile]\n", SharedFileKind::kConfig, "f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "f:1: [profile] without a profile name");
}

TEST(SharedConfigTest, ErrorsNeverQuoteValues) {
  const std::string text = "[a]\naws_secret_access_key = " + std::string(kSecret) +
                           "\naws_secret_access_key = " + std::string(kSecret) + "\n";
  auto r = ParseSharedConfig(text, SharedFileKind::kCredentials, "f");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find(kSecret), std::string::npos);
  auto r2 =
      ParseSharedConfig("[a]\n" + std::string(kSecret) + "\n", SharedFileKind::kCredentials, "f");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message.find(kSecret), std::string::npos);
}

TEST(SharedConfigTest, EnforcesLimits) {
  SharedConfigLimits limits;
  limits.max_bytes = 16;
  auto r =
      ParseSharedConfig("[a]\nkey = 0123456789abcdef\n", SharedFileKind::kCredentials, "f", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted);

  limits = {};
  limits.max_line_bytes = 8;
  r = ParseSharedConfig("[a]\nkey = 0123456789\n", SharedFileKind::kCredentials, "f", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "f:2: line longer than 8 bytes");

  limits = {};
  limits.max_profiles = 2;
  r = ParseSharedConfig("[a]\n[b]\n[c]\n", SharedFileKind::kCredentials, "f", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "f:3: more than 2 profiles");

  limits = {};
  limits.max_keys_per_profile = 1;
  r = ParseSharedConfig("[a]\nx=1\ny=2\n", SharedFileKind::kCredentials, "f", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted);
}

TEST(SharedConfigTest, LocateUsesEnvThenHome) {
  auto loc = LocateSharedConfig(MapEnv({{"HOME", "/home/u"}}));
  EXPECT_EQ(loc.credentials_path, "/home/u/.aws/credentials");
  EXPECT_EQ(loc.config_path, "/home/u/.aws/config");
  EXPECT_EQ(loc.profile, "default");
  EXPECT_FALSE(loc.profile_explicit);

  loc = LocateSharedConfig(MapEnv({{"HOME", "/h"},
                                   {"AWS_SHARED_CREDENTIALS_FILE", "~/c"},
                                   {"AWS_CONFIG_FILE", "/etc/aws/config"},
                                   {"AWS_PROFILE", "ops"}}));
  EXPECT_EQ(loc.credentials_path, "/h/c");
  EXPECT_EQ(loc.config_path, "/etc/aws/config");
  EXPECT_EQ(loc.profile, "ops");
  EXPECT_TRUE(loc.profile_explicit);

  loc = LocateSharedConfig(MapEnv({}));
  EXPECT_EQ(loc.credentials_path, "");
  EXPECT_EQ(loc.config_path, "");
}

class SharedConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("opsgate_shared_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(SharedConfigFileTest, LoadsBothFilesWithCredentialsPrecedence) {
  const auto creds = Write("credentials", "[default]\naws_access_key_id = FROMCREDS\n");
  const auto config = Write("config",
                            "[default]\naws_access_key_id = FROMCONFIG\nregion = eu-west-1\n"
                            "[profile x]\naws_secret_access_key = s\n");
  auto r = LoadSharedConfig(
      MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->Get("default", "aws_access_key_id"), "FROMCREDS");
  EXPECT_EQ(r->Get("default", "region"), "eu-west-1");
  EXPECT_TRUE(r->HasProfile("x"));
  ASSERT_NE(r->GetSecret("x", "aws_secret_access_key"), nullptr);
  EXPECT_FALSE(r->HasProfile("y"));
}

TEST_F(SharedConfigFileTest, MissingFilesAreEmptyAndErrorsNameTheFile) {
  auto r = LoadSharedConfig(MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "nope").string()},
                                    {"AWS_CONFIG_FILE", (dir_ / "nope2").string()}}));
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->credentials.empty());

  const auto bad = Write("bad", "[a]\nbroken\n");
  r = LoadSharedConfig(MapEnv({{"AWS_SHARED_CREDENTIALS_FILE", bad}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, bad + ":2: expected 'key = value'");

  r = LoadSharedConfig(MapEnv({{"AWS_CONFIG_FILE", dir_.string()}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(SharedConfigFileTest, ReadBoundedFileRefusesLargeFiles) {
  const auto p = Write("big", std::string(100, 'x'));
  auto r = ReadBoundedFile(p, 99);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted);
  auto ok = ReadBoundedFile(p, 100);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 100u);
}

}  // namespace
}  // namespace opsgate::aws
