// File: opsgate/aws/sts.cc
#include "opsgate/aws/sts.h"

#include <boost/json.hpp>
#include <charconv>

#include "opsgate/aws/endpoints.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/aws/xml.h"

namespace opsgate::aws {
namespace {

constexpr std::chrono::seconds kMinDuration{900};
constexpr std::chrono::seconds kMaxDuration{43200};

bool ValidSessionName(std::string_view s) {
  if (s.size() < 2 || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' ||
                    c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

core::Status ValidateCommon(std::string_view role_arn, std::string_view session_name,
                            const std::optional<std::chrono::seconds>& duration) {
  if (role_arn.rfind("arn:", 0) != 0 || role_arn.size() < 20 || role_arn.size() > 2048) {
    return core::Fail(core::InvalidArgument(
        "STS: role ARN \"" + std::string(role_arn.substr(0, 200)) + "\" is not an IAM role ARN"));
  }
  if (!ValidSessionName(session_name)) {
    return core::Fail(core::InvalidArgument(
        "STS: RoleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-]"));
  }
  if (duration && (*duration < kMinDuration || *duration > kMaxDuration)) {
    return core::Fail(core::InvalidArgument(
        "STS: DurationSeconds " + std::to_string(duration->count()) + " outside 900..43200"));
  }
  return core::Ok();
}

std::string_view StripException(std::string_view code) {
  constexpr std::string_view kSuffix = "Exception";
  if (code.size() > kSuffix.size() && code.substr(code.size() - kSuffix.size()) == kSuffix) {
    return code.substr(0, code.size() - kSuffix.size());
  }
  return code;
}

}  // namespace

core::Result<QueryParams> AssumeRoleParams(const AssumeRoleRequest& request) {
  OPSGATE_RETURN_IF_ERROR(
      ValidateCommon(request.role_arn, request.role_session_name, request.duration));
  if (request.tags.size() > 50) {
    return core::Fail(core::InvalidArgument("STS: at most 50 session tags"));
  }
  QueryParams p;
  p.Add("RoleArn", request.role_arn);
  p.Add("RoleSessionName", request.role_session_name);
  if (request.duration) {
    p.Add("DurationSeconds", std::to_string(request.duration->count()));
  }
  if (request.external_id) {
    p.Add("ExternalId", *request.external_id);
  }
  if (request.policy) {
    p.Add("Policy", *request.policy);
  }
  if (request.source_identity) {
    if (!ValidSessionName(*request.source_identity)) {
      return core::Fail(core::InvalidArgument(
          "STS: SourceIdentity must be 2-64 characters of [A-Za-z0-9_+=,.@-]"));
    }
    p.Add("SourceIdentity", *request.source_identity);
  }
  if (!request.tags.empty()) {
    std::vector<QueryValue> tags;
    for (const auto& [k, v] : request.tags) {
      if (k.empty() || k.size() > 128 || v.size() > 256) {
        return core::Fail(core::InvalidArgument(
            "STS: session tag keys are 1-128 characters, values at most 256"));
      }
      tags.push_back(QueryValue::Structure(
          {{"Key", QueryValue::String(k)}, {"Value", QueryValue::String(v)}}));
    }
    p.Add("Tags", QueryValue::List(std::move(tags)));
  }
  return p;
}

core::Result<AssumedRole> ParseAssumeRoleResponse(std::string_view body,
                                                  std::string_view operation) {
  const std::string where = "STS " + std::string(operation) + " response";
  XmlLimits limits;
  limits.max_bytes = 256 * 1024;
  limits.max_depth = 16;
  limits.max_elements = 1000;
  auto doc = ParseXml(body, limits);
  if (!doc) {
    return core::Fail(core::DataLoss(where + ": " + doc.error().message));
  }
  if (doc->name != std::string(operation) + "Response") {
    return core::Fail(core::DataLoss(where + ": unexpected root element <" + doc->name + ">"));
  }
  const XmlElement* result = doc->Child(std::string(operation) + "Result");
  const XmlElement* creds = result == nullptr ? nullptr : result->Child("Credentials");
  if (creds == nullptr) {
    return core::Fail(
        core::DataLoss(where + ": no " + std::string(operation) + "Result/Credentials element"));
  }
  AssumedRole out;
  out.credentials.access_key_id = std::string(creds->ChildText("AccessKeyId"));
  const std::string_view secret = creds->ChildText("SecretAccessKey");
  const std::string_view token = creds->ChildText("SessionToken");
  const std::string_view expiration = creds->ChildText("Expiration");
  if (out.credentials.access_key_id.empty() || secret.empty() || token.empty()) {
    return core::Fail(
        core::DataLoss(where + ": Credentials lack AccessKeyId, SecretAccessKey or SessionToken"));
  }
  auto expires = ParseIso8601Utc(expiration);
  if (!expires) {
    return core::Fail(core::DataLoss(where + ": Expiration is not an ISO 8601 UTC time"));
  }
  out.credentials.secret_access_key = core::Secret(std::string(secret));
  out.credentials.session_token = core::Secret(std::string(token));
  out.credentials.expires_at = *expires;
  out.assumed_role_arn = std::string(result->ChildText("AssumedRoleUser/Arn"));
  out.assumed_role_id = std::string(result->ChildText("AssumedRoleUser/AssumedRoleId"));
  if (auto si = result->OptionalChildText("SourceIdentity"); si && !si->empty()) {
    out.source_identity = std::string(*si);
  }
  if (auto pps = result->OptionalChildText("PackedPolicySize")) {
    int n = 0;
    if (std::from_chars(pps->data(), pps->data() + pps->size(), n).ec == std::errc()) {
      out.packed_policy_size = n;
    }
  }
  out.request_id = std::string(doc->ChildText("ResponseMetadata/RequestId"));
  return out;
}

core::Error StsError(const QueryError& error, std::string_view operation, std::string_view role_arn,
                     std::initializer_list<std::string_view> secrets) {
  const std::string code = std::string(StripException(error.code));
  std::string detail = ScrubSecrets(error.message, secrets);
  std::string suffix = " [";
  suffix += error.code.empty() ? "HTTP " + std::to_string(error.http_status) : error.code;
  if (!error.request_id.empty()) {
    suffix += ", request id " + error.request_id;
  }
  suffix += "]";
  const std::string op = "STS " + std::string(operation) + " " + std::string(role_arn);
  auto msg = [&](std::string_view what) {
    return op + ": " + std::string(what) + (detail.empty() ? "" : ": " + detail) + suffix;
  };
  if (error.clock_skew) {
    std::string what = "request rejected for clock skew; check this host's clock (NTP)";
    if (error.skew) {
      what += ", measured offset " + std::to_string(error.skew->count()) + " s";
    }
    return core::FailedPrecondition(msg(what));
  }
  if (error.throttling) {
    return core::Unavailable(msg("throttled by STS, retry later"));
  }
  if (code == "AccessDenied" || code == "NotAuthorized") {
    return core::PermissionDenied(msg("not allowed to assume role " + std::string(role_arn)));
  }
  if (code == "ExpiredToken") {
    return core::Unauthenticated(msg(operation == "AssumeRoleWithWebIdentity"
                                         ? "the web identity token has expired"
                                         : "the caller's session token has expired"));
  }
  if (code == "InvalidClientTokenId" || code == "UnrecognizedClient" ||
      code == "SignatureDoesNotMatch" || code == "IncompleteSignature" ||
      code == "MissingAuthenticationToken") {
    return core::Unauthenticated(msg("the caller's credentials were not accepted"));
  }
  if (code == "InvalidIdentityToken" || code == "IDPRejectedClaim") {
    return core::Unauthenticated(msg("the web identity token was rejected"));
  }
  if (code == "IDPCommunicationError") {
    return core::Unavailable(msg("STS could not reach the identity provider"));
  }
  if (code == "RegionDisabled") {
    return core::FailedPrecondition(msg("STS is not activated in this region for the account"));
  }
  if (code == "MalformedPolicyDocument") {
    return core::InvalidArgument(msg("the session policy is malformed"));
  }
  if (code == "PackedPolicyTooLarge") {
    return core::InvalidArgument(msg("the session policy and tags are too large"));
  }
  if (code == "ValidationError" || code == "InvalidParameterValue" || code == "MissingParameter" ||
      code == "InvalidParameterCombination" || code == "MalformedQueryString" ||
      code == "InvalidAction") {
    return core::InvalidArgument(msg("invalid request"));
  }
  if (error.http_status >= 500 || error.retryable) {
    return core::Unavailable(msg("STS unavailable"));
  }
  return core::FailedPrecondition(msg("STS refused the request"));
}

SigV4StsClient::SigV4StsClient(http::HttpClient& http, EnvLookup env, const core::Clock& clock,
                               std::string region)
    : http_(http), env_(std::move(env)), clock_(clock), region_(std::move(region)) {}

core::Result<Credentials> SigV4StsClient::AssumeRole(const AssumeRoleRequest& request,
                                                     const Credentials& caller) {
  auto r = AssumeRoleDetailed(request, caller);
  if (!r) {
    return core::Fail(r.error());
  }
  return std::move(r->credentials);
}

core::Result<Credentials> SigV4StsClient::AssumeRoleWithWebIdentity(
    const AssumeRoleWithWebIdentityRequest& request) {
  auto r = AssumeRoleWithWebIdentityDetailed(request);
  if (!r) {
    return core::Fail(r.error());
  }
  return std::move(r->credentials);
}

core::Result<AssumedRole> SigV4StsClient::AssumeRoleDetailed(const AssumeRoleRequest& request,
                                                             const Credentials& caller) {
  auto params = AssumeRoleParams(request);
  if (!params) {
    return core::Fail(params.error());
  }
  auto ep = ResolveEndpoint("sts", region_, env_);
  if (!ep) {
    return core::Fail(ep.error());
  }
  HttpRequestToSign to_sign;
  to_sign.method = "POST";
  to_sign.host = ep->HostHeader();
  to_sign.path = ep->base_path + "/";
  to_sign.headers = {{"Content-Type", std::string(kQueryContentType)}};
  to_sign.body = EncodeQuery("AssumeRole", kStsVersion, *params);
  auto signed_headers =
      SignRequest(to_sign, caller, ep->signing_region, ep->signing_service, clock_.Now());
  if (!signed_headers) {
    return core::Fail(
        core::Error{signed_headers.error().code,
                    "STS AssumeRole " + request.role_arn + ": " + signed_headers.error().message});
  }
  http::OutboundRequest out;
  out.method = "POST";
  out.url = ep->Url() + "/";
  out.headers = to_sign.headers;
  for (auto& h : signed_headers->add) {
    out.headers.push_back(std::move(h));
  }
  out.body = std::move(to_sign.body);
  auto resp = http_.Send(out);
  if (!resp) {
    return core::Fail(core::Error{
        resp.error().code, "STS AssumeRole " + request.role_arn + ": " + resp.error().message});
  }
  if (resp->status != 200) {
    const std::string_view token =
        caller.session_token ? caller.session_token->Reveal() : std::string_view();
    return core::Fail(StsError(ParseQueryError(resp->status, resp->body), "AssumeRole",
                               request.role_arn, {caller.secret_access_key.Reveal(), token}));
  }
  auto parsed = ParseAssumeRoleResponse(resp->body, "AssumeRole");
  if (!parsed) {
    return core::Fail(core::Error{parsed.error().code,
                                  parsed.error().message + " (role " + request.role_arn + ")"});
  }
  return parsed;
}

core::Result<AssumedRole> SigV4StsClient::AssumeRoleWithWebIdentityDetailed(
    const AssumeRoleWithWebIdentityRequest& request) {
  OPSGATE_RETURN_IF_ERROR(
      ValidateCommon(request.role_arn, request.role_session_name, request.duration));
  if (request.web_identity_token.empty()) {
    return core::Fail(core::InvalidArgument("STS AssumeRoleWithWebIdentity " + request.role_arn +
                                            ": empty web identity token"));
  }
  auto ep = ResolveEndpoint("sts", region_, env_);
  if (!ep) {
    return core::Fail(ep.error());
  }
  QueryParams p;
  p.Add("RoleArn", request.role_arn);
  p.Add("RoleSessionName", request.role_session_name);
  p.Add("WebIdentityToken", std::string(request.web_identity_token.Reveal()));
  if (request.duration) {
    p.Add("DurationSeconds", std::to_string(request.duration->count()));
  }
  http::OutboundRequest out;
  out.method = "POST";
  out.url = ep->Url() + "/";
  out.headers = {{"Content-Type", std::string(kQueryContentType)}};
  out.body = EncodeQuery("AssumeRoleWithWebIdentity", kStsVersion, p);
  auto resp = http_.Send(out);
  if (!resp) {
    return core::Fail(core::Error{
        resp.error().code,
        "STS AssumeRoleWithWebIdentity " + request.role_arn + ": " + resp.error().message});
  }
  if (resp->status != 200) {
    return core::Fail(StsError(ParseQueryError(resp->status, resp->body),
                               "AssumeRoleWithWebIdentity", request.role_arn,
                               {request.web_identity_token.Reveal()}));
  }
  auto parsed = ParseAssumeRoleResponse(resp->body, "AssumeRoleWithWebIdentity");
  if (!parsed) {
    return core::Fail(core::Error{parsed.error().code,
                                  parsed.error().message + " (role " + request.role_arn + ")"});
  }
  return parsed;
}

ApiResult<std::string> DecodeAuthorizationMessage(const ApiClient& api, std::string_view region,
                                                  const Credentials& credentials,
                                                  std::string_view encoded) {
  QueryParams p;
  p.Add("EncodedMessage", std::string(encoded));
  auto body = api.Call(ApiCall::Query("sts", std::string(region), "DecodeAuthorizationMessage",
                                      EncodeQuery("DecodeAuthorizationMessage", kStsVersion, p)),
                       credentials);
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto doc = ParseResponseDocument(*body, "sts", "DecodeAuthorizationMessage");
  if (!doc) {
    return tl::unexpected(LocalApiError(doc.error()));
  }
  const XmlElement* decoded = doc->Find("DecodeAuthorizationMessageResult/DecodedMessage");
  if (decoded == nullptr) {
    return tl::unexpected(LocalApiError(
        core::DataLoss("sts DecodeAuthorizationMessage response: no DecodedMessage element")));
  }
  return std::string(decoded->text);
}

std::string_view EncodedAuthorizationMessage(std::string_view aws_message) {
  constexpr std::string_view kMarker = "Encoded authorization failure message:";
  const size_t at = aws_message.find(kMarker);
  if (at == std::string_view::npos) {
    return {};
  }
  std::string_view rest = aws_message.substr(at + kMarker.size());
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  const size_t end = rest.find_first_of(" \t\r\n");
  return rest.substr(0, end);
}

std::string DescribeDecodedAuthorization(std::string_view decoded_json) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 32;
  const boost::json::value v = boost::json::parse(decoded_json, ec, {}, options);
  if (ec || !v.is_object()) {
    return "";
  }
  const boost::json::object& o = v.get_object();
  const boost::json::value* context = o.if_contains("context");
  if (context == nullptr || !context->is_object()) {
    return "";
  }
  auto text = [&](const char* key) -> std::string {
    const boost::json::value* f = context->get_object().if_contains(key);
    return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  const std::string action = text("action");
  if (action.empty()) {
    return "";
  }
  std::string out = action;
  if (const std::string resource = text("resource"); !resource.empty()) {
    out += " on " + resource;
  }
  const boost::json::value* deny = o.if_contains("explicitDeny");
  out += deny != nullptr && deny->is_bool() && deny->get_bool()
             ? " (an explicit deny in a policy matched)"
             : " (no policy allows it)";
  return out;
}

}  // namespace opsgate::aws
