// File: opsgate/audit/export/syslog_client.h
//
// SyslogClient: a blocking stream client for syslog over TCP (RFC 6587) or TLS
// (RFC 5425), used by the Forwarder as its ExportTransport. It moves bytes; framing is
// the caller's (format.h FrameOctetCounted).
//
//   SyslogClientOptions o;
//   o.host = "siem.example.com"; o.port = 6514; o.tls = true; o.ca_file = "/etc/ssl/siem-ca.pem";
//   auto client = SyslogClient::Create(o);    // loads CA and client certificate now
//   if (!client) return Fail(client.error());
//   OPSGATE_RETURN_IF_ERROR((*client)->Connect());
//   OPSGATE_RETURN_IF_ERROR((*client)->Send(FrameOctetCounted(message)));
//
// TLS is OpenSSL 3: TLS 1.2 or newer, the server's certificate chain verified against
// ca_file, and its name checked against server_name (default host; an IP literal is
// matched against IP subjectAltNames). A client certificate is presented when
// client_cert_file/client_key_file are set (for receivers that authenticate senders).
//
// No call blocks beyond its timeout: the socket is non-blocking and every connect, TLS
// handshake, write and flush waits in poll() with a deadline. Name resolution uses
// getaddrinfo, which is bounded by the resolver's own timeouts (resolv.conf).
//
// Flush waits until the peer's TCP stack has acknowledged every byte (Linux SIOCOUTQ)
// and then checks that the peer has not closed or reset the connection. Syslog over TCP
// has no application-level acknowledgement, so a receiver that dies after its kernel
// acknowledged data it had not yet processed can still lose that data
// (docs/siem-export.md, "Delivery guarantees").
//
// SIGPIPE: writes use MSG_NOSIGNAL (TCP) or block SIGPIPE in the calling thread for the
// duration of the TLS write, so a closed peer is an error, never a signal.
//
// Thread-safety: one thread at a time, except Interrupt() (see transport.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "opsgate/audit/export/transport.h"
#include "opsgate/core/result.h"
#include "opsgate/core/unique_fd.h"

namespace opsgate::audit::siem {

struct SyslogClientOptions {
  // Receiver host name or IP literal. REQUIRED.
  std::string host;
  // Receiver port; 6514 is the IANA port for syslog over TLS, 514 for plain TCP.
  uint16_t port = 6514;
  // TLS on (RFC 5425) or plain TCP (RFC 6587).
  bool tls = true;
  // PEM file with the CA certificate(s) that sign the receiver's certificate.
  // REQUIRED when tls.
  std::string ca_file;
  // Name the receiver's certificate must carry; default `host`.
  std::string server_name;
  // PEM client certificate (chain) and its unencrypted private key; both or neither.
  std::string client_cert_file;
  std::string client_key_file;
  // Deadline for TCP connect plus TLS handshake.
  std::chrono::milliseconds connect_timeout{5000};
  // Deadline for one Send or Flush.
  std::chrono::milliseconds io_timeout{10000};
};

class SyslogClient final : public ExportTransport {
 public:
  // Validates the options and, for TLS, builds the SSL_CTX (reads ca_file and the client
  // certificate/key now, so a configuration error shows at start-up). Does not connect.
  // Errors: kInvalidArgument (empty host, port 0, TLS without ca_file, only one of
  // cert/key, non-positive timeouts); kFailedPrecondition (a file that cannot be read or
  // holds no usable PEM, a key that does not match the certificate), naming the file.
  [[nodiscard]] static core::Result<std::unique_ptr<SyslogClient>> Create(
      SyslogClientOptions options);

  ~SyslogClient() override;
  SyslogClient(const SyslogClient&) = delete;
  SyslogClient& operator=(const SyslogClient&) = delete;

  std::string Describe() const override;
  // Resolves host, connects to the first address that answers, does the TLS handshake
  // and verifies the certificate. Errors: kUnavailable (resolution failed, refused,
  // unreachable, handshake failed), kDeadlineExceeded (connect_timeout),
  // kFailedPrecondition (certificate not trusted or wrong name: fix ca_file or
  // server_name), kCancelled (Interrupt).
  [[nodiscard]] core::Status Connect() override;
  // Also notices (without blocking) when the peer has closed the connection.
  bool Connected() override;
  [[nodiscard]] core::Status Send(std::string_view bytes) override;
  [[nodiscard]] core::Status Flush() override;
  void Disconnect() override;
  void Interrupt() override;

  const SyslogClientOptions& options() const { return options_; }

 private:
  struct Tls;  // OpenSSL state (SSL_CTX, SSL), kept out of this header

  SyslogClient(SyslogClientOptions options, std::unique_ptr<Tls> tls, core::UniqueFd wake);

  enum class Wait { kReady, kTimeout, kInterrupted, kError };
  Wait WaitFor(short events, std::chrono::steady_clock::time_point deadline);
  core::Status ConnectTcp(std::chrono::steady_clock::time_point deadline);
  core::Status Handshake(std::chrono::steady_clock::time_point deadline);
  core::Status Fail(core::Error error);  // disconnects, returns error
  bool Interrupted() const;

  SyslogClientOptions options_;
  std::unique_ptr<Tls> tls_;  // null for plain TCP
  core::UniqueFd wake_;       // eventfd written by Interrupt()
  core::UniqueFd fd_;
  bool connected_ = false;
};

}  // namespace opsgate::audit::siem
