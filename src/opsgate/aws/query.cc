// File: opsgate/aws/query.cc
#include "opsgate/aws/query.h"

#include <array>
#include <boost/json.hpp>
#include <ctime>

#include "opsgate/aws/sigv4.h"
#include "opsgate/aws/xml.h"

namespace opsgate::aws {
namespace {

void Flatten(QueryProtocol protocol, const std::string& prefix, const QueryValue& v,
             std::vector<std::pair<std::string, std::string>>& out) {
  auto join = [&](std::string_view name) {
    return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
  };
  switch (v.kind) {
    case QueryValue::Kind::kScalar:
      out.emplace_back(prefix, v.scalar);
      return;
    case QueryValue::Kind::kStructure:
      for (const auto& [name, member] : v.members) {
        Flatten(protocol, join(name), member, out);
      }
      return;
    case QueryValue::Kind::kList: {
      if (v.items.empty()) {
        if (protocol == QueryProtocol::kQuery) {
          out.emplace_back(prefix, "");
        }
        return;
      }
      const bool flat = protocol == QueryProtocol::kEc2 || v.flattened;
      const std::string base = flat ? prefix : join(v.member_name);
      for (size_t i = 0; i < v.items.size(); ++i) {
        Flatten(protocol, base + "." + std::to_string(i + 1), v.items[i], out);
      }
      return;
    }
    case QueryValue::Kind::kMap: {
      const std::string base = v.flattened ? prefix : join("entry");
      for (size_t i = 0; i < v.members.size(); ++i) {
        const std::string entry = base + "." + std::to_string(i + 1);
        out.emplace_back(entry + "." + v.key_name, v.members[i].name);
        Flatten(protocol, entry + "." + v.value_name, v.members[i].value, out);
      }
      return;
    }
  }
}

// "20260101T000000Z" at `s` -> seconds since the epoch.
std::optional<int64_t> ParseAmzDate(std::string_view s) {
  if (s.size() < 16 || s[8] != 'T' || s[15] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    int n = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return std::nullopt;
      }
      n = n * 10 + (s[i] - '0');
    }
    return n;
  };
  auto y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
       se = num(13, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) {
    return std::nullopt;
  }
  const std::chrono::sys_days days = std::chrono::year{*y} /
                                     std::chrono::month{static_cast<unsigned>(*mo)} /
                                     std::chrono::day{static_cast<unsigned>(*d)};
  return days.time_since_epoch().count() * int64_t{86400} + *h * 3600 + *mi * 60 + *se;
}

// "... <request> is now earlier than ... (<server> - 15 min.)" and the "not yet current"
// variant: server minus request.
std::optional<std::chrono::seconds> SkewFromMessage(std::string_view m) {
  const size_t colon = m.find(": ");
  const size_t paren = m.rfind('(');
  if (colon == std::string_view::npos || paren == std::string_view::npos || paren < colon) {
    return std::nullopt;
  }
  auto request = ParseAmzDate(m.substr(colon + 2));
  auto server = ParseAmzDate(m.substr(paren + 1));
  if (!request || !server) {
    return std::nullopt;
  }
  return std::chrono::seconds(*server - *request);
}

// Sets throttling, clock_skew, skew and retryable from code, message and status.
void Classify(QueryError& e);

}  // namespace

QueryValue QueryValue::String(std::string s) {
  QueryValue v;
  v.scalar = std::move(s);
  return v;
}
QueryValue QueryValue::Bool(bool b) { return String(b ? "true" : "false"); }
QueryValue QueryValue::Int(int64_t i) { return String(std::to_string(i)); }
QueryValue QueryValue::Timestamp(core::Clock::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> buf{};
  const size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return String(std::string(buf.data(), n));
}
QueryValue QueryValue::Structure(std::vector<QueryMember> members) {
  QueryValue v;
  v.kind = Kind::kStructure;
  v.members = std::move(members);
  return v;
}
QueryValue QueryValue::List(std::vector<QueryValue> items) {
  QueryValue v;
  v.kind = Kind::kList;
  v.items = std::move(items);
  return v;
}
QueryValue QueryValue::StringList(const std::vector<std::string>& items) {
  std::vector<QueryValue> values;
  values.reserve(items.size());
  for (const auto& s : items) {
    values.push_back(String(s));
  }
  return List(std::move(values));
}
QueryValue QueryValue::Map(std::vector<QueryMember> entries) {
  QueryValue v;
  v.kind = Kind::kMap;
  v.members = std::move(entries);
  return v;
}

QueryParams& QueryParams::Add(std::string name, QueryValue value) {
  members.push_back({std::move(name), std::move(value)});
  return *this;
}
QueryParams& QueryParams::Add(std::string name, std::string value) {
  return Add(std::move(name), QueryValue::String(std::move(value)));
}

