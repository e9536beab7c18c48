// Slack load generator: correctly signed, distinct slash commands over keep-alive
// connections, closed loop (each connection sends its next request when the previous
// answer has arrived, as wrk does), for a fixed time.
//
//   build/bench/slack_load --url http://127.0.0.1:3000/slack/events --secret S
//       --connections 32 --duration 10 --warmup 2                     # Bolt
//   build/bench/slack_load --url https://127.0.0.1:8443/slack/events --secret S
//       --cacert DATA/tls/server.crt --team-id T0BENCH01 --connections 32    # opsgate
//   build/bench/slack_load --url https://127.0.0.1:8443/healthz --method GET --insecure
//
// Every request is a form-encoded slash command (`/ops`, user U2147483697, the user the
// Bolt peer answers "ok") of --body-bytes bytes (default 371, like the peers' wrk script)
// with a fresh X-Slack-Request-Timestamp (the current Unix time), a unique text and
// trigger_id, and X-Slack-Signature = v0=hex(HMAC-SHA256(secret, "v0:"+ts+":"+body)).
// --method GET sends bodiless, unsigned GETs (for /healthz).
//
// Options: --url URL (http or https, loopback hosts only), --secret S, --connections N (32),
//   --duration S (10), --warmup S (2; answers in the warm-up are not counted), --threads T
//   (1: one event loop, like wrk -t1), --insecure | --cacert FILE, --team-id T (T0BENCH01),
//   --user-id U (U2147483697), --command C (/ops), --body-bytes B (371), --timeout S (5),
//   --method POST|GET, --pid PID (sample that server's VmRSS and CPU time during the run),
//   --response-origin URL (https://127.0.0.1:9: the response_url in every command is
//   URL/commands/TEAM/SEQ/TOKEN; a closed loopback port by default so that a server that
//   answers through response_url, as opsgate does, never calls hooks.slack.com because of
//   a benchmark; opsgate only accepts hooks.slack.com or its own api_url origin), --quiet.
//
// Output: a human-readable report, then one machine-readable line
//   RESULT requests=.. rps=.. ok=.. non2xx=.. errors=.. p50_ms=.. p90_ms=.. p99_ms=..
//          p999_ms=.. max_ms=.. server_rss_kib=.. server_cpu=.. client_cpu=.. status_404=..
// Latency is from the write of a request to the complete answer; every sample is kept.
// Closed-loop generators (this one, wrk) under-report queueing delay ("coordinated
// omission"); compare servers only with the same generator and settings.
//
// Bounded: stops issuing at the end of --duration, waits at most --timeout for the answers
// in flight, then exits. Refuses any host that does not resolve to loopback only.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "opsgate/crypto/hash.h"

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string secret;
  int connections = 32;
  double duration_s = 10;
  double warmup_s = 2;
  int threads = 1;
  bool insecure = false;
  std::string cacert;
  std::string team_id = "T0BENCH01";
  std::string user_id = "U2147483697";
  std::string command = "/ops";
  size_t body_bytes = 371;
  double timeout_s = 5;
  std::string method = "POST";
  // Where the server would post the real answer. A closed loopback port by default, so
  // that no server under test ever calls hooks.slack.com because of a benchmark.
  std::string response_origin = "https://127.0.0.1:9";
  long server_pid = 0;
  bool quiet = false;
};

struct Target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "slack_load: %s\n", msg.c_str());
  std::exit(2);
}

