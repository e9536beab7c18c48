// File: test/integration/oidc_test.cc
//
// The OpenID Connect relying party (identity/oidc) end to end against a REAL OpenID
// Provider: the npm package oidc-provider, started on 127.0.0.1 (plain HTTP, ephemeral
// port, PKCE required) by test/tools/oidc/provider.mjs. The test plays the browser with
// a cookie-keeping libcurl handle through the provider's login and consent forms up to
// the redirect to our redirect_uri, then finishes the login through RelyingParty with
// the real token endpoint and JWKS, and links an account in the SQLite identity store.
//
// Needs node (PATH) and test/tools/oidc/node_modules (`npm ci --prefix test/tools/oidc`).
// Without them the tests are skipped, unless CI=true, where they fail.
#include <curl/curl.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test/fakes/ci.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/strings.h"
#include "opsgate/http/client/curl_http_client.h"
#include "opsgate/identity/oidc/discovery.h"
#include "opsgate/identity/oidc/pending_login.h"
#include "opsgate/identity/oidc/relying_party.h"
#include "opsgate/connectors/slack/verifier.h"
#include "opsgate/http/testing/websocket_test_client.h"
#include "opsgate/identity/totp.h"
#include "opsgate/store/sqlite/sqlite_identity_store.h"
#include "test/integration/https_client.h"
#include "test/integration/opsgate_process.h"
#include "test/integration/slack_standin.h"

namespace opsgate::identity::oidc {
namespace {

namespace fs = std::filesystem;

constexpr const char* kClientId = "opsgate-it";
constexpr const char* kClientSecret = "it-secret-0123456789";
constexpr const char* kRedirectUri = "http://127.0.0.1:9/auth/callback";
constexpr const char* kUser = "alice";
constexpr const char* kPassword = "correct horse";

fs::path ToolsDir() {
  if (const char* src = std::getenv("OPSGATE_SOURCE_DIR"); src != nullptr && *src != '\0') {
    return fs::path(src) / "test" / "tools" / "oidc";
  }
  return fs::path(OPSGATE_OIDC_TOOLS_DIR);
}

using opsgate::testing::InCi;

// Why the provider cannot run here, or "" when it can.
std::string MissingTooling() {
  if (!fs::exists(ToolsDir() / "node_modules" / "oidc-provider" / "package.json")) {
    return (ToolsDir() / "node_modules").string() +
           " is missing; run: npm ci --prefix test/tools/oidc";
  }
  if (std::system("node --version > /dev/null 2>&1") != 0) {
    return "node is not on PATH";
  }
  return "";
}

// provider.mjs as a child process: stdin held open (EOF makes it exit), the first
// stdout line read for the issuer, stderr into a file shown on failure.
class ProviderProcess {
 public:
  explicit ProviderProcess(const std::string& auth_method = "client_secret_basic",
                           const std::string& redirect_uri = kRedirectUri) {
    char err_template[] = "/tmp/oidc-provider-stderr-XXXXXX";
    const int err_fd = ::mkostemp(err_template, O_CLOEXEC);
    err_path_ = err_template;
    // Close-on-exec everywhere: dup2 onto 0/1/2 clears it for the child's own ends, and
    // no other child (e.g. a second provider) inherits this one's pipes.
    int in_pipe[2];
    int out_pipe[2];
    if (err_fd < 0 || ::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
      return;
    }
    const std::string script = (ToolsDir() / "provider.mjs").string();
    std::vector<std::string> args = {"node",          script,
                                     "--client-id",   kClientId,
                                     "--client-secret", kClientSecret,
                                     "--redirect-uri", redirect_uri,
                                     "--auth-method", auth_method,
                                     "--user",        kUser,
                                     "--password",    kPassword};
    // Everything the child needs is prepared before fork: it only calls
    // async-signal-safe functions.
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string dir = ToolsDir().string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Ignored signals survive exec (the test process ignores SIGPIPE); give node the
      // defaults it expects.
      ::signal(SIGPIPE, SIG_DFL);
      ::signal(SIGXFSZ, SIG_DFL);
      // If the test dies (ctest timeout, SIGKILL), the provider dies too, even if its
      // event loop is stuck and would never see stdin close.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(125);
      }
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
      ::dup2(err_fd, 2);
      if (::chdir(dir.c_str()) != 0) {
        ::_exit(126);
      }
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    ::close(err_fd);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    stdin_fd_ = in_pipe[1];
    stdout_fd_ = out_pipe[0];

