#include "opsgate/aws/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::aws {
namespace {

using http::testing::FakeHttpClient;
using std::chrono::seconds;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "SESSIONTOKENxyzSESSIONTOKEN";
constexpr std::string_view kWebToken = "eyJhbGciOiJSUzI1NiJ9.WEBIDENTITY.sig";
constexpr std::string_view kAuthToken = "CONTAINERAUTHTOKEN123";
constexpr std::string_view kImdsToken = "IMDSTOKEN==";

class FakeEnv {
 public:
  void Set(std::string k, std::string v) { vars_[std::move(k)] = std::move(v); }
  EnvLookup Lookup() const {
    return [this](std::string_view k) -> std::optional<std::string> {
      auto it = vars_.find(std::string(k));
      if (it == vars_.end()) {
        return std::nullopt;
      }
      return it->second;
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

class FakeSts final : public StsClient {
 public:
  core::Result<Credentials> AssumeRole(const AssumeRoleRequest& request,
                                       const Credentials& caller) override {
    assume_role.push_back(request);
    callers.push_back(caller.access_key_id);
    if (fail) {
      return core::Fail(*fail);
    }
    return Issued("ASIA" + std::to_string(assume_role.size()));
  }
  core::Result<Credentials> AssumeRoleWithWebIdentity(
      const AssumeRoleWithWebIdentityRequest& request) override {
    web.push_back({request.role_arn, request.role_session_name,
                   std::string(request.web_identity_token.Reveal())});
    if (fail) {
      return core::Fail(*fail);
    }
    return Issued("ASIAWEB");
  }
  Credentials Issued(std::string id) const {
    return Credentials{std::move(id), core::Secret(std::string(kSecret)),
                       core::Secret(std::string(kToken)), clock->Now() + seconds(3600)};
  }

  struct Web {
    std::string role_arn, session_name, token;
  };
  const core::Clock* clock = nullptr;
  std::vector<AssumeRoleRequest> assume_role;
  std::vector<std::string> callers;
  std::vector<Web> web;
  std::optional<core::Error> fail;
};

std::string CredsJson(std::string_view id, std::string_view expiration) {
  return R"({"Code":"Success","LastUpdated":"2023-11-14T22:00:00Z","Type":"AWS-HMAC",)"
         R"("AccessKeyId":")" +
         std::string(id) + R"(","SecretAccessKey":")" + std::string(kSecret) + R"(","Token":")" +
         std::string(kToken) + R"(","Expiration":")" + std::string(expiration) + R"("})";
}

// FakeClock starts at 1'700'000'000 = 2023-11-14T22:13:20Z.
constexpr std::string_view kInAnHour = "2023-11-14T23:13:20Z";

void ExpectNoSecrets(const core::Error& e) {
  for (std::string_view s : {kSecret, kToken, kWebToken, kAuthToken, kImdsToken}) {
    EXPECT_EQ(e.message.find(s), std::string::npos) << e.message;
  }
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("opsgate_credentials_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    sts_.clock = &clock_;
    // Never read the developer's ~/.aws.
    env_.Set("AWS_SHARED_CREDENTIALS_FILE", (dir_ / "credentials").string());
    env_.Set("AWS_CONFIG_FILE", (dir_ / "config").string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  CredentialsDeps Deps() { return CredentialsDeps{env_.Lookup(), &http_, &sts_, &clock_}; }

  std::filesystem::path dir_;
  FakeEnv env_;
  FakeHttpClient http_;
  FakeSts sts_;
  testing::FakeClock clock_;
};

// ---- Environment ----

TEST_F(CredentialsTest, EnvironmentKeys) {
  EnvironmentCredentialsProvider p(env_.Lookup());
  auto r = p.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");
  r = p.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);

  env_.Set("AWS_SECRET_ACCESS_KEY", std::string(kSecret));
  env_.Set("AWS_SESSION_TOKEN", std::string(kToken));
  r = p.Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "AKIDENV");
  EXPECT_EQ(r->secret_access_key.Reveal(), kSecret);
  ASSERT_TRUE(r->session_token);
  EXPECT_EQ(r->session_token->Reveal(), kToken);
  EXPECT_FALSE(r->expires_at);
}

TEST_F(CredentialsTest, EnvironmentSecretWithoutIdDoesNotLeak) {
  env_.Set("AWS_SECRET_ACCESS_KEY", std::string(kSecret));
  auto r = EnvironmentCredentialsProvider(env_.Lookup()).Get();
  ASSERT_FALSE(r);
  ExpectNoSecrets(r.error());
}

// ---- Profile ----

TEST_F(CredentialsTest, ProfileStaticKeysFromSelectedProfile) {
  Write("credentials", "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " +
                           std::string(kSecret) +
                           "\n[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = x\n"
                           "aws_session_token = " +
                           std::string(kToken) + "\n");
  ProfileCredentialsProvider p(Deps());
  auto r = p.Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "AKIDDEFAULT");
  EXPECT_FALSE(r->session_token);

