// File: opsgate/aws/sigv4.h
//
// AWS Signature Version 4 (HMAC-SHA256): header signing (Authorization), query signing
// (presigned URLs with X-Amz-Expires) and temporary credentials (X-Amz-Security-Token).
// Passes both official AWS suites (docs/aws.md#sigv4).
//
//   Credentials creds{"AKID...", core::Secret(secret), std::nullopt, std::nullopt};
//   HttpRequestToSign req{"POST", "ec2.eu-west-1.amazonaws.com", "/", "",
//                         {{"Content-Type", "application/x-www-form-urlencoded"}}, body};
//   auto signed_headers = SignRequest(req, creds, "eu-west-1", "ec2", clock.Now());
//   if (!signed_headers) { return core::Fail(signed_headers.error()); }
//   for (auto& [name, value] : signed_headers->add) { http_request.headers.push_back(...); }
//
// Errors (kInvalidArgument, kFailedPrecondition for expired credentials) never contain
// the secret access key, the session token, the signing key or a signature. The values
// *returned* do carry the session token (x-amz-security-token) and the signature
// (Authorization, X-Amz-Signature): send them, never log them.
//
// Ownership: values in, values out. Thread-safety: every function is pure and safe to
// call from any thread.
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::aws {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Long-term (access key) or temporary (STS: with session_token and expires_at) credentials.
struct Credentials {
  std::string access_key_id;
  core::Secret secret_access_key;
  std::optional<core::Secret> session_token;
  // When set, signing at or after this instant fails with kFailedPrecondition.
  std::optional<core::Clock::WallTime> expires_at;
};

// `text` with every occurrence of each secret (of 4 or more bytes) replaced by
// "[redacted]": for messages that may quote credentials (AWS's own error messages).
std::string ScrubSecrets(std::string text, std::initializer_list<std::string_view> secrets);
// The same for a credential set's secret access key and session token.
std::string ScrubCredentials(std::string text, const Credentials& credentials);

// The request as it will go on the wire.
struct HttpRequestToSign {
  // "GET", "POST", ...
  std::string method;
  // Host (with ":port" when not the default). Signed as the `host` header when `headers`
  // has none; the HTTP client must send exactly this Host. May be empty when `headers`
  // carries Host.
  std::string host;
  // The path exactly as sent (already percent-encoded, or raw UTF-8); "" means "/".
  std::string path;
  // The raw query string without '?', exactly as sent ("" for none).
  std::string query;
  // Headers in send order. Duplicates are allowed (joined with ',' in order when signed).
  // Values may contain obs-folds ("\n" or "\r\n" followed by spaces/tabs).
  HeaderList headers;
  std::string body;
};

struct SignOptions {
  // Percent-encode the (already encoded) path once more, as every service but S3 expects.
  // false (S3): keep the path's own encoding, only upper-casing escapes and encoding
  // bytes outside the unreserved set.
  bool double_uri_encode = true;
  // Remove "." and ".." segments and collapse repeated '/'. false for S3.
  bool normalize_path = true;
  // Sign without the session token and add X-Amz-Security-Token afterwards (services
  // that want the token outside the signature; suite case post-sts-header-after).
  bool omit_session_token = false;
  // Header signing only: add and sign x-amz-content-sha256 (S3 needs it; the current
  // AWS suite's `sign_body`).
  bool sign_body = false;
  // Use "UNSIGNED-PAYLOAD" instead of SHA-256(body) as the payload hash.
  bool unsigned_payload = false;
};

// Result of header signing: the headers to add to the request, in this order:
// x-amz-date (unless the request carries it already), x-amz-security-token (unless
// present already), x-amz-content-sha256 (sign_body, unless present), authorization.
struct SignedHeaders {
  HeaderList add;
  // "host;x-amz-date": the SignedHeaders element of the Authorization value.
  std::string signed_header_names;
  // The credential scope "20150830/us-east-1/service/aws4_request".
  std::string credential_scope;
};

// Result of query signing.
struct PresignedRequest {
  // The request target to send: path, '?', the original query unchanged, then
  // X-Amz-Algorithm, -Credential, -Date, -SignedHeaders, -Expires, [-Security-Token],
  // -Signature. Carries the signature and the token: do not log.
  std::string target;
  // "https://" + host + target.
  std::string url;
  std::string signed_header_names;
};

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SigV4 accepts presigned URLs valid for at most 7 days.
inline constexpr std::chrono::seconds kMaxPresignExpiry{604800};

// Signs `request` in the Authorization header. kInvalidArgument on a malformed request,
// region, service or access key id, or when the request already has an Authorization
// header, or an x-amz-date / x-amz-security-token / x-amz-content-sha256 header that
// disagrees with `now`, the credentials or the payload. kFailedPrecondition when the
// credentials have expired.
[[nodiscard]] core::Result<SignedHeaders> SignRequest(
    const HttpRequestToSign& request, const Credentials& credentials, std::string_view region,
    std::string_view service, core::Clock::WallTime now, SignOptions options = {});

// Signs `request` in its query string (presigned URL) valid for `expires` (1 s to 7 days).
// The request's headers are signed (the holder of the URL must send them); x-amz-date
// is not added. `sign_body` is ignored. Errors as SignRequest, plus kInvalidArgument
// when the query already carries an X-Amz-* signing parameter.
[[nodiscard]] core::Result<PresignedRequest> PresignUrl(
    const HttpRequestToSign& request, const Credentials& credentials, std::string_view region,
    std::string_view service, core::Clock::WallTime now, std::chrono::seconds expires,
    SignOptions options = {});

// ---- The pieces, exposed for tests and diagnostics ----------------------------------

// "20150830T123600Z" (UTC).
std::string FormatAmzDate(core::Clock::WallTime t);

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service);

// The canonical request of `request` exactly as given (no header or parameter is
// added): method, canonical URI, canonical query, canonical headers, signed header
// names and `payload_hash`, joined by '\n'. kInvalidArgument on a malformed request.
[[nodiscard]] core::Result<std::string> CanonicalRequest(const HttpRequestToSign& request,
                                                         std::string_view payload_hash,
                                                         const SignOptions& options = {});

// The ';'-joined, sorted, lower-case names of the headers CanonicalRequest signs.
[[nodiscard]] core::Result<std::string> SignedHeaderNames(const HttpRequestToSign& request);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex(SHA-256(canonical_request))>".
std::string StringToSign(std::string_view amz_date, std::string_view credential_scope,
                         std::string_view canonical_request);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
// as 32 raw bytes. `date` is "yyyymmdd".
core::Secret DeriveSigningKey(const core::Secret& secret_access_key, std::string_view date,
                              std::string_view region, std::string_view service);

// Lower-case hex HMAC-SHA256(signing_key, string_to_sign).
std::string ComputeSignature(const core::Secret& signing_key, std::string_view string_to_sign);

// RFC 3986 percent-encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - _ . ~ becomes
// %XX (upper case); '/' is kept too when `keep_slash`.
std::string UriEncode(std::string_view bytes, bool keep_slash);

}  // namespace opsgate::aws