    // The first stdout line: {"issuer":"http://127.0.0.1:PORT","port":PORT}
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) {
        continue;
      }
      char buf[512];
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      line.append(buf, static_cast<size_t>(n));
    }
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"re("issuer":"([^"]+)")re"))) {
      issuer_ = m[1];
    }
  }

  ~ProviderProcess() {
    if (stdin_fd_ >= 0) {
      ::close(stdin_fd_);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    if (stdout_fd_ >= 0) {
      ::close(stdout_fd_);
    }
    std::error_code ec;
    fs::remove(err_path_, ec);
  }

  const std::string& issuer() const { return issuer_; }
  std::string Stderr() const {
    std::ifstream in(err_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string err_path_;
  std::string issuer_;
};

size_t Append(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

// A minimal browser: one libcurl handle with the cookie engine on, redirects followed
// by hand so the redirect to our redirect_uri can be intercepted.
class Browser {
 public:
  struct Page {
    long status = 0;
    std::string location;  // absolute, for 3xx
    std::string body;
    std::string error;
  };

  // `ca_file`: trust anchors for https:// pages (opsgate's development certificate).
  explicit Browser(const std::string& ca_file = "") : curl_(curl_easy_init()) {
    if (!ca_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file.c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // in-memory cookie jar
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Append);
  }
  ~Browser() { curl_easy_cleanup(curl_); }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  Page Request(const std::string& url, const std::optional<std::string>& form = std::nullopt) {
    Page page;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &page.body);
    if (form) {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
      curl_easy_setopt(curl_, CURLOPT_COPYPOSTFIELDS, form->c_str());
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    }
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      page.error = curl_easy_strerror(rc);
      return page;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &page.status);
    char* location = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_REDIRECT_URL, &location);
    if (location != nullptr) {
      page.location = location;
    }
    return page;
  }

 private:
  CURL* curl_;
};


struct BrowseOptions {
  std::string stop_at = kRedirectUri;  // the relying party's redirect_uri
  std::string password = kPassword;
  bool otp = false;
  bool abort_on_login_failure = true;
};