void Usage() {
  std::fprintf(stderr,
               "usage: slack_load --url http(s)://127.0.0.1:PORT/PATH [--secret S] "
               "[--connections N] [--duration S] [--warmup S] [--threads T] "
               "[--insecure | --cacert FILE] [--team-id T] [--user-id U] [--command C] "
               "[--body-bytes B] [--timeout S] [--method POST|GET] [--response-origin URL] "
               "[--pid PID] [--quiet]\n");
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0)) Die(a + ": not a number: " + v);
      return d;
    };
    if (a == "--url") o.url = value();
    else if (a == "--secret") o.secret = value();
    else if (a == "--connections") o.connections = static_cast<int>(number());
    else if (a == "--duration") o.duration_s = number();
    else if (a == "--warmup") o.warmup_s = number();
    else if (a == "--threads") o.threads = static_cast<int>(number());
    else if (a == "--insecure") o.insecure = true;
    else if (a == "--cacert") o.cacert = value();
    else if (a == "--team-id") o.team_id = value();
    else if (a == "--user-id") o.user_id = value();
    else if (a == "--command") o.command = value();
    else if (a == "--body-bytes") o.body_bytes = static_cast<size_t>(number());
    else if (a == "--timeout") o.timeout_s = number();
    else if (a == "--method") o.method = value();
    else if (a == "--response-origin") o.response_origin = value();
    else if (a == "--pid") o.server_pid = static_cast<long>(number());
    else if (a == "--quiet") o.quiet = true;
    else if (a == "-h" || a == "--help") { Usage(); std::exit(0); }
    else { Usage(); Die("unknown argument " + a); }
  }
  if (o.url.empty()) { Usage(); Die("--url is required"); }
  if (o.method != "POST" && o.method != "GET") Die("--method must be POST or GET");
  if (o.method == "POST" && o.secret.empty()) Die("--secret is required for POST");
  if (o.connections < 1 || o.connections > 10000) Die("--connections must be 1..10000");
  if (o.threads < 1 || o.threads > 64) Die("--threads must be 1..64");
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.duration_s <= 0 || o.duration_s > 3600) Die("--duration must be in (0, 3600]");
  if (o.warmup_s > 600) Die("--warmup must be at most 600");
  if (o.timeout_s <= 0 || o.timeout_s > 60) Die("--timeout must be in (0, 60]");
  if (o.insecure && !o.cacert.empty()) Die("--insecure and --cacert exclude each other");
  return o;
}

Target ParseUrl(const std::string& url) {
  Target t;
  std::string rest;
  if (url.rfind("https://", 0) == 0) { t.tls = true; rest = url.substr(8); }
  else if (url.rfind("http://", 0) == 0) { rest = url.substr(7); }
  else Die("--url must start with http:// or https://");
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) Die("bad IPv6 literal in --url");
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') Die("bad --url authority");
      t.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) t.port = authority.substr(colon + 1);
  }
  if (t.port.empty()) t.port = t.tls ? "443" : "80";
  if (t.host.empty()) Die("--url has no host");
  for (char c : t.path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) Die("--url path has a control char");
  }
  return t;
}

// ---- the request ----------------------------------------------------------------

// Fixed-width decimal so that every body has the same length.
void PutPadded(std::string& out, uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*" PRIu64, width, v);
  out += buf;
}

