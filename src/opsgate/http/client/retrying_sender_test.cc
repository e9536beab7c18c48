#include "opsgate/http/client/retrying_sender.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/http/client/fake_http_client.h"
#include "test/fakes/fake_clock.h"

namespace opsgate::http {
namespace {

using namespace std::chrono_literals;
using Outcome = core::Result<OutboundResponse>;

// Simulated time: a worker that would wait jumps the fake clock to the deadline.
WaitUntilFn AdvanceFakeClock(opsgate::testing::FakeClock& clock) {
  return [&clock](std::unique_lock<std::mutex>&, std::condition_variable&,
                  core::Clock::SteadyTime deadline) {
    const auto now = clock.SteadyNow();
    if (deadline > now) {
      clock.Advance(deadline - now);
    }
  };
}

// Time that never moves: a worker waits until notified (new work or shutdown).
WaitUntilFn WaitForNotify() {
  return [](std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
            core::Clock::SteadyTime) { cv.wait(lock); };
}

// Collects one delivery's outcome; Get() waits (bounded, so a bug cannot hang ctest).
class Completion {
 public:
  DeliveryCallback Callback() {
    return [this](Outcome r) { promise_.set_value(std::move(r)); };
  }
  Outcome Get() {
    if (future_.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "delivery did not complete";
      return core::Fail(core::Internal("timeout in test"));
    }
    return future_.get();
  }
  bool Ready() { return future_.wait_for(0s) == std::future_status::ready; }

 private:
  std::promise<Outcome> promise_;
  std::future<Outcome> future_ = promise_.get_future();
};

// Blocks the first Send until Release(); tells the test when that Send has started.
class Gate {
 public:
  void Arm(testing::FakeHttpClient& http) {
    http.SetHook([this](const OutboundRequest&) {
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        first = !entered_;
        entered_ = true;
      }
      if (first) {
        entered_promise_.set_value();
        released_.wait();
      }
    });
  }
  void AwaitEntered() { ASSERT_EQ(entered_future_.wait_for(10s), std::future_status::ready); }
  void Release() { release_promise_.set_value(); }

 private:
  std::mutex mu_;
  bool entered_ = false;
  std::promise<void> entered_promise_;
  std::future<void> entered_future_ = entered_promise_.get_future();
  std::promise<void> release_promise_;
  std::shared_future<void> released_ = release_promise_.get_future().share();
};

OutboundRequest Request(std::string url = "https://hooks.slack.com/commands/T1/2/secret") {
  OutboundRequest r;
  r.url = std::move(url);
  r.body = R"({"text":"hi"})";
  return r;
}

class RetryingSenderTest : public ::testing::Test {
 protected:
  RetryingSenderOptions Options(size_t workers = 1) {
    RetryingSenderOptions o;
    o.workers = workers;
    o.retry.jitter = false;
    return o;
  }
  std::unique_ptr<RetryingSender> Make(RetryingSenderOptions o, WaitUntilFn wait) {
    return std::make_unique<RetryingSender>(http_, clock_, family_, o, std::move(wait));
  }
  // Records the fake steady time of every attempt.
  void RecordTimes() {
    http_.SetHook([this](const OutboundRequest&) {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(clock_.SteadyNow());
    });
  }
  std::vector<core::Clock::SteadyTime> Times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }
  uint64_t Count(std::string_view target, std::string_view result) {
    return family_.With({target, result}).Value();
  }

  opsgate::testing::FakeClock clock_;
  testing::FakeHttpClient http_;
  telemetry::MetricsRegistry registry_;
  telemetry::Family<telemetry::Counter>& family_ = RetryingSender::RegisterMetrics(registry_);
  std::mutex mu_;
  std::vector<core::Clock::SteadyTime> times_;
};

TEST_F(RetryingSenderTest, DeliversOnFirstAttempt) {
  http_.PushResponse(200, "ok");
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback(), "slack.response_url"));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(Count("slack.response_url", "2xx"), 1u);
}

TEST_F(RetryingSenderTest, Honours429RetryAfterThenSucceeds) {
  RecordTimes();
  http_.PushResponse(429, "", {{"retry-after", "7"}});
  http_.PushResponse(200, R"({"ok":true})");
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback(), "slack.chat_postMessage"));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  const auto times = Times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[1] - times[0], 7s);
  EXPECT_EQ(Count("slack.chat_postMessage", "429"), 1u);
  EXPECT_EQ(Count("slack.chat_postMessage", "2xx"), 1u);
  const std::string text = registry_.RenderPrometheus();
  EXPECT_NE(
      text.find(
          R"(opsgate_outbound_requests_total{target="slack.chat_postMessage",result="429"} 1)"),
      std::string::npos)
      << text;
}

