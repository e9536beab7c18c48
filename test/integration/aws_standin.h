// File: test/integration/aws_standin.h
//
// Runs test/integration/aws_standin.py, a local stand-in for the AWS endpoints opsgate
// calls (STS, EC2, Auto Scaling, WAFv2, CloudWatch) that verifies every request's SigV4
// signature with Debian's python3-botocore (an implementation independent of opsgate's
// sigv4.cc). It is run with /usr/bin/python3 explicitly (never a pyenv/venv python, whose
// botocore may differ).
//
//   AwsStandin aws(dir);
//   if (auto err = aws.Start(state_json)) { FAIL() << *err; }
//   env AWS_ENDPOINT_URL = aws.url();                   // http://127.0.0.1:PORT
//   ... opsgate's clients ...
//   std::string calls = aws.Get("/_standin/calls");     // JSON list of call records
//   aws.Post("/_standin/clock", R"({"offset_seconds": 1200})");
//
// Files in `dir`: state.json (the given state), port (written by the stand-in),
// calls.jsonl (every call record), standin.log (the stand-in's stderr: request lines,
// signature mismatches with the canonical request, tracebacks; never secrets).
//
// The script is OPSGATE_AWS_STANDIN_SCRIPT (a compile definition), else
// $OPSGATE_SOURCE_DIR/test/integration/aws_standin.py.
//
// Thread-safety: none; use from the test thread (the stand-in itself is multi-threaded).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace opsgate::testing {

class AwsStandin {
 public:
  explicit AwsStandin(std::filesystem::path dir);
  ~AwsStandin();
  AwsStandin(const AwsStandin&) = delete;
  AwsStandin& operator=(const AwsStandin&) = delete;

  // Whether `/usr/bin/python3 -c 'import botocore'` succeeds.
  static bool Available();
  // The script path (compile definition or $OPSGATE_SOURCE_DIR), or nullopt.
  static std::optional<std::string> ScriptPath();

  // Writes state.json, starts the stand-in and waits (at most 10 s) for its port file.
  // nullopt on success, else what went wrong (with the stand-in's stderr).
  [[nodiscard]] std::optional<std::string> Start(const std::string& state_json);
  // SIGTERM, then SIGKILL after 3 s; reaps. No-op when not running.
  void Stop();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;

  // Control endpoints (/_standin/...), over a plain loopback socket. The body of the
  // answer; "" when the stand-in could not be reached. `status`, when given, receives
  // the HTTP status (0 on transport failure).
  std::string Get(std::string_view path, int* status = nullptr) const;
  std::string Post(std::string_view path, std::string_view body, int* status = nullptr) const;

  // The stand-in's stderr so far.
  std::string Log() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::string Request(std::string_view method, std::string_view path, std::string_view body,
                      int* status) const;

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace opsgate::testing
