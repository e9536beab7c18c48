#include "opsgate/telemetry/metrics.h"

#include <gtest/gtest.h>

namespace opsgate::telemetry {
namespace {

TEST(MetricsRegistry, RendersCountersWithEscapedLabels) {
  MetricsRegistry r;
  auto& c = r.AddCounter("opsgate_test_total", "A test counter.", {"route", "status"});
  c.With({"/a\"b", "200"}).Inc(3);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# HELP opsgate_test_total A test counter.\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE opsgate_test_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("opsgate_test_total{route=\"/a\\\"b\",status=\"200\"} 3\n"),
            std::string::npos);
}

TEST(MetricsRegistry, RendersCumulativeHistogram) {
  MetricsRegistry r;
  auto& h = r.AddHistogram("opsgate_latency_seconds", "Latency.", {"route"}, {0.1, 1});
  auto& child = h.With({"/x"});
  child.Observe(0.05);
  child.Observe(0.5);
  child.Observe(5);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("opsgate_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("opsgate_latency_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("opsgate_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("opsgate_latency_seconds_count{route=\"/x\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("opsgate_latency_seconds_sum{route=\"/x\"} 5.55\n"),
            std::string::npos);
}

TEST(MetricsRegistry, GaugeGoesUpAndDown) {
  MetricsRegistry r;
  auto& g = r.AddGauge("opsgate_open_connections", "Open connections.").With({});
  g.Add(2);
  g.Add(-1);
  EXPECT_EQ(g.Value(), 1);
  EXPECT_NE(r.RenderPrometheus().find("opsgate_open_connections 1\n"), std::string::npos);
}

TEST(Family, SameLabelsReturnSameChild) {
  MetricsRegistry r;
  auto& f = r.AddCounter("c_total", "c", {"a"});
  EXPECT_EQ(&f.With({"x"}), &f.With({"x"}));
  EXPECT_NE(&f.With({"x"}), &f.With({"y"}));
}

}  // namespace
}  // namespace opsgate::telemetry
