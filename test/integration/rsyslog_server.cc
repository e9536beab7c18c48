#include "test/integration/rsyslog_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace opsgate::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(ReadAll(path));
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

uint16_t PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Inode of the socket listening on 127.0.0.1:port (or 0.0.0.0:port), from /proc/net/tcp.
std::optional<std::string> ListeningInode(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char want_local[16];
  std::snprintf(want_local, sizeof(want_local), ":%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    if (st == "0A" && local.size() > 5 && local.substr(local.size() - 5) == want_local) {
      return inode;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FindRsyslogd() {
  for (const char* p : {"/usr/sbin/rsyslogd", "/sbin/rsyslogd"}) {
    if (::access(p, X_OK) == 0) {
      return std::string(p);
    }
  }
  return std::nullopt;
}

bool HaveRsyslogOpenssl() {
  glob_t g{};
  const bool found =
      ::glob("/usr/lib/*/rsyslog/lmnsd_ossl.so", 0, nullptr, &g) == 0 && g.gl_pathc > 0;
  globfree(&g);
  return found || ::access("/usr/lib/rsyslog/lmnsd_ossl.so", R_OK) == 0;
}

RsyslogServer::RsyslogServer(std::string dir, std::optional<RsyslogTls> tls)
    : dir_(std::move(dir)), tls_(std::move(tls)) {
  fs::create_directories(dir_ + "/work");
}

RsyslogServer::~RsyslogServer() { Kill(); }

void RsyslogServer::WriteConfig() const {
  std::ofstream c(dir_ + "/rsyslog.conf", std::ios::trunc);
  c << "# Written by test/integration/rsyslog_server.cc\n";
  c << "global(workDirectory=\"" << dir_ << "/work\" maxMessageSize=\"256k\"";
  if (tls_) {
    c << "\n  defaultNetstreamDriver=\"ossl\""
      << "\n  defaultNetstreamDriverCAFile=\"" << tls_->ca_file << "\""
      << "\n  defaultNetstreamDriverCertFile=\"" << tls_->cert_file << "\""
      << "\n  defaultNetstreamDriverKeyFile=\"" << tls_->key_file << "\"";
  }
  c << ")\n";
  if (tls_) {
    c << "module(load=\"imtcp\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\" "
         "streamDriver.authMode=\""
      << tls_->auth_mode << "\")\n";
  } else {
    c << "module(load=\"imtcp\")\n";
  }
  c << "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" << port_ << "\")\n";
  c << "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n";
  c << "template(name=\"parsed\" type=\"string\" string=\"%pri%|%protocol-version%|"
       "%hostname%|%app-name%|%procid%|%msgid%|%structured-data%\\n\")\n";
  c << "if $inputname == \"imtcp\" then {\n"
    << "  action(type=\"omfile\" file=\"" << dir_ << "/raw.log\" template=\"raw\")\n"
    << "  action(type=\"omfile\" file=\"" << dir_ << "/parsed.log\" template=\"parsed\")\n"
    << "  stop\n}\n";
  c << "action(type=\"omfile\" file=\"" << dir_ << "/internal.log\")\n";
}

bool RsyslogServer::ListenerOwnedByChild() const {
  auto inode = ListeningInode(port_);
  if (!inode) {
    return false;
  }
  const std::string want = "socket:[" + *inode + "]";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec)) {
    std::error_code ec2;
    if (fs::read_symlink(e.path(), ec2).string() == want) {
      return true;
    }
  }
  return false;
}

bool RsyslogServer::ChildExited() {
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return true;
  }
  return false;
}

core::Status RsyslogServer::Start(std::chrono::milliseconds timeout) {
  auto rsyslogd = FindRsyslogd();
  if (!rsyslogd) {
    return core::Fail(
        core::FailedPrecondition("rsyslogd is not installed (apt-get install "
                                 "rsyslog rsyslog-openssl)"));
  }
  Kill();
  const bool fixed_port = port_ != 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!fixed_port) {
      port_ = PickFreePort();
    }
    WriteConfig();
    const std::string conf = dir_ + "/rsyslog.conf";
    const std::string pidfile = dir_ + "/rsyslogd.pid";
    const std::string errfile = dir_ + "/rsyslogd.stderr";
    const size_t err_before = ReadAll(errfile).size();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(errfile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl(rsyslogd->c_str(), "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidfile.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait for this daemon to own the listener, or to give up on it.
    while (std::chrono::steady_clock::now() < deadline) {
      if (ListenerOwnedByChild()) {
        return core::Ok();
      }
      if (ChildExited()) {
        break;
      }
      const std::string err = ReadAll(errfile).substr(err_before);
      if (err.find("Could not create tcp listener") != std::string::npos ||
          err.find("Address already in use") != std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    last = ReadAll(errfile).substr(err_before);
    Kill();
    std::this_thread::sleep_for(100ms);
  }
  return core::Fail(core::DeadlineExceeded(
      "rsyslogd did not listen on 127.0.0.1:" + std::to_string(port_) + "; its stderr: " + last));
}

void RsyslogServer::Kill() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::vector<std::string> RsyslogServer::RawMessages() const { return Lines(dir_ + "/raw.log"); }

std::vector<std::string> RsyslogServer::ParsedMessages() const {
  return Lines(dir_ + "/parsed.log");
}

bool RsyslogServer::WaitForMessages(size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (RawMessages().size() >= n) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return RawMessages().size() >= n;
}

std::string RsyslogServer::Stderr() const { return ReadAll(dir_ + "/rsyslogd.stderr"); }

}  // namespace opsgate::testing
