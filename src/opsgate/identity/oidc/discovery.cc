#include "opsgate/identity/oidc/discovery.h"

#include <algorithm>

#include "opsgate/identity/internal/json_util.h"

namespace opsgate::identity::oidc {
namespace {

namespace json = boost::json;

core::Error Invalid(std::string_view detail) {
  return core::FailedPrecondition("discovery_invalid: " + std::string(detail));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

core::Result<std::vector<std::string>> StringArray(const json::object& obj, std::string_view name) {
  std::vector<std::string> out;
  const json::value* v = obj.if_contains(name);
  if (v == nullptr || v->is_null()) {
    return out;
  }
  if (!v->is_array()) {
    return core::Fail(Invalid(std::string(name) + " must be an array of strings"));
  }
  for (const json::value& e : v->as_array()) {
    if (!e.is_string()) {
      return core::Fail(Invalid(std::string(name) + " must be an array of strings"));
    }
    out.emplace_back(e.as_string());
  }
  return out;
}

core::Result<std::string> Endpoint(const json::object& obj, std::string_view name,
                                   bool allow_http) {
  auto s = internal::OptionalString(obj, name);
  if (!s) {
    return core::Fail(Invalid(std::string(name) + " must be a string"));
  }
  if (!*s || (*s)->empty()) {
    return core::Fail(Invalid(std::string(name) + " is missing"));
  }
  if (!IsAllowedEndpoint(**s, allow_http)) {
    return core::Fail(Invalid(std::string(name) + " must be an absolute https:// URL" +
                              (allow_http ? " (or http:// on a loopback host)" : "")));
  }
  return std::move(**s);
}

core::Result<std::optional<std::string>> OptionalEndpoint(const json::object& obj,
                                                          std::string_view name,
                                                          bool allow_http) {
  if (obj.if_contains(name) == nullptr) {
    return std::optional<std::string>();
  }
  auto e = Endpoint(obj, name, allow_http);
  if (!e) {
    return core::Fail(e.error());
  }
  return std::optional<std::string>(std::move(*e));
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string DiscoveryUrl(std::string_view issuer) {
  std::string base(issuer);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + "/.well-known/openid-configuration";
}

bool IsAllowedEndpoint(std::string_view url, bool allow_http) {
  std::string_view rest;
  bool plain = false;
  if (StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (StartsWith(url, "http://")) {
    rest = url.substr(7);
    plain = true;
  } else {
    return false;
  }
  if (url.find('#') != std::string_view::npos) {
    return false;
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return false;
    }
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return false;
  }
  if (!plain) {
    return true;
  }
  if (!allow_http) {
    return false;
  }
  std::string_view host = authority;
  if (StartsWith(host, "[")) {
    host = host.substr(0, host.find(']') == std::string_view::npos ? host.size()
                                                                   : host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

core::Result<ProviderMetadata> ParseProviderMetadata(std::string_view text,
                                                     const DiscoveryOptions& options) {
  auto parsed = internal::ParseUniqueObject(text);
  if (!parsed) {
    return core::Fail(Invalid("not a JSON object: " + parsed.error().message));
  }
  const json::object& obj = *parsed;
  ProviderMetadata md;

  auto issuer = internal::OptionalString(obj, "issuer");
  if (!issuer || !*issuer) {
    return core::Fail(Invalid("issuer is missing or not a string"));
  }
  if (**issuer != options.issuer) {
    // Both values are public identifiers; naming them makes the misconfiguration obvious.
    return core::Fail(Invalid("issuer \"" + **issuer + "\" differs from the configured \"" +
                              options.issuer + "\" (they must be equal exactly)"));
  }
  if (!IsAllowedEndpoint(**issuer, options.allow_http) ||
      (**issuer).find('?') != std::string::npos) {
    return core::Fail(Invalid("issuer must be an https:// URL without query or fragment"));
  }
  md.issuer = std::move(**issuer);

  auto auth = Endpoint(obj, "authorization_endpoint", options.allow_http);
  if (!auth) {
    return core::Fail(auth.error());
  }
  md.authorization_endpoint = std::move(*auth);
  auto token = Endpoint(obj, "token_endpoint", options.allow_http);
  if (!token) {
    return core::Fail(token.error());
  }
  md.token_endpoint = std::move(*token);
  auto jwks = Endpoint(obj, "jwks_uri", options.allow_http);
  if (!jwks) {
    return core::Fail(jwks.error());
  }
  md.jwks_uri = std::move(*jwks);
  auto userinfo = OptionalEndpoint(obj, "userinfo_endpoint", options.allow_http);
  if (!userinfo) {
    return core::Fail(userinfo.error());
  }
  md.userinfo_endpoint = std::move(*userinfo);
  auto end_session = OptionalEndpoint(obj, "end_session_endpoint", options.allow_http);
  if (!end_session) {
    return core::Fail(end_session.error());
  }
  md.end_session_endpoint = std::move(*end_session);

  struct ArrayMember {
    const char* name;
    std::vector<std::string>* out;
  };
  std::vector<std::string> response_types;
  std::vector<std::string> algs;
  for (const ArrayMember& m : {
           ArrayMember{"code_challenge_methods_supported", &md.code_challenge_methods_supported},
           ArrayMember{"token_endpoint_auth_methods_supported",
                       &md.token_endpoint_auth_methods_supported},
           ArrayMember{"scopes_supported", &md.scopes_supported},
           ArrayMember{"acr_values_supported", &md.acr_values_supported},
           ArrayMember{"claims_supported", &md.claims_supported},
           ArrayMember{"response_types_supported", &response_types},
           ArrayMember{"id_token_signing_alg_values_supported", &algs},
       }) {
    auto v = StringArray(obj, m.name);
    if (!v) {
      return core::Fail(v.error());
    }
    *m.out = std::move(*v);
  }
  if (obj.if_contains("code_challenge_methods_supported") != nullptr &&
      !Contains(md.code_challenge_methods_supported, "S256")) {
    return core::Fail(Invalid(
        "code_challenge_methods_supported does not contain S256; opsgate requires PKCE S256"));
  }
  if (obj.if_contains("response_types_supported") != nullptr &&
      !Contains(response_types, "code")) {
    return core::Fail(Invalid("response_types_supported does not contain \"code\""));
  }
  for (const std::string& name : algs) {
    const std::optional<JwsAlg> alg = JwsAlgFromName(name);
    if (alg && std::find(options.allowed_algs.begin(), options.allowed_algs.end(), *alg) !=
                   options.allowed_algs.end()) {
      md.id_token_signing_algs.push_back(*alg);
    }
  }
  if (md.id_token_signing_algs.empty()) {
    return core::Fail(Invalid(
        "id_token_signing_alg_values_supported has no algorithm opsgate accepts (asymmetric "
        "RS/PS/ES/EdDSA only; none and HS* are refused)"));
  }
  const json::value* iss_param = obj.if_contains("authorization_response_iss_parameter_supported");
  if (iss_param != nullptr) {
    if (!iss_param->is_bool()) {
      return core::Fail(Invalid("authorization_response_iss_parameter_supported must be a boolean"));
    }
    md.authorization_response_iss_parameter_supported = iss_param->as_bool();
  }
  return md;
}

Discovery::Discovery(DiscoveryOptions options, http::HttpClient& http, const core::Clock& clock)
    : options_(std::move(options)), http_(http), clock_(clock) {}

size_t Discovery::fetch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetch_count_;
}

core::Result<ProviderMetadata> Discovery::Fetch() {
  http::OutboundRequest req;
  req.method = "GET";
  req.url = DiscoveryUrl(options_.issuer);
  req.headers = {{"Accept", "application/json"}};
  req.timeout = options_.fetch_timeout;
  const std::string where = http::RedactUrl(req.url);
  auto resp = http_.Send(req);
  if (!resp) {
    return core::Fail(core::Unavailable("OIDC discovery from " + where + " failed: " +
                                        resp.error().message));
  }
  if (resp->status != 200) {
    return core::Fail(core::Unavailable("OIDC discovery from " + where + " answered HTTP " +
                                        std::to_string(resp->status)));
  }
  if (resp->body.size() > options_.max_body_bytes) {
    return core::Fail(core::ResourceExhausted("OIDC discovery document from " + where +
                                              " is larger than " +
                                              std::to_string(options_.max_body_bytes) + " bytes"));
  }
  auto md = ParseProviderMetadata(resp->body, options_);
  if (!md) {
    return core::Fail(core::Error{md.error().code, md.error().message + " (from " + where + ")"});
  }
  return md;
}

core::Result<std::shared_ptr<const ProviderMetadata>> Discovery::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.SteadyNow();
  if (metadata_ && now < expires_) {
    return metadata_;
  }
  if (last_failure_ && now - *last_failure_ < options_.retry_interval) {
    if (metadata_) {
      return metadata_;  // stale but good, until the provider answers again
    }
    return core::Fail(*last_error_);
  }
  ++fetch_count_;
  auto fetched = Fetch();
  if (!fetched) {
    last_failure_ = now;
    last_error_ = fetched.error();
    if (metadata_) {
      return metadata_;
    }
    return core::Fail(fetched.error());
  }
  metadata_ = std::make_shared<const ProviderMetadata>(std::move(*fetched));
  expires_ = now + options_.ttl;
  last_failure_.reset();
  last_error_.reset();
  return metadata_;
}

}  // namespace opsgate::identity::oidc