std::vector<std::pair<std::string, std::string>> FlattenQuery(const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : params.members) {
    Flatten(params.protocol, name, value, out);
  }
  return out;
}

std::string EncodeQuery(std::string_view action, std::string_view version,
                        const QueryParams& params) {
  std::string body = "Action=" + UriEncode(action, false) + "&Version=" + UriEncode(version, false);
  for (const auto& [name, value] : FlattenQuery(params)) {
    body += '&';
    body += UriEncode(name, false);
    body += '=';
    body += UriEncode(value, false);
  }
  return body;
}

bool IsThrottlingCode(std::string_view code) {
  static constexpr std::array<std::string_view, 14> kCodes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException"};
  for (std::string_view c : kCodes) {
    if (c == code) {
      return true;
    }
  }
  return false;
}

core::Result<XmlElement> ParseResponseDocument(std::string_view body, std::string_view service,
                                               std::string_view operation) {
  const std::string where = std::string(service) + " " + std::string(operation) + " response";
  auto doc = ParseXml(body);
  if (!doc) {
    return core::Fail(core::DataLoss(where + ": " + doc.error().message));
  }
  const std::string want = std::string(operation) + "Response";
  if (doc->name != want) {
    return core::Fail(core::DataLoss(where + ": unexpected root element <" + doc->name +
                                     ">, expected <" + want + ">"));
  }
  return doc;
}

QueryError ParseQueryError(int http_status, std::string_view body) {
  QueryError e;
  e.http_status = http_status;
  XmlLimits limits;
  limits.max_bytes = 256 * 1024;
  limits.max_depth = 16;
  limits.max_elements = 1000;
  auto doc = ParseXml(body, limits);
  const XmlElement* error = nullptr;
  if (doc) {
    if (doc->name == "ErrorResponse") {
      error = doc->Child("Error");
      e.request_id = std::string(doc->ChildText("RequestId"));
    } else if (doc->name == "Response") {
      error = doc->Find("Errors/Error");
      e.request_id = std::string(doc->ChildText("RequestID"));
      if (e.request_id.empty()) {
        e.request_id = std::string(doc->ChildText("RequestId"));
      }
    } else if (doc->name == "Error") {  // bare <Error> (some endpoints)
      error = &*doc;
      e.request_id = std::string(doc->ChildText("RequestId"));
    }
  }
  if (error != nullptr) {
    e.code = std::string(error->ChildText("Code"));
    e.message = std::string(error->ChildText("Message"));
    e.type = std::string(error->ChildText("Type"));
  }
  if (e.code.empty()) {
    e.message = "HTTP " + std::to_string(http_status) + " without an AWS error document";
  }
  Classify(e);
  return e;
}

QueryError ParseJsonError(int http_status, std::string_view body,
                          std::string_view error_type_header) {
  QueryError e;
  e.http_status = http_status;
  // "aws.protocoltests.json#FooError" or "FooError:http://internal.amazon.com/...".
  auto bare = [](std::string_view type) {
    if (size_t hash = type.rfind('#'); hash != std::string_view::npos) {
      type = type.substr(hash + 1);
    }
    if (size_t colon = type.find(':'); colon != std::string_view::npos) {
      type = type.substr(0, colon);
    }
    return std::string(type);
  };
  if (body.size() <= 256 * 1024) {
    boost::json::parse_options options;
    options.max_depth = 16;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(body, ec, {}, options);
    if (!ec && doc.is_object()) {
      const auto& o = doc.get_object();
      for (const char* key : {"__type", "code", "Code"}) {
        if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
          e.code = bare(v->get_string());
          break;
        }
      }
      for (const char* key : {"message", "Message", "errorMessage"}) {
        if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
          e.message = std::string(v->get_string());
          break;
        }
      }
    }
  }
  if (!error_type_header.empty()) {
    e.code = bare(error_type_header);
  }
  if (e.code.empty()) {
    e.message = "HTTP " + std::to_string(http_status) + " without an AWS error document";
  }
  Classify(e);
  return e;
}

namespace {

void Classify(QueryError& e) {
  const int http_status = e.http_status;
  e.throttling = IsThrottlingCode(e.code) || http_status == 429;
  if (e.code == "RequestExpired" || e.code == "RequestTimeTooSkewed" ||
      e.code == "RequestInTheFuture") {
    e.clock_skew = true;
  } else if (e.code == "SignatureDoesNotMatch" || e.code == "AuthFailure" ||
             e.code == "InvalidSignatureException") {
    e.clock_skew = e.message.find("Signature expired") != std::string::npos ||
                   e.message.find("not yet current") != std::string::npos;
  }
  if (e.clock_skew) {
    e.skew = SkewFromMessage(e.message);
  }
  e.retryable = e.throttling || http_status >= 500;
}

}  // namespace
}  // namespace opsgate::aws
