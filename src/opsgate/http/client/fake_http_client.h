// File: opsgate/http/client/fake_http_client.h
//
// An HttpClient for tests: records every request and answers from a script.
//
//   http::testing::FakeHttpClient http;
//   http.PushResponse(429, "", {{"retry-after", "2"}});
//   http.PushResponse(200, R"({"ok":true})");
//   ... code under test calls http.Send(...) ...
//   EXPECT_EQ(http.RequestCount(), 2u);
//   EXPECT_EQ(http.Requests()[0].url, "https://slack.com/api/chat.postMessage");
//
// Scripted outcomes are used in order; when the script is empty, the responder (if
// set) answers, else the default outcome (200 with an empty body unless SetDefault
// changed it). A hook runs on every Send before answering, e.g. to note the fake
// clock's time or to block a worker until the test releases it.
//
// Header-only so that any test can use it by linking opsgate_http_client.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/http/client/http_client.h"

namespace opsgate::http::testing {

class FakeHttpClient final : public HttpClient {
 public:
  using Outcome = core::Result<OutboundResponse>;
  using Responder = std::function<Outcome(const OutboundRequest&)>;
  using Hook = std::function<void(const OutboundRequest&)>;

  static OutboundResponse Response(int status, std::string body = {},
                                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    OutboundResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  }

  // Appends an outcome to the script.
  void Push(Outcome outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(outcome));
  }
  // Header names should be lower case, as a real client delivers them.
  void PushResponse(int status, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    Push(Response(status, std::move(body), std::move(headers)));
  }
  void PushError(core::Error error) { Push(core::Fail(std::move(error))); }

  // Answers when the script is empty.
  void SetResponder(Responder responder) {
    std::lock_guard<std::mutex> lock(mu_);
    responder_ = std::move(responder);
  }
  // The outcome when the script is empty and there is no responder.
  void SetDefault(Outcome outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    default_ = std::move(outcome);
  }
  // Runs at the start of every Send, outside the fake's lock.
  void SetHook(Hook hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
  }

  Outcome Send(const OutboundRequest& request) override {
    Hook hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      hook = hook_;
    }
    if (hook) {
      hook(request);
    }
    Responder responder;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!script_.empty()) {
        Outcome next = std::move(script_.front());
        script_.pop_front();
        return next;
      }
      if (!responder_) {
        return default_;
      }
      responder = responder_;
    }
    return responder(request);
  }

  // Copies of every request sent so far, in order.
  std::vector<OutboundRequest> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t RequestCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  // Scripted outcomes not used yet.
  size_t Remaining() const {
    std::lock_guard<std::mutex> lock(mu_);
    return script_.size();
  }

 private:
  mutable std::mutex mu_;
  std::deque<Outcome> script_;             // GUARDED_BY(mu_)
  std::vector<OutboundRequest> requests_;  // GUARDED_BY(mu_)
  Responder responder_;                    // GUARDED_BY(mu_)
  Hook hook_;                              // GUARDED_BY(mu_)
  Outcome default_ = Response(200);        // GUARDED_BY(mu_)
};

}  // namespace opsgate::http::testing
