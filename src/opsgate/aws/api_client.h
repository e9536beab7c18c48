// File: opsgate/aws/api_client.h
//
// One signed AWS API call, the way every service client here makes it
// (docs/aws.md#calling-aws): resolve the endpoint (endpoints.h), sign with SigV4
// (sigv4.h), send, and turn a non-200 answer into an ApiError. Throttling
// (Throttling, RequestLimitExceeded, HTTP 429, ...) and 5xx answers (unless the call
// says otherwise: ApiCall::retry_server_errors) are retried with
// jittered exponential back-off ("full jitter": a random wait in [0, min(cap, base * 2^n)]),
// at most `max_attempts` times in all.
//
//   ApiClient api(http, ProcessEnv(), clock, {});
//   ApiCall call = ApiCall::Query("ec2", "eu-west-1", "StopInstances",
//                                 EncodeQuery("StopInstances", kEc2Version, params));
//   tl::expected<std::string, ApiError> body = api.Call(call, session.credentials);
//
// Protocols: Query/EC2 (form body, ParseQueryError) and JSON 1.0/1.1 (X-Amz-Target,
// errors as {"__type": "...#Code", "message": "..."}).
//
// No ApiError message contains the secret access key or session token of the credentials
// used (AWS's own message is scrubbed of them too), nor a signature.
//
// Thread-safety: safe to call from several threads when the HttpClient is.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "opsgate/aws/shared_config.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"

namespace opsgate::aws {

struct ApiCall {
  // The SigV4 signing name: "ec2", "autoscaling", "wafv2", "monitoring".
  std::string service;
  // "" means AWS_REGION / AWS_DEFAULT_REGION.
  std::string region;
  // "StopInstances": for errors and logs.
  std::string operation;
  std::string body;
  // Content-Type and, for JSON protocols, X-Amz-Target.
  HeaderList headers;
  bool json = false;
  // Retry a 5xx answer. False for writes that may have been applied although AWS
  // answered 5xx and whose repetition would be misread (a WAF update with a lock token
  // that the first attempt already consumed); throttled calls are always retried.
  bool retry_server_errors = true;

  // A Query/EC2 protocol call (body from EncodeQuery).
  static ApiCall Query(std::string service, std::string region, std::string operation,
                       std::string body);
  // A JSON protocol call: `target` is "AWSWAF_20190729.GetIPSet"; `json_version` "1.1".
  static ApiCall Json(std::string service, std::string region, std::string operation,
                      std::string target, std::string body, std::string_view json_version = "1.1");
};

struct ApiError {
  // kPermissionDenied (UnauthorizedOperation, AccessDenied*), kNotFound (*.NotFound,
  // *NonexistentException, WAFNonexistentItemException), kFailedPrecondition
  // (IncorrectInstanceState, clock skew, WAFOptimisticLockException, other 4xx),
  // kInvalidArgument (Invalid*/Validation*), kUnauthenticated (AuthFailure,
  // InvalidClientTokenId, ExpiredToken, SignatureDoesNotMatch without a time problem),
  // kUnavailable (throttling or 5xx after the retries, transport), kDataLoss (a 200
  // body the caller could not read; set by callers).
  core::Error error;
  // AWS's error code ("InvalidInstanceID.NotFound"); "" for transport errors.
  std::string code;
  // AWS's message, scrubbed of secrets; "" when none.
  std::string aws_message;
  std::string request_id;
  int http_status = 0;
  bool throttling = false;
  bool clock_skew = false;
  // Server time minus our time, when AWS's message states both.
  std::optional<std::chrono::seconds> skew;
  int attempts = 0;
};

template <class T>
using ApiResult = tl::expected<T, ApiError>;

class ApiClient {
 public:
  struct Options {
    // Attempts in all (the first plus retries) for throttling and 5xx answers.
    int max_attempts = 4;
    std::chrono::milliseconds base_delay{200};
    std::chrono::milliseconds max_delay{5000};
    std::chrono::milliseconds timeout{10000};
    // Waits between attempts; tests pass one that records and returns at once.
    std::function<void(std::chrono::milliseconds)> sleep;
    // A uniform random number in [0, 1); default: a thread-local std::mt19937_64.
    std::function<double()> random;
  };

  // `http` and `clock` must outlive the client.
  ApiClient(http::HttpClient& http, EnvLookup env, const core::Clock& clock, Options options);

  // The 200 body, or the error. Retries as described above.
  [[nodiscard]] ApiResult<std::string> Call(const ApiCall& call,
                                            const Credentials& credentials) const;

  const EnvLookup& env() const { return env_; }
  const core::Clock& clock() const { return clock_; }

 private:
  http::HttpClient& http_;
  EnvLookup env_;
  const core::Clock& clock_;
  Options options_;
};

// ---- Pieces exposed for tests ----------------------------------------------------------

// The ApiError for a non-200 answer (either protocol; `error_type_header` is the
// X-Amzn-ErrorType header of a JSON answer, "" if none), scrubbed of `secrets`.
ApiError ApiErrorFromResponse(const ApiCall& call, int http_status, std::string_view body,
                              std::string_view error_type_header,
                              std::initializer_list<std::string_view> secrets);

// The wait before attempt `attempt` (1 = the first retry): random * min(max, base * 2^(attempt-1)).
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, double random);

// An ApiError whose only content is `error` (a local failure before or after the call).
ApiError LocalApiError(core::Error error);

}  // namespace opsgate::aws
