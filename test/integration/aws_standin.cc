#include "test/integration/aws_standin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace opsgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Waits for `pid` to exit within `timeout`; true when reaped.
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

AwsStandin::AwsStandin(std::filesystem::path dir) : dir_(std::move(dir)) {}

AwsStandin::~AwsStandin() { Stop(); }

bool AwsStandin::Available() {
  if (::access(kPython, X_OK) != 0) {
    return false;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    ::execl(kPython, "python3", "-c", "import botocore.auth, botocore.awsrequest", nullptr);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && ScriptPath().has_value();
}

std::optional<std::string> AwsStandin::ScriptPath() {
#ifdef OPSGATE_AWS_STANDIN_SCRIPT
  if (fs::exists(OPSGATE_AWS_STANDIN_SCRIPT)) {
    return std::string(OPSGATE_AWS_STANDIN_SCRIPT);
  }
#endif
  if (const char* src = std::getenv("OPSGATE_SOURCE_DIR"); src != nullptr && *src != '\0') {
    fs::path p = fs::path(src) / "test" / "integration" / "aws_standin.py";
    if (fs::exists(p)) {
      return p.string();
    }
  }
  return std::nullopt;
}

std::optional<std::string> AwsStandin::Start(const std::string& state_json) {
  if (running()) {
    return "the stand-in is already running";
  }
  auto script = ScriptPath();
  if (!script) {
    return "aws_standin.py not found: set OPSGATE_AWS_STANDIN_SCRIPT at build time or "
           "OPSGATE_SOURCE_DIR";
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const fs::path state = dir_ / "state.json";
  const fs::path port_file = dir_ / "port";
  const fs::path record = dir_ / "calls.jsonl";
  const fs::path log = dir_ / "standin.log";
  {
    std::ofstream out(state, std::ios::binary | std::ios::trunc);
    out << state_json;
    if (!out) {
      return "cannot write " + state.string();
    }
  }
  fs::remove(port_file, ec);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return "cannot open " + log.string() + ": " + std::strerror(errno);
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return std::string("fork: ") + std::strerror(errno);
  }
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
    }
    ::dup2(log_fd, 2);
    // Do not let a pyenv/virtualenv environment leak into Debian's python.
    ::unsetenv("PYTHONPATH");
    ::unsetenv("PYTHONHOME");
    ::setenv("PYTHONUNBUFFERED", "1", 1);
    ::execl(kPython, "python3", "-I", script->c_str(), "--state", state.c_str(), "--port-file",
            port_file.c_str(), "--record", record.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "the stand-in exited (status " + std::to_string(status) + "): " + Log();
    }
    if (fs::exists(port_file)) {
      const std::string text = ReadAll(port_file);
      const long port = std::strtol(text.c_str(), nullptr, 10);
      if (port > 0 && port < 65536) {
        port_ = static_cast<uint16_t>(port);
        return std::nullopt;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  Stop();
  return "the stand-in did not write its port file within 10 s: " + Log();
}

void AwsStandin::Stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  if (!WaitExit(pid_, 3s)) {
    ::kill(pid_, SIGKILL);
    WaitExit(pid_, 5s);
  }
  pid_ = -1;
}

std::string AwsStandin::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string AwsStandin::Log() const { return ReadAll(dir_ / "standin.log"); }

std::string AwsStandin::Get(std::string_view path, int* status) const {
  return Request("GET", path, {}, status);
}

std::string AwsStandin::Post(std::string_view path, std::string_view body, int* status) const {
  return Request("POST", path, body, status);
}

std::string AwsStandin::Request(std::string_view method, std::string_view path,
                                std::string_view body, int* status) const {
  if (status != nullptr) {
    *status = 0;
  }
  if (port_ == 0) {
    return {};
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return {};
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = std::string(method) + " " + std::string(path) +
                    " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                    "\r\nConnection: close\r\n";
  if (method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  std::string resp;
  if (WriteAll(fd, req)) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 200);
      if (r < 0 && errno != EINTR) {
        break;
      }
      if (r <= 0) {
        continue;
      }
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      resp.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  const size_t end = resp.find("\r\n\r\n");
  if (end == std::string::npos || resp.compare(0, 5, "HTTP/") != 0) {
    return {};
  }
  if (status != nullptr) {
    const size_t sp = resp.find(' ');
    *status = std::atoi(resp.c_str() + sp + 1);
  }
  return resp.substr(end + 4);
}

}  // namespace opsgate::testing
