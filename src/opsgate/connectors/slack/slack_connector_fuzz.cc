// libFuzzer target for the whole Slack request path of SlackConnector::Handle(): the
// input is signed correctly (so the parser, allow-list, replay memory, built-in
// commands, Block Kit rendering and reply queueing all see it), then sent again (the
// replay memory's paths), then sent with a broken signature (which must be 401).
//
// Input layout as slack_payload_fuzz.cc (same seed corpus): byte 0 picks the
// Content-Type ('0' form, '1' JSON, '2' JSON with a charset, '3' the text up to the
// first '\n' of the rest); the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "opsgate/connectors/slack/slack_connector.h"
#include "opsgate/connectors/slack/verifier.h"
#include "opsgate/http/client/fake_http_client.h"
#include "opsgate/store/sqlite/sqlite_seen_keys.h"
#include "opsgate/store/sqlite/sqlite_store.h"

namespace {

using namespace opsgate;
using namespace opsgate::connectors::slack;

constexpr int64_t kNow = 1531420618;

class FixedClock final : public core::Clock {
 public:
  WallTime Now() const override { return WallTime(std::chrono::seconds(kNow)); }
  SteadyTime SteadyNow() const override { return SteadyTime(); }
};

class NullSink final : public telemetry::LogSink {
 public:
  void Write(std::string_view) override {}
};

struct World {
  FixedClock clock;
  NullSink sink;
  telemetry::Logger log{sink, clock};
  telemetry::MetricsRegistry metrics;
  std::unique_ptr<store::SqliteStore> store = std::move(*store::SqliteStore::Open(":memory:"));
  store::SqliteSeenKeys seen{*store};
  http::testing::FakeHttpClient http;
  // Replies go to the fake client (200, empty body: counted as failed Web API replies);
  // a small queue also exercises the queue_full path.
  http::RetryingSender sender{http, clock, http::RetryingSender::RegisterMetrics(metrics),
                              http::RetryingSenderOptions{64, 1, {}, 1}};
  audit::MemoryAuditSink audit;
  connectors::ConnectorDeps deps{clock, log, metrics, *store, seen, http, sender, audit};
  std::unique_ptr<SlackConnector> connector;

  World() {
    SlackSettings s;
    s.signing_secret = core::Secret("8f742231b10e8888abcd99yyyzzz85a5");
    s.bot_token = core::Secret("xoxb-fuzz");
    s.team_ids = {"T1DC2JH3J", "T123ABC456", "T00FAKE00AA", "T061EG9R6", "T0001"};
    connector = std::make_unique<SlackConnector>(std::move(s), deps);
  }
};

World& TheWorld() {
  static World* world = new World();  // never destroyed: the fuzzer exits without it
  return *world;
}

http::Request Request(std::string_view content_type, std::string_view body, bool good_sig) {
  static const core::Secret secret("8f742231b10e8888abcd99yyyzzz85a5");
  http::Request r;
  r.method = "POST";
  r.path = r.target = "/slack/events";
  const std::string ts = std::to_string(kNow);
  std::string sig = ComputeSlackSignature(ts, body, secret);
  if (!good_sig) {
    sig.back() = sig.back() == '0' ? '1' : '0';
  }
  r.headers = {{"content-type", std::string(content_type)},
               {"x-slack-request-timestamp", ts},
               {"x-slack-signature", sig}};
  r.body = std::string(body);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body = input.substr(1);
  std::string content_type;
  switch (input[0]) {
    case '0':
      content_type = "application/x-www-form-urlencoded";
      break;
    case '1':
      content_type = "application/json";
      break;
    case '2':
      content_type = "application/json; charset=utf-8";
      break;
    default: {
      const size_t nl = body.find('\n');
      content_type = std::string(body.substr(0, nl));
      body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    }
  }
  SlackConnector& c = *TheWorld().connector;
  const http::Response first = c.Handle(Request(content_type, body, true));
  if (first.status != 200 && first.status != 400 && first.status != 401 &&
      first.status != 403 && first.status != 503) {
    std::abort();
  }
  // The same request again: the replay memory answers (401 replayed, or 200 for what is
  // acknowledged without processing); the same statuses only.
  const http::Response again = c.Handle(Request(content_type, body, true));
  if (again.status != 200 && again.status != 400 && again.status != 401 &&
      again.status != 403 && again.status != 503) {
    std::abort();
  }
  if (c.Handle(Request(content_type, body, false)).status != 401) {
    std::abort();
  }
  return 0;
}
