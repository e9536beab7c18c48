#include "opsgate/aws/credentials.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <string>

#include "opsgate/core/strings.h"

namespace opsgate::aws {
namespace {

constexpr std::string_view kEcsHost = "http://169.254.170.2";
constexpr std::string_view kImdsDefault = "http://169.254.169.254";
constexpr std::chrono::milliseconds kMetadataTimeout{1000};
constexpr int kMaxProfileDepth = 8;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> NonEmpty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (!v || v->empty()) {
    return std::nullopt;
  }
  return v;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

core::Error Prefixed(std::string_view prefix, const core::Error& e) {
  return core::Error{e.code, std::string(prefix) + e.message};
}

std::string DefaultSessionName(const core::Clock* clock) {
  return "opsgate-" + std::to_string(clock != nullptr ? clock->UnixSeconds() : 0);
}

core::Result<std::optional<std::chrono::seconds>> ParseDuration(const std::optional<std::string>& v,
                                                                std::string_view where) {
  if (!v) {
    return std::optional<std::chrono::seconds>();
  }
  const auto n = core::ParseDigits(*v);
  if (!n || *n < 900 || *n > 43200) {
    return core::Fail(
        core::InvalidArgument(std::string(where) + ": duration_seconds must be 900 to 43200"));
  }
  return std::optional<std::chrono::seconds>(std::chrono::seconds(*n));
}

core::Result<core::Secret> ReadTokenFile(const std::string& path, std::string_view what) {
  auto text = ReadBoundedFile(path, kMaxTokenFileBytes);
  if (!text) {
    // A missing token file is a configuration error, not an absent source.
    return core::Fail(core::Error{text.error().code == core::ErrorCode::kNotFound
                                      ? core::ErrorCode::kFailedPrecondition
                                      : text.error().code,
                                  std::string(what) + ": " + text.error().message});
  }
  core::Secret raw(std::move(*text));
  const std::string_view trimmed = core::Trim(raw.Reveal());
  if (trimmed.empty()) {
    return core::Fail(core::InvalidArgument(std::string(what) + ": " + path + " is empty"));
  }
  return core::Secret(std::string(trimmed));
}

core::Result<Credentials> StaticFromProfile(const SharedConfig& shared, const std::string& name,
                                            bool top) {
  const auto id = shared.Get(name, "aws_access_key_id");
  const core::Secret* secret = shared.GetSecret(name, "aws_secret_access_key");
  if (!id && secret == nullptr) {
    if (top) {
      return core::Fail(core::NotFound("profile " + Quote(name) + " has no credentials"));
    }
    return core::Fail(core::FailedPrecondition("source profile " + Quote(name) +
                                               " has no aws_access_key_id/aws_secret_access_key"));
  }
  if (!id || id->empty() || secret == nullptr || secret->empty()) {
    return core::Fail(core::InvalidArgument(
        "profile " + Quote(name) + " needs both aws_access_key_id and aws_secret_access_key"));
  }
  Credentials c{*id, *secret, std::nullopt, std::nullopt};
  const core::Secret* token = shared.GetSecret(name, "aws_session_token");
  if (token == nullptr) {
    token = shared.GetSecret(name, "aws_security_token");
  }
  if (token != nullptr && !token->empty()) {
    c.session_token = *token;
  }
  return c;
}

// Sends and checks the status; the URL in errors is reduced to scheme and host.
core::Result<http::OutboundResponse> SendChecked(http::HttpClient& client,
                                                 const http::OutboundRequest& req,
                                                 std::string_view what) {
  auto resp = client.Send(req);
  if (!resp) {
    return core::Fail(
        Prefixed(std::string(what) + " (" + http::RedactUrl(req.url) + "): ", resp.error()));
  }
  if (resp->body.size() > kMaxCredentialsResponseBytes) {
    return core::Fail(core::ResourceExhausted(
        std::string(what) + " (" + http::RedactUrl(req.url) + "): response larger than " +
        std::to_string(kMaxCredentialsResponseBytes) + " bytes"));
  }
  return resp;
}

core::Error BadStatus(std::string_view what, const http::OutboundRequest& req, int status) {
  const core::ErrorCode code = (status == 401 || status == 403) ? core::ErrorCode::kPermissionDenied
                                                                : core::ErrorCode::kUnavailable;
  return core::Error{code, std::string(what) + " (" + http::RedactUrl(req.url) +
                               ") answered HTTP " + std::to_string(status)};
}

bool IsAllowedHttpHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "169.254.170.2" ||
      host == "169.254.170.23" || host == "[fd00:ec2::23]") {
    return true;
  }
  // 127.0.0.0/8 as a dotted quad.
  if (host.rfind("127.", 0) != 0) {
    return false;
  }
  int parts = 0;
  for (std::string_view p : core::Split(host, '.')) {
    const auto n = core::ParseDigits(p);
    if (!n || *n > 255 || p.size() > 3) {
      return false;
    }
    ++parts;
  }
  return parts == 4;
}