  env_.Set("AWS_PROFILE", "ci");
  r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "AKIDCI");
  ASSERT_TRUE(r->session_token);
  EXPECT_EQ(r->session_token->Reveal(), kToken);
}

TEST_F(CredentialsTest, ProfileMissingDefaultIsNotFoundButNamedIsAnError) {
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  env_.Set("AWS_PROFILE", "nope");
  r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("'nope' not found"), std::string::npos) << r.error().message;
}

TEST_F(CredentialsTest, ProfileHalfAKeyPairIsAnErrorWithoutTheSecret) {
  Write("credentials", "[default]\naws_secret_access_key = " + std::string(kSecret) + "\n");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  ExpectNoSecrets(r.error());
}

TEST_F(CredentialsTest, ProfileRoleWithSourceProfileAssumesRole) {
  Write("credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
  Write("config",
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n"
        "role_session_name = alice\nduration_seconds = 1800\nexternal_id = ext-1\n");
  env_.Set("AWS_PROFILE", "ops");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIA1");
  ASSERT_EQ(sts_.assume_role.size(), 1u);
  EXPECT_EQ(sts_.assume_role[0].role_arn, "arn:aws:iam::123456789012:role/ops");
  EXPECT_EQ(sts_.assume_role[0].role_session_name, "alice");
  EXPECT_EQ(sts_.assume_role[0].duration, seconds(1800));
  EXPECT_EQ(sts_.assume_role[0].external_id, "ext-1");
  EXPECT_EQ(sts_.callers[0], "AKIDBASE");
}

TEST_F(CredentialsTest, ProfileRoleChainsAndDefaultsSessionName) {
  Write("config",
        "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n"
        "[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n"
        "[profile top]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = mid\n");
  env_.Set("AWS_PROFILE", "top");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(sts_.assume_role.size(), 2u);
  EXPECT_EQ(sts_.assume_role[0].role_arn, "arn:aws:iam::1:role/mid");
  EXPECT_EQ(sts_.callers[0], "AKIDBASE");
  EXPECT_EQ(sts_.assume_role[1].role_arn, "arn:aws:iam::1:role/top");
  EXPECT_EQ(sts_.callers[1], "ASIA1");
  EXPECT_EQ(sts_.assume_role[1].role_session_name, "opsgate-1700000000");
  EXPECT_FALSE(sts_.assume_role[1].duration);
}

TEST_F(CredentialsTest, ProfileSelfReferenceUsesOwnKeysAndCyclesAreRefused) {
  Write("config",
        "[profile self]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = self\n"
        "aws_access_key_id = AKIDSELF\naws_secret_access_key = s\n"
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
  env_.Set("AWS_PROFILE", "self");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(sts_.callers.at(0), "AKIDSELF");

  env_.Set("AWS_PROFILE", "a");
  r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("cycle: a -> b -> a"), std::string::npos) << r.error().message;
}

TEST_F(CredentialsTest, ProfileCredentialSourceEnvironmentAndBadValues) {
  Write("config",
        "[profile env]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
        "[profile bad]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Somewhere\n"
        "[profile both]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
        "source_profile = env\n"
        "[profile dur]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
        "duration_seconds = 60\n");
  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", std::string(kSecret));
  env_.Set("AWS_PROFILE", "env");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(sts_.callers.at(0), "AKIDENV");

  for (const char* name : {"bad", "both", "dur"}) {
    env_.Set("AWS_PROFILE", name);
    r = ProfileCredentialsProvider(Deps()).Get();
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << name;
  }
}

TEST_F(CredentialsTest, ProfileCredentialSourceImdsUsesTheMetadataService) {
  Write("config",
        "[default]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Ec2InstanceMetadata\n");
  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "instance-role\n");
  http_.PushResponse(200, CredsJson("ASIAIMDS", kInAnHour));
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(sts_.callers.at(0), "ASIAIMDS");
}