// Follows `url` through login and consent until the provider redirects to
// kRedirectUri; returns that callback URL, or "ERROR: ..." describing where it stuck.
std::string Browse(Browser& browser, const std::string& issuer, std::string url,
                   const BrowseOptions& opts = {}) {
  static const std::regex kForm(R"re(<form method="post" data-prompt="(\w+)" action="([^"]+)")re");
  static const std::regex kAbort(R"re(action="([^"]+/abort)")re");
  std::optional<std::string> form;
  for (int step = 0; step < 20; ++step) {
    if (url.rfind(opts.stop_at, 0) == 0) {
      return url;
    }
    Browser::Page page = browser.Request(url, form);
    form.reset();
    if (!page.error.empty()) {
      return "ERROR: " + url + ": " + page.error;
    }
    if (page.status >= 300 && page.status < 400 && !page.location.empty()) {
      url = page.location;
      continue;
    }
    std::smatch m;
    if (page.status == 401 && opts.abort_on_login_failure &&
        std::regex_search(page.body, m, kAbort)) {
      url = issuer + m[1].str();  // the user gives up: error=access_denied
      form = "";
      continue;
    }
    if (page.status != 200 || !std::regex_search(page.body, m, kForm)) {
      return "ERROR: HTTP " + std::to_string(page.status) + " at " + url + ": " +
             page.body.substr(0, 500);
    }
    url = issuer + m[2].str();
    if (m[1] == "login") {
      form = "login=" + core::PercentEncode(kUser) + "&password=" + core::PercentEncode(opts.password) +
             (opts.otp ? "&otp=123456" : "");
    } else {
      form = "";
    }
  }
  return "ERROR: too many steps";
}

std::string QueryOf(const std::string& url) {
  const size_t q = url.find('?');
  return q == std::string::npos ? "" : url.substr(q + 1);
}

class OidcIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start("client_secret_basic", ClientAuthMethod::kClientSecretBasic); }

  void Start(const std::string& method, ClientAuthMethod auth,
             const std::string& secret = kClientSecret) {
    const std::string missing = MissingTooling();
    if (!missing.empty()) {
      if (InCi()) {
        FAIL() << "CI=true but the OIDC test provider cannot run: " << missing;
      }
      GTEST_SKIP() << "OIDC test provider unavailable (" << missing << ")";
    }
    rp_.reset();
    discovery_.reset();
    // One retry: node has been seen to deadlock at startup in RSA key generation (the
    // provider now uses P-256, which has not), and that is not what this test is about.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt > 0) {
        std::cerr << "provider.mjs did not report its issuer; retrying once. stderr:\n"
                  << provider_->Stderr() << "\n";
      }
      provider_.reset();  // stop the previous provider first
      provider_ = std::make_unique<ProviderProcess>(method);
      if (!provider_->issuer().empty()) {
        break;
      }
    }
    ASSERT_FALSE(provider_->issuer().empty())
        << "provider.mjs did not report its issuer; stderr:\n" << provider_->Stderr();

    http::CurlHttpClientOptions ho;
    ho.allow_http = true;
    auto client = http::CurlHttpClient::Create(ho);
    ASSERT_TRUE(client.has_value()) << client.error();
    http_ = std::move(*client);

    DiscoveryOptions d;
    d.issuer = provider_->issuer();
    d.allow_http = true;
    discovery_ = std::make_unique<Discovery>(d, *http_, clock_);
    RelyingPartyOptions o;
    o.client_id = kClientId;
    o.client_secret = core::Secret(secret);
    o.client_auth = auth;
    o.redirect_uri = kRedirectUri;
    o.extra_scopes = {"groups"};
    rp_ = std::make_unique<RelyingParty>(std::move(o), *discovery_, *http_, clock_);

    auto db = store::SqliteStore::Open(":memory:");
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
    ids_ = std::make_unique<store::SqliteIdentityStore>(*db_);
  }

  void TearDown() override {
    if (HasFailure() && provider_) {
      std::cerr << "provider stderr:\n" << provider_->Stderr() << "\n";
    }
  }

  // BeginLogin + store + browse; returns the start and the parsed callback.
  std::pair<LoginStart, CallbackParams> LoginThroughBrowser(LoginParams params = {},
                                                            BrowseOptions browse = {}) {
    auto start = rp_->BeginLogin(params);
    EXPECT_TRUE(start.has_value()) << start.error();
    if (!start) {
      return {};
    }
    EXPECT_TRUE(ids_->PutLoginState(ToPendingLogin(start->state)).has_value());
    Browser browser;
    const std::string callback =
        Browse(browser, provider_->issuer(), start->authorization_url, browse);
    EXPECT_EQ(callback.rfind(kRedirectUri, 0), 0u) << callback;
    auto cb = ParseCallbackQuery(QueryOf(callback));
    EXPECT_TRUE(cb.has_value()) << cb.error();
    return {std::move(*start), cb.value_or(CallbackParams{})};
  }

  core::SystemClock clock_;
  std::unique_ptr<ProviderProcess> provider_;
  std::unique_ptr<http::CurlHttpClient> http_;
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<RelyingParty> rp_;
  std::unique_ptr<store::SqliteStore> db_;
  std::unique_ptr<store::SqliteIdentityStore> ids_;
};

TEST_F(OidcIntegrationTest, DiscoveryOfTheRealProvider) {
  auto md = discovery_->Get();
  ASSERT_TRUE(md.has_value()) << md.error();
  EXPECT_EQ((*md)->issuer, provider_->issuer());
  EXPECT_EQ((*md)->token_endpoint, provider_->issuer() + "/token");
  EXPECT_EQ((*md)->code_challenge_methods_supported, std::vector<std::string>{"S256"});
  EXPECT_TRUE((*md)->authorization_response_iss_parameter_supported);
}

