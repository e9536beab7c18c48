// Start-up benchmark: time from exec() of `opsgate serve` to the first 200 from
// GET /healthz over HTTPS, and the resident set size once idle.
//
//   build/release/bench/startup_bench --opsgate build/release/opsgate --runs 20
//
// Each run starts opsgate on an already-initialised data directory (the one-time
// `init`, which generates keys, is not start-up), polls /healthz every 0.5 ms with a
// fresh TLS connection, then samples VmRSS after 1 s idle and stops it with SIGTERM.
// Prints per-run figures and the median/min/max.
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

long Healthz(const std::string& url, const std::string& ca) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  curl_easy_cleanup(curl);
  return status;
}

long RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atol(line.c_str() + 6);
    }
  }
  return -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string opsgate = "build/release/opsgate";
  int runs = 20;
  uint16_t port = 18443;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--opsgate") {
      opsgate = argv[i + 1];
    } else if (a == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else if (a == "--port") {
      port = static_cast<uint16_t>(std::atoi(argv[i + 1]));
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const fs::path dir = fs::temp_directory_path() / ("opsgate-startup-" + std::to_string(getpid()));
  const std::string init = opsgate + " init " + dir.string() + " > /dev/null";
  if (std::system(init.c_str()) != 0) {
    std::fprintf(stderr, "opsgate init failed\n");
    return 1;
  }
  const std::string config = (dir / "opsgate.yaml").string();
  const std::string ca = (dir / "tls" / "server.crt").string();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string url = "https://" + listen + "/healthz";

  std::vector<double> start_ms;
  std::vector<double> rss_mib;
  for (int run = 0; run < runs; ++run) {
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(opsgate.c_str(), opsgate.c_str(), "serve", "--config", config.c_str(), "--listen",
            listen.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    double ms = -1;
    while (Clock::now() - t0 < std::chrono::seconds(10)) {
      if (Healthz(url, ca) == 200) {
        ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double rss = static_cast<double>(RssKiB(pid)) / 1024.0;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    if (ms < 0) {
      std::fprintf(stderr, "run %d: opsgate did not answer within 10 s\n", run);
      return 1;
    }
    std::printf("run %2d: start-up %.1f ms, idle RSS %.1f MiB\n", run, ms, rss);
    start_ms.push_back(ms);
    rss_mib.push_back(rss);
  }
  fs::remove_all(dir);
  std::printf("start-up (exec to first /healthz 200): median %.1f ms, min %.1f, max %.1f\n",
              Median(start_ms), *std::min_element(start_ms.begin(), start_ms.end()),
              *std::max_element(start_ms.begin(), start_ms.end()));
  std::printf("idle RSS: median %.1f MiB, max %.1f\n", Median(rss_mib),
              *std::max_element(rss_mib.begin(), rss_mib.end()));
  return 0;
}
