// File: opsgate/core/clock.h
//
// Time is injected, never read from a global: every component that needs the time
// takes a `const Clock&` (which must outlive it). SystemClock reads the OS clocks;
// tests use test/fakes/fake_clock.h.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>

namespace opsgate::core {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  // UTC wall-clock time: for timestamps that leave the process (audit, replay windows).
  virtual WallTime Now() const = 0;
  // Monotonic time: for durations and deadlines inside the process.
  virtual SteadyTime SteadyNow() const = 0;

  // Seconds since the Unix epoch of Now().
  int64_t UnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace opsgate::core