TEST_F(OidcIntegrationTest, ScriptedLoginLinksAnAccountEndToEnd) {
  // `link` in chat: a single-use token bound to the platform account.
  const store::PlatformAccount account{"slack", "T0001", "U0001"};
  auto token = NewLinkToken();
  ASSERT_TRUE(token.has_value());
  const auto now = clock_.Now();
  ASSERT_TRUE(ids_->PutLinkToken({LinkTokenHash(token->Reveal()), account, now,
                                  now + std::chrono::minutes(10)})
                  .has_value());
  // /auth/login?t=...
  auto taken = ids_->TakeLinkToken(LinkTokenHash(token->Reveal()), clock_.Now());
  ASSERT_TRUE(taken.has_value() && taken->has_value());
  EXPECT_FALSE(ids_->TakeLinkToken(LinkTokenHash(token->Reveal()), clock_.Now())->has_value());

  LoginParams params;
  params.max_age = std::chrono::seconds(600);
  params.context = (*taken)->account.platform + "/" + (*taken)->account.workspace + "/" +
                   (*taken)->account.user_id;
  auto [start, cb] = LoginThroughBrowser(params);
  ASSERT_TRUE(cb.code.has_value()) << "no code in the callback";
  EXPECT_EQ(cb.iss, provider_->issuer());

  // /auth/callback
  auto pending = ids_->TakeLoginState(StateHash(cb.state.value_or("")), clock_.Now());
  ASSERT_TRUE(pending.has_value()) << pending.error();
  ASSERT_TRUE(pending->has_value()) << "pending login not found by state";
  auto who = rp_->CompleteLogin(FromPendingLogin(**pending), cb);
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_EQ(who->issuer, provider_->issuer());
  EXPECT_EQ(who->subject, "user-alice-0001");
  EXPECT_EQ(who->email, "alice@example.com");
  EXPECT_TRUE(who->email_verified);
  EXPECT_EQ(who->groups, (std::vector<std::string>{"ops", "sre"}));
  EXPECT_EQ(who->amr, std::vector<std::string>{"pwd"});
  ASSERT_TRUE(who->auth_time.has_value());
  EXPECT_LE(std::abs(*who->auth_time - clock_.UnixSeconds()), 60);
  EXPECT_EQ(who->context, "slack/T0001/U0001");

  auto linked = ids_->Link(account, {who->issuer, who->subject, who->email, who->groups},
                           clock_.Now(), std::chrono::hours(24 * 30));
  ASSERT_TRUE(linked.has_value()) << linked.error();
  auto found = ids_->Lookup(account, clock_.Now());
  ASSERT_TRUE(found.has_value()) << found.error();
  ASSERT_EQ(found->state, store::LinkLookup::State::kLinked);
  EXPECT_EQ(found->principal->subject, "user-alice-0001");
  EXPECT_EQ(found->principal->email, "alice@example.com");
  EXPECT_EQ(found->principal->groups, (std::vector<std::string>{"ops", "sre"}));

  EXPECT_EQ(ids_->Unlink(account), true);
  EXPECT_EQ(ids_->Lookup(account, clock_.Now())->state, store::LinkLookup::State::kNotLinked);
}

TEST_F(OidcIntegrationTest, ReplayedCallbackIsRefused) {
  auto [start, cb] = LoginThroughBrowser();
  auto first = ids_->TakeLoginState(StateHash(cb.state.value_or("")), clock_.Now());
  ASSERT_TRUE(first.has_value() && first->has_value());
  ASSERT_TRUE(rp_->CompleteLogin(FromPendingLogin(**first), cb).has_value());
  // The same callback again: its state was taken, so there is nothing to complete.
  auto again = ids_->TakeLoginState(StateHash(cb.state.value_or("")), clock_.Now());
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
}

TEST_F(OidcIntegrationTest, CodeUsedTwiceIsRefusedByTheProvider) {
  auto [start, cb] = LoginThroughBrowser();
  ASSERT_TRUE(rp_->CompleteLogin(start.state, cb).has_value());
  // Bypassing the store's single use, the provider itself refuses the second redemption.
  auto second = rp_->CompleteLogin(start.state, cb);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(OidcReasonOf(second.error()), "token_rejected") << second.error();
  EXPECT_EQ(second.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_NE(second.error().message.find("invalid_grant"), std::string::npos) << second.error();
  EXPECT_EQ(second.error().message.find(kClientSecret), std::string::npos);
  EXPECT_EQ(second.error().message.find(*cb.code), std::string::npos);
}

TEST_F(OidcIntegrationTest, TamperedStateIsRefused) {
  auto [start, cb] = LoginThroughBrowser();
  CallbackParams tampered = cb;
  ASSERT_TRUE(tampered.state.has_value());
  tampered.state->front() = tampered.state->front() == 'x' ? 'y' : 'x';
  auto none = ids_->TakeLoginState(StateHash(*tampered.state), clock_.Now());
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value()) << "a tampered state finds no pending login";
  auto refused = rp_->CompleteLogin(start.state, tampered);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(OidcReasonOf(refused.error()), "state_mismatch");
  // The untouched callback still works: the tampered one did not burn the code.
  EXPECT_TRUE(rp_->CompleteLogin(start.state, cb).has_value());
}

TEST_F(OidcIntegrationTest, UserWhoCancelsGetsAccessDenied) {
  BrowseOptions browse;
  browse.password = "wrong password";
  auto [start, cb] = LoginThroughBrowser({}, browse);
  ASSERT_TRUE(cb.error.has_value());
  auto refused = rp_->CompleteLogin(start.state, cb);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(OidcReasonOf(refused.error()), "access_denied") << refused.error();
  EXPECT_EQ(refused.error().code, core::ErrorCode::kPermissionDenied);
}

