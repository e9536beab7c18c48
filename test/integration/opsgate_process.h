// File: test/integration/opsgate_process.h
//
// Runs the real opsgate binary for integration tests: fork/exec with stdout and
// stderr captured by reader threads, waits for log events, sends signals, and
// always reaps the child (SIGKILL after a bounded wait) so a test can never leave a
// server behind or hang.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace opsgate::testing {

// Path of the opsgate binary under test (compiled in by CMake).
std::string OpsgateBinary();

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs opsgate with `args` to completion (killed after `timeout`).
CommandResult RunOpsgate(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30),
                         const std::string& cwd = "");

class OpsgateProcess {
 public:
  // Starts `opsgate <args>` in `cwd` (empty: inherit).
  OpsgateProcess(const std::vector<std::string>& args, const std::string& cwd = "");
  ~OpsgateProcess();
  OpsgateProcess(const OpsgateProcess&) = delete;
  OpsgateProcess& operator=(const OpsgateProcess&) = delete;

  // Waits until stderr has a line containing `needle` after `from_line`; returns the
  // line, or nullopt on timeout or exit.
  std::optional<std::string> WaitForLog(const std::string& needle,
                                        std::chrono::milliseconds timeout,
                                        size_t from_line = 0);
  // Waits for the "http.listening" event and returns the port in it (0 on failure).
  uint16_t WaitUntilListening(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  void Signal(int signo);
  // Waits for exit; returns the exit code, or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  size_t StderrLineCount();
  std::string Stdout();
  std::string Stderr();
  pid_t pid() const { return pid_; }

 private:
  void Reader(int fd, std::string* buffer);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;  // GUARDED_BY(mu_)
  std::string err_;  // GUARDED_BY(mu_)
  int readers_open_ = 0;  // GUARDED_BY(mu_)
  std::thread out_thread_;
  std::thread err_thread_;
};

}  // namespace opsgate::testing
