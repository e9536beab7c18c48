#include "opsgate/app/builtin_routes.h"

#include <gtest/gtest.h>

namespace opsgate::app {
namespace {

class FakeStore final : public store::Store {
 public:
  std::string_view Driver() const override { return "fake"; }
  core::Status Ping() override {
    if (down) {
      return core::Fail(core::Unavailable("database is locked"));
    }
    return core::Ok();
  }
  bool down = false;
};

http::Request Get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Request r;
  r.method = "GET";
  r.path = path;
  r.target = std::move(path);
  r.headers = std::move(headers);
  return r;
}

http::Response Call(const http::Router& router, const http::Request& req) {
  const http::Route* route = router.Find(req.method, req.path);
  EXPECT_NE(route, nullptr) << req.path;
  return route->handler(req);
}

struct Fixture {
  FakeStore store;
  telemetry::MetricsRegistry metrics;
  std::shared_ptr<const core::Secret> token;
  http::Router router;
  Fixture() {
    metrics.AddCounter("opsgate_test_total", "t").With({}).Inc();
    EXPECT_TRUE(AddBuiltinRoutes(router, store, metrics, [this] { return token; }).has_value());
  }
};

TEST(BuiltinRoutes, HealthzIsOk) {
  Fixture f;
  const auto r = Call(f.router, Get("/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST(BuiltinRoutes, ReadyzFollowsTheStore) {
  Fixture f;
  EXPECT_EQ(Call(f.router, Get("/readyz")).status, 200);
  f.store.down = true;
  const auto r = Call(f.router, Get("/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("store_unavailable"), std::string::npos);
  EXPECT_NE(r.body.find("database is locked"), std::string::npos);
}

TEST(BuiltinRoutes, MetricsOpenWithoutToken) {
  Fixture f;
  const auto r = Call(f.router, Get("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("opsgate_test_total 1"), std::string::npos);
}

TEST(BuiltinRoutes, MetricsNeedTheConfiguredBearerToken) {
  Fixture f;
  f.token = std::make_shared<const core::Secret>("tok");
  EXPECT_EQ(Call(f.router, Get("/metrics")).status, 401);
  EXPECT_EQ(Call(f.router, Get("/metrics", {{"authorization", "Bearer nope"}})).status, 401);
  EXPECT_EQ(Call(f.router, Get("/metrics", {{"authorization", "Basic dG9r"}})).status, 401);
  const auto ok = Call(f.router, Get("/metrics", {{"authorization", "Bearer tok"}}));
  EXPECT_EQ(ok.status, 200);
  const auto denied = Call(f.router, Get("/metrics"));
  bool has_challenge = false;
  for (const auto& [k, v] : denied.headers) {
    has_challenge |= (k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0);
  }
  EXPECT_TRUE(has_challenge);
}

}  // namespace
}  // namespace opsgate::app
