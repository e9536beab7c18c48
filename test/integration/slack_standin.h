// File: test/integration/slack_standin.h
//
// A local HTTPS stand-in for slack.com, in the test process: opsgate's own
// http::Server with a development certificate, answering
//   POST /api/chat.postMessage   like Slack's Web API: 200 {"ok":true,...}, or
//                                {"ok":false,"error":"not_authed"|"invalid_auth"|
//                                "invalid_arguments"|"no_text"} when the Authorization
//                                header, Content-Type or fields are not what Slack wants
//   POST /hooks/<n>              like a response_url: 200 "ok" for a JSON body with
//                                text or blocks (and a valid response_type), else 400
// and recording every request. It can answer the next N Web API calls with 429 and a
// Retry-After, to test opsgate's retries.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/core/clock.h"
#include "opsgate/http/router.h"
#include "opsgate/http/server.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::testing {

struct StandInRequest {
  std::string path;
  std::string authorization;  // the Authorization header, "" if absent
  std::string content_type;
  std::string body;
  std::chrono::steady_clock::time_point received_at;
  int status = 0;        // what the stand-in answered
  std::string verdict;   // "ok" or Slack's error code
};

class SlackStandIn {
 public:
  // Hook paths the stand-in serves: /hooks/0 .. /hooks/(kHooks-1).
  static constexpr int kHooks = 8;

  // Writes a dev certificate into `dir` and starts serving on 127.0.0.1:0.
  SlackStandIn(const std::string& dir, std::string bot_token);
  ~SlackStandIn();

  uint16_t port() const { return port_; }
  // PEM file to trust (outbound.ca_file).
  const std::string& ca_file() const { return ca_file_; }
  std::string ApiUrl() const;
  std::string HookUrl(int n) const;

  // The next `n` chat.postMessage calls get 429 with "Retry-After: <seconds>".
  void RateLimitNext(int n, int retry_after_seconds);

  std::vector<StandInRequest> Requests() const;
  std::vector<StandInRequest> RequestsTo(const std::string& path) const;
  // Waits until `path` received at least `n` requests; false on timeout.
  bool WaitFor(const std::string& path, size_t n, std::chrono::milliseconds timeout);

 private:
  http::Response PostMessage(const http::Request& r);
  http::Response Hook(const http::Request& r);
  void Record(const http::Request& r, int status, std::string verdict);

  std::string bot_token_;
  std::string ca_file_;
  core::SystemClock clock_;
  telemetry::MemorySink sink_;
  telemetry::Logger log_{sink_, clock_};
  telemetry::MetricsRegistry metrics_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> rate_limit_left_{0};
  std::atomic<int> retry_after_{1};

  mutable std::mutex mu_;
  std::vector<StandInRequest> requests_;  // GUARDED_BY(mu_)
};

}  // namespace opsgate::testing