TEST_F(CredentialsTest, ProfileWebIdentityTokenFile) {
  const auto token = Write("token", "  " + std::string(kWebToken) + "\n");
  Write("config", "[default]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = " +
                      token + "\nrole_session_name = pod\n");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAWEB");
  ASSERT_EQ(sts_.web.size(), 1u);
  EXPECT_EQ(sts_.web[0].token, kWebToken);
  EXPECT_EQ(sts_.web[0].session_name, "pod");
}

TEST_F(CredentialsTest, ProfileRoleWithoutStsClientIsAPreconditionError) {
  Write("config", "[default]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n");
  CredentialsDeps deps = Deps();
  deps.sts = nullptr;
  auto r = ProfileCredentialsProvider(deps).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(CredentialsTest, StsErrorIsPrefixedAndKeepsItsCode) {
  Write("credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " +
                           std::string(kSecret) + "\n");
  Write("config", "[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n");
  sts_.fail = core::PermissionDenied("AccessDenied: not allowed");
  auto r = ProfileCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().message,
            "profile 'default': AssumeRole arn:aws:iam::1:role/x: AccessDenied: not allowed");
  ExpectNoSecrets(r.error());
}

// ---- Web identity from the environment ----

TEST_F(CredentialsTest, WebIdentityFromEnvironment) {
  WebIdentityCredentialsProvider p(Deps());
  auto r = p.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  env_.Set("AWS_ROLE_ARN", "arn:aws:iam::1:role/eks");
  r = p.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);

  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "missing").string());
  r = WebIdentityCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kFailedPrecondition);

  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", Write("token", std::string(kWebToken)));
  env_.Set("AWS_ROLE_SESSION_NAME", "my-pod");
  r = WebIdentityCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(sts_.web.size(), 1u);
  EXPECT_EQ(sts_.web[0].role_arn, "arn:aws:iam::1:role/eks");
  EXPECT_EQ(sts_.web[0].session_name, "my-pod");
  EXPECT_EQ(sts_.web[0].token, kWebToken);

  sts_.fail = core::Unauthenticated("InvalidIdentityToken");
  r = WebIdentityCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnauthenticated);
  ExpectNoSecrets(r.error());
}

TEST_F(CredentialsTest, WebIdentityTokenFileIsBounded) {
  env_.Set("AWS_ROLE_ARN", "arn:aws:iam::1:role/eks");
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", Write("big", std::string(kMaxTokenFileBytes + 1, 'a')));
  auto r = WebIdentityCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kResourceExhausted);

  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", Write("empty", " \n"));
  r = WebIdentityCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

// ---- Container ----

TEST_F(CredentialsTest, ContainerRelativeUri) {
  ContainerCredentialsProvider p(Deps());
  auto r = p.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
  http_.PushResponse(200, CredsJson("ASIAECS", kInAnHour));
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAECS");
  EXPECT_EQ(r->secret_access_key.Reveal(), kSecret);
  EXPECT_EQ(r->session_token->Reveal(), kToken);
  EXPECT_EQ(r->expires_at, clock_.Now() + seconds(3600));
  const auto req = http_.Requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, "http://169.254.170.2/v2/credentials/abc");
  EXPECT_TRUE(req.headers.empty());
}

TEST_F(CredentialsTest, ContainerFullUriWithAuthorizationToken) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8080/creds");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", std::string(kAuthToken));
  http_.PushResponse(200, CredsJson("ASIAFULL", kInAnHour));
  auto r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  const auto req = http_.Requests().at(0);
  EXPECT_EQ(req.url, "http://127.0.0.1:8080/creds");
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "Authorization");
  EXPECT_EQ(req.headers[0].second, kAuthToken);
  EXPECT_FALSE(req.bearer_token);

  // The token file wins over the variable (as in the SDKs).
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Write("auth", "FROMFILE\n"));
  http_.PushResponse(200, CredsJson("ASIAFULL", kInAnHour));
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(http_.Requests().at(1).headers.at(0).second, "FROMFILE");
}

