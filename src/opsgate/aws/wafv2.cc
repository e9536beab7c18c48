// File: opsgate/aws/wafv2.cc
#include "opsgate/aws/wafv2.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>

namespace opsgate::aws {
namespace {

constexpr std::string_view kService = "wafv2";
// 10,000 IPv6 CIDRs are about 0.5 MB of JSON.
constexpr size_t kMaxResponseBytes = 4 * 1024 * 1024;
constexpr std::string_view kLockException = "WAFOptimisticLockException";

// The region a call for `ref` goes to: CLOUDFRONT sets live in us-east-1.
std::string_view RegionFor(std::string_view region, const IpSetRef& ref) {
  return ref.scope == "CLOUDFRONT" ? std::string_view("us-east-1") : region;
}

std::string Describe(const IpSetRef& ref) {
  return "IP set " + ref.name + " (" + ref.scope + ", id " + ref.id + ")";
}

core::Status CheckRef(std::string_view op, const IpSetRef& ref) {
  if (ref.scope != "REGIONAL" && ref.scope != "CLOUDFRONT") {
    return core::Fail(core::InvalidArgument("wafv2 " + std::string(op) +
                                            ": scope must be REGIONAL or CLOUDFRONT, not \"" +
                                            ref.scope.substr(0, 32) + "\""));
  }
  if (ref.name.empty() || ref.id.empty()) {
    return core::Fail(core::InvalidArgument("wafv2 " + std::string(op) +
                                            ": the IP set needs both a name and an id"));
  }
  return core::Ok();
}

ApiError WithContext(ApiError e, const IpSetRef& ref) {
  e.error.message += " (" + Describe(ref) + ")";
  return e;
}

ApiError BadAnswer(std::string_view op, const IpSetRef& ref, std::string_view what) {
  ApiError e =
      LocalApiError(core::DataLoss("wafv2 " + std::string(op) + ": unreadable answer for " +
                                   Describe(ref) + ": " + std::string(what)));
  e.http_status = 200;
  return e;
}

ApiResult<boost::json::object> ParseObject(std::string_view op, const IpSetRef& ref,
                                           std::string_view body) {
  if (body.size() > kMaxResponseBytes) {
    return tl::unexpected(BadAnswer(op, ref, "over 4 MiB"));
  }
  boost::json::parse_options options;
  options.max_depth = 8;
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec, {}, options);
  if (ec || !doc.is_object()) {
    return tl::unexpected(BadAnswer(op, ref, "not a JSON object"));
  }
  return std::move(doc.as_object());
}

// The string member `key` of `o`; "" when absent; false when present but not a string.
bool StringMember(const boost::json::object& o, std::string_view key, std::string& out) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    out.clear();
    return true;
  }
  if (!v->is_string()) {
    return false;
  }
  out = std::string(v->get_string());
  return true;
}

ApiCall MakeCall(std::string_view region, const IpSetRef& ref, std::string_view operation,
                 const boost::json::object& body) {
  return ApiCall::Json(std::string(kService), std::string(RegionFor(region, ref)),
                       std::string(operation),
                       std::string(kWafv2TargetPrefix) + std::string(operation),
                       boost::json::serialize(body), "1.1");
}

// The members every IP set operation names the set by.
boost::json::object IpSetRequest(const IpSetRef& ref) {
  boost::json::object req;
  req["Name"] = ref.name;
  req["Scope"] = ref.scope;
  req["Id"] = ref.id;
  return req;
}

// Sends `operation` with `request` for `ref` and returns the answer's JSON object; errors
// name the set. `retry_server_errors`: false for writes (a 5xx may hide an applied change).
ApiResult<boost::json::object> Send(const ApiClient& api, std::string_view region,
                                    const Credentials& credentials, const IpSetRef& ref,
                                    std::string_view operation, const boost::json::object& request,
                                    bool retry_server_errors) {
  ApiCall call = MakeCall(region, ref, operation, request);
  call.retry_server_errors = retry_server_errors;
  auto body = api.Call(call, credentials);
  if (!body) {
    return tl::unexpected(WithContext(std::move(body.error()), ref));
  }
  return ParseObject(operation, ref, *body);
}

