#include "opsgate/connectors/registry.h"

#include <gtest/gtest.h>

#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::connectors {
namespace {

class NullStore final : public store::Store {
 public:
  std::string_view Driver() const override { return "null"; }
  core::Status Ping() override { return core::Ok(); }
};

class NullSeenKeys final : public store::SeenKeys {
 public:
  core::Result<bool> MarkSeen(std::string_view, std::string_view, core::Clock::WallTime,
                              std::chrono::seconds) override {
    return true;
  }
};

class EchoConnector final : public Connector {
 public:
  std::string_view Name() const override { return "echo"; }
  core::Status RegisterRoutes(http::Router& router) override {
    return router.Add({"POST", "/echo/events", "echo", std::nullopt, [](const http::Request& r) {
                         return http::Response::Text(200, r.body);
                       }});
  }
};

class EchoFactory final : public ConnectorFactory {
 public:
  explicit EchoFactory(bool enabled, bool fail = false, bool off_after_all = false)
      : enabled_(enabled), fail_(fail), off_after_all_(off_after_all) {}
  std::string_view Name() const override { return "echo"; }
  bool Enabled(const config::Config&) const override { return enabled_; }
  core::Result<std::unique_ptr<Connector>> Create(const config::Config&,
                                                  ConnectorDeps&) override {
    if (fail_) {
      return core::Fail(core::NotFound("secret env:ECHO_SECRET: the environment variable is not set"));
    }
    if (off_after_all_) {
      return std::unique_ptr<Connector>();
    }
    return std::make_unique<EchoConnector>();
  }

 private:
  bool enabled_;
  bool fail_;
  bool off_after_all_;
};

struct Fixture {
  testing::FakeClock clock;
  telemetry::MemorySink sink;
  telemetry::Logger log{sink, clock};
  telemetry::MetricsRegistry metrics;
  NullStore store;
  NullSeenKeys seen;
  http::testing::FakeHttpClient http;
  http::RetryingSender sender{http, clock, http::RetryingSender::RegisterMetrics(metrics)};
  audit::MemoryAuditSink audit;
  ConnectorDeps deps{clock, log, metrics, store, seen, http, sender, audit};
  config::Config config;
  http::Router router;
};

TEST(ConnectorRegistry, CreatesEnabledConnectorsAndRegistersTheirRoutes) {
  Fixture f;
  ConnectorRegistry registry;
  registry.Add<EchoFactory>(true);
  auto created = registry.CreateEnabled(f.config, f.deps, f.router);
  ASSERT_TRUE(created.has_value()) << created.error();
  ASSERT_EQ(created->size(), 1u);
  EXPECT_NE(f.router.Find("POST", "/echo/events"), nullptr);
}

TEST(ConnectorRegistry, SkipsDisabledConnectors) {
  Fixture f;
  ConnectorRegistry registry;
  registry.Add<EchoFactory>(false);
  auto created = registry.CreateEnabled(f.config, f.deps, f.router);
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->empty());
  EXPECT_EQ(f.router.size(), 0u);
}

TEST(ConnectorRegistry, SkipsConnectorsTheFactoryTurnedOff) {
  Fixture f;
  ConnectorRegistry registry;
  registry.Add<EchoFactory>(true, /*fail=*/false, /*off_after_all=*/true);
  auto created = registry.CreateEnabled(f.config, f.deps, f.router);
  ASSERT_TRUE(created.has_value()) << created.error();
  EXPECT_TRUE(created->empty());
  EXPECT_EQ(f.router.size(), 0u);
}

TEST(ConnectorRegistry, NamesTheConnectorInFactoryErrors) {
  Fixture f;
  ConnectorRegistry registry;
  registry.Add<EchoFactory>(true, /*fail=*/true);
  auto created = registry.CreateEnabled(f.config, f.deps, f.router);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(created.error().message.rfind("connector echo: secret env:ECHO_SECRET", 0), 0u);
}

TEST(ConnectorRegistry, DuplicateRouteIsAnError) {
  Fixture f;
  ConnectorRegistry registry;
  registry.Add<EchoFactory>(true);
  registry.Add<EchoFactory>(true);
  auto created = registry.CreateEnabled(f.config, f.deps, f.router);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, core::ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace opsgate::connectors
