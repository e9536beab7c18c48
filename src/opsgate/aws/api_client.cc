// File: opsgate/aws/api_client.cc
#include "opsgate/aws/api_client.h"

#include <algorithm>
#include <ctime>
#include <optional>
#include <random>
#include <thread>

#include "opsgate/aws/endpoints.h"
#include "opsgate/aws/query.h"
#include "opsgate/core/strings.h"

namespace opsgate::aws {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Seconds since the epoch of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<int64_t> ParseHttpDate(std::string_view date) {
  if (date.size() != 29 || date.substr(25) != " GMT") {
    return std::nullopt;
  }
  std::tm tm{};
  const std::string text(date);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

double DefaultRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

ApiCall ApiCall::Query(std::string service, std::string region, std::string operation,
                       std::string body) {
  ApiCall c;
  c.service = std::move(service);
  c.region = std::move(region);
  c.operation = std::move(operation);
  c.body = std::move(body);
  c.headers = {{"Content-Type", std::string(kQueryContentType)}};
  return c;
}

ApiCall ApiCall::Json(std::string service, std::string region, std::string operation,
                      std::string target, std::string body, std::string_view json_version) {
  ApiCall c;
  c.service = std::move(service);
  c.region = std::move(region);
  c.operation = std::move(operation);
  c.body = std::move(body);
  c.headers = {{"Content-Type", "application/x-amz-json-" + std::string(json_version)},
               {"X-Amz-Target", std::move(target)}};
  c.json = true;
  return c;
}

ApiError LocalApiError(core::Error error) {
  ApiError e;
  e.error = std::move(error);
  return e;
}

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, double random) {
  int64_t cap = base.count();
  for (int i = 1; i < attempt && cap < max.count(); ++i) {
    cap *= 2;
  }
  cap = std::min<int64_t>(cap, max.count());
  random = std::clamp(random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(cap) * random));
}

ApiError ApiErrorFromResponse(const ApiCall& call, int http_status, std::string_view body,
                              std::string_view error_type_header,
                              std::initializer_list<std::string_view> secrets) {
  const QueryError q = call.json ? ParseJsonError(http_status, body, error_type_header)
                                 : ParseQueryError(http_status, body);
  ApiError e;
  e.code = q.code;
  e.aws_message = ScrubSecrets(q.message, secrets);
  e.request_id = q.request_id;
  e.http_status = http_status;
  e.throttling = q.throttling;
  e.clock_skew = q.clock_skew;
  e.skew = q.skew;

  std::string suffix = " [";
  suffix += q.code.empty() ? "HTTP " + std::to_string(http_status) : q.code;
  if (!q.request_id.empty()) {
    suffix += ", request id " + q.request_id;
  }
  suffix += "]";
  const std::string op = std::string(call.service) + " " + call.operation;
  auto msg = [&](std::string_view what) {
    return op + ": " + std::string(what) + (e.aws_message.empty() ? "" : ": " + e.aws_message) +
           suffix;
  };
  const std::string_view code = q.code;
  if (q.clock_skew) {
    std::string what = "request rejected for clock skew; check this host's clock (NTP)";
    if (q.skew) {
      what += ", measured offset " + std::to_string(q.skew->count()) + " s";
    }
    e.error = core::FailedPrecondition(msg(what));
  } else if (q.throttling) {
    e.error = core::Unavailable(msg("throttled by AWS, retry later"));
  } else if (code == "UnauthorizedOperation" || code.starts_with("AccessDenied") ||
             code == "NotAuthorized" || code == "WAFPermissionException") {
    e.error = core::PermissionDenied(msg("not allowed"));
  } else if (code == "AuthFailure" || code == "InvalidClientTokenId" ||
             code == "UnrecognizedClientException" || code == "UnrecognizedClient" ||
             code == "ExpiredToken" || code == "ExpiredTokenException" ||
             code == "SignatureDoesNotMatch" || code == "InvalidSignatureException" ||
             code == "IncompleteSignature" || code == "MissingAuthenticationToken") {
    e.error = core::Unauthenticated(msg("the credentials were not accepted"));
  } else if (EndsWith(code, ".NotFound") || EndsWith(code, "NotFound") ||
             code == "WAFNonexistentItemException" || code == "ResourceNotFoundException") {
    e.error = core::NotFound(msg("not found"));
  } else if (code.starts_with("Invalid") || code.starts_with("Validation") ||
             code == "MissingParameter" || code == "MalformedQueryString" ||
             code == "WAFInvalidParameterException") {
    e.error = core::InvalidArgument(msg("invalid request"));
  } else if (http_status >= 500) {
    e.error = core::Unavailable(msg("AWS unavailable, retry later"));
  } else {
    e.error = core::FailedPrecondition(msg("refused"));
  }
  return e;
}

