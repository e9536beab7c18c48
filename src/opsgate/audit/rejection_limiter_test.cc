#include "opsgate/audit/rejection_limiter.h"

#include <gtest/gtest.h>

#include "test/fakes/fake_clock.h"

namespace opsgate::audit {
namespace {

using namespace std::chrono_literals;

TEST(RejectionLimiterTest, AdmitsABurstThenTheRateAndCountsWhatItDrops) {
  opsgate::testing::FakeClock clock;
  telemetry::Counter dropped;
  RejectionLimiter limiter(clock, /*per_second=*/10, /*burst=*/5, &dropped);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.Admit(), std::optional<uint64_t>(0)) << i;
  }
  // A flood: the bucket is empty.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(limiter.Admit().has_value());
  }
  EXPECT_EQ(limiter.dropped_total(), 1000u);
  EXPECT_EQ(dropped.Value(), 1000u);
  // 100 ms later one token is back: the admitted record learns how many were dropped.
  clock.Advance(100ms);
  EXPECT_EQ(limiter.Admit(), std::optional<uint64_t>(1000));
  EXPECT_FALSE(limiter.Admit().has_value());
  clock.Advance(100ms);
  EXPECT_EQ(limiter.Admit(), std::optional<uint64_t>(1));
}

TEST(RejectionLimiterTest, RefillsNoHigherThanTheBurst) {
  opsgate::testing::FakeClock clock;
  RejectionLimiter limiter(clock, 10, 3);
  clock.Advance(1h);
  int admitted = 0;
  while (limiter.Admit().has_value()) {
    ++admitted;
  }
  EXPECT_EQ(admitted, 3);
}

TEST(RejectionLimiterTest, SuppressedRecordCarriesTheCount) {
  const Record r = MakeSuppressedRecord(42, "slack", 1'700'000'000'000);
  EXPECT_EQ(r.kind, RecordKind::kRejection);
  EXPECT_EQ(r.action, "audit.rejections_suppressed");
  EXPECT_EQ(r.result, "42");
  EXPECT_EQ(r.reason, "rate_limited");
  EXPECT_EQ(r.platform, "slack");
  EXPECT_EQ(r.timestamp_ms, 1'700'000'000'000);
}

}  // namespace
}  // namespace opsgate::audit