TEST_F(CredentialsTest, ContainerFullUriMustBeHttpsOrLoopback) {
  for (const char* ok : {"https://creds.example.com/x", "http://localhost/x", "http://[::1]:9/x",
                         "http://169.254.170.23/v1/credentials", "http://127.1.2.3/x"}) {
    env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok);
    http_.PushResponse(200, CredsJson("ASIA", kInAnHour));
    EXPECT_TRUE(ContainerCredentialsProvider(Deps()).Get()) << ok;
  }
  for (const char* bad : {"http://example.com/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x",
                          "http://127.0.0.1.evil.com/x", "http://user@127.0.0.1/x", "nonsense"}) {
    env_.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad);
    auto r = ContainerCredentialsProvider(Deps()).Get();
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(CredentialsTest, ContainerErrorsCarryNoSecrets) {
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/SECRETPATH");
  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", std::string(kAuthToken));
  http_.PushResponse(403, "denied " + std::string(kAuthToken));
  auto r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().message.find("SECRETPATH"), std::string::npos);
  ExpectNoSecrets(r.error());

  http_.PushResponse(200, R"({"AccessKeyId":"A","SecretAccessKey":")" + std::string(kSecret) +
                              R"(","Expiration":"tomorrow"})");
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  ExpectNoSecrets(r.error());

  http_.PushResponse(200, std::string(kSecret));  // not JSON
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  ExpectNoSecrets(r.error());

  http_.PushError(core::Unavailable("connect failed: 169.254.170.2"));
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);

  env_.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "bad\r\nInjected: 1");
  r = ContainerCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message.find("Injected"), std::string::npos);
}

// ---- IMDS ----

TEST_F(CredentialsTest, ImdsV2Flow) {
  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "my-role");
  http_.PushResponse(200, CredsJson("ASIAIMDS", kInAnHour));
  auto r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAIMDS");
  EXPECT_EQ(r->expires_at, clock_.Now() + seconds(3600));
  const auto reqs = http_.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].url, "http://169.254.169.254/latest/api/token");
  ASSERT_EQ(reqs[0].headers.size(), 1u);
  EXPECT_EQ(reqs[0].headers[0].first, "X-aws-ec2-metadata-token-ttl-seconds");
  EXPECT_EQ(reqs[0].headers[0].second, "21600");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
  EXPECT_EQ(reqs[1].headers.at(0).first, "X-aws-ec2-metadata-token");
  EXPECT_EQ(reqs[1].headers.at(0).second, kImdsToken);
  EXPECT_EQ(reqs[2].url,
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/my-role");
  EXPECT_EQ(reqs[2].headers.at(0).second, kImdsToken);
}

TEST_F(CredentialsTest, ImdsEndpointOverrideAndDisable) {
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/");
  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "r");
  http_.PushResponse(200, CredsJson("ASIA", kInAnHour));
  ASSERT_TRUE(ImdsCredentialsProvider(Deps()).Get());
  EXPECT_EQ(http_.Requests().at(0).url, "http://127.0.0.1:1338/latest/api/token");

  env_.Set("AWS_EC2_METADATA_DISABLED", "TRUE");
  auto r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(http_.RequestCount(), 3u);  // nothing sent

  env_.Set("AWS_EC2_METADATA_DISABLED", "false");
  env_.Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254");
  r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(CredentialsTest, ImdsAbsentOrRoleless) {
  http_.PushError(core::Unavailable("connect timed out: 169.254.169.254"));
  auto r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(404, "");
  r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);

  http_.PushResponse(403, "");  // IMDSv2 token refused (hop limit): no v1 fallback
  r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kPermissionDenied);

  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "../../evil");
  r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  ExpectNoSecrets(r.error());

  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "role");
  http_.PushResponse(200, R"({"Code":"Failure","Message":"x"})");
  r = ImdsCredentialsProvider(Deps()).Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  ExpectNoSecrets(r.error());
}

