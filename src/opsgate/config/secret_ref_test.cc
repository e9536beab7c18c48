#include "opsgate/config/secret_ref.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace opsgate::config {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

// A fresh directory under the system temp dir, removed at the end of the test.
class SecretRefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("opsgate_secret_ref_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), 0600);
    return path.string();
  }

  fs::path dir_;
};

TEST(ParseSecretRef, RecognisesEnvFileAndLiteral) {
  const SecretRef env = ParseSecretRef("env:OPSGATE_TOKEN", "/etc/opsgate");
  EXPECT_EQ(env.kind, SecretRef::Kind::kEnv);
  EXPECT_EQ(env.value.Reveal(), "OPSGATE_TOKEN");
  EXPECT_EQ(env.Describe(), "env:OPSGATE_TOKEN");

  const SecretRef file = ParseSecretRef("file:/run/secrets/token", "/etc/opsgate");
  EXPECT_EQ(file.kind, SecretRef::Kind::kFile);
  EXPECT_EQ(file.Describe(), "file:/run/secrets/token");

  const SecretRef literal = ParseSecretRef("xoxb-123", "/etc/opsgate");
  EXPECT_EQ(literal.kind, SecretRef::Kind::kLiteral);
  EXPECT_EQ(literal.value.Reveal(), "xoxb-123");
}

TEST(ParseSecretRef, ResolvesRelativeFileAgainstBaseDir) {
  const SecretRef ref = ParseSecretRef("file:secrets/../keys/token", "/etc/opsgate");
  EXPECT_EQ(ref.value.Reveal(), "/etc/opsgate/keys/token");
  EXPECT_EQ(ref.Describe(), "file:/etc/opsgate/keys/token");
}

TEST(SecretRef, LiteralDescribeNeverShowsTheValue) {
  const SecretRef ref = ParseSecretRef("hunter2-very-secret", "/");
  EXPECT_EQ(ref.Describe(), "literal");
  EXPECT_EQ(ref.value.ToString(), "[redacted]");
}

TEST(IsValidEnvName, AcceptsPortableNamesOnly) {
  EXPECT_TRUE(IsValidEnvName("OPSGATE_SLACK_SIGNING_SECRET"));
  EXPECT_TRUE(IsValidEnvName("_x1"));
  EXPECT_FALSE(IsValidEnvName(""));
  EXPECT_FALSE(IsValidEnvName("1ABC"));
  EXPECT_FALSE(IsValidEnvName("A-B"));
  EXPECT_FALSE(IsValidEnvName("A B"));
}

TEST(ResolveSecret, ReadsASetEnvironmentVariable) {
  ::setenv("OPSGATE_TEST_SECRET_SET", "s3cret", 1);
  const auto secret = ResolveSecret(ParseSecretRef("env:OPSGATE_TEST_SECRET_SET", "/"));
  ::unsetenv("OPSGATE_TEST_SECRET_SET");
  ASSERT_TRUE(secret.has_value()) << secret.error();
  EXPECT_EQ(secret->Reveal(), "s3cret");
}

TEST(ResolveSecret, UnsetEnvironmentVariableIsNotFound) {
  ::unsetenv("OPSGATE_SLACK_SIGNING_SECRET");
  const auto secret = ResolveSecret(ParseSecretRef("env:OPSGATE_SLACK_SIGNING_SECRET", "/"));
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(secret.error().message,
            "secret env:OPSGATE_SLACK_SIGNING_SECRET: the environment variable is not set; export "
            "it or point the reference elsewhere");
}

TEST(ResolveSecret, EmptyEnvironmentVariableIsFailedPrecondition) {
  ::setenv("OPSGATE_TEST_SECRET_EMPTY", "", 1);
  const auto secret = ResolveSecret(ParseSecretRef("env:OPSGATE_TEST_SECRET_EMPTY", "/"));
  ::unsetenv("OPSGATE_TEST_SECRET_EMPTY");
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(secret.error().message,
            "secret env:OPSGATE_TEST_SECRET_EMPTY: the environment variable is empty; set it to "
            "the secret or point the reference elsewhere");
}

TEST(ResolveSecret, InvalidVariableNameIsFailedPrecondition) {
  const auto secret = ResolveSecret(ParseSecretRef("env:NOT-VALID", "/"));
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(SecretRefTest, FileStripsOneTrailingNewline) {
  Write("lf", "token-lf\n");
  Write("crlf", "token-crlf\r\n");
  Write("two", "token-two\n\n");
  Write("none", "token-none");
  const auto read = [&](const std::string& name) {
    auto secret = ResolveSecret(ParseSecretRef("file:" + name, dir_.string()));
    return secret ? std::string(secret->Reveal()) : secret.error().message;
  };
  EXPECT_EQ(read("lf"), "token-lf");
  EXPECT_EQ(read("crlf"), "token-crlf");
  EXPECT_EQ(read("two"), "token-two\n");
  EXPECT_EQ(read("none"), "token-none");
}

TEST_F(SecretRefTest, RelativeFileResolvesAgainstBaseDir) {
  fs::create_directories(dir_ / "keys");
  Write("keys/token", "abc\n");
  const SecretRef ref = ParseSecretRef("file:keys/token", dir_.string());
  EXPECT_EQ(ref.Describe(), "file:" + (dir_ / "keys/token").string());
  const auto secret = ResolveSecret(ref);
  ASSERT_TRUE(secret.has_value()) << secret.error();
  EXPECT_EQ(secret->Reveal(), "abc");
}

TEST_F(SecretRefTest, MissingFileIsNotFound) {
  const auto secret = ResolveSecret(ParseSecretRef("file:missing", dir_.string()));
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(secret.error().message,
            "secret file:" + (dir_ / "missing").string() +
                ": the file does not exist; create it (mode 600) or point the reference elsewhere");
}

TEST_F(SecretRefTest, FileOver64KiBIsRefused) {
  Write("big", std::string(kMaxSecretFileBytes + 1, 'x'));
  Write("limit", std::string(kMaxSecretFileBytes, 'y'));
  const auto big = ResolveSecret(ParseSecretRef("file:big", dir_.string()));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(big.error().message, "secret file:" + (dir_ / "big").string() +
                                     ": the file is larger than 64 KiB; a secret file holds one "
                                     "value");
  const auto limit = ResolveSecret(ParseSecretRef("file:limit", dir_.string()));
  ASSERT_TRUE(limit.has_value()) << limit.error();
  EXPECT_EQ(limit->size(), kMaxSecretFileBytes);
}

TEST_F(SecretRefTest, DirectoryAndEmptyFileAreFailedPrecondition) {
  Write("empty", "\n");
  const auto dir = ResolveSecret(ParseSecretRef("file:" + dir_.string(), "/"));
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code, ErrorCode::kFailedPrecondition);
  const auto empty = ResolveSecret(ParseSecretRef("file:empty", dir_.string()));
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(empty.error().message, "secret file:" + (dir_ / "empty").string() +
                                       ": the file is empty; write the secret "
                                       "into it");
}

TEST_F(SecretRefTest, ErrorsNeverContainTheSecret) {
  Write("big", "hunter2" + std::string(kMaxSecretFileBytes, 'x'));
  const auto big = ResolveSecret(ParseSecretRef("file:big", dir_.string()));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message.find("hunter2"), std::string::npos);
}

TEST(ResolveSecret, LiteralResolvesToItsValue) {
  const auto secret = ResolveSecret(ParseSecretRef("dev-token", "/"));
  ASSERT_TRUE(secret.has_value()) << secret.error();
  EXPECT_EQ(secret->Reveal(), "dev-token");
}

}  // namespace
}  // namespace opsgate::config