TEST_F(RetryingSenderTest, RetryAfterOnServiceUnavailableIsHonoured) {
  RecordTimes();
  http_.PushResponse(503, "", {{"retry-after", " 2 "}});
  http_.PushResponse(200);
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  ASSERT_TRUE(done.Get().has_value());
  const auto times = Times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[1] - times[0], 2s);
}

TEST_F(RetryingSenderTest, RetriesServerErrorsWithExponentialBackoff) {
  RecordTimes();
  http_.PushResponse(500);
  http_.PushResponse(502);
  http_.PushResponse(200);
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  const auto times = Times();
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[1] - times[0], 500ms);
  EXPECT_EQ(times[2] - times[1], 1000ms);
  // The default target label is the URL's scheme and host, never its path.
  EXPECT_EQ(Count("https://hooks.slack.com", "5xx"), 2u);
}

TEST_F(RetryingSenderTest, BackoffIsCappedAndJitterStaysWithinBounds) {
  RecordTimes();
  for (int i = 0; i < 5; ++i) {
    http_.PushResponse(500);
  }
  RetryingSenderOptions o = Options();
  o.retry.max_attempts = 5;
  o.retry.initial_backoff = 1000ms;
  o.retry.max_backoff = 3000ms;
  o.retry.jitter = true;
  o.jitter_seed = 42;
  auto sender = Make(o, AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  ASSERT_TRUE(done.Get().has_value());
  const auto times = Times();
  ASSERT_EQ(times.size(), 5u);
  const std::chrono::nanoseconds nominal[] = {1000ms, 2000ms, 3000ms, 3000ms};
  for (size_t i = 0; i < 4; ++i) {
    const auto gap = times[i + 1] - times[i];
    EXPECT_GE(gap, nominal[i] / 2) << i;
    EXPECT_LE(gap, nominal[i]) << i;
  }
}

TEST_F(RetryingSenderTest, GivesUpAfterMaxAttemptsWithLastResponse) {
  http_.PushResponse(503);
  http_.PushResponse(503);
  http_.PushResponse(503, "still down");
  http_.PushResponse(200);  // must never be reached
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "still down");
  EXPECT_EQ(http_.RequestCount(), 3u);
}

TEST_F(RetryingSenderTest, RetriesUnavailableErrorsThenReportsTheLastError) {
  http_.PushError(core::Unavailable("connect failed"));
  http_.PushError(core::Unavailable("connect failed"));
  http_.PushError(core::Unavailable("connect failed again"));
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback(), "t"));
  Outcome r = done.Get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "connect failed again");
  EXPECT_EQ(http_.RequestCount(), 3u);
  EXPECT_EQ(Count("t", "unavailable"), 3u);
}

TEST_F(RetryingSenderTest, DoesNotRetryTimeouts) {
  http_.PushError(core::DeadlineExceeded("timed out"));
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback(), "t"));
  Outcome r = done.Get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(Count("t", "deadline_exceeded"), 1u);
}

TEST_F(RetryingSenderTest, DoesNotRetryClientErrors) {
  http_.PushResponse(404, "expired_url");
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(RetryingSenderTest, RetryAfterBeyondCapGivesUpAtOnce) {
  http_.PushResponse(429, "", {{"retry-after", "3600"}});
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  Outcome r = done.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(RetryingSenderTest, MalformedRetryAfterFallsBackToBackoff) {
  RecordTimes();
  http_.PushResponse(429, "", {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}});
  http_.PushResponse(200);
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion done;
  ASSERT_TRUE(sender->Enqueue(Request(), done.Callback()));
  ASSERT_TRUE(done.Get().has_value());
  const auto times = Times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[1] - times[0], 500ms);
}

TEST_F(RetryingSenderTest, QueueFullReturnsResourceExhausted) {
  Gate gate;
  gate.Arm(http_);
  RetryingSenderOptions o = Options();
  o.queue_capacity = 2;
  auto sender = Make(o, AdvanceFakeClock(clock_));
  Completion a, b, c;
  ASSERT_TRUE(sender->Enqueue(Request(), a.Callback(), "t"));
  gate.AwaitEntered();  // the only worker now holds `a`; the queue is empty
  ASSERT_TRUE(sender->Enqueue(Request(), b.Callback(), "t"));
  ASSERT_TRUE(sender->Enqueue(Request(), c.Callback(), "t"));
  EXPECT_EQ(sender->queued(), 2u);
  const core::Status full = sender->Enqueue(
      Request(), [](Outcome) { FAIL(); }, "t");
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code, core::ErrorCode::kResourceExhausted);
  EXPECT_EQ(Count("t", "queue_full"), 1u);
  gate.Release();
  EXPECT_TRUE(a.Get().has_value());
  EXPECT_TRUE(b.Get().has_value());
  EXPECT_TRUE(c.Get().has_value());
}