std::string FormEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class RequestMaker {
 public:
  RequestMaker(const Options& o, const Target& t) : o_(o), t_(t) {
    host_header_ = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
    if (!((t.tls && t.port == "443") || (!t.tls && t.port == "80"))) host_header_ += ":" + t.port;
    // A per-run suffix of the trigger_id (same length as Slack's): two runs started in
    // the same second must not send identical commands, which the server would refuse
    // as replays.
    std::random_device rd;
    char hex[33];
    std::snprintf(hex, sizeof hex, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    run_id_ = hex;
    // Probe the length of an unpadded body to size the padding once.
    padding_ = 0;
    const size_t base = Body(0, 0, 0).size();
    if (o.method == "POST" && base > o.body_bytes) {
      std::fprintf(stderr, "slack_load: note: body is %zu bytes (minimum for these ids)\n", base);
    }
    padding_ = o.body_bytes > base ? o.body_bytes - base : 0;
  }

  // Slack's slash-command field order (api.slack.com/interactivity/slash-commands).
  std::string Body(uint32_t worker, uint32_t conn, uint64_t seq) const {
    std::string b;
    b.reserve(o_.body_bytes + 64);
    b += "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=";
    b += FormEscape(o_.team_id);
    b += "&team_domain=opsbench&channel_id=C0BENCH01&channel_name=ops";
    b.append(padding_, 'x');
    b += "&user_id=";
    b += FormEscape(o_.user_id);
    b += "&user_name=bench&command=";
    b += FormEscape(o_.command);
    b += "&text=status+web-";
    PutPadded(b, worker, 2);
    PutPadded(b, conn, 4);
    PutPadded(b, seq, 9);
    b += "&response_url=";
    b += FormEscape(o_.response_origin);
    b += "%2Fcommands%2F";
    b += FormEscape(o_.team_id);
    b += "%2F";
    PutPadded(b, seq, 12);
    b += "%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=";
    PutPadded(b, seq, 12);
    b += '.';
    PutPadded(b, worker * 10000u + conn, 11);
    b += '.';
    b += run_id_;
    return b;
  }

  // The complete HTTP/1.1 request bytes.
  std::string Make(uint32_t worker, uint32_t conn, uint64_t seq) const {
    std::string r;
    r.reserve(o_.body_bytes + 400);
    r += o_.method;
    r += ' ';
    r += t_.path;
    r += " HTTP/1.1\r\nHost: ";
    r += host_header_;
    r += "\r\nUser-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\nAccept: */*\r\n";
    if (o_.method == "GET") {
      r += "\r\n";
      return r;
    }
    const std::string body = Body(worker, conn, seq);
    const std::string ts = std::to_string(static_cast<long long>(std::time(nullptr)));
    std::string base;
    base.reserve(body.size() + 20);
    base += "v0:";
    base += ts;
    base += ':';
    base += body;
    const std::string sig = opsgate::crypto::HexEncode(opsgate::crypto::HmacSha256(o_.secret, base));
    r += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ";
    r += std::to_string(body.size());
    r += "\r\nX-Slack-Request-Timestamp: ";
    r += ts;
    r += "\r\nX-Slack-Signature: v0=";
    r += sig;
    r += "\r\n\r\n";
    r += body;
    return r;
  }

 private:
  const Options& o_;
  const Target& t_;
  std::string host_header_;
  std::string run_id_;  // 32 hex digits, random per run
  size_t padding_ = 0;
};

// ---- per-thread statistics --------------------------------------------------------

struct Stats {
  std::vector<uint32_t> latency_us;  // measured answers only; capped at ~71 min
  std::map<int, uint64_t> by_status;
  uint64_t errors = 0;
  uint64_t timeouts = 0;
  uint64_t connects = 0;
  std::map<std::string, uint64_t> error_kinds;
};

struct Worker {
  uint32_t index = 0;
  asio::io_context ioc{1};
  Stats stats;
  uint64_t seq = 0;
  int active = 0;                          // coroutines still running on this worker
  asio::steady_timer* stop_timer = nullptr;  // the hard stop; cancelled when active hits 0
};

// Completion of a worker's coroutine: when the last one is done, the run is over for
// this worker (no need to wait for the hard stop).
auto Done(Worker& w) {
  return [&w](std::exception_ptr) {
    if (--w.active == 0 && w.stop_timer != nullptr) w.stop_timer->cancel();
  };
}

struct Shared {
  Options opts;
  Target target;
  std::vector<tcp::endpoint> endpoints;
  std::unique_ptr<ssl::context> tls;
  std::unique_ptr<RequestMaker> maker;
  Clock::time_point measure_start;
  Clock::time_point end;
};

template <class Stream>
asio::awaitable<void> RunExchanges(Shared& sh, Worker& w, uint32_t conn, Stream& stream,
                                   beast::tcp_stream& lowest) {
  beast::flat_buffer buffer;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(sh.opts.timeout_s));
  while (Clock::now() < sh.end) {
    const std::string req = sh.maker->Make(w.index, conn, w.seq++);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    const auto t0 = Clock::now();
    lowest.expires_after(timeout);
    co_await asio::async_write(stream, asio::buffer(req), asio::use_awaitable);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    const auto t1 = Clock::now();
    if (t1 >= sh.measure_start && t1 <= sh.end) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
      w.stats.latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
      ++w.stats.by_status[static_cast<int>(parser.get().result_int())];
    }
    if (!parser.get().keep_alive()) co_return;  // server closed: reconnect
  }
}

