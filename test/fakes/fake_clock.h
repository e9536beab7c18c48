// File: test/fakes/fake_clock.h
//
// A Clock whose time moves only when a test says so. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "opsgate/core/clock.h"

namespace opsgate::testing {

class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(int64_t unix_seconds = 1'700'000'000)
      : wall_ns_(unix_seconds * 1'000'000'000LL) {}

  WallTime Now() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::nanoseconds(wall_ns_.load())));
  }
  SteadyTime SteadyNow() const override {
    return SteadyTime(std::chrono::nanoseconds(steady_ns_.load()));
  }

  void SetUnixSeconds(int64_t s) { wall_ns_ = s * 1'000'000'000LL; }
  void Advance(std::chrono::nanoseconds d) {
    wall_ns_ += d.count();
    steady_ns_ += d.count();
  }

 private:
  std::atomic<int64_t> wall_ns_;
  std::atomic<int64_t> steady_ns_{0};
};

}  // namespace opsgate::testing