TEST_F(OidcIntegrationTest, StepUpWithAcrValuesAndMaxAge) {
  LoginParams params;
  params.prompt = "login";
  params.max_age = std::chrono::seconds(0);
  params.acr_values = {"urn:opsgate:loa:2"};
  BrowseOptions browse;
  browse.otp = true;
  auto [start, cb] = LoginThroughBrowser(params, browse);
  auto who = rp_->CompleteLogin(start.state, cb);
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_EQ(who->acr, "urn:opsgate:loa:2");
  EXPECT_EQ(who->amr, (std::vector<std::string>{"pwd", "otp"}));
  ASSERT_TRUE(who->auth_time.has_value());
}

TEST_F(OidcIntegrationTest, ClientSecretPost) {
  Start("client_secret_post", ClientAuthMethod::kClientSecretPost);
  auto [start, cb] = LoginThroughBrowser();
  auto who = rp_->CompleteLogin(start.state, cb);
  ASSERT_TRUE(who.has_value()) << who.error();
  EXPECT_EQ(who->subject, "user-alice-0001");
}

TEST_F(OidcIntegrationTest, WrongClientSecretIsRejectedByTheProvider) {
  Start("client_secret_basic", ClientAuthMethod::kClientSecretBasic, "not-the-secret");
  auto [start, cb] = LoginThroughBrowser();
  auto refused = rp_->CompleteLogin(start.state, cb);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(OidcReasonOf(refused.error()), "token_rejected") << refused.error();
  EXPECT_NE(refused.error().message.find("invalid_client"), std::string::npos) << refused.error();
  EXPECT_EQ(refused.error().message.find("not-the-secret"), std::string::npos);
}


// --- the gateway end to end: Slack `link` -> /auth/login -> provider -> /auth/callback ---

uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

constexpr const char* kSlackSecret = "it-oidc-slack-signing-secret-77";
constexpr const char* kSlackToken = "xoxb-it-oidc-bot-token";
constexpr const char* kTeam = "T0LINK";

class GatewayLinking : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MissingTooling();
    if (!missing.empty()) {
      if (InCi()) {
        FAIL() << "CI=true but the OIDC test provider cannot run: " << missing;
      }
      GTEST_SKIP() << "OIDC test provider unavailable (" << missing << ")";
    }
    port_ = FreeLoopbackPort();
    ASSERT_NE(port_, 0);
    base_ = "https://127.0.0.1:" + std::to_string(port_);
    provider_ = std::make_unique<ProviderProcess>("client_secret_basic", base_ + "/auth/callback");
    if (provider_->issuer().empty()) {  // see OidcIntegrationTest: one retry
      provider_ = std::make_unique<ProviderProcess>("client_secret_basic", base_ + "/auth/callback");
    }
    ASSERT_FALSE(provider_->issuer().empty()) << provider_->Stderr();

    standin_ = std::make_unique<testing::SlackStandIn>(dir_.path(), kSlackToken);
    ::setenv("OPSGATE_SLACK_SIGNING_SECRET", kSlackSecret, 1);
    ::setenv("OPSGATE_SLACK_BOT_TOKEN", kSlackToken, 1);
    ::setenv("OPSGATE_SLACK_API_URL", standin_->ApiUrl().c_str(), 1);
    ::setenv("OPSGATE_SLACK_TEAM_IDS", kTeam, 1);
    ::setenv("OPSGATE_IT_OIDC_SECRET", kClientSecret, 1);
    const auto init = testing::RunOpsgate({"init", dir_.path() + "/data"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    config_ = dir_.path() + "/data/opsgate.yaml";
    ca_ = dir_.path() + "/data/tls/server.crt";
    std::ofstream(config_, std::ios::app)
        << "\ndev: true\noutbound:\n  ca_file: " << standin_->ca_file() << "\nidentity:\n"
        << "  public_url: " << base_ << "\n  oidc:\n    issuer: " << provider_->issuer()
        << "\n    client_id: " << kClientId << "\n    client_secret: env:OPSGATE_IT_OIDC_SECRET"
        << "\n    scopes: [groups]\n    allow_http: true\n";
    server_ = std::make_unique<testing::OpsgateProcess>(std::vector<std::string>{
        "serve", "--config", config_, "--listen", "127.0.0.1:" + std::to_string(port_)});
    ASSERT_EQ(server_->WaitUntilListening(), port_) << server_->Stderr();
  }
  void TearDown() override {
    if (HasFailure() && server_) {
      std::cerr << "opsgate stderr:\n" << server_->Stderr() << "\n";
    }
    server_.reset();
    for (const char* name : {"OPSGATE_SLACK_SIGNING_SECRET", "OPSGATE_SLACK_BOT_TOKEN",
                             "OPSGATE_SLACK_API_URL", "OPSGATE_SLACK_TEAM_IDS",
                             "OPSGATE_IT_OIDC_SECRET"}) {
      ::unsetenv(name);
    }
  }

  // Sends "/ops <text>" and returns opsgate's answer: the body of its acknowledgement.
  std::string Slash(const std::string& text) {
    const int hook = hooks_++ % testing::SlackStandIn::kHooks;
    const std::string body = std::string("team_id=") + kTeam +
                             "&channel_id=C0OPS&user_id=U0ADA&user_name=ada&command=%2Fops&text=" +
                             core::PercentEncode(text) + "&response_url=" +
                             core::PercentEncode(standin_->HookUrl(hook)) + "&trigger_id=t" +
                             std::to_string(hooks_);
    const std::string ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    const auto r = testing::Fetch(
        {"POST", base_ + "/slack/events", body,
         {"Content-Type: application/x-www-form-urlencoded", "X-Slack-Request-Timestamp: " + ts,
          "X-Slack-Signature: " + connectors::slack::ComputeSlackSignature(
                                      ts, body, core::Secret(std::string(kSlackSecret)))},
         ca_});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.body : "ERROR: " + std::to_string(r.status) + " " + r.body;
  }
  static std::string LinkUrlIn(const std::string& reply) {
    std::smatch m;
    return std::regex_search(reply, m, std::regex(R"re(<(https://[^|>]+/auth/login\?t=[A-Za-z0-9_-]+)\|)re"))
               ? m[1].str()
               : "";
  }

  testing::TempDir dir_;
  uint16_t port_ = 0;
  std::string base_;
  std::unique_ptr<ProviderProcess> provider_;
  std::unique_ptr<testing::SlackStandIn> standin_;
  std::string config_;
  std::string ca_;
  std::unique_ptr<testing::OpsgateProcess> server_;
  int hooks_ = 0;
};