asio::awaitable<void> Connection(Shared& sh, Worker& w, uint32_t conn) {
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(sh.opts.timeout_s));
  auto ex = co_await asio::this_coro::executor;
  while (Clock::now() < sh.end) {
    std::string failure;
    bool timed_out = false;
    try {
      if (sh.target.tls) {
        beast::ssl_stream<beast::tcp_stream> stream(ex, *sh.tls);
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(timeout);
        co_await lowest.async_connect(sh.endpoints, asio::use_awaitable);
        lowest.socket().set_option(tcp::no_delay(true));
        if (!sh.opts.insecure) {
          stream.set_verify_callback(ssl::host_name_verification(sh.target.host));
        }
        co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
        ++w.stats.connects;
        co_await RunExchanges(sh, w, conn, stream, lowest);
        beast::error_code ignored;
        lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
      } else {
        beast::tcp_stream stream(ex);
        stream.expires_after(timeout);
        co_await stream.async_connect(sh.endpoints, asio::use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));
        ++w.stats.connects;
        co_await RunExchanges(sh, w, conn, stream, stream);
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() == beast::error::timeout) timed_out = true;
      failure = e.code().message();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (Clock::now() > sh.end) break;  // failures after the end (cut-off) do not count
    if (timed_out) {
      ++w.stats.timeouts;
    }
    if (!failure.empty()) {
      ++w.stats.errors;
      ++w.stats.error_kinds[failure];
      asio::steady_timer pause(ex, std::chrono::milliseconds(10));  // no reconnect spin
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
}

// ---- server sampling (/proc) ------------------------------------------------------

long ReadRssKiB(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// utime+stime of a process (all threads) in clock ticks.
long long ReadCpuTicks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(s.substr(close + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is state
    if (i == 14) utime = std::atoll(f.c_str());
    if (i == 15) { stime = std::atoll(f.c_str()); break; }
  }
  return utime + stime;
}

struct ServerSample {
  long max_rss_kib = -1;
  long long cpu_start = -1;
  long long cpu_end = -1;
};

asio::awaitable<void> SampleServer(Shared& sh, ServerSample& out) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  timer.expires_at(sh.measure_start);
  co_await timer.async_wait(asio::use_awaitable);
  out.cpu_start = ReadCpuTicks(sh.opts.server_pid);
  while (Clock::now() < sh.end) {
    out.max_rss_kib = std::max(out.max_rss_kib, ReadRssKiB(sh.opts.server_pid));
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(asio::use_awaitable);
  }
  out.cpu_end = ReadCpuTicks(sh.opts.server_pid);
}

double CpuSeconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Shared sh;
  sh.opts = ParseArgs(argc, argv);
  sh.target = ParseUrl(sh.opts.url);
  const Options& o = sh.opts;

  // Loopback only: every address the host resolves to must be a loopback address.
  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    const auto results = resolver.resolve(sh.target.host, sh.target.port,
                                          tcp::resolver::numeric_service, ec);
    if (ec) Die("cannot resolve " + sh.target.host + ": " + ec.message());
    for (const auto& r : results) {
      if (!r.endpoint().address().is_loopback()) {
        Die("refusing non-loopback target " + r.endpoint().address().to_string() +
            " (this tool only loads local servers)");
      }
      sh.endpoints.push_back(r.endpoint());
    }
    if (sh.endpoints.empty()) Die("no address for " + sh.target.host);
  }

  if (sh.target.tls) {
    sh.tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (o.insecure) {
      sh.tls->set_verify_mode(ssl::verify_none);
    } else {
      sh.tls->set_verify_mode(ssl::verify_peer);
      if (!o.cacert.empty()) {
        boost::system::error_code ec;
        sh.tls->load_verify_file(o.cacert, ec);
        if (ec) Die("cannot load --cacert " + o.cacert + ": " + ec.message());
      } else {
        sh.tls->set_default_verify_paths();
      }
    }
  }
  sh.maker = std::make_unique<RequestMaker>(o, sh.target);

  const auto start = Clock::now();
  auto secs = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  sh.measure_start = start + secs(o.warmup_s);
  sh.end = sh.measure_start + secs(o.duration_s);
  const auto hard_stop = sh.end + secs(o.timeout_s) + std::chrono::milliseconds(200);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Worker>());
    workers.back()->index = static_cast<uint32_t>(t);
  }
  for (int c = 0; c < o.connections; ++c) {
    Worker& w = *workers[static_cast<size_t>(c % o.threads)];
    ++w.active;
    asio::co_spawn(w.ioc, Connection(sh, w, static_cast<uint32_t>(c)), Done(w));
  }
  ServerSample server;
  if (o.server_pid > 0) {
    ++workers[0]->active;
    asio::co_spawn(workers[0]->ioc, SampleServer(sh, server), Done(*workers[0]));
  }
  if (!o.quiet) {
    std::fprintf(stderr, "slack_load: %s %s, %d connections, %d thread(s), %.1f s + %.1f s warm-up\n",
                 o.method.c_str(), o.url.c_str(), o.connections, o.threads, o.duration_s,
                 o.warmup_s);
  }

  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  auto run = [hard_stop](Worker* wp) {
    asio::steady_timer stop(wp->ioc);
    stop.expires_at(hard_stop);
    stop.async_wait([wp](const boost::system::error_code&) { wp->ioc.stop(); });
    wp->stop_timer = &stop;
    if (wp->active == 0) stop.cancel();
    wp->ioc.run();
    wp->stop_timer = nullptr;
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers.size(); ++t) threads.emplace_back(run, workers[t].get());
  run(workers[0].get());  // worker 0 (and the server sampler) on the main thread
  for (auto& t : threads) t.join();
  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);

  // Merge.
  Stats all;
  for (auto& w : workers) {
    auto& s = w->stats;
    all.latency_us.insert(all.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    for (auto& [k, v] : s.by_status) all.by_status[k] += v;
    for (auto& [k, v] : s.error_kinds) all.error_kinds[k] += v;
    all.errors += s.errors;
    all.timeouts += s.timeouts;
    all.connects += s.connects;
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  const uint64_t requests = all.latency_us.size();
  uint64_t ok = 0, non2xx = 0;
  for (auto& [k, v] : all.by_status) (k >= 200 && k < 300 ? ok : non2xx) += v;
  const double rps = static_cast<double>(requests) / o.duration_s;
  const double client_cpu =
      (CpuSeconds(ru1.ru_utime) + CpuSeconds(ru1.ru_stime) - CpuSeconds(ru0.ru_utime) -
       CpuSeconds(ru0.ru_stime)) / (o.duration_s + o.warmup_s);
  double server_cpu = -1;
  if (server.cpu_start >= 0 && server.cpu_end >= 0) {
    server_cpu = static_cast<double>(server.cpu_end - server.cpu_start) /
                 static_cast<double>(sysconf(_SC_CLK_TCK)) / o.duration_s;
  }
  const double p50 = Percentile(all.latency_us, 50), p90 = Percentile(all.latency_us, 90),
               p99 = Percentile(all.latency_us, 99), p999 = Percentile(all.latency_us, 99.9),
               pmax = all.latency_us.empty() ? 0 : all.latency_us.back() / 1000.0;

  if (!o.quiet) {
    std::printf("target      %s (%s)\n", o.url.c_str(), o.method.c_str());
    if (o.method == "POST") {
      std::printf("body        %zu bytes, signed slash command %s, team %s, user %s\n",
                  sh.maker->Body(0, 0, 0).size(), o.command.c_str(), o.team_id.c_str(),
                  o.user_id.c_str());
    }
    std::printf("requests    %" PRIu64 " in %.1f s = %.0f req/s (%d connections, %d thread(s))\n",
                requests, o.duration_s, rps, o.connections, o.threads);
    std::printf("status     ");
    for (auto& [k, v] : all.by_status) std::printf(" %d:%" PRIu64, k, v);
    std::printf("%s\n", all.by_status.empty() ? " (none)" : "");
    std::printf("non-2xx     %" PRIu64 "\n", non2xx);
    std::printf("errors      %" PRIu64 " (timeouts %" PRIu64 "), connections opened %" PRIu64 "\n",
                all.errors, all.timeouts, all.connects);
    for (auto& [k, v] : all.error_kinds) std::printf("            %" PRIu64 " x %s\n", v, k.c_str());
    std::printf("latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", p50, p90, p99,
                p999, pmax);
    std::printf("client cpu  %.2f cores\n", client_cpu);
    if (o.server_pid > 0) {
      std::printf("server      pid %ld: max VmRSS %.1f MiB, cpu %.2f cores\n", o.server_pid,
                  server.max_rss_kib / 1024.0, server_cpu);
    }
  }
  std::printf("RESULT requests=%" PRIu64 " rps=%.0f ok=%" PRIu64 " non2xx=%" PRIu64
              " errors=%" PRIu64 " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f"
              " server_rss_kib=%ld server_cpu=%.2f client_cpu=%.2f",
              requests, rps, ok, non2xx, all.errors, p50, p90, p99, p999, pmax,
              server.max_rss_kib, server_cpu, client_cpu);
  for (auto& [k, v] : all.by_status) std::printf(" status_%d=%" PRIu64, k, v);
  std::printf("\n");
  return requests > 0 ? 0 : 1;
}