// ---- Chain ----

TEST_F(CredentialsTest, DefaultChainOrder) {
  // Everything configured: the environment wins.
  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");
  env_.Set("AWS_SECRET_ACCESS_KEY", "s");
  Write("credentials", "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
  env_.Set("AWS_ROLE_ARN", "arn:aws:iam::1:role/eks");
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", Write("token", "t"));
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  http_.SetDefault(FakeHttpClient::Response(200, CredsJson("ASIAHTTP", kInAnHour)));
  auto chain = MakeDefaultCredentialsChain(Deps());
  auto r = chain->Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "AKIDENV");

  // Then the profile.
  FakeEnv env2 = env_;
  env_ = FakeEnv();
  env_.Set("AWS_SHARED_CREDENTIALS_FILE", (dir_ / "credentials").string());
  env_.Set("AWS_CONFIG_FILE", (dir_ / "config").string());
  env_.Set("AWS_ROLE_ARN", "arn:aws:iam::1:role/eks");
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", (dir_ / "token").string());
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds");
  r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "AKIDFILE");

  // Then web identity.
  std::filesystem::remove(dir_ / "credentials");
  r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAWEB");

  // Then the container.
  env_.Set("AWS_ROLE_ARN", "");
  env_.Set("AWS_WEB_IDENTITY_TOKEN_FILE", "");
  r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAHTTP");
  EXPECT_EQ(http_.Requests().back().url, "http://169.254.170.2/creds");

  // Then IMDS.
  env_.Set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
  http_.PushResponse(200, std::string(kImdsToken));
  http_.PushResponse(200, "role");
  http_.PushResponse(200, CredsJson("ASIAIMDS", kInAnHour));
  r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->access_key_id, "ASIAIMDS");

  // Nothing at all.
  env_.Set("AWS_EC2_METADATA_DISABLED", "true");
  r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message.rfind("no AWS credentials found (environment: ", 0), 0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("imds: instance metadata disabled"), std::string::npos);
}

TEST_F(CredentialsTest, ChainStopsAtAConfiguredButBrokenSource) {
  env_.Set("AWS_ACCESS_KEY_ID", "AKIDENV");  // no secret
  http_.SetDefault(FakeHttpClient::Response(200, CredsJson("ASIAHTTP", kInAnHour)));
  auto r = MakeDefaultCredentialsChain(Deps())->Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message.rfind("environment: ", 0), 0u);
  EXPECT_EQ(http_.RequestCount(), 0u);
}

// ---- Cache ----

class CountingProvider final : public CredentialsProvider {
 public:
  explicit CountingProvider(const core::Clock& clock) : clock_(clock) {}
  core::Result<Credentials> Get() override {
    ++calls;
    if (fail) {
      return core::Fail(core::Unavailable("down"));
    }
    return Credentials{"ASIA" + std::to_string(calls.load()), core::Secret("s"), std::nullopt,
                       lifetime ? std::optional(clock_.Now() + *lifetime) : std::nullopt};
  }
  std::string_view Name() const override { return "counting"; }

  std::atomic<int> calls{0};
  bool fail = false;
  std::optional<seconds> lifetime = seconds(3600);

 private:
  const core::Clock& clock_;
};

TEST_F(CredentialsTest, CacheRefreshesFiveMinutesBeforeExpiry) {
  auto inner = std::make_unique<CountingProvider>(clock_);
  CountingProvider* counting = inner.get();
  CachingCredentialsProvider cache(std::move(inner), clock_);
  EXPECT_EQ(cache.Get()->access_key_id, "ASIA1");
  clock_.Advance(seconds(3600 - 301));
  EXPECT_EQ(cache.Get()->access_key_id, "ASIA1");
  EXPECT_EQ(counting->calls, 1);
  clock_.Advance(seconds(1));  // exactly 5 minutes left
  EXPECT_EQ(cache.Get()->access_key_id, "ASIA2");
  EXPECT_EQ(counting->calls, 2);
  EXPECT_EQ(cache.Get()->access_key_id, "ASIA2");
  EXPECT_EQ(counting->calls, 2);
}

