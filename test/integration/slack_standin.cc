#include "test/integration/slack_standin.h"

#include <boost/json.hpp>

#include <fstream>
#include <stdexcept>

#include "opsgate/crypto/keys.h"

namespace opsgate::testing {
namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

bool HasTextOrBlocks(const boost::json::object& o) {
  const auto* text = o.if_contains("text");
  const auto* blocks = o.if_contains("blocks");
  return (text != nullptr && text->is_string() && !text->as_string().empty()) ||
         (blocks != nullptr && blocks->is_array() && !blocks->as_array().empty());
}

}  // namespace

SlackStandIn::SlackStandIn(const std::string& dir, std::string bot_token)
    : bot_token_(std::move(bot_token)) {
  auto cert = crypto::GenerateDevCertificate({}, 1, clock_.Now());
  if (!cert) {
    throw std::runtime_error(cert.error().message);
  }
  ca_file_ = dir + "/slack-standin.crt";
  const std::string key_file = dir + "/slack-standin.key";
  WriteFile(ca_file_, cert->cert_pem);
  WriteFile(key_file, std::string(cert->key_pem.Reveal()));

  (void)router_.Add({"POST", "/api/chat.postMessage", "", std::nullopt,
                     [this](const http::Request& r) { return PostMessage(r); }});
  for (int i = 0; i < kHooks; ++i) {
    (void)router_.Add({"POST", "/hooks/" + std::to_string(i), "", std::nullopt,
                       [this](const http::Request& r) { return Hook(r); }});
  }
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.tls = config::TlsConfig{ca_file_, key_file, config::TlsProfile::kIntermediate};
  options.threads = 1;
  options.drain_timeout = std::chrono::milliseconds(1000);
  server_ = std::make_unique<http::Server>(options, router_, metrics_, log_, clock_);
  if (auto st = server_->Start(); !st) {
    throw std::runtime_error(st.error().message);
  }
  port_ = server_->port();
  thread_ = std::thread([this] { server_->Run(); });
}

SlackStandIn::~SlackStandIn() {
  server_->Drain();
  thread_.join();
}

std::string SlackStandIn::ApiUrl() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/api";
}

std::string SlackStandIn::HookUrl(int n) const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/hooks/" + std::to_string(n);
}

void SlackStandIn::RateLimitNext(int n, int retry_after_seconds) {
  retry_after_ = retry_after_seconds;
  rate_limit_left_ = n;
}

void SlackStandIn::Record(const http::Request& r, int status, std::string verdict) {
  StandInRequest rec;
  rec.path = r.path;
  rec.authorization = std::string(r.Header("authorization").value_or(""));
  rec.content_type = std::string(r.Header("content-type").value_or(""));
  rec.body = r.body;
  rec.received_at = std::chrono::steady_clock::now();
  rec.status = status;
  rec.verdict = std::move(verdict);
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(std::move(rec));
}

http::Response SlackStandIn::PostMessage(const http::Request& r) {
  auto answer = [&](std::string_view error) {
    Record(r, 200, std::string(error));
    return http::Response::Json(200, std::string(R"({"ok":false,"error":")") +
                                         std::string(error) + "\"}");
  };
  if (rate_limit_left_.fetch_sub(1) > 0) {
    Record(r, 429, "ratelimited");
    auto resp = http::Response::Json(429, R"({"ok":false,"error":"ratelimited"})");
    resp.headers.emplace_back("Retry-After", std::to_string(retry_after_.load()));
    return resp;
  }
  const auto auth = r.Header("authorization");
  if (!auth) {
    return answer("not_authed");
  }
  if (*auth != "Bearer " + bot_token_) {
    return answer("invalid_auth");
  }
  if (r.Header("content-type").value_or("").rfind("application/json", 0) != 0) {
    return answer("invalid_arguments");
  }
  boost::system::error_code ec;
  const auto doc = boost::json::parse(r.body, ec);
  if (ec || !doc.is_object()) {
    return answer("invalid_json");
  }
  const auto& o = doc.as_object();
  const auto* channel = o.if_contains("channel");
  if (channel == nullptr || !channel->is_string() || channel->as_string().empty()) {
    return answer("channel_not_found");
  }
  if (!HasTextOrBlocks(o)) {
    return answer("no_text");
  }
  Record(r, 200, "ok");
  return http::Response::Json(200, R"({"ok":true,"channel":")" +
                                       std::string(channel->as_string()) +
                                       R"(","ts":"1531420700.000200"})");
}

http::Response SlackStandIn::Hook(const http::Request& r) {
  boost::system::error_code ec;
  const auto doc = boost::json::parse(r.body, ec);
  std::string verdict = "ok";
  if (r.Header("content-type").value_or("").rfind("application/json", 0) != 0) {
    verdict = "invalid_content_type";
  } else if (ec || !doc.is_object()) {
    verdict = "invalid_payload";
  } else if (!HasTextOrBlocks(doc.as_object())) {
    verdict = "no_text";
  } else if (const auto* t = doc.as_object().if_contains("response_type");
             t == nullptr || !t->is_string() ||
             (t->as_string() != "ephemeral" && t->as_string() != "in_channel")) {
    verdict = "invalid_response_type";
  }
  const int status = verdict == "ok" ? 200 : 400;
  Record(r, status, verdict);
  return http::Response::Text(status, verdict);
}

std::vector<StandInRequest> SlackStandIn::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<StandInRequest> SlackStandIn::RequestsTo(const std::string& path) const {
  std::vector<StandInRequest> out;
  for (auto& r : Requests()) {
    if (r.path == path) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

bool SlackStandIn::WaitFor(const std::string& path, size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (RequestsTo(path).size() >= n) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace opsgate::testing
