#include "opsgate/audit/export/forwarder.h"

#include <algorithm>

namespace opsgate::audit::siem {

ExportMetrics ExportMetrics::Register(telemetry::MetricsRegistry& registry) {
  ExportMetrics m;
  m.records = &registry.AddCounter("opsgate_audit_export_records_total",
                                   "Audit records delivered to a SIEM exporter (at least once: "
                                   "resent records count again).",
                                   {"exporter"});
  m.failures =
      &registry.AddCounter("opsgate_audit_export_failures_total",
                           "Failed audit export attempts, by error code.", {"exporter", "code"});
  m.lag = &registry.AddGauge("opsgate_audit_export_lag_records",
                             "Audit records not yet confirmed by the exporter.", {"exporter"});
  return m;
}

core::Result<std::unique_ptr<Forwarder>> Forwarder::Create(
    store::AuditStore& audit, store::ExportCursorStore& cursors,
    std::unique_ptr<ExportTransport> transport, RecordFormatter formatter,
    telemetry::Logger& logger, const ExportMetrics* metrics, ForwarderOptions options) {
  if (transport == nullptr) {
    return core::Fail(core::InvalidArgument("audit export: no transport"));
  }
  if (options.name.empty() || options.name.size() > store::ExportCursorStore::kMaxNameBytes) {
    return core::Fail(core::InvalidArgument("audit export: name must be 1..128 bytes"));
  }
  if (options.batch_size == 0 || options.batch_size > 100000) {
    return core::Fail(core::InvalidArgument("audit export '" + options.name +
                                            "': batch_size must be 1..100000, got " +
                                            std::to_string(options.batch_size)));
  }
  if (options.poll_interval.count() <= 0 || options.initial_backoff.count() <= 0 ||
      options.max_backoff < options.initial_backoff) {
    return core::Fail(core::InvalidArgument(
        "audit export '" + options.name +
        "': poll_interval and initial_backoff must be positive and max_backoff at least "
        "initial_backoff"));
  }
  return std::unique_ptr<Forwarder>(new Forwarder(audit, cursors, std::move(transport),
                                                  std::move(formatter), logger, metrics,
                                                  std::move(options)));
}

Forwarder::Forwarder(store::AuditStore& audit, store::ExportCursorStore& cursors,
                     std::unique_ptr<ExportTransport> transport, RecordFormatter formatter,
                     telemetry::Logger& logger, const ExportMetrics* metrics,
                     ForwarderOptions options)
    : audit_(audit),
      cursors_(cursors),
      transport_(std::move(transport)),
      formatter_(std::move(formatter)),
      logger_(logger),
      metrics_(metrics),
      options_(std::move(options)) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void Forwarder::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  wake_cv_.notify_one();
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  transport_->Interrupt();
  wake_cv_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

uint64_t Forwarder::next_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_;
}

std::optional<core::Error> Forwarder::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

bool Forwarder::WaitUntilExported(uint64_t next_seq, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] { return next_seq_ >= next_seq || stopping_; }) &&
         next_seq_ >= next_seq;
}

void Forwarder::Sleep(std::chrono::milliseconds d, bool wake_on_notify) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_cv_.wait_for(lock, d, [&] { return stopping_ || (wake_on_notify && notified_); });
  if (wake_on_notify) {
    notified_ = false;
  }
}

void Forwarder::SetLag(uint64_t count) {
  if (metrics_ != nullptr && metrics_->lag != nullptr) {
    const uint64_t next = next_seq();
    metrics_->lag->With({options_.name}).Set(static_cast<int64_t>(count > next ? count - next : 0));
  }
}