// Parses "a.b.c.d" or an IPv6 address into `bytes`; returns the byte count (4/16) or 0.
size_t ParseIp(const std::string& text, std::array<unsigned char, 16>& bytes) {
  if (text.find(':') != std::string::npos) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) {
      return 0;
    }
    std::copy_n(reinterpret_cast<const unsigned char*>(&a6), 16, bytes.begin());
    return 16;
  }
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) != 1) {
    return 0;
  }
  std::copy_n(reinterpret_cast<const unsigned char*>(&a4), 4, bytes.begin());
  return 4;
}

std::string FormatIp(const std::array<unsigned char, 16>& bytes, size_t len) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const char* s = inet_ntop(len == 4 ? AF_INET : AF_INET6, bytes.data(), buf.data(),
                            static_cast<socklen_t>(buf.size()));
  return s == nullptr ? std::string() : std::string(s);
}

std::string Quote(std::string_view s) {
  std::string q(s.substr(0, 64));
  for (char& c : q) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = '?';
    }
  }
  return "\"" + q + (s.size() > 64 ? "...\"" : "\"");
}

}  // namespace

ApiResult<IpSet> Wafv2Client::GetIPSet(std::string_view region, const Credentials& credentials,
                                       const IpSetRef& ref) const {
  constexpr std::string_view kOp = "GetIPSet";
  if (auto ok = CheckRef(kOp, ref); !ok) {
    return tl::unexpected(LocalApiError(ok.error()));
  }
  // A read: throttling and 5xx answers are retried (ApiClient).
  auto doc =
      Send(api_, region, credentials, ref, kOp, IpSetRequest(ref), /*retry_server_errors=*/true);
  if (!doc) {
    return tl::unexpected(std::move(doc.error()));
  }
  const boost::json::value* set_v = doc->if_contains("IPSet");
  if (set_v == nullptr || !set_v->is_object()) {
    return tl::unexpected(BadAnswer(kOp, ref, "no IPSet object"));
  }
  const boost::json::object& s = set_v->get_object();
  IpSet out;
  if (!StringMember(s, "Name", out.name) || !StringMember(s, "Id", out.id) ||
      !StringMember(s, "ARN", out.arn) || !StringMember(s, "Description", out.description) ||
      !StringMember(s, "IPAddressVersion", out.ip_address_version) ||
      !StringMember(*doc, "LockToken", out.lock_token)) {
    return tl::unexpected(BadAnswer(kOp, ref, "a member is not a string"));
  }
  if (out.lock_token.empty()) {
    return tl::unexpected(BadAnswer(kOp, ref, "no LockToken"));
  }
  if (out.ip_address_version != "IPV4" && out.ip_address_version != "IPV6") {
    return tl::unexpected(BadAnswer(kOp, ref, "IPAddressVersion is neither IPV4 nor IPV6"));
  }
  const boost::json::value* addrs = s.if_contains("Addresses");
  if (addrs != nullptr && !addrs->is_null()) {
    if (!addrs->is_array()) {
      return tl::unexpected(BadAnswer(kOp, ref, "Addresses is not a list"));
    }
    out.addresses.reserve(addrs->get_array().size());
    for (const boost::json::value& a : addrs->get_array()) {
      if (!a.is_string()) {
        return tl::unexpected(BadAnswer(kOp, ref, "an address is not a string"));
      }
      out.addresses.emplace_back(a.get_string());
    }
  }
  return out;
}

