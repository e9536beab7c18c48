// File: opsgate/identity/jwks_cache.h
//
// A KeySource that fetches an issuer's JWKS (its jwks_uri, from configuration or OIDC
// discovery) through an HttpClient and caches it:
//   - TTL from Cache-Control max-age, clamped to [min_ttl, max_ttl]; default_ttl when the
//     response has none (or says no-cache/no-store, which then gets min_ttl);
//   - a token with a kid missing from the cached set triggers a refetch (key rotation),
//     at most once per min_refresh_interval, so forged kids cannot make opsgate hammer
//     the provider;
//   - a failed fetch (transport error, non-200, bad JSON, no usable key) keeps the old
//     set, even past its TTL, and is not retried before min_refresh_interval.
//
//   JwksCache cache({.jwks_uri = "https://idp.example.com/jwks"}, http, clock);
//   JwtVerifier verifier(opts, clock);
//   core::Result<Claims> c = verifier.Verify(token, cache);
//
// Ownership: `http` and `clock` are borrowed and must outlive the cache.
// Thread-safety: all methods may be called concurrently. A fetch runs under the cache's
// lock (one fetch at a time; concurrent callers wait for its result rather than stampede
// the provider), so Send() must not call back into the cache. KeysFor() blocks for the
// fetch: call it off I/O threads, like every HttpClient::Send.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "opsgate/core/clock.h"
#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"
#include "opsgate/identity/jwk.h"
#include "opsgate/identity/jwt.h"

namespace opsgate::identity {

struct JwksCacheOptions {
  // https:// URL of the JWKS document. Required.
  std::string jwks_uri;
  std::chrono::seconds default_ttl{300};
  std::chrono::seconds min_ttl{60};
  std::chrono::seconds max_ttl{24 * 3600};
  // Minimum time between two fetches that were not due to expiry (unknown kid, retry
  // after failure).
  std::chrono::seconds min_refresh_interval{30};
  std::chrono::milliseconds fetch_timeout{5000};
  size_t max_body_bytes = 512 * 1024;
};

class JwksCache final : public KeySource {
 public:
  JwksCache(JwksCacheOptions options, http::HttpClient& http, const core::Clock& clock);

  // The current set: fetched when empty or expired, refetched (rate-limited) when `kid`
  // is set and not in it. Errors: kUnavailable when no set was ever fetched successfully
  // (the message says why the last fetch failed).
  [[nodiscard]] core::Result<std::shared_ptr<const JwkSet>> KeysFor(
      const std::optional<std::string>& kid) override;

  // Number of fetch attempts so far (successful or not), for tests and metrics.
  size_t fetch_count() const;

 private:
  // Fetches and installs a new set. REQUIRES mu_ held.
  core::Status FetchLocked();

  const JwksCacheOptions options_;
  http::HttpClient& http_;
  const core::Clock& clock_;

  mutable std::mutex mu_;
  std::shared_ptr<const JwkSet> keys_;                        // GUARDED_BY(mu_)
  core::Clock::SteadyTime expires_{};                         // GUARDED_BY(mu_)
  std::optional<core::Clock::SteadyTime> last_fetch_;         // GUARDED_BY(mu_)
  std::optional<core::Error> last_error_;                     // GUARDED_BY(mu_)
  size_t fetch_count_ = 0;                                    // GUARDED_BY(mu_)
};

// The max-age of a Cache-Control header value, if any (no-store/no-cache give 0).
std::optional<std::chrono::seconds> ParseCacheControlMaxAge(std::string_view value);

}  // namespace opsgate::identity
