// File: opsgate/aws/query.h
//
// The AWS Query protocol (STS, Auto Scaling, CloudWatch: "awsQuery") and its EC2 variant
// ("ec2"): request bodies and error responses (docs/aws.md#query-protocol).
//
//   QueryParams p;                                    // protocol kQuery by default
//   p.Add("RoleArn", "arn:aws:iam::123456789012:role/ops");
//   p.Add("Tags", QueryValue::List({QueryValue::Structure({{"Key", QueryValue::String("k")},
//                                                          {"Value", QueryValue::String("v")}})}));
//   std::string body = EncodeQuery("AssumeRole", "2011-06-15", p);
//   // Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws...&Tags.member.1.Key=k&...
//
// Serialization follows botocore's serializers (passes its protocol input suites):
//   structure  Prefix.Member
//   list       query: Prefix.member.N (member_name overrides "member"), flattened Prefix.N,
//                     an empty list is "Prefix=";  ec2: always Prefix.N, empty omitted
//   map        Prefix.entry.N.key / Prefix.entry.N.value (flattened: Prefix.N.key ...),
//              key_name/value_name override "key"/"value"; an empty map is omitted
// Members keep their insertion order; N counts from 1. Names and values are
// percent-encoded as SigV4 wants (unreserved characters only kept).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/xml.h"
#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

enum class QueryProtocol { kQuery, kEc2 };

struct QueryMember;

struct QueryValue {
  enum class Kind { kScalar, kStructure, kList, kMap };
  Kind kind = Kind::kScalar;
  std::string scalar;
  // kStructure: (serialized member name, value); kMap: (key, value).
  std::vector<QueryMember> members;
  // kList items.
  std::vector<QueryValue> items;
  // kList/kMap, query protocol only (EC2 lists are always flattened).
  bool flattened = false;
  std::string member_name = "member";
  std::string key_name = "key";
  std::string value_name = "value";

  static QueryValue String(std::string s);
  static QueryValue Bool(bool b);
  static QueryValue Int(int64_t i);
  // ISO 8601 UTC, whole seconds: "2015-01-25T08:00:00Z".
  static QueryValue Timestamp(core::Clock::WallTime t);
  static QueryValue Structure(std::vector<QueryMember> members);
  static QueryValue List(std::vector<QueryValue> items);
  static QueryValue StringList(const std::vector<std::string>& items);
  static QueryValue Map(std::vector<QueryMember> entries);
};

// A structure member or map entry. (A named struct rather than std::pair, which may not
// be instantiated with the still incomplete QueryValue inside it.)
struct QueryMember {
  std::string name;  // the serialized member name, or the map key
  QueryValue value;
};

struct QueryParams {
  QueryProtocol protocol = QueryProtocol::kQuery;
  // Top-level members in order.
  std::vector<QueryMember> members;

  QueryParams& Add(std::string name, QueryValue value);
  QueryParams& Add(std::string name, std::string value);
};

// The flattened (name, value) pairs of `params`, unencoded, without Action/Version.
std::vector<std::pair<std::string, std::string>> FlattenQuery(const QueryParams& params);

// "Action=<action>&Version=<version>&..." form-encoded (application/x-www-form-urlencoded).
std::string EncodeQuery(std::string_view action, std::string_view version,
                        const QueryParams& params);

// Content-Type of a Query request body.
inline constexpr std::string_view kQueryContentType =
    "application/x-www-form-urlencoded; charset=utf-8";

// An error response of either shape:
//   query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
//   ec2:   <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
struct QueryError {
  int http_status = 0;
  // "" when the body was not a recognizable error document.
  std::string code;
  // AWS's message, or a description of the HTTP status when the body was not XML.
  std::string message;
  std::string request_id;
  // "Sender"/"Receiver" (query protocol only).
  std::string type;
  // Throttling, ThrottlingException, RequestLimitExceeded, ... or HTTP 429.
  bool throttling = false;
  // RequestExpired, RequestTimeTooSkewed, RequestInTheFuture, or a SignatureDoesNotMatch /
  // AuthFailure / InvalidSignatureException whose message says the signature expired or
  // is not yet current.
  bool clock_skew = false;
  // Server time minus request time, when the message states both ("Signature expired:
  // 20260101T000000Z is now earlier than ... (20260101T002000Z - 15 min.)").
  std::optional<std::chrono::seconds> skew;
  // throttling, or HTTP 5xx.
  bool retryable = false;
};

// Never fails: an unparsable body yields a QueryError with an empty code and a message
// naming only the HTTP status (the body is never quoted).
QueryError ParseQueryError(int http_status, std::string_view body);

// The same for the JSON protocols (WAFv2): {"__type": "...#Code", "message": "..."}; the
// X-Amzn-ErrorType header, when given, names the code.
QueryError ParseJsonError(int http_status, std::string_view body,
                          std::string_view error_type_header = {});

bool IsThrottlingCode(std::string_view code);

// The document of a 200 answer to `operation`, whose root must be <OperationResponse>.
// kDataLoss ("<service> <operation> response: ...") for anything else.
[[nodiscard]] core::Result<XmlElement> ParseResponseDocument(std::string_view body,
                                                             std::string_view service,
                                                             std::string_view operation);

}  // namespace opsgate::aws
