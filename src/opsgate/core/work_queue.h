// File: opsgate/core/work_queue.h
//
// A small pool of worker threads for blocking work handed off by I/O threads (an OIDC
// token exchange, a store write from a WebSocket message). Bounded: Post refuses
// instead of queueing without limit, so a flood cannot grow memory.
//
//   WorkQueue queue("oidc", /*threads=*/2, /*max_queued=*/64);
//   if (!queue.Post([respond] { respond(SlowThing()); })) respond(Busy());
//
// Shutdown (or the destructor) runs what is queued, then joins. Post after Shutdown
// returns false.
//
// Thread-safety: Post and Shutdown from any thread (Shutdown not from a task).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace opsgate::core {

class WorkQueue {
 public:
  WorkQueue(std::string name, size_t threads, size_t max_queued)
      : name_(std::move(name)), max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }
  ~WorkQueue() { Shutdown(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`; false when max_queued tasks are waiting or after Shutdown.
  [[nodiscard]] bool Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || queue_.size() >= max_queued_) {
        return false;
      }
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

  const std::string& name() const { return name_; }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const std::string name_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace opsgate::core
