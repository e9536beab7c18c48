// File: opsgate/audit/export/transport.h
//
// ExportTransport: where a Forwarder (forwarder.h) writes formatted, framed records. It
// is a byte stream with an explicit connection: Connect, Send everything, Flush (return
// only once the bytes left this process as far as the transport can tell), Disconnect.
//
// Implementations: SyslogClient (syslog_client.h, TCP or TLS). Tests use fakes.
//
// Thread-safety: a transport is used by one thread (the forwarder's), except Interrupt(),
// which any thread may call to make a blocked Connect/Send/Flush return kCancelled soon.
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::audit::siem {

class ExportTransport {
 public:
  virtual ~ExportTransport() = default;

  // For logs and errors, e.g. "syslog+tls://siem.example.com:6514".
  virtual std::string Describe() const = 0;

  // Opens a new connection, closing any old one. Errors: kUnavailable (retry later),
  // kFailedPrecondition (configuration: bad CA, certificate not trusted), kCancelled.
  [[nodiscard]] virtual core::Status Connect() = 0;
  // True after a successful Connect until Disconnect or a failed Send/Flush, or when
  // the peer is known to have closed the connection.
  virtual bool Connected() = 0;
  // Writes all of `bytes`. On error the connection is closed. Errors: kUnavailable,
  // kDeadlineExceeded, kCancelled.
  [[nodiscard]] virtual core::Status Send(std::string_view bytes) = 0;
  // Waits until everything sent has been delivered as far as the transport can observe.
  // Errors as Send.
  [[nodiscard]] virtual core::Status Flush() = 0;
  virtual void Disconnect() = 0;

  // Makes the current and future blocking calls return kCancelled promptly (shutdown).
  virtual void Interrupt() = 0;
};

}  // namespace opsgate::audit::siem