TEST_F(GatewayLinking, ASlackAccountIsLinkedEndToEndAndThenKnownByItsPrincipal) {
  // Unlinked: only help and link.
  EXPECT_NE(Slash("ping").find("Link your identity first"), std::string::npos);

  const std::string url = LinkUrlIn(Slash("link"));
  ASSERT_EQ(url.rfind(base_ + "/auth/login?t=", 0), 0u) << url;

  Browser browser(ca_);
  const Browser::Page login = browser.Request(url);
  ASSERT_EQ(login.status, 302) << login.error << login.body;
  ASSERT_EQ(login.location.rfind(provider_->issuer(), 0), 0u) << login.location;
  BrowseOptions opts;
  opts.stop_at = base_ + "/auth/callback";
  const std::string callback = Browse(browser, provider_->issuer(), login.location, opts);
  ASSERT_EQ(callback.rfind(opts.stop_at, 0), 0u) << callback;
  const Browser::Page linked = browser.Request(callback);
  ASSERT_EQ(linked.status, 200) << linked.error << linked.body;
  EXPECT_NE(linked.body.find("Account linked"), std::string::npos) << linked.body;

  const std::string who = Slash("whoami");
  EXPECT_NE(who.find("user-alice-0001 at " + provider_->issuer()), std::string::npos) << who;
  EXPECT_NE(who.find("alice@example.com"), std::string::npos) << who;
  EXPECT_NE(Slash("ping").find("pong"), std::string::npos) << "linked askers may use ping";
}

