#include "opsgate/app/init.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "opsgate/config/loader.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::app {
namespace {

namespace fs = std::filesystem;

class InitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsgate-init-" + std::to_string(std::random_device{}()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }

  fs::path dir_;
  testing::FakeClock clock_{1'790'000'000};
};

TEST_F(InitTest, WritesConfigCertificateAndKeysWithTightModes) {
  auto r = InitDataDir({dir_.string(), {"gateway.example.com"}, 90}, clock_);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->files.size(), 6u);
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ / "tls" / "server.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "keys" / "audit-signing.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "keys" / "data.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "opsgate.yaml"), 0640u);
}

TEST_F(InitTest, StarterConfigLoadsWithoutErrorsOrWarnings) {
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings.front().ToString();
  const auto& c = *loaded->config;
  EXPECT_EQ(c.server.listen_port, 8443);
  ASSERT_TRUE(c.server.tls.has_value());
  EXPECT_EQ(c.server.tls->cert_file, (dir_ / "tls" / "server.crt").string());
  EXPECT_EQ(c.store.path, (dir_ / "opsgate.db").string());
}

TEST_F(InitTest, RefusesToOverwriteAndWritesNothing) {
  fs::create_directories(dir_ / "keys");
  std::ofstream(dir_ / "keys" / "data.key") << "precious";
  auto r = InitDataDir({dir_.string(), {}, 90}, clock_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_NE(r.error().message.find("data.key"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "opsgate.yaml"));
  EXPECT_FALSE(fs::exists(dir_ / "tls" / "server.crt"));
}

TEST_F(InitTest, EmptyDirectoryIsAnError) {
  auto r = InitDataDir({"", {}, 90}, clock_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::app
