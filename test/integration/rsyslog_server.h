// File: test/integration/rsyslog_server.h
//
// Runs a real rsyslogd (the Debian package) for the SIEM export tests, isolated from the
// system one: its own config, pid file and work directory under a test directory, no
// imuxsock/imklog (no /dev/log), one imtcp listener on 127.0.0.1 (plain TCP, or TLS via
// the "ossl" network stream driver from rsyslog-openssl). Every message received on it
// is written twice: its raw bytes (%rawmsg%, i.e. the RFC 5424 message without the
// octet-count frame) one per line to raw.log, and rsyslog's parse of it to parsed.log.
//
//   RsyslogServer server(dir, RsyslogTls{ca, cert, key});
//   ASSERT_TRUE(server.Start().has_value());       // picks a free port
//   ... send to 127.0.0.1:server.port() ...
//   server.Kill();                                  // SIGKILL, as a crash
//   ASSERT_TRUE(server.Start().has_value());        // same port, same files
//
// Start waits until the listening socket on the port belongs to this rsyslogd (checked
// in /proc), so a port taken by someone else is detected and another port is tried.
// The destructor kills the daemon: a test never leaves one behind.
//
// Thread-safety: none; use from the test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "opsgate/core/result.h"

namespace opsgate::testing {

// Path of rsyslogd if installed (/usr/sbin/rsyslogd, /sbin/rsyslogd), else nullopt.
std::optional<std::string> FindRsyslogd();
// Whether rsyslog's OpenSSL stream driver (Debian package rsyslog-openssl) is installed.
bool HaveRsyslogOpenssl();

struct RsyslogTls {
  std::string ca_file;    // CA bundle rsyslog trusts (client certificates)
  std::string cert_file;  // the server certificate rsyslog presents
  std::string key_file;
  // "anon": no client certificate needed; "x509/certvalid": one signed by ca_file.
  std::string auth_mode = "anon";
};

class RsyslogServer {
 public:
  RsyslogServer(std::string dir, std::optional<RsyslogTls> tls);
  ~RsyslogServer();
  RsyslogServer(const RsyslogServer&) = delete;
  RsyslogServer& operator=(const RsyslogServer&) = delete;

  // Starts rsyslogd and waits until it listens. The first Start picks a free port
  // (retrying on collisions); later ones reuse it (waiting for it to be free).
  // Errors: kFailedPrecondition (rsyslogd missing, exited: the message carries its
  // stderr), kDeadlineExceeded.
  [[nodiscard]] core::Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGKILL and reap. No-op when not running.
  void Kill();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  // Lines of raw.log / parsed.log (messages as received / as rsyslog parsed them).
  std::vector<std::string> RawMessages() const;
  std::vector<std::string> ParsedMessages() const;
  // Waits until raw.log has at least `n` lines.
  bool WaitForMessages(size_t n, std::chrono::milliseconds timeout) const;
  // rsyslogd's stderr so far (all runs).
  std::string Stderr() const;

 private:
  void WriteConfig() const;
  bool ListenerOwnedByChild() const;
  bool ChildExited();

  std::string dir_;
  std::optional<RsyslogTls> tls_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace opsgate::testing
