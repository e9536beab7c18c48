#include "test/integration/opsgate_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace opsgate::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    const size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      break;  // only complete lines count
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

std::string OpsgateBinary() {
  if (const char* p = std::getenv("OPSGATE_BINARY")) {
    return p;
  }
  return OPSGATE_BINARY_PATH;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const fs::path p = fs::temp_directory_path() /
                     ("opsgate-it-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter++) + "-" + std::to_string(rd()));
  fs::create_directories(p);
  path_ = p.string();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

OpsgateProcess::OpsgateProcess(const std::vector<std::string>& args, const std::string& cwd) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::abort();
  }
  const std::string bin = OpsgateBinary();
  std::vector<std::string> argv_store = {bin};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  readers_open_ = 2;
  out_thread_ = std::thread([this, fd = out_pipe[0]] { Reader(fd, &out_); });
  err_thread_ = std::thread([this, fd = err_pipe[0]] { Reader(fd, &err_); });
}

OpsgateProcess::~OpsgateProcess() {
  if (!exit_code_) {
    Signal(SIGTERM);
    if (!Wait(std::chrono::seconds(10))) {
      Signal(SIGKILL);
      Wait(std::chrono::seconds(10));
    }
  }
  if (out_thread_.joinable()) {
    out_thread_.join();
  }
  if (err_thread_.joinable()) {
    err_thread_.join();
  }
}

void OpsgateProcess::Reader(int fd, std::string* buffer) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    buffer->append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  --readers_open_;
  cv_.notify_all();
}

std::optional<std::string> OpsgateProcess::WaitForLog(const std::string& needle,
                                                      std::chrono::milliseconds timeout,
                                                      size_t from_line) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<std::string> found;
  cv_.wait_for(lock, timeout, [&] {
    const auto lines = Lines(err_);
    for (size_t i = from_line; i < lines.size(); ++i) {
      if (lines[i].find(needle) != std::string::npos) {
        found = lines[i];
        return true;
      }
    }
    return readers_open_ == 0;
  });
  return found;
}

uint16_t OpsgateProcess::WaitUntilListening(std::chrono::milliseconds timeout) {
  const auto line = WaitForLog("\"event\":\"http.listening\"", timeout);
  if (!line) {
    return 0;
  }
  const std::string key = "\"port\":";
  const size_t pos = line->find(key);
  if (pos == std::string::npos) {
    return 0;
  }
  return static_cast<uint16_t>(std::atoi(line->c_str() + pos + key.size()));
}

void OpsgateProcess::Signal(int signo) {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, signo);
  }
}

std::optional<int> OpsgateProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) {
    return exit_code_;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

size_t OpsgateProcess::StderrLineCount() {
  std::lock_guard<std::mutex> lock(mu_);
  return Lines(err_).size();
}

std::string OpsgateProcess::Stdout() {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string OpsgateProcess::Stderr() {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

CommandResult RunOpsgate(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                         const std::string& cwd) {
  OpsgateProcess p(args, cwd);
  CommandResult r;
  auto code = p.Wait(timeout);
  if (!code) {
    p.Signal(SIGKILL);
    code = p.Wait(std::chrono::seconds(5));
  }
  r.exit_code = code.value_or(-1);
  // Let the reader threads drain the pipes.
  p.WaitForLog("\x01never\x01", std::chrono::seconds(5));
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

}  // namespace opsgate::testing
