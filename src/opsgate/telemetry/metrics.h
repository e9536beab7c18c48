// File: opsgate/telemetry/metrics.h
//
// Counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4) by MetricsRegistry::RenderPrometheus().
//
//   MetricsRegistry registry;
//   auto& requests = registry.AddCounter("opsgate_http_requests_total",
//                                        "HTTP requests by route and status.",
//                                        {"route", "status"});
//   requests.With({"/healthz", "200"}).Inc();
//
// Thread-safety: everything is safe to call from any thread. References returned by
// Add*() and With() stay valid for the registry's lifetime, so hot paths may cache them.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate::telemetry {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { value_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative histogram with fixed upper bounds (seconds, bytes, …); +Inf is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Take() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative, size bounds+1
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};  // sum scaled by 1e6 so it can be atomic
};

// Default latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> LatencyBuckets();

// A metric name with label names, and one child per distinct label-value tuple.
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // The child for these label values (created on first use). The number of values
  // must equal the number of label names; extra or missing ones are truncated/empty.
  T& With(std::initializer_list<std::string_view> values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  template <class Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [labels, child] : children_) {
      fn(labels, *child);
    }
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // GUARDED_BY(mu_)
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds);

  // The whole registry in Prometheus text format, families in registration order.
  std::string RenderPrometheus() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;      // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;          // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;  // GUARDED_BY(mu_)
  std::vector<std::pair<char, size_t>> order_;                  // GUARDED_BY(mu_)
};

template <class T>
T& Family<T>::With(std::initializer_list<std::string_view> values) {
  std::vector<std::string> key;
  key.reserve(label_names_.size());
  auto it = values.begin();
  for (size_t i = 0; i < label_names_.size(); ++i) {
    key.emplace_back(it != values.end() ? std::string(*it++) : std::string());
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto found = children_.find(key);
  if (found != children_.end()) {
    return *found->second;
  }
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  T& ref = *child;
  children_.emplace(std::move(key), std::move(child));
  return ref;
}

}  // namespace opsgate::telemetry