// MFA from the provider (docs/identity.md): a Slack account linked through a login whose
// ID token shows MFA carries its time, and `link` again forces a fresh provider login
// (max_age=0), which is how a chat user gets a recent MFA.
TEST_F(GatewayLinking, ReLinkingWithASecondFactorGivesTheSlackAccountAnMfaTime) {
  // The principal opsgate resolves the Slack account to, read from its store.
  const auto linked = [&]() -> std::optional<store::Principal> {
    auto db = store::SqliteStore::Open(dir_.path() + "/data/opsgate.db");
    EXPECT_TRUE(db.has_value()) << db.error();
    if (!db) {
      return std::nullopt;
    }
    store::SqliteIdentityStore ids(**db);
    auto found = ids.Lookup({"slack", kTeam, "U0ADA"}, std::chrono::system_clock::now());
    EXPECT_TRUE(found.has_value()) << found.error();
    if (!found || found->state != store::LinkLookup::State::kLinked) {
      return std::nullopt;
    }
    return found->principal;
  };
  // One browser throughout: it keeps the provider's session cookie between the links.
  Browser browser(ca_);
  const auto link = [&](bool otp) -> std::string {
    const Browser::Page login = browser.Request(LinkUrlIn(Slash("link")));
    EXPECT_EQ(login.status, 302) << login.error << login.body;
    BrowseOptions opts;
    opts.stop_at = base_ + "/auth/callback";
    opts.otp = otp;
    const std::string callback = Browse(browser, provider_->issuer(), login.location, opts);
    EXPECT_EQ(callback.rfind(opts.stop_at, 0), 0u) << callback;
    const Browser::Page done = browser.Request(callback);
    EXPECT_EQ(done.status, 200) << done.error << done.body;
    return login.location;
  };

  // First link, password only: linked, no MFA time.
  const std::string first = link(/*otp=*/false);
  EXPECT_EQ(first.find("max_age="), std::string::npos) << first;
  auto principal = linked();
  ASSERT_TRUE(principal.has_value());
  EXPECT_EQ(principal->subject, "user-alice-0001");
  EXPECT_FALSE(principal->mfa_at.has_value());

  // `link` again: max_age=0, so the provider asks for the password (and here the second
  // factor) again instead of reusing its session; the ID token's amr is ["pwd","otp"].
  const auto before = std::chrono::system_clock::now();
  const std::string again = link(/*otp=*/true);
  EXPECT_NE(again.find("max_age=0"), std::string::npos) << again;
  principal = linked();
  ASSERT_TRUE(principal.has_value());
  ASSERT_TRUE(principal->mfa_at.has_value()) << "the fresh login showed MFA";
  // auth_time has whole seconds.
  EXPECT_GE(*principal->mfa_at, before - std::chrono::seconds(2));
  EXPECT_LE(*principal->mfa_at, std::chrono::system_clock::now());
  EXPECT_NE(Slash("whoami").find("user-alice-0001"), std::string::npos);

  // The links are on record, the second one as shown with MFA.
  const auto shown = testing::RunOpsgate({"audit", "show", "--config", config_});
  EXPECT_NE(shown.out.find("identity.link"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("ok_mfa"), std::string::npos) << shown.out;
}

// An administrator of the web chat revokes a principal's chat links, after a TOTP
// step-up bound to that exact command.
TEST_F(GatewayLinking, AnAdministratorRevokesLinksAfterAStepUp) {
  // Link the Slack account first.
  Browser browser(ca_);
  const Browser::Page login = browser.Request(LinkUrlIn(Slash("link")));
  ASSERT_EQ(login.status, 302) << login.body;
  BrowseOptions opts;
  opts.stop_at = base_ + "/auth/callback";
  ASSERT_EQ(browser.Request(Browse(browser, provider_->issuer(), login.location, opts)).status, 200);
  ASSERT_NE(Slash("whoami").find("user-alice-0001"), std::string::npos);

  // The first administrator enrols with the link serve printed, and signs in.
  std::smatch m;
  const std::string out = server_->Stdout();
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(first administrator: \S+/enrol\?t=([A-Za-z0-9_-]+))")))
      << out;
  const auto post = [&](const std::string& path, const std::string& body) {
    return testing::Fetch({"POST", base_ + path, body,
                           {"Content-Type: application/json", "Origin: " + base_}, ca_});
  };
  const auto enrol = post("/api/enrol", "{\"token\":\"" + m[1].str() +
                                            "\",\"username\":\"root\",\"password\":\"" +
                                            std::string(kPassword) + " is long\"}");
  ASSERT_EQ(enrol.status, 200) << enrol.body;
  std::smatch sm;
  ASSERT_TRUE(std::regex_search(enrol.body, sm, std::regex(R"re("totp_secret":"([A-Z2-7]+)")re")));
  const std::string secret = sm[1];
  const auto code = [&](int offset) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return TotpAt(*Base32Decode(secret), now + 30 * offset, {}).value();
  };
  ASSERT_EQ(post("/api/enrol/confirm", "{\"username\":\"root\",\"code\":\"" + code(-1) + "\"}").status, 200);
  const auto signed_in = post("/api/login", "{\"username\":\"root\",\"password\":\"" +
                                                std::string(kPassword) + " is long\",\"totp\":\"" +
                                                code(0) + "\"}");
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  const std::string set_cookie = signed_in.Header("Set-Cookie").value_or("");
  http::testing::WebSocketConnectOptions wo;
  wo.headers = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}, {"Origin", base_}};
  auto chat = http::testing::WebSocketTestClient::Connect(
      "wss://127.0.0.1:" + std::to_string(port_) + "/api/chat", wo);
  ASSERT_TRUE(chat.client) << chat.status << chat.body;
  const auto next = [&] { return chat.client->Receive(std::chrono::seconds(5)).data; };
  ASSERT_NE(next().find("hello"), std::string::npos);

  const std::string revoke = "revoke " + provider_->issuer() + " user-alice-0001";
  ASSERT_TRUE(chat.client->Send("{\"type\":\"say\",\"text\":\"" + revoke + "\"}"));
  EXPECT_NE(next().find("needs a fresh confirmation"), std::string::npos);
  // A wrong code ends the attempt and changes nothing.
  ASSERT_TRUE(chat.client->Send(R"({"type":"say","text":"code 000000"})"));
  EXPECT_NE(next().find("Not confirmed"), std::string::npos);
  EXPECT_NE(Slash("whoami").find("user-alice-0001"), std::string::npos);
  // Again, with the next code: revoked.
  ASSERT_TRUE(chat.client->Send("{\"type\":\"say\",\"text\":\"" + revoke + "\"}"));
  EXPECT_NE(next().find("needs a fresh confirmation"), std::string::npos);
  ASSERT_TRUE(chat.client->Send("{\"type\":\"say\",\"text\":\"code " + code(1) + "\"}"));
  EXPECT_NE(next().find("Revoked: 1 chat account link"), std::string::npos);
  EXPECT_NE(Slash("whoami").find("Link your identity first"), std::string::npos);
  // The revocation is on record.
  const auto shown = testing::RunOpsgate({"audit", "show", "--config", config_});
  EXPECT_NE(shown.out.find("identity.revoke"), std::string::npos) << shown.out;
}

