// File: opsgate/aws/sts.h
//
// The STS client over the Query protocol (docs/aws.md#sts): AssumeRole signed with the
// caller's credentials (SigV4, service "sts"), AssumeRoleWithWebIdentity unsigned, both
// POST to ResolveEndpoint("sts", region, env) with Version 2011-06-15.
//
//   SigV4StsClient sts(http, ProcessEnv(), clock, "eu-west-1");
//   AssumeRoleRequest req{.role_arn = arn, .role_session_name = "alice", ...};
//   core::Result<AssumedRole> r = sts.AssumeRoleDetailed(req, caller);
//   // r->credentials (with session_token, expires_at), r->assumed_role_arn
//
// Errors (ParseQueryError, then):
//   kPermissionDenied    AccessDenied (naming the role)
//   kUnauthenticated     ExpiredToken, InvalidClientTokenId, SignatureDoesNotMatch,
//                        InvalidIdentityToken, IDPRejectedClaim
//   kFailedPrecondition  RegionDisabled, clock skew (RequestExpired, "Signature expired",
//                        with the measured offset), other 4xx
//   kInvalidArgument     MalformedPolicyDocument, PackedPolicyTooLarge, ValidationError,
//                        a request that fails local validation
//   kUnavailable         Throttling/5xx/IDPCommunicationError (retry may help), transport
//   kDataLoss            a 200 response without the expected elements
// Each names the operation, the role, AWS's code and request id. No error contains the
// secret access key, session token or web identity token (AWS's message is scrubbed of
// them too).
//
// Thread-safety: as safe as the HttpClient (no mutable state).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/credentials.h"
#include "opsgate/aws/query.h"
#include "opsgate/aws/shared_config.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"

namespace opsgate::aws {

inline constexpr std::string_view kStsVersion = "2011-06-15";

// What AssumeRole / AssumeRoleWithWebIdentity return beyond the credentials.
struct AssumedRole {
  Credentials credentials;
  // arn:aws:sts::123456789012:assumed-role/<role>/<session>
  std::string assumed_role_arn;
  // AROA...:<session>
  std::string assumed_role_id;
  std::optional<std::string> source_identity;
  // AssumeRole: percentage of the packed policy size limit used.
  std::optional<int> packed_policy_size;
  std::string request_id;
};

class SigV4StsClient final : public StsClient {
 public:
  // `region` may be "" (AWS_REGION / AWS_DEFAULT_REGION then). `http` and `clock` must
  // outlive the client.
  SigV4StsClient(http::HttpClient& http, EnvLookup env, const core::Clock& clock,
                 std::string region);

  core::Result<Credentials> AssumeRole(const AssumeRoleRequest& request,
                                       const Credentials& caller) override;
  core::Result<Credentials> AssumeRoleWithWebIdentity(
      const AssumeRoleWithWebIdentityRequest& request) override;

  [[nodiscard]] core::Result<AssumedRole> AssumeRoleDetailed(const AssumeRoleRequest& request,
                                                             const Credentials& caller);
  [[nodiscard]] core::Result<AssumedRole> AssumeRoleWithWebIdentityDetailed(
      const AssumeRoleWithWebIdentityRequest& request);

 private:
  http::HttpClient& http_;
  EnvLookup env_;
  const core::Clock& clock_;
  std::string region_;
};

// sts:DecodeAuthorizationMessage: the JSON AWS encoded in an UnauthorizedOperation
// message (the denied action, resource, whether an explicit deny matched), made through
// `api` with `credentials` (a session allowed to decode). Errors as ApiClient's;
// kDataLoss for an answer without DecodedMessage.
[[nodiscard]] ApiResult<std::string> DecodeAuthorizationMessage(const ApiClient& api,
                                                                std::string_view region,
                                                                const Credentials& credentials,
                                                                std::string_view encoded);

// The encoded part of an UnauthorizedOperation message ("... Encoded authorization failure
// message: <token>"), or "" when there is none.
std::string_view EncodedAuthorizationMessage(std::string_view aws_message);

// What a decoded message says was refused: "ec2:StopInstances on arn:aws:ec2:... (no
// policy allows it)" or "(an explicit deny in a policy matched)"; "" when `decoded_json`
// does not say.
std::string DescribeDecodedAuthorization(std::string_view decoded_json);

// ---- Pieces exposed for tests ----------------------------------------------------------

// The AssumeRole parameters (RoleArn, RoleSessionName, DurationSeconds, ExternalId, Policy,
// SourceIdentity, Tags.member.N.Key/Value), after local validation (kInvalidArgument).
[[nodiscard]] core::Result<QueryParams> AssumeRoleParams(const AssumeRoleRequest& request);

// Parses <OpResponse><OpResult>... for `operation` ("AssumeRole",
// "AssumeRoleWithWebIdentity"). kDataLoss when an element is missing or malformed.
[[nodiscard]] core::Result<AssumedRole> ParseAssumeRoleResponse(std::string_view body,
                                                                std::string_view operation);

// The core::Error for an STS error response. `secrets` are scrubbed from AWS's message.
core::Error StsError(const QueryError& error, std::string_view operation, std::string_view role_arn,
                     std::initializer_list<std::string_view> secrets = {});

}  // namespace opsgate::aws