ApiResult<std::string> Wafv2Client::UpdateIPSet(std::string_view region,
                                                const Credentials& credentials, const IpSetRef& ref,
                                                const std::vector<std::string>& addresses,
                                                std::string_view lock_token,
                                                std::string_view description) const {
  constexpr std::string_view kOp = "UpdateIPSet";
  if (auto ok = CheckRef(kOp, ref); !ok) {
    return tl::unexpected(LocalApiError(ok.error()));
  }
  if (lock_token.empty()) {
    return tl::unexpected(LocalApiError(
        core::InvalidArgument("wafv2 UpdateIPSet: no lock token (read the set first)")));
  }
  boost::json::object req = IpSetRequest(ref);
  if (!description.empty()) {
    req["Description"] = description;
  }
  boost::json::array list;
  list.reserve(addresses.size());
  for (const auto& a : addresses) {
    list.emplace_back(a);
  }
  req["Addresses"] = std::move(list);
  req["LockToken"] = lock_token;
  // A 5xx answer may follow an applied update: repeating it with the consumed lock token
  // would fail and be misread as a race. The caller (ChangeIpSet) re-reads instead.
  auto doc = Send(api_, region, credentials, ref, kOp, req, /*retry_server_errors=*/false);
  if (!doc) {
    return tl::unexpected(std::move(doc.error()));
  }
  std::string next;
  if (!StringMember(*doc, "NextLockToken", next) || next.empty()) {
    return tl::unexpected(BadAnswer(kOp, ref, "no NextLockToken"));
  }
  return next;
}