// host (with brackets for IPv6, without port) of "scheme://host[:port]/...".
std::optional<std::string> HostOf(std::string_view url) {
  const size_t s = url.find("://");
  if (s == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = url.substr(s + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.find('@') != std::string_view::npos || rest.empty()) {
    return std::nullopt;
  }
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    return std::string(rest.substr(0, close + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

bool IsRoleNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("+=,.@_-").find(c) != std::string_view::npos;
}

}  // namespace

CredentialsProvider::~CredentialsProvider() = default;
StsClient::~StsClient() = default;

// ---- JSON / time ---------------------------------------------------------------------

std::optional<core::Clock::WallTime> ParseIso8601Utc(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)
  if (s.size() < 20) {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    const auto v = core::ParseDigits(s.substr(pos, len));
    if (!v) {
      return std::nullopt;
    }
    return static_cast<int>(*v);
  };
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
             se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *se > 60) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      ++n;
    }
    if (n == 0) {
      return std::nullopt;
    }
    rest.remove_prefix(n);
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00") {
    return std::nullopt;
  }
  // Days from civil (H. Hinnant), no time zone database involved.
  const int yy = *y - (*mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned mp = static_cast<unsigned>(*mo > 2 ? *mo - 3 : *mo + 9);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(*d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  const int64_t secs = days * 86400 + *h * 3600 + *mi * 60 + *se;
  return core::Clock::WallTime(std::chrono::seconds(secs));
}

core::Result<Credentials> ParseCredentialsJson(std::string_view body, std::string_view source) {
  const std::string where(source);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return core::Fail(core::InvalidArgument(where + ": credentials response is not a JSON object"));
  }
  const boost::json::object& o = v.as_object();
  auto str = [&](std::string_view key) -> std::optional<std::string_view> {
    const auto* p = o.if_contains(key);
    if (p == nullptr || !p->is_string()) {
      return std::nullopt;
    }
    return std::string_view(p->as_string());
  };
  if (const auto code = str("Code"); code && *code != "Success") {
    return core::Fail(core::Unavailable(where + ": credentials response has Code other than "
                                                "Success"));
  }
  const auto id = str("AccessKeyId");
  const auto secret = str("SecretAccessKey");
  if (!id || id->empty() || !secret || secret->empty()) {
    return core::Fail(core::InvalidArgument(
        where + ": credentials response lacks AccessKeyId or SecretAccessKey"));
  }
  Credentials c{std::string(*id), core::Secret(std::string(*secret)), std::nullopt, std::nullopt};
  if (const auto token = str("Token"); token && !token->empty()) {
    c.session_token = core::Secret(std::string(*token));
  }
  if (const auto exp = str("Expiration")) {
    c.expires_at = ParseIso8601Utc(*exp);
    if (!c.expires_at) {
      return core::Fail(core::InvalidArgument(where + ": credentials response has a malformed "
                                                      "Expiration"));
    }
  }
  return c;
}

// ---- Environment -----------------------------------------------------------------------