TEST_F(CredentialsTest, CacheServesValidCredentialsWhileRefreshFailsButNeverExpiredOnes) {
  auto inner = std::make_unique<CountingProvider>(clock_);
  CountingProvider* counting = inner.get();
  CachingCredentialsProvider cache(std::move(inner), clock_);
  ASSERT_TRUE(cache.Get());
  counting->fail = true;
  clock_.Advance(seconds(3600 - 200));
  auto r = cache.Get();  // refresh fails, old ones still valid for 200 s
  ASSERT_TRUE(r);
  EXPECT_EQ(r->access_key_id, "ASIA1");
  EXPECT_EQ(counting->calls, 2);
  clock_.Advance(seconds(5));
  ASSERT_TRUE(cache.Get());  // within the retry interval: no new attempt
  EXPECT_EQ(counting->calls, 2);
  clock_.Advance(seconds(5));
  ASSERT_TRUE(cache.Get());
  EXPECT_EQ(counting->calls, 3);
  clock_.Advance(seconds(190));  // expired now
  r = cache.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  counting->fail = false;
  r = cache.Get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->access_key_id, "ASIA5");
}

TEST_F(CredentialsTest, CacheRefusesAlreadyExpiredCredentialsAndKeepsStaticOnes) {
  auto inner = std::make_unique<CountingProvider>(clock_);
  CountingProvider* counting = inner.get();
  counting->lifetime = seconds(0);
  CachingCredentialsProvider cache(std::move(inner), clock_);
  auto r = cache.Get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);

  counting->lifetime = std::nullopt;  // static keys: fetched once
  ASSERT_TRUE(cache.Get());
  clock_.Advance(seconds(86400 * 365));
  ASSERT_TRUE(cache.Get());
  EXPECT_EQ(counting->calls, 2);
}

TEST_F(CredentialsTest, CacheShortLivedCredentialsAreNotRefetchedOnEveryCall) {
  auto inner = std::make_unique<CountingProvider>(clock_);
  CountingProvider* counting = inner.get();
  counting->lifetime = seconds(120);  // less than the refresh window
  CachingCredentialsProvider cache(std::move(inner), clock_);
  ASSERT_TRUE(cache.Get());
  ASSERT_TRUE(cache.Get());
  EXPECT_EQ(counting->calls, 1);
  clock_.Advance(seconds(10));
  ASSERT_TRUE(cache.Get());
  EXPECT_EQ(counting->calls, 2);
}

TEST_F(CredentialsTest, CacheIsThreadSafe) {
  auto inner = std::make_unique<CountingProvider>(clock_);
  CountingProvider* counting = inner.get();
  CachingCredentialsProvider cache(std::move(inner), clock_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (cache.Get()) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, 1600);
  EXPECT_EQ(counting->calls, 1);
}

// ---- Pieces ----

TEST(CredentialsPiecesTest, ParseIso8601Utc) {
  using core::Clock;
  EXPECT_EQ(ParseIso8601Utc("1970-01-01T00:00:00Z"), Clock::WallTime(seconds(0)));
  EXPECT_EQ(ParseIso8601Utc("2023-11-14T22:13:20Z"), Clock::WallTime(seconds(1700000000)));
  EXPECT_EQ(ParseIso8601Utc("2024-02-29T12:00:00.123Z"), Clock::WallTime(seconds(1709208000)));
  EXPECT_EQ(ParseIso8601Utc("2023-11-14T22:13:20+00:00"), Clock::WallTime(seconds(1700000000)));
  for (const char* bad :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z",
        "2023-11-14T22:13:20+01:00", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20.Z"}) {
    EXPECT_FALSE(ParseIso8601Utc(bad)) << bad;
  }
}

TEST(CredentialsPiecesTest, ParseCredentialsJsonWithoutTokenOrExpiry) {
  auto r = ParseCredentialsJson(R"({"AccessKeyId":"AKID","SecretAccessKey":"s"})", "test");
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(r->session_token);
  EXPECT_FALSE(r->expires_at);
  auto bad = ParseCredentialsJson(R"({"AccessKeyId":"AKID"})", "test");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "test: credentials response lacks AccessKeyId or SecretAccessKey");
}

}  // namespace
}  // namespace opsgate::aws
