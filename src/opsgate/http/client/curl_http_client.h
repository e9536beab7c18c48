// File: opsgate/http/client/curl_http_client.h
//
// HttpClient over libcurl (easy interface, OpenSSL backend).
//
// Security posture, fixed (no option turns it off):
//   - TLS peer and host-name verification always on; TLS 1.2 or newer.
//   - Redirects are not followed (a 3xx is returned as a response).
//   - Only https:// URLs; http:// only with CurlHttpClientOptions::allow_http (tests
//     against a local plain server). The check happens before libcurl sees the URL,
//     and libcurl itself is restricted to the same protocols.
//   - The response body is capped (max_response_bytes, kResourceExhausted beyond it),
//     and so are the response headers (64 KiB).
//   - Errors name the scheme and host only: URLs such as Slack's response_url carry a
//     capability in their path, and the bearer token is never echoed.
//
// Proxies: the standard environment variables are honoured by libcurl itself, because
// this client never sets CURLOPT_PROXY/CURLOPT_NOPROXY: `https_proxy` or `HTTPS_PROXY`
// for https URLs, `http_proxy` (lower case only; libcurl ignores HTTP_PROXY on purpose)
// for http URLs, `all_proxy`/`ALL_PROXY` as fallback and `no_proxy`/`NO_PROXY` for
// exceptions. TLS to the origin is still verified end to end through a CONNECT tunnel.
//
// Connection reuse: a pool of easy handles; each handle keeps its own connection
// cache, so consecutive requests to the same host reuse TCP+TLS connections. All
// handles share one CURLSH for the DNS cache and TLS session ids (with locking).
// libcurl's shared *connection* cache is deliberately not used: libcurl documents it
// as unsupported across concurrent threads.
//
// Thread-safety: Send() may be called from any number of threads at once; each call
// borrows its own easy handle. The client must outlive every Send().
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "opsgate/core/result.h"
#include "opsgate/http/client/http_client.h"

namespace opsgate::http {

struct CurlHttpClientOptions {
  // PEM bundle of trust anchors to use instead of the system store (tests use a
  // private CA). Empty: libcurl's default (the system CA bundle).
  std::string ca_file;
  // Accept http:// URLs as well. For tests only; production config never sets it.
  bool allow_http = false;
  // Deadline for DNS + TCP connect + TLS handshake; the request's own timeout bounds
  // the whole exchange.
  std::chrono::milliseconds connect_timeout{5000};
  // Largest response body accepted; larger ones fail with kResourceExhausted.
  size_t max_response_bytes = 1 << 20;
  // Idle easy handles (and thus warm connections) kept for reuse.
  size_t max_idle_handles = 8;
  std::string user_agent = "opsgate";
};

class CurlHttpClient final : public HttpClient {
 public:
  // Initialises libcurl once per process (thread-safe) and checks that it was built
  // with TLS support. Errors: kFailedPrecondition when libcurl cannot be initialised,
  // lacks TLS, or `ca_file` is set but not readable.
  [[nodiscard]] static core::Result<std::unique_ptr<CurlHttpClient>> Create(
      CurlHttpClientOptions options = {});

  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // See HttpClient::Send. The effective timeout is request.timeout (at least 1 ms).
  [[nodiscard]] core::Result<OutboundResponse> Send(const OutboundRequest& request) override;

 private:
  struct State;
  explicit CurlHttpClient(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace opsgate::http