core::Result<std::pair<std::string, std::string>> NormalizeWafAddress(std::string_view ip_or_cidr) {
  std::string_view s = ip_or_cidr;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  auto invalid = [&](std::string_view why) {
    return core::Fail(core::InvalidArgument(Quote(ip_or_cidr) + " is not " + std::string(why)));
  };
  // The longest IPv6 text (45) plus "/128".
  if (s.empty() || s.size() > 49) {
    return invalid("an IP address or CIDR");
  }
  // inet_pton stops at a NUL; only address characters get that far.
  if (!std::all_of(s.begin(), s.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == '.' || c == ':' ||
               c == '/';
      })) {
    return invalid("an IP address or CIDR (like 203.0.113.9, 203.0.113.0/24 or 2001:db8::/32)");
  }
  const size_t slash = s.find('/');
  const std::string ip(s.substr(0, slash));
  std::array<unsigned char, 16> bytes{};
  const size_t len = ParseIp(ip, bytes);
  if (len == 0) {
    return invalid("an IP address or CIDR (like 203.0.113.9, 203.0.113.0/24 or 2001:db8::/32)");
  }
  const int max_prefix = static_cast<int>(len * 8);
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = s.substr(slash + 1);
    const char* end = p.data() + p.size();
    auto [ptr, ec] = std::from_chars(p.data(), end, prefix);
    if (p.empty() || p.size() > 3 || ec != std::errc() || ptr != end || prefix < 1 ||
        prefix > max_prefix) {
      return invalid("a CIDR WAF accepts: the prefix length must be /1 to /" +
                     std::to_string(max_prefix));
    }
  }
  std::array<unsigned char, 16> network = bytes;
  for (size_t bit = static_cast<size_t>(prefix); bit < len * 8; ++bit) {
    network[bit / 8] = static_cast<unsigned char>(network[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  if (network != bytes) {
    return core::Fail(core::InvalidArgument(
        Quote(ip_or_cidr) + " has host bits set after the /" + std::to_string(prefix) +
        " prefix; did you mean " + FormatIp(network, len) + "/" + std::to_string(prefix) + "?"));
  }
  return std::make_pair(FormatIp(bytes, len) + "/" + std::to_string(prefix),
                        std::string(len == 4 ? "IPV4" : "IPV6"));
}

ApiResult<IpSetChangeResult> ChangeIpSet(const Wafv2Client& waf, std::string_view region,
                                         const WafCredentialsFor& credentials, const IpSetRef& ref,
                                         std::string_view ip_or_cidr, IpSetChange change,
                                         int max_attempts) {
  auto normalized = NormalizeWafAddress(ip_or_cidr);
  if (!normalized) {
    return tl::unexpected(LocalApiError(std::move(normalized.error())));
  }
  const auto& [cidr, version] = *normalized;
  max_attempts = std::max(1, max_attempts);
  std::string arn;
  ApiError last = LocalApiError(core::Unavailable(""));
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    auto get_creds = credentials("GetIPSet", arn);
    if (!get_creds) {
      return tl::unexpected(std::move(get_creds.error()));
    }
    auto set = waf.GetIPSet(region, *get_creds, ref);
    if (!set) {
      return tl::unexpected(std::move(set.error()));
    }
    arn = set->arn;
    if (set->ip_address_version != version) {
      return tl::unexpected(LocalApiError(
          core::InvalidArgument(cidr + " is an " + version + " address but WAF IP set " + ref.name +
                                " holds " + set->ip_address_version + " addresses")));
    }
    IpSetChangeResult result;
    result.cidr = cidr;
    result.size_before = set->addresses.size();
    result.attempts = attempt;
    result.ip_set_arn = arn;
    // (A copy: clang 14 cannot capture a structured binding.)
    auto same = [&target = result.cidr](const std::string& entry) {
      auto n = NormalizeWafAddress(entry);
      return n ? n->first == target : entry == target;
    };
    std::vector<std::string> addresses = std::move(set->addresses);
    const bool present = std::any_of(addresses.begin(), addresses.end(), same);
    if ((change == IpSetChange::kAdd) == present) {
      result.changed = false;
      result.size_after = result.size_before;
      return result;
    }
    if (change == IpSetChange::kAdd) {
      if (addresses.size() >= kWafMaxIpSetAddresses) {
        return tl::unexpected(LocalApiError(core::ResourceExhausted(
            "WAF IP set " + ref.name + " is full (" + std::to_string(addresses.size()) +
            " addresses, WAF's limit is " + std::to_string(kWafMaxIpSetAddresses) +
            "); remove addresses or use another set before adding " + cidr)));
      }
      addresses.push_back(cidr);
    } else {
      addresses.erase(std::remove_if(addresses.begin(), addresses.end(), same), addresses.end());
    }
    result.size_after = addresses.size();
    auto update_creds = credentials("UpdateIPSet", arn);
    if (!update_creds) {
      return tl::unexpected(std::move(update_creds.error()));
    }
    auto next =
        waf.UpdateIPSet(region, *update_creds, ref, addresses, set->lock_token, set->description);
    if (next) {
      result.changed = true;
      return result;
    }
    if (next.error().code != kLockException) {
      return tl::unexpected(std::move(next.error()));
    }
    last = std::move(next.error());
  }
  ApiError e = std::move(last);
  e.error = core::Unavailable("WAF IP set " + ref.name + " kept changing while " +
                              (change == IpSetChange::kAdd ? "adding " : "removing ") + cidr +
                              ": another writer updated it before each of " +
                              std::to_string(max_attempts) +
                              " attempts (WAFOptimisticLockException); try again");
  e.attempts = max_attempts;
  return tl::unexpected(std::move(e));
}

std::string DescribeIpSetChange(const IpSetChangeResult& result, IpSetChange change,
                                std::string_view ip_set_name) {
  const std::string name(ip_set_name);
  if (!result.changed) {
    return result.cidr +
           (change == IpSetChange::kAdd ? " was already blocked in " : " was not blocked in ") +
           name + "; nothing changed.";
  }
  return std::string(change == IpSetChange::kAdd ? "Blocked " : "Unblocked ") + result.cidr +
         " in WAF IP set " + name + " (" + std::to_string(result.size_before) + " → " +
         std::to_string(result.size_after) +
         (result.size_after == 1 ? " address)." : " addresses).");
}

}  // namespace opsgate::aws