ApiClient::ApiClient(http::HttpClient& http, EnvLookup env, const core::Clock& clock,
                     Options options)
    : http_(http), env_(std::move(env)), clock_(clock), options_(std::move(options)) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  if (!options_.random) {
    options_.random = DefaultRandom;
  }
  options_.max_attempts = std::max(1, options_.max_attempts);
}

ApiResult<std::string> ApiClient::Call(const ApiCall& call, const Credentials& credentials) const {
  const std::string op = call.service + " " + call.operation;
  auto ep = ResolveEndpoint(call.service, call.region, env_);
  if (!ep) {
    return tl::unexpected(
        LocalApiError(core::Error{ep.error().code, op + ": " + ep.error().message}));
  }
  const std::string_view token =
      credentials.session_token ? credentials.session_token->Reveal() : std::string_view();
  for (int attempt = 1;; ++attempt) {
    HttpRequestToSign to_sign;
    to_sign.method = "POST";
    to_sign.host = ep->HostHeader();
    to_sign.path = ep->base_path + "/";
    to_sign.headers = call.headers;
    to_sign.body = call.body;
    auto signed_headers =
        SignRequest(to_sign, credentials, ep->signing_region, ep->signing_service, clock_.Now());
    if (!signed_headers) {
      return tl::unexpected(LocalApiError(
          core::Error{signed_headers.error().code, op + ": " + signed_headers.error().message}));
    }
    http::OutboundRequest out;
    out.method = "POST";
    out.url = ep->Url() + "/";
    out.headers = call.headers;
    for (auto& h : signed_headers->add) {
      out.headers.push_back(std::move(h));
    }
    out.body = call.body;
    out.timeout = options_.timeout;
    const auto sent_at = clock_.Now();
    auto resp = http_.Send(out);
    ApiError error;
    if (!resp) {
      error = LocalApiError(core::Error{resp.error().code, op + ": " + resp.error().message});
      // A request that may have reached AWS is not repeated unless it cannot have run:
      // only connection failures (kUnavailable) are retried.
      if (resp.error().code != core::ErrorCode::kUnavailable) {
        error.attempts = attempt;
        return tl::unexpected(std::move(error));
      }
    } else if (resp->status == 200) {
      return std::move(resp->body);
    } else {
      error = ApiErrorFromResponse(call, resp->status, resp->body,
                                   resp->Header("x-amzn-errortype").value_or(""),
                                   {credentials.secret_access_key.Reveal(), token});
      // RequestExpired names only our own timestamp: measure the offset against the
      // server's Date header instead.
      if (error.clock_skew && !error.skew) {
        if (auto server = ParseHttpDate(resp->Header("date").value_or(""))) {
          const auto ours =
              std::chrono::duration_cast<std::chrono::seconds>(sent_at.time_since_epoch());
          error.skew = std::chrono::seconds(*server - ours.count());
          error.error.message += " (measured offset " + std::to_string(error.skew->count()) +
                                 " s from the response's Date header)";
        }
      }
      if (!(error.throttling || (resp->status >= 500 && call.retry_server_errors))) {
        error.attempts = attempt;
        return tl::unexpected(std::move(error));
      }
    }
    error.attempts = attempt;
    if (attempt >= options_.max_attempts) {
      error.error.message += " (gave up after " + std::to_string(attempt) + " attempts)";
      return tl::unexpected(std::move(error));
    }
    options_.sleep(
        BackoffDelay(attempt, options_.base_delay, options_.max_delay, options_.random()));
  }
}

}  // namespace opsgate::aws
