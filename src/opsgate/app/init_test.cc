#include "opsgate/app/init.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/config/loader.h"
#include "opsgate/intents/catalogue_yaml.h"
#include "opsgate/intents/intents.h"
#include "opsgate/policy/lint.h"
#include "opsgate/policy/policy.h"
#include "opsgate/policy/policy_table.h"
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
  EXPECT_EQ(r->files.size(), 9u);
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ / "tls" / "server.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "keys" / "audit-signing.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "keys" / "data.key"), 0600u);
  EXPECT_EQ(Mode(dir_ / "opsgate.yaml"), 0640u);
  EXPECT_EQ(Mode(dir_ / "policy.yaml"), 0640u);
  EXPECT_EQ(Mode(dir_ / "policy-tests.yaml"), 0640u);
  EXPECT_EQ(Mode(dir_ / "intents.yaml"), 0640u);
}

TEST_F(InitTest, StarterPolicyParsesAndHasNoRiskyStatements) {
  auto policy = policy::ParsePolicy(StarterPolicy(), "policy.yaml");
  ASSERT_TRUE(policy.has_value()) << policy.error()[0].ToString();
  for (const auto& f : policy::Lint(*policy)) {
    ADD_FAILURE() << f.statement << ": " << f.rule << ": " << f.message;
  }
  // Every statement is exercised by the starter table.
  auto table = policy::ParsePolicyTable(StarterPolicyTests(), "policy-tests.yaml", "/data");
  ASSERT_TRUE(table.has_value()) << table.error()[0].ToString();
  EXPECT_EQ(table->policy_path, "/data/policy.yaml");
  EXPECT_GE(table->cases.size(), 12u);
  const auto report = policy::RunPolicyTable(*policy, *table);
  for (const auto& o : report.outcomes) {
    EXPECT_TRUE(o.passed) << policy::FormatOutcome(o);
  }
  for (const auto& s : policy->statements) {
    bool decided = false;
    for (const auto& o : report.outcomes) {
      decided = decided || o.got.statement == s.id;
    }
    EXPECT_TRUE(decided) << "no starter case is decided by statement " << s.id;
  }
}

TEST_F(InitTest, StarterFilesOnDiskWorkTogether) {
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->config->policy.file, (dir_ / "policy.yaml").string());
  auto policy = policy::LoadPolicyFile(loaded->config->policy.file);
  ASSERT_TRUE(policy.has_value()) << policy.error()[0].ToString();
  auto table = policy::LoadPolicyTable((dir_ / "policy-tests.yaml").string());
  ASSERT_TRUE(table.has_value()) << table.error()[0].ToString();
  EXPECT_EQ(table->policy_path, loaded->config->policy.file);
  EXPECT_EQ(policy::RunPolicyTable(*policy, *table).failed, 0u);
}

TEST_F(InitTest, StarterIntentsAreTheDefaultCatalogue) {
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->config->intents.file, (dir_ / "intents.yaml").string());
  auto catalogue = intents::LoadCatalogueFile(loaded->config->intents.file);
  ASSERT_TRUE(catalogue.has_value()) << catalogue.error()[0].ToString();
  EXPECT_EQ(intents::CatalogueDifference(*catalogue, intents::DefaultCatalogue()), "");
}

// Sets or unsets the Slack variables for one test, restoring them afterwards.
class SlackEnv {
 public:
  explicit SlackEnv(bool set) {
    for (const char* name : kNames) {
      if (const char* v = std::getenv(name)) {
        saved_.emplace_back(name, v);
      }
      if (set) {
        ::setenv(name, std::string(name) == "OPSGATE_SLACK_TEAM_IDS" ? "T1, T2" : "x", 1);
      } else {
        ::unsetenv(name);
      }
    }
    if (set) {
      ::setenv("OPSGATE_SLACK_API_URL", "https://127.0.0.1:9/api/", 1);
    }
  }
  ~SlackEnv() {
    for (const char* name : kNames) {
      ::unsetenv(name);
    }
    for (const auto& [name, value] : saved_) {
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }

 private:
  static constexpr const char* kNames[] = {"OPSGATE_SLACK_SIGNING_SECRET",
                                           "OPSGATE_SLACK_BOT_TOKEN", "OPSGATE_SLACK_API_URL",
                                           "OPSGATE_SLACK_TEAM_IDS"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

// Without the Slack variables the starter still loads (the quick start needs none of
// them); the only warnings are about the Slack connector, which stays off.
TEST_F(InitTest, StarterConfigLoadsWithoutErrorsAndOnlySlackWarnings) {
  SlackEnv env(/*set=*/false);
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  for (const auto& w : loaded->warnings) {
    EXPECT_EQ(w.key_path.rfind("connectors.slack.", 0), 0u) << w.ToString();
  }
  ASSERT_TRUE(loaded->config->connectors.slack.has_value());
  EXPECT_EQ(loaded->config->connectors.slack->api_url, "https://slack.com/api");
  EXPECT_TRUE(loaded->config->connectors.slack->team_ids.empty());
}

TEST_F(InitTest, StarterConfigTakesSlackSettingsFromTheEnvironment) {
  SlackEnv env(/*set=*/true);
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_TRUE(loaded->warnings.empty()) << loaded->warnings.front().ToString();
  const auto& slack = *loaded->config->connectors.slack;
  EXPECT_EQ(slack.enabled, config::ConnectorSwitch::kAuto);
  EXPECT_EQ(slack.api_url, "https://127.0.0.1:9/api");
  EXPECT_EQ(slack.team_ids, (std::vector<std::string>{"T1", "T2"}));
  EXPECT_EQ(slack.command, "/ops");
  ASSERT_TRUE(slack.signing_secret.has_value());
  EXPECT_EQ(slack.signing_secret->Describe(), "env:OPSGATE_SLACK_SIGNING_SECRET");
}

TEST_F(InitTest, StarterConfigLoadsWithoutErrors) {
  SlackEnv env(/*set=*/true);
  ASSERT_TRUE(InitDataDir({dir_.string(), {}, 90}, clock_).has_value());
  auto loaded = config::LoadConfigFile((dir_ / "opsgate.yaml").string());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
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
