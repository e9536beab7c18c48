#include "opsgate/identity/jwks_cache.h"

#include <algorithm>
#include <cctype>

#include "opsgate/core/strings.h"

namespace opsgate::identity {

std::optional<std::chrono::seconds> ParseCacheControlMaxAge(std::string_view value) {
  std::optional<std::chrono::seconds> out;
  for (std::string_view part : core::Split(value, ',')) {
    std::string d(core::Trim(part));
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (d == "no-store" || d == "no-cache") {
      return std::chrono::seconds(0);
    }
    constexpr std::string_view kMaxAge = "max-age=";
    if (d.rfind(kMaxAge, 0) == 0) {
      auto n = core::ParseDigits(std::string_view(d).substr(kMaxAge.size()));
      if (n.has_value() && *n < (uint64_t{1} << 31)) {
        out = std::chrono::seconds(static_cast<int64_t>(*n));
      }
    }
  }
  return out;
}

JwksCache::JwksCache(JwksCacheOptions options, http::HttpClient& http, const core::Clock& clock)
    : options_(std::move(options)), http_(http), clock_(clock) {}

size_t JwksCache::fetch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetch_count_;
}

core::Status JwksCache::FetchLocked() {
  const auto now = clock_.SteadyNow();
  last_fetch_ = now;
  ++fetch_count_;
  http::OutboundRequest req;
  req.method = "GET";
  req.url = options_.jwks_uri;
  req.headers = {{"Accept", "application/json"}};
  req.timeout = options_.fetch_timeout;
  auto resp = http_.Send(req);
  core::Status result = core::Ok();
  if (!resp) {
    result = core::Fail(core::Unavailable("JWKS fetch from " + http::RedactUrl(options_.jwks_uri) +
                                          " failed: " + resp.error().message));
  } else if (resp->status != 200) {
    result = core::Fail(core::Unavailable("JWKS fetch from " + http::RedactUrl(options_.jwks_uri) +
                                          " returned HTTP " + std::to_string(resp->status)));
  } else if (resp->body.size() > options_.max_body_bytes) {
    result = core::Fail(core::Unavailable("JWKS document exceeds the size limit"));
  } else {
    auto set = JwkSet::Parse(resp->body);
    if (!set) {
      result = core::Fail(core::Unavailable("JWKS document unusable: " + set.error().message));
    } else {
      std::chrono::seconds ttl = options_.default_ttl;
      if (auto cc = resp->Header("cache-control"); cc.has_value()) {
        if (auto max_age = ParseCacheControlMaxAge(*cc); max_age.has_value()) {
          ttl = *max_age;
        }
      }
      ttl = std::clamp(ttl, options_.min_ttl, std::max(options_.min_ttl, options_.max_ttl));
      keys_ = std::make_shared<const JwkSet>(std::move(*set));
      expires_ = now + ttl;
      last_error_.reset();
      return core::Ok();
    }
  }
  last_error_ = result.error();
  return result;
}

core::Result<std::shared_ptr<const JwkSet>> JwksCache::KeysFor(
    const std::optional<std::string>& kid) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.SteadyNow();
  const bool rate_ok =
      !last_fetch_.has_value() || now - *last_fetch_ >= options_.min_refresh_interval;
  if (!keys_) {
    // Never fetched successfully: the first attempt is free, later ones rate-limited.
    if (rate_ok) {
      (void)FetchLocked();
    }
  } else if (now >= expires_) {
    // Expired: refetch, but after a failure wait min_refresh_interval before retrying.
    if (!last_error_.has_value() || rate_ok) {
      (void)FetchLocked();
    }
  } else if (kid.has_value() && !keys_->HasKid(*kid) && rate_ok) {
    (void)FetchLocked();  // key rotation: the provider may have published a new key
  }
  if (!keys_) {
    return core::Fail(last_error_.value_or(core::Unavailable("JWKS not fetched yet")));
  }
  return keys_;
}

}  // namespace opsgate::identity