core::Result<bool> Forwarder::RunOnce() {
  if (!cursor_loaded_) {
    auto loaded = cursors_.Load(options_.name);
    if (!loaded) {
      return core::Fail(loaded.error());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      next_seq_ = *loaded;
    }
    cursor_loaded_ = true;
    done_cv_.notify_all();
    logger_.Info("audit.export.started", {{"exporter", options_.name},
                                          {"transport", transport_->Describe()},
                                          {"next_seq", *loaded}});
  }
  // Clear the notification before looking, so a Notify() racing with this check is
  // not lost.
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = false;
  }
  auto count = audit_.RecordCount();
  if (!count) {
    return core::Fail(count.error());
  }
  const uint64_t from = next_seq();
  SetLag(*count);
  if (from >= *count) {
    return false;
  }
  if (!transport_->Connected()) {
    OPSGATE_RETURN_IF_ERROR(transport_->Connect());
    logger_.Info("audit.export.connected",
                 {{"exporter", options_.name}, {"transport", transport_->Describe()}});
  }

  std::string batch;
  uint64_t last = 0;
  uint64_t n = 0;
  core::Status bad = core::Ok();
  OPSGATE_RETURN_IF_ERROR(
      audit_.ForEachRecord(from, options_.batch_size, [&](const store::AuditRow& row) {
        auto record = DecodeRecord(row.record);
        if (!record) {
          bad = core::Fail(core::DataLoss(
              "audit export '" + options_.name + "': record seq " + std::to_string(row.seq) +
              " cannot be decoded (" + record.error().message +
              "); export is stopped there: run `opsgate audit verify`"));
          return false;
        }
        if (options_.format == ExportFormat::kSyslog) {
          batch += FrameOctetCounted(formatter_.SyslogMessage(*record, row.leaf_hash));
        } else {
          batch += formatter_.JsonLine(*record, row.leaf_hash);
          batch += '\n';
        }
        last = row.seq;
        ++n;
        return true;
      }));
  if (n == 0) {
    if (!bad) {
      return core::Fail(bad.error());
    }
    return false;
  }
  OPSGATE_RETURN_IF_ERROR(transport_->Send(batch));
  OPSGATE_RETURN_IF_ERROR(transport_->Flush());
  // Only now is the batch delivered as far as we can tell: move the cursor past it.
  OPSGATE_RETURN_IF_ERROR(cursors_.Save(options_.name, last + 1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    next_seq_ = last + 1;
  }
  done_cv_.notify_all();
  if (metrics_ != nullptr && metrics_->records != nullptr) {
    metrics_->records->With({options_.name}).Inc(n);
  }
  SetLag(*count);
  return true;
}

void Forwarder::Run() {
  std::chrono::milliseconds backoff{0};
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        break;
      }
    }
    auto sent = RunOnce();
    if (!sent) {
      const core::Error& e = sent.error();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ && e.code == core::ErrorCode::kCancelled) {
          break;
        }
        last_error_ = e;
      }
      transport_->Disconnect();
      if (metrics_ != nullptr && metrics_->failures != nullptr) {
        metrics_->failures->With({options_.name, core::ErrorCodeName(e.code)}).Inc();
      }
      backoff = backoff.count() == 0 ? options_.initial_backoff
                                     : std::min(backoff * 2, options_.max_backoff);
      logger_.Warn("audit.export.failed", {{"exporter", options_.name},
                                           {"code", core::ErrorCodeName(e.code)},
                                           {"error", e.message},
                                           {"retry_in_ms", static_cast<int64_t>(backoff.count())},
                                           {"next_seq", next_seq()}});
      was_failing_ = true;
      Sleep(backoff, /*wake_on_notify=*/false);
      continue;
    }
    if (was_failing_) {
      logger_.Info("audit.export.recovered",
                   {{"exporter", options_.name}, {"next_seq", next_seq()}});
      was_failing_ = false;
    }
    backoff = std::chrono::milliseconds{0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_.reset();
    }
    if (!*sent) {
      Sleep(options_.poll_interval, /*wake_on_notify=*/true);
    }
  }
  transport_->Disconnect();
  done_cv_.notify_all();
}

}  // namespace opsgate::audit::siem
