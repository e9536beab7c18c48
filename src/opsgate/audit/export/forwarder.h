// File: opsgate/audit/export/forwarder.h
//
// Forwarder: ships the audit log to a SIEM live, at least once (docs/siem-export.md).
// One background thread:
//
//   1. loads the cursor (ExportCursorStore, under options.name): the next seq to send;
//   2. reads up to batch_size records from the AuditStore starting at the cursor,
//      formats each (syslog: RFC 5424 in an octet-counting frame; jsonl: one line + LF),
//      and writes the batch through the transport in one Send, then Flush;
//   3. saves the cursor past the batch only after Send and Flush succeeded;
//   4. repeats while records are waiting; otherwise sleeps until Notify() or
//      poll_interval.
//
// On any failure (connect, send, flush, store, cursor) it logs, counts, disconnects and
// retries after a backoff that doubles from initial_backoff up to max_backoff; the retry
// starts again at the saved cursor, so a batch that may have been partly delivered is
// sent again in full. Records can therefore arrive more than once (receivers dedupe on
// seq), but none is skipped. A record that does not decode stops the export at that seq
// with kDataLoss in last_error() until the log is repaired: an audit trail with a silent
// hole is worse than a late one.
//
//   auto client = SyslogClient::Create(client_options);          // syslog_client.h
//   auto formatter = RecordFormatter::Create(redactor, format_options);
//   auto fwd = Forwarder::Create(audit_store, cursors, std::move(*client), *formatter,
//                                logger, &metrics, {.name = "syslog"});
//   (*fwd)->Start();
//   audit_log.Append(record, [&](auto seq) { (*fwd)->Notify(); ... });
//   (*fwd)->Stop();   // returns within about one poll of the socket
//
// Ownership: owns the transport; borrows the audit store, the cursor store, the logger
// and the metrics, which must outlive the Forwarder.
// Thread-safety: Notify, WaitUntilExported, next_seq and last_error from any thread;
// Start and Stop from one thread, once each (the destructor calls Stop).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "opsgate/audit/export/format.h"
#include "opsgate/audit/export/transport.h"
#include "opsgate/core/result.h"
#include "opsgate/store/audit_store.h"
#include "opsgate/store/export_cursor.h"
#include "opsgate/telemetry/log.h"
#include "opsgate/telemetry/metrics.h"

namespace opsgate::audit::siem {

struct ForwarderOptions {
  // Cursor name and metrics/log label, e.g. "syslog". 1..128 bytes.
  std::string name = "syslog";
  // kSyslog: RFC 5424 messages, octet-counting framing. kJsonLines: JSON + "\n".
  ExportFormat format = ExportFormat::kSyslog;
  // Records per Send/Flush/cursor save, 1..100000.
  size_t batch_size = 256;
  // Check for new records this often even without Notify().
  std::chrono::milliseconds poll_interval{2000};
  // First wait after a failure; doubles per consecutive failure up to max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{60000};
};

// The forwarder metrics; register once per registry and share between forwarders.
struct ExportMetrics {
  telemetry::Family<telemetry::Counter>* records = nullptr;   // {exporter}
  telemetry::Family<telemetry::Counter>* failures = nullptr;  // {exporter, code}
  telemetry::Family<telemetry::Gauge>* lag = nullptr;         // {exporter}

  // opsgate_audit_export_records_total, opsgate_audit_export_failures_total,
  // opsgate_audit_export_lag_records (records in the log not yet exported).
  static ExportMetrics Register(telemetry::MetricsRegistry& registry);
};

class Forwarder {
 public:
  // Errors: kInvalidArgument for options out of range (message names the option).
  // `metrics` may be null.
  [[nodiscard]] static core::Result<std::unique_ptr<Forwarder>> Create(
      store::AuditStore& audit, store::ExportCursorStore& cursors,
      std::unique_ptr<ExportTransport> transport, RecordFormatter formatter,
      telemetry::Logger& logger, const ExportMetrics* metrics, ForwarderOptions options);

  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Starts the thread. Call once.
  void Start();
  // New records may be waiting: wake the thread (cheap; coalesces).
  void Notify();
  // Interrupts any wait or socket call, stops the thread and disconnects. Records not
  // yet confirmed are sent after the next start, from the saved cursor. Idempotent.
  void Stop();

  // The cursor as last saved (0 before it is loaded).
  uint64_t next_seq() const;
  // Waits until the saved cursor is >= `next_seq` (records before it were exported).
  // False on timeout or when stopped first.
  bool WaitUntilExported(uint64_t next_seq, std::chrono::milliseconds timeout);
  // The error of the last attempt, if it failed; cleared by the next success.
  std::optional<core::Error> last_error() const;

 private:
  Forwarder(store::AuditStore& audit, store::ExportCursorStore& cursors,
            std::unique_ptr<ExportTransport> transport, RecordFormatter formatter,
            telemetry::Logger& logger, const ExportMetrics* metrics, ForwarderOptions options);

  void Run();
  // One step: Ok(true) sent a batch, Ok(false) nothing waiting.
  core::Result<bool> RunOnce();
  // Sleeps up to `d`; returns early on Stop, and on Notify when `wake_on_notify`.
  void Sleep(std::chrono::milliseconds d, bool wake_on_notify);
  void SetLag(uint64_t count);

  store::AuditStore& audit_;
  store::ExportCursorStore& cursors_;
  std::unique_ptr<ExportTransport> transport_;
  const RecordFormatter formatter_;
  telemetry::Logger& logger_;
  const ExportMetrics* metrics_;
  const ForwarderOptions options_;

  // Used by the thread only.
  bool cursor_loaded_ = false;
  bool was_failing_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;        // Notify/Stop -> thread
  std::condition_variable done_cv_;        // thread -> WaitUntilExported
  bool notified_ = false;                  // GUARDED_BY(mu_)
  bool stopping_ = false;                  // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                  // GUARDED_BY(mu_)
  std::optional<core::Error> last_error_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace opsgate::audit::siem