TEST_F(GatewayLinking, TheWebChatSignsInThroughTheProvider) {
  Browser browser(ca_);
  EXPECT_NE(browser.Request(base_ + "/api/session").body.find("\"oidc\":true"), std::string::npos);
  const Browser::Page start = browser.Request(base_ + "/auth/signin");
  ASSERT_EQ(start.status, 302) << start.body;
  BrowseOptions opts;
  opts.stop_at = base_ + "/auth/callback";
  const std::string callback = Browse(browser, provider_->issuer(), start.location, opts);
  ASSERT_EQ(callback.rfind(opts.stop_at, 0), 0u) << callback;
  const Browser::Page done = browser.Request(callback);
  ASSERT_EQ(done.status, 302) << done.body;
  EXPECT_EQ(done.location, base_ + "/");
  const Browser::Page session = browser.Request(base_ + "/api/session");
  EXPECT_NE(session.body.find("\"signed_in\":true"), std::string::npos) << session.body;
  EXPECT_NE(session.body.find("user-alice-0001"), std::string::npos) << session.body;
  // A sign-in is not a link: the Slack account stays unlinked.
  EXPECT_NE(Slash("whoami").find("Link your identity first"), std::string::npos);
}

TEST_F(GatewayLinking, ALoginFinishedInAnotherBrowserIsRefusedAndLinksNothing) {
  const std::string url = LinkUrlIn(Slash("link"));
  ASSERT_FALSE(url.empty());
  Browser attacker(ca_);
  const Browser::Page login = attacker.Request(url);
  ASSERT_EQ(login.status, 302) << login.body;
  // The victim gets the authorization URL, signs in, and lands on the callback without
  // the attacker's binding cookie.
  Browser victim(ca_);
  BrowseOptions opts;
  opts.stop_at = base_ + "/auth/callback";
  const std::string callback = Browse(victim, provider_->issuer(), login.location, opts);
  ASSERT_EQ(callback.rfind(opts.stop_at, 0), 0u) << callback;
  const Browser::Page refused = victim.Request(callback);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("another browser"), std::string::npos) << refused.body;
  EXPECT_NE(Slash("whoami").find("Link your identity first"), std::string::npos);
  // The used link does not work twice.
  EXPECT_EQ(Browser(ca_).Request(url).status, 410);
}

}  // namespace
}  // namespace opsgate::identity::oidc
