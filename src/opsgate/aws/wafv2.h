// File: opsgate/aws/wafv2.h
//
// The AWS WAFv2 client for IP sets (JSON 1.1 protocol, signing name "wafv2", targets
// "AWSWAF_20190729.<Operation>", docs/aws.md#operations), and the read-modify-write that
// blocks or unblocks one address: GetIPSet, change the list, UpdateIPSet with the
// LockToken, and on WAFOptimisticLockException (someone else wrote in between) read again.
//
//   ApiClient api(http, ProcessEnv(), clock, {});
//   Wafv2Client waf(api);
//   IpSetRef ref{"blocked-ips", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "REGIONAL"};
//   auto creds = [&](std::string_view op, std::string_view arn) -> ApiResult<Credentials> {
//     // A session allowing only this action on this set (session_broker.h); before the
//     // first read the ARN is unknown: "*" is allowed for Get* actions.
//     auto s = broker.Get({.role_arn = role, .action = "wafv2:" + std::string(op),
//                          .resource_arn = arn.empty() ? "*" : std::string(arn), ...});
//     if (!s) { return tl::unexpected(LocalApiError(s.error())); }
//     return s->credentials;
//   };
//   auto r = ChangeIpSet(waf, "eu-west-1", creds, ref, "203.0.113.9", IpSetChange::kAdd);
//   if (r) { Reply(DescribeIpSetChange(*r, IpSetChange::kAdd, ref.name)); }
//   // "Blocked 203.0.113.9/32 in WAF IP set blocked-ips (12 → 13 addresses)."
//
// A CLOUDFRONT-scoped IP set lives in us-east-1 whatever region the caller names; the
// client sends such calls there.
//
// Errors (ApiError, see api_client.h for the common mapping):
//   kInvalidArgument     an address that is not an IP or CIDR, a CIDR with host bits set,
//                        a prefix WAF does not accept, an IPv4 address for an IPV6 set (or
//                        the reverse; both versions named), a scope other than
//                        REGIONAL/CLOUDFRONT, an empty name or id
//   kNotFound            WAFNonexistentItemException (wrong name, id or scope)
//   kPermissionDenied    AccessDeniedException, WAFPermissionException
//   kResourceExhausted   adding to a set that holds WAF's limit of 10,000 addresses
//   kUnavailable         the set kept changing (WAFOptimisticLockException on every
//                        attempt; code "WAFOptimisticLockException"), throttling, 5xx,
//                        transport
//   kDataLoss            a 200 answer that is not the expected JSON (or over 4 MiB)
// ChangeIpSet writes nothing when nothing changes (already present / not present).
//
// Thread-safety: Wafv2Client has no mutable state; as safe as the ApiClient it uses,
// which must outlive it. The free functions are reentrant.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/sigv4.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

// "AWSWAF_20190729.": prefix of the X-Amz-Target header.
inline constexpr std::string_view kWafv2TargetPrefix = "AWSWAF_20190729.";
// WAF's limit on the addresses of one IP set.
inline constexpr size_t kWafMaxIpSetAddresses = 10'000;

// Which IP set: WAF needs all three.
struct IpSetRef {
  std::string name;
  std::string id;
  // "REGIONAL" or "CLOUDFRONT".
  std::string scope;
};

struct IpSet {
  std::string name;
  std::string id;
  std::string arn;
  // "" when the set has none.
  std::string description;
  // "IPV4" or "IPV6".
  std::string ip_address_version;
  // CIDRs as WAF holds them ("203.0.113.9/32").
  std::vector<std::string> addresses;
  // Pass to UpdateIPSet; it fails with WAFOptimisticLockException once the set changed.
  std::string lock_token;
};

class Wafv2Client {
 public:
  // `api` must outlive the client.
  explicit Wafv2Client(const ApiClient& api) : api_(api) {}

  // The set and its lock token. `region` "" means the ApiClient's environment
  // (AWS_REGION); ignored (us-east-1) for scope CLOUDFRONT.
  [[nodiscard]] ApiResult<IpSet> GetIPSet(std::string_view region, const Credentials& credentials,
                                          const IpSetRef& ref) const;

  // Replaces the set's addresses (and description: pass the current one to keep it;
  // "" sends none, which clears it). Returns the NextLockToken.
  [[nodiscard]] ApiResult<std::string> UpdateIPSet(std::string_view region,
                                                   const Credentials& credentials,
                                                   const IpSetRef& ref,
                                                   const std::vector<std::string>& addresses,
                                                   std::string_view lock_token,
                                                   std::string_view description) const;

 private:
  const ApiClient& api_;
};

// An IP address or CIDR as WAF stores it, with its version:
//   "203.0.113.9"      -> {"203.0.113.9/32", "IPV4"}
//   "2001:DB8::1"      -> {"2001:db8::1/128", "IPV6"}
//   "2001:db8:0::/48"  -> {"2001:db8::/48", "IPV6"}
// kInvalidArgument (quoting the input, at most 64 characters of it) for anything else: a
// prefix outside /1../32 (IPv4) or /1../128 (IPv6), host bits set ("203.0.113.9/24":
// did you mean 203.0.113.0/24?), zone ids, surrounding text. Leading/trailing blanks are
// ignored.
[[nodiscard]] core::Result<std::pair<std::string, std::string>> NormalizeWafAddress(
    std::string_view ip_or_cidr);

enum class IpSetChange { kAdd, kRemove };

struct IpSetChangeResult {
  // false: the address was already present (kAdd) / not present (kRemove); nothing written.
  bool changed = false;
  // The canonical CIDR added or removed.
  std::string cidr;
  size_t size_before = 0;
  size_t size_after = 0;
  // Read-modify-write rounds used (1 unless another writer got in between).
  int attempts = 0;
  std::string ip_set_arn;
};

// Called before each call with the operation ("GetIPSet" or "UpdateIPSet") and the IP
// set's ARN ("" before the first read), so that the caller can use a session scoped to
// exactly that (session_broker.h). An error is returned from ChangeIpSet as is.
using WafCredentialsFor =
    std::function<ApiResult<Credentials>(std::string_view operation, std::string_view ip_set_arn)>;

// Adds or removes one address (NormalizeWafAddress) in the set, without duplicates (the
// set's entries are compared in canonical form; entries of other writers are kept as
// they are, as is the set's description). Up to `max_attempts` rounds (at least 1) when
// the update loses a race (WAFOptimisticLockException); then kUnavailable.
[[nodiscard]] ApiResult<IpSetChangeResult> ChangeIpSet(
    const Wafv2Client& waf, std::string_view region, const WafCredentialsFor& credentials,
    const IpSetRef& ref, std::string_view ip_or_cidr, IpSetChange change, int max_attempts = 3);

// Chat text for a result:
//   "Blocked 203.0.113.9/32 in WAF IP set blocked-ips (12 → 13 addresses)."
//   "203.0.113.9/32 was already blocked in blocked-ips; nothing changed."
//   "Unblocked 203.0.113.9/32 in WAF IP set blocked-ips (13 → 12 addresses)."
//   "203.0.113.9/32 was not blocked in blocked-ips; nothing changed."
std::string DescribeIpSetChange(const IpSetChangeResult& result, IpSetChange change,
                                std::string_view ip_set_name);

}  // namespace opsgate::aws
