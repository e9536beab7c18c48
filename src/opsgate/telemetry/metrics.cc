#include "opsgate/telemetry/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace opsgate::telemetry {
namespace {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  // Shortest form that reads back as the same double ("0.1", not "0.10000000000000001").
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) {
      break;
    }
  }
  return buf;
}

// {a="x",b="y"} plus an optional extra label (le for histograms).
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return {};
  }
  std::string out = "{";
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

template <class T>
void Header(std::string& out, const Family<T>& f, std::string_view type) {
  out += "# HELP " + f.name() + " " + EscapeHelp(f.help()) + "\n";
  out += "# TYPE " + f.name() + " ";
  out += type;
  out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0) {
    sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(v * 1e6)), std::memory_order_relaxed);
  }
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // count is the +Inf bucket so the exposition stays self-consistent under races.
  s.count = running;
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Family<Counter>& MetricsRegistry::AddCounter(std::string name, std::string help,
                                             std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                                        std::move(label_names)));
  order_.emplace_back('c', counters_.size() - 1);
  return *counters_.back();
}

Family<Gauge>& MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                    std::move(label_names)));
  order_.emplace_back('g', gauges_.size() - 1);
  return *gauges_.back();
}

Family<Histogram>& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(label_names), std::move(bounds)));
  order_.emplace_back('h', histograms_.size() - 1);
  return *histograms_.back();
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [kind, index] : order_) {
    if (kind == 'c') {
      const auto& f = *counters_[index];
      Header(out, f, "counter");
      f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
        out += f.name() + Labels(f.label_names(), labels) + " " + std::to_string(c.Value()) + "\n";
      });
    } else if (kind == 'g') {
      const auto& f = *gauges_[index];
      Header(out, f, "gauge");
      f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
        out += f.name() + Labels(f.label_names(), labels) + " " + std::to_string(g.Value()) + "\n";
      });
    } else {
      const auto& f = *histograms_[index];
      Header(out, f, "histogram");
      f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
        const auto snap = h.Take();
        for (size_t i = 0; i <= h.bounds().size(); ++i) {
          const std::string le = i < h.bounds().size() ? FormatDouble(h.bounds()[i]) : "+Inf";
          out += f.name() + "_bucket" + Labels(f.label_names(), labels, "le", le) + " " +
                 std::to_string(snap.cumulative[i]) + "\n";
        }
        out += f.name() + "_sum" + Labels(f.label_names(), labels) + " " + FormatDouble(snap.sum) +
               "\n";
        out += f.name() + "_count" + Labels(f.label_names(), labels) + " " +
               std::to_string(snap.count) + "\n";
      });
    }
  }
  return out;
}

}  // namespace opsgate::telemetry