core::Result<Credentials> EnvironmentCredentialsProvider::Get() {
  const auto id = NonEmpty(env_, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env_, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) {
    return core::Fail(core::NotFound("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"));
  }
  if (!id || !secret) {
    return core::Fail(core::InvalidArgument(
        std::string(id ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                       : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")));
  }
  Credentials c{*id, core::Secret(std::move(*secret)), std::nullopt, std::nullopt};
  if (auto token = NonEmpty(env_, "AWS_SESSION_TOKEN")) {
    c.session_token = core::Secret(std::move(*token));
  }
  return c;
}

// ---- Profile ---------------------------------------------------------------------------

core::Result<Credentials> ProfileCredentialsProvider::Get() {
  auto shared = LoadSharedConfig(deps_.env);
  if (!shared) {
    return core::Fail(shared.error());
  }
  std::vector<std::string> visited;
  return Resolve(*shared, shared->location.profile, visited, true);
}

core::Result<Credentials> ProfileCredentialsProvider::Resolve(const SharedConfig& shared,
                                                              const std::string& name,
                                                              std::vector<std::string>& visited,
                                                              bool top) {
  if (std::find(visited.begin(), visited.end(), name) != visited.end()) {
    std::string path;
    for (const auto& v : visited) {
      path += v + " -> ";
    }
    return core::Fail(core::FailedPrecondition("source_profile cycle: " + path + name));
  }
  if (static_cast<int>(visited.size()) >= kMaxProfileDepth) {
    return core::Fail(core::FailedPrecondition("source_profile chain deeper than " +
                                               std::to_string(kMaxProfileDepth)));
  }
  if (!shared.HasProfile(name)) {
    if (top && !shared.location.profile_explicit) {
      return core::Fail(core::NotFound("no profile " + Quote(name)));
    }
    return core::Fail(core::FailedPrecondition(
        "profile " + Quote(name) + " not found in " +
        (shared.location.credentials_path.empty() ? "<no credentials file>"
                                                  : shared.location.credentials_path) +
        " or " +
        (shared.location.config_path.empty() ? "<no config file>" : shared.location.config_path)));
  }
  const auto role_arn = shared.Get(name, "role_arn");
  if (!role_arn) {
    return StaticFromProfile(shared, name, top);
  }
  const std::string where = "profile " + Quote(name);
  const auto source_profile = shared.Get(name, "source_profile");
  const auto credential_source = shared.Get(name, "credential_source");
  const auto token_file = shared.Get(name, "web_identity_token_file");
  const int sources = (source_profile ? 1 : 0) + (credential_source ? 1 : 0) + (token_file ? 1 : 0);
  if (sources != 1) {
    return core::Fail(
        core::InvalidArgument(where +
                              ": role_arn needs exactly one of source_profile, credential_source, "
                              "web_identity_token_file"));
  }
  if (deps_.sts == nullptr) {
    return core::Fail(core::FailedPrecondition(where + ": role_arn needs STS, and no StsClient "
                                                       "is configured"));
  }
  auto duration = ParseDuration(shared.Get(name, "duration_seconds"), where);
  if (!duration) {
    return core::Fail(duration.error());
  }
  const std::string session_name =
      shared.Get(name, "role_session_name").value_or(DefaultSessionName(deps_.clock));

  if (token_file) {
    auto token = ReadTokenFile(*token_file, where + " web_identity_token_file");
    if (!token) {
      return core::Fail(token.error());
    }
    AssumeRoleWithWebIdentityRequest req{*role_arn, session_name, std::move(*token), *duration};
    auto r = deps_.sts->AssumeRoleWithWebIdentity(req);
    if (!r) {
      return core::Fail(
          Prefixed(where + ": AssumeRoleWithWebIdentity " + *role_arn + ": ", r.error()));
    }
    return r;
  }

  core::Result<Credentials> caller = core::Fail(core::Internal("unset"));
  if (source_profile) {
    if (*source_profile == name) {
      caller = StaticFromProfile(shared, name, false);
    } else {
      visited.push_back(name);
      caller = Resolve(shared, *source_profile, visited, false);
      visited.pop_back();
    }
  } else if (EqualsIgnoreCase(*credential_source, "Environment")) {
    caller = EnvironmentCredentialsProvider(deps_.env).Get();
  } else if (EqualsIgnoreCase(*credential_source, "Ec2InstanceMetadata")) {
    caller = ImdsCredentialsProvider(deps_).Get();
  } else if (EqualsIgnoreCase(*credential_source, "EcsContainer")) {
    caller = ContainerCredentialsProvider(deps_).Get();
  } else {
    return core::Fail(core::InvalidArgument(
        where + ": credential_source must be Environment, Ec2InstanceMetadata or EcsContainer"));
  }
  if (!caller) {
    core::Error e = caller.error();
    if (e.code == core::ErrorCode::kNotFound) {
      e.code = core::ErrorCode::kFailedPrecondition;  // configured, yet absent
    }
    return core::Fail(Prefixed(where + ": source credentials: ", e));
  }
  AssumeRoleRequest req;
  req.role_arn = *role_arn;
  req.role_session_name = session_name;
  req.duration = *duration;
  req.external_id = shared.Get(name, "external_id");
  auto r = deps_.sts->AssumeRole(req, *caller);
  if (!r) {
    return core::Fail(Prefixed(where + ": AssumeRole " + *role_arn + ": ", r.error()));
  }
  return r;
}

// ---- Web identity ------------------------------------------------------------------------

core::Result<Credentials> WebIdentityCredentialsProvider::Get() {
  const auto role_arn = NonEmpty(deps_.env, "AWS_ROLE_ARN");
  const auto token_file = NonEmpty(deps_.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!role_arn && !token_file) {
    return core::Fail(core::NotFound("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set"));
  }
  if (!role_arn || !token_file) {
    return core::Fail(core::InvalidArgument(
        "web identity needs both AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"));
  }
  if (deps_.sts == nullptr) {
    return core::Fail(
        core::FailedPrecondition("web identity needs STS, and no StsClient is "
                                 "configured"));
  }
  auto token = ReadTokenFile(*token_file, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!token) {
    return core::Fail(token.error());
  }
  AssumeRoleWithWebIdentityRequest req{
      *role_arn,
      NonEmpty(deps_.env, "AWS_ROLE_SESSION_NAME").value_or(DefaultSessionName(deps_.clock)),
      std::move(*token), std::nullopt};
  auto r = deps_.sts->AssumeRoleWithWebIdentity(req);
  if (!r) {
    return core::Fail(Prefixed("AssumeRoleWithWebIdentity " + *role_arn + ": ", r.error()));
  }
  return r;
}

// ---- Container ---------------------------------------------------------------------------

core::Result<Credentials> ContainerCredentialsProvider::Get() {
  const auto relative = NonEmpty(deps_.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const auto full = NonEmpty(deps_.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative && !full) {
    return core::Fail(core::NotFound(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not "
        "set"));
  }
  http::OutboundRequest req;
  req.method = "GET";
  req.timeout = kMetadataTimeout;
  if (relative) {
    if (relative->front() != '/' || relative->find_first_of("\r\n \t#") != std::string::npos) {
      return core::Fail(core::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with '/'"));
    }
    req.url = std::string(kEcsHost) + *relative;
  } else {
    const auto host = HostOf(*full);
    if (!host || full->find_first_of("\r\n \t") != std::string::npos) {
      return core::Fail(core::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an absolute http(s) URL"));
    }
    const bool https = full->rfind("https://", 0) == 0;
    const bool http = full->rfind("http://", 0) == 0;
    if (!https && !(http && IsAllowedHttpHost(*host))) {
      return core::Fail(core::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address or "
          "the container agent (169.254.170.2, 169.254.170.23, fd00:ec2::23); got " +
          http::RedactUrl(*full)));
    }
    req.url = *full;
  }
  std::optional<core::Secret> auth;
  if (const auto file = NonEmpty(deps_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    auto t = ReadTokenFile(*file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!t) {
      return core::Fail(t.error());
    }
    auth = std::move(*t);
  } else if (auto t = NonEmpty(deps_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    auth = core::Secret(std::move(*t));
  }
  if (auth) {
    if (auth->Reveal().find_first_of("\r\n") != std::string_view::npos) {
      return core::Fail(core::InvalidArgument("container authorization token contains CR or LF"));
    }
    // ECS wants the raw token, not "Bearer <token>"; the request is sent, never logged.
    req.headers.emplace_back("Authorization", std::string(auth->Reveal()));
  }
  auto resp = SendChecked(*deps_.http, req, "container credentials endpoint");
  if (!resp) {
    return core::Fail(resp.error());
  }
  if (resp->status != 200) {
    return core::Fail(BadStatus("container credentials endpoint", req, resp->status));
  }
  return ParseCredentialsJson(resp->body, "container credentials endpoint");
}

// ---- IMDS --------------------------------------------------------------------------------

core::Result<Credentials> ImdsCredentialsProvider::Get() {
  if (const auto disabled = deps_.env("AWS_EC2_METADATA_DISABLED");
      disabled && EqualsIgnoreCase(core::Trim(*disabled), "true")) {
    return core::Fail(core::NotFound("instance metadata disabled by AWS_EC2_METADATA_DISABLED"));
  }
  std::string base =
      NonEmpty(deps_.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or(std::string(kImdsDefault));
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if ((base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) || !HostOf(base) ||
      base.find_first_of("\r\n \t?#") != std::string::npos) {
    return core::Fail(
        core::InvalidArgument("AWS_EC2_METADATA_SERVICE_ENDPOINT must be an http(s) URL such as "
                              "http://169.254.169.254"));
  }

  http::OutboundRequest token_req;
  token_req.method = "PUT";
  token_req.url = base + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  token_req.timeout = kMetadataTimeout;
  auto token_resp = deps_.http->Send(token_req);
  if (!token_resp) {
    if (token_resp.error().code == core::ErrorCode::kUnavailable ||
        token_resp.error().code == core::ErrorCode::kDeadlineExceeded) {
      return core::Fail(core::NotFound("no instance metadata service at " +
                                       http::RedactUrl(token_req.url) + ": " +
                                       token_resp.error().message));
    }
    return core::Fail(Prefixed("instance metadata token: ", token_resp.error()));
  }
  if (token_resp->status != 200) {
    return core::Fail(BadStatus("instance metadata token", token_req, token_resp->status));
  }
  core::Secret token(std::move(token_resp->body));
  if (token.empty() || token.size() > 4096 ||
      token.Reveal().find_first_of("\r\n") != std::string_view::npos) {
    return core::Fail(core::Unavailable("instance metadata token response is malformed"));
  }

  http::OutboundRequest list_req;
  list_req.method = "GET";
  list_req.url = base + "/latest/meta-data/iam/security-credentials/";
  list_req.headers = {{"X-aws-ec2-metadata-token", std::string(token.Reveal())}};
  list_req.timeout = kMetadataTimeout;
  auto list = SendChecked(*deps_.http, list_req, "instance metadata role list");
  if (!list) {
    return core::Fail(list.error());
  }
  if (list->status == 404) {
    return core::Fail(core::NotFound("the instance has no IAM role (instance profile)"));
  }
  if (list->status != 200) {
    return core::Fail(BadStatus("instance metadata role list", list_req, list->status));
  }
  const std::string_view listing = list->body;
  const std::string_view first = core::Trim(listing.substr(0, listing.find('\n')));
  if (first.empty()) {
    return core::Fail(core::NotFound("the instance has no IAM role (instance profile)"));
  }
  if (first.size() > 128 || !std::all_of(first.begin(), first.end(), IsRoleNameChar)) {
    return core::Fail(core::Unavailable("instance metadata returned a malformed role name"));
  }

  http::OutboundRequest creds_req = list_req;
  creds_req.url = list_req.url + std::string(first);
  auto creds = SendChecked(*deps_.http, creds_req, "instance metadata credentials");
  if (!creds) {
    return core::Fail(creds.error());
  }
  if (creds->status != 200) {
    return core::Fail(BadStatus("instance metadata credentials", creds_req, creds->status));
  }
  return ParseCredentialsJson(creds->body, "instance metadata role " + std::string(first));
}

// ---- Chain -------------------------------------------------------------------------------

core::Result<Credentials> ChainCredentialsProvider::Get() {
  std::string tried;
  for (const auto& p : providers_) {
    auto r = p->Get();
    if (r) {
      return r;
    }
    if (r.error().code != core::ErrorCode::kNotFound) {
      return core::Fail(Prefixed(std::string(p->Name()) + ": ", r.error()));
    }
    tried += (tried.empty() ? "" : "; ") + std::string(p->Name()) + ": " + r.error().message;
  }
  return core::Fail(core::NotFound("no AWS credentials found (" + tried + ")"));
}

std::unique_ptr<CredentialsProvider> MakeDefaultCredentialsChain(const CredentialsDeps& deps) {
  std::vector<std::unique_ptr<CredentialsProvider>> v;
  v.push_back(std::make_unique<EnvironmentCredentialsProvider>(deps.env));
  v.push_back(std::make_unique<ProfileCredentialsProvider>(deps));
  v.push_back(std::make_unique<WebIdentityCredentialsProvider>(deps));
  v.push_back(std::make_unique<ContainerCredentialsProvider>(deps));
  v.push_back(std::make_unique<ImdsCredentialsProvider>(deps));
  return std::make_unique<ChainCredentialsProvider>(std::move(v));
}

// ---- Cache -------------------------------------------------------------------------------

core::Result<Credentials> CachingCredentialsProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  const core::Clock::WallTime now = clock_.Now();
  if (cached_) {
    if (!cached_->expires_at) {
      return *cached_;
    }
    const auto expires = *cached_->expires_at;
    if (now < expires - refresh_before_) {
      return *cached_;
    }
    if (now < expires && next_attempt_ && now < *next_attempt_) {
      return *cached_;
    }
  }
  auto fresh = inner_->Get();
  if (fresh && fresh->expires_at && *fresh->expires_at <= now) {
    fresh = core::Fail(core::Unavailable(std::string(inner_->Name()) +
                                         ": the source returned credentials that have expired"));
  }
  if (fresh) {
    cached_ = *fresh;
    next_attempt_.reset();
    if (fresh->expires_at && *fresh->expires_at - refresh_before_ <= now) {
      next_attempt_ = now + retry_interval_;  // short-lived: do not ask on every call
    }
    return fresh;
  }
  if (cached_ && cached_->expires_at && now < *cached_->expires_at) {
    next_attempt_ = now + retry_interval_;
    return *cached_;
  }
  cached_.reset();
  return fresh;
}

}  // namespace opsgate::aws