TEST_F(RetryingSenderTest, ShutdownCancelCompletesQueuedDeliveriesWithCancelled) {
  Gate gate;
  gate.Arm(http_);
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion a, b, c;
  ASSERT_TRUE(sender->Enqueue(Request(), a.Callback(), "t"));
  gate.AwaitEntered();
  ASSERT_TRUE(sender->Enqueue(Request(), b.Callback(), "t"));
  ASSERT_TRUE(sender->Enqueue(Request(), c.Callback(), "t"));

  std::thread stopper([&] { sender->Shutdown(ShutdownMode::kCancel); });
  // Queued deliveries are cancelled while the in-flight one is still blocked.
  Outcome rb = b.Get();
  Outcome rc = c.Get();
  ASSERT_FALSE(rb.has_value());
  EXPECT_EQ(rb.error().code, core::ErrorCode::kCancelled);
  ASSERT_FALSE(rc.has_value());
  EXPECT_EQ(rc.error().code, core::ErrorCode::kCancelled);
  EXPECT_FALSE(a.Ready());
  gate.Release();
  stopper.join();
  // The in-flight attempt finished normally.
  Outcome ra = a.Get();
  ASSERT_TRUE(ra.has_value());
  EXPECT_EQ(ra->status, 200);
  EXPECT_EQ(http_.RequestCount(), 1u);
  EXPECT_EQ(Count("t", "cancelled"), 2u);

  const core::Status late = sender->Enqueue(Request(), [](Outcome) { FAIL(); });
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, core::ErrorCode::kCancelled);
}

TEST_F(RetryingSenderTest, ShutdownDrainAttemptsQueuedDeliveries) {
  Gate gate;
  gate.Arm(http_);
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion a, b;
  ASSERT_TRUE(sender->Enqueue(Request(), a.Callback()));
  gate.AwaitEntered();
  ASSERT_TRUE(sender->Enqueue(Request(), b.Callback()));
  std::thread stopper([&] { sender->Shutdown(ShutdownMode::kDrain); });
  gate.Release();
  stopper.join();
  ASSERT_TRUE(a.Get().has_value());
  Outcome rb = b.Get();
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->status, 200);
  EXPECT_EQ(http_.RequestCount(), 2u);
}

TEST_F(RetryingSenderTest, ShutdownDrainDoesNotWaitForPendingRetries) {
  http_.PushResponse(503, "busy");
  auto sender = Make(Options(), WaitForNotify());  // the retry would wait forever
  Completion a;
  ASSERT_TRUE(sender->Enqueue(Request(), a.Callback()));
  // Wait (bounded) until the first attempt happened and the retry is queued.
  for (int i = 0; i < 10'000 && sender->queued() == 0; ++i) {
    std::this_thread::yield();
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(sender->queued(), 1u);
  EXPECT_FALSE(a.Ready());
  sender->Shutdown(ShutdownMode::kDrain);
  Outcome r = a.Get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
  EXPECT_EQ(http_.RequestCount(), 1u);
}

TEST_F(RetryingSenderTest, DestructorCancelsWaitingRetries) {
  http_.PushResponse(500);
  Completion a;
  {
    auto sender = Make(Options(), WaitForNotify());
    ASSERT_TRUE(sender->Enqueue(Request(), a.Callback()));
    for (int i = 0; i < 10'000 && sender->queued() == 0; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(sender->queued(), 1u);
  }
  Outcome r = a.Get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kCancelled);
}

TEST_F(RetryingSenderTest, ManyDeliveriesOnSeveralWorkersAllComplete) {
  http_.SetResponder(
      [](const OutboundRequest&) -> Outcome { return testing::FakeHttpClient::Response(200); });
  auto sender = Make(Options(4), AdvanceFakeClock(clock_));
  constexpr int kN = 200;
  std::vector<std::unique_ptr<Completion>> done;
  for (int i = 0; i < kN; ++i) {
    done.push_back(std::make_unique<Completion>());
    ASSERT_TRUE(sender->Enqueue(Request(), done.back()->Callback(), "t"));
  }
  for (auto& d : done) {
    EXPECT_TRUE(d->Get().has_value());
  }
  EXPECT_EQ(http_.RequestCount(), static_cast<size_t>(kN));
  EXPECT_EQ(Count("t", "2xx"), static_cast<uint64_t>(kN));
}

TEST_F(RetryingSenderTest, CallbackMayEnqueueAFollowUp) {
  auto sender = Make(Options(), AdvanceFakeClock(clock_));
  Completion second;
  ASSERT_TRUE(sender->Enqueue(
      Request(), [&](Outcome) { ASSERT_TRUE(sender->Enqueue(Request(), second.Callback())); }));
  EXPECT_TRUE(second.Get().has_value());
}

}  // namespace
}  // namespace opsgate::http
