#include "opsgate/http/client/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace opsgate::http {
namespace {

constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ToLower(s.substr(0, prefix.size())) == prefix;
}

// Overwrites a string that held a credential before its memory is released.
void Wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) {
    p[i] = 0;
  }
  s.clear();
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// RFC 9110 token characters, for methods and header names.
bool IsToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// What the callbacks of one transfer write into.
struct Transfer {
  size_t max_body = 0;
  std::string body;
  bool body_too_large = false;
  size_t header_bytes = 0;
  bool headers_too_large = false;
  std::vector<std::pair<std::string, std::string>> headers;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t n = size * nmemb;
  if (t->body.size() + n > t->max_body) {
    t->body_too_large = true;
    return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nmemb, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t n = size * nmemb;
  t->header_bytes += n;
  if (t->header_bytes > kMaxResponseHeaderBytes) {
    t->headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line: an interim 1xx response or a proxy's CONNECT reply came
    // before; only the final response's headers count.
    t->headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return n;  // the blank line that ends the headers, or an obs-fold we ignore
  }
  t->headers.emplace_back(ToLower(line.substr(0, colon)),
                          std::string(TrimOws(line.substr(colon + 1))));
  return n;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Appends a header line; false on allocation failure.
bool Append(Slist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) {
    return false;
  }
  (void)list.release();
  list.reset(next);
  return true;
}

core::Error MapCurlError(CURLcode code, const char* errbuf, const std::string& where,
                         const Transfer& t, size_t max_body) {
  std::string reason = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(code);
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) {
    reason.pop_back();
  }
  if (t.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return core::ResourceExhausted("response from " + where + " is larger than " +
                                   std::to_string(max_body) + " bytes");
  }
  if (t.headers_too_large) {
    return core::ResourceExhausted("response headers from " + where + " exceed " +
                                   std::to_string(kMaxResponseHeaderBytes) + " bytes");
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return core::DeadlineExceeded("request to " + where + " timed out: " + reason);
    case CURLE_URL_MALFORMAT:
      return core::InvalidArgument("malformed URL for " + where + ": " + reason);
    case CURLE_UNSUPPORTED_PROTOCOL:
      return core::InvalidArgument("scheme not allowed for " + where + ": " + reason);
    case CURLE_OUT_OF_MEMORY:
      return core::ResourceExhausted("out of memory calling " + where);
    default:
      return core::Unavailable("request to " + where + " failed: " + reason);
  }
}

void InitCurlOnce(CURLcode& result) {
  static std::once_flag once;
  static CURLcode init_result = CURLE_OK;
  std::call_once(once, [] { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  result = init_result;
}

}  // namespace

struct CurlHttpClient::State {
  CurlHttpClientOptions options;
  CURLSH* share = nullptr;
  // libcurl asks for one lock per kind of shared data (DNS, SSL sessions, ...).
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

  std::mutex pool_mu;
  std::vector<CURL*> idle;  // GUARDED_BY(pool_mu)

  ~State() {
    for (CURL* h : idle) {
      curl_easy_cleanup(h);
    }
    if (share != nullptr) {
      curl_share_cleanup(share);
    }
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* userp) {
    const auto i = static_cast<size_t>(data);
    if (i < CURL_LOCK_DATA_LAST) {
      static_cast<State*>(userp)->share_locks[i].lock();
    }
  }
  static void Unlock(CURL*, curl_lock_data data, void* userp) {
    const auto i = static_cast<size_t>(data);
    if (i < CURL_LOCK_DATA_LAST) {
      static_cast<State*>(userp)->share_locks[i].unlock();
    }
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    // Clears options but keeps the handle's live connections and caches.
    curl_easy_reset(h);
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (idle.size() < options.max_idle_handles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }
};

core::Result<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    CurlHttpClientOptions options) {
  CURLcode init = CURLE_OK;
  InitCurlOnce(init);
  if (init != CURLE_OK) {
    return core::Fail(core::FailedPrecondition(std::string("libcurl initialisation failed: ") +
                                               curl_easy_strerror(init)));
  }
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
    return core::Fail(core::FailedPrecondition("libcurl was built without TLS support"));
  }
  if (!options.ca_file.empty()) {
    std::FILE* f = std::fopen(options.ca_file.c_str(), "rb");
    if (f == nullptr) {
      return core::Fail(core::FailedPrecondition("CA file " + options.ca_file +
                                                 " is not readable: " + std::strerror(errno)));
    }
    std::fclose(f);
  }
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->share = curl_share_init();
  if (state->share == nullptr) {
    return core::Fail(core::FailedPrecondition("curl_share_init failed"));
  }
  bool ok =
      curl_share_setopt(state->share, CURLSHOPT_LOCKFUNC, &State::Lock) == CURLSHE_OK &&
      curl_share_setopt(state->share, CURLSHOPT_UNLOCKFUNC, &State::Unlock) == CURLSHE_OK &&
      curl_share_setopt(state->share, CURLSHOPT_USERDATA, state.get()) == CURLSHE_OK &&
      curl_share_setopt(state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
      curl_share_setopt(state->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
  if (!ok) {
    return core::Fail(core::FailedPrecondition("cannot configure the libcurl share handle"));
  }
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(state)));
}

CurlHttpClient::CurlHttpClient(std::unique_ptr<State> state) : state_(std::move(state)) {}

CurlHttpClient::~CurlHttpClient() = default;

core::Result<OutboundResponse> CurlHttpClient::Send(const OutboundRequest& request) {
  const CurlHttpClientOptions& opt = state_->options;
  const std::string where = RedactUrl(request.url);

  // Validate everything before libcurl sees it: the scheme (libcurl is restricted as
  // well, but this gives a clear error), the method, and headers that could smuggle a
  // second header or request through CR/LF.
  const bool is_https = StartsWithIgnoreCase(request.url, "https://");
  const bool is_http = StartsWithIgnoreCase(request.url, "http://");
  if (!is_https && !(is_http && opt.allow_http)) {
    if (is_http) {
      return core::Fail(core::InvalidArgument("refusing plain http:// URL " + where +
                                              ": only https:// is allowed"));
    }
    return core::Fail(
        core::InvalidArgument("unsupported URL " + where + ": only https:// is allowed"));
  }
  if (HasLineBreakOrNul(request.url) || request.url.find(' ') != std::string::npos) {
    return core::Fail(
        core::InvalidArgument("URL for " + where + " contains spaces or control characters"));
  }
  if (!IsToken(request.method)) {
    return core::Fail(core::InvalidArgument("invalid HTTP method for " + where));
  }

  Slist header_list;
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name) || HasLineBreakOrNul(value)) {
      return core::Fail(core::InvalidArgument("invalid request header '" +
                                              (IsToken(name) ? name : std::string("?")) + "' for " +
                                              where));
    }
    if (request.bearer_token && ToLower(name) == "authorization") {
      return core::Fail(core::InvalidArgument(
          "both bearer_token and an Authorization header were given for " + where));
    }
    // "Name:" with an empty value would make libcurl *remove* the header; "Name;" is
    // libcurl's spelling for an empty one.
    if (!Append(header_list, value.empty() ? name + ";" : name + ": " + value)) {
      return core::Fail(core::ResourceExhausted("out of memory building request headers"));
    }
  }
  // Never wait for "100 Continue" before sending a body.
  if (!Append(header_list, "Expect:")) {
    return core::Fail(core::ResourceExhausted("out of memory building request headers"));
  }
  if (request.bearer_token) {
    const std::string_view token = request.bearer_token->Reveal();
    if (token.empty() || HasLineBreakOrNul(token)) {
      return core::Fail(
          core::InvalidArgument("bearer token for " + where + " is empty or contains line breaks"));
    }
    std::string line = "Authorization: Bearer ";
    line.append(token);
    const bool appended = Append(header_list, line);
    Wipe(line);
    if (!appended) {
      return core::Fail(core::ResourceExhausted("out of memory building request headers"));
    }
  }

  CURL* h = state_->Acquire();
  if (h == nullptr) {
    return core::Fail(core::ResourceExhausted("curl_easy_init failed"));
  }

  Transfer t;
  t.max_body = opt.max_response_bytes;
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';

  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  const long connect_ms =
      std::clamp<long>(static_cast<long>(opt.connect_timeout.count()), 1, timeout_ms);

  bool setopt_ok = true;
  auto set = [&](CURLcode c) { setopt_ok = setopt_ok && c == CURLE_OK; };
  set(curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()));
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, opt.allow_http ? "http,https" : "https"));
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  // The same floor for an https:// proxy, if the environment names one.
  set(curl_easy_setopt(h, CURLOPT_PROXY_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  if (!opt.ca_file.empty()) {
    set(curl_easy_setopt(h, CURLOPT_CAINFO, opt.ca_file.c_str()));
  }
  set(curl_easy_setopt(h, CURLOPT_SHARE, state_->share));
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));  // no SIGALRM in a threaded process
  set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms));
  set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms));
  set(curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L));
  set(curl_easy_setopt(h, CURLOPT_USERAGENT, opt.user_agent.c_str()));
  set(curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get()));
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf));
  set(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody));
  set(curl_easy_setopt(h, CURLOPT_WRITEDATA, &t));
  set(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader));
  set(curl_easy_setopt(h, CURLOPT_HEADERDATA, &t));
  // Refuse early when Content-Length already says the body is too large.
  set(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(opt.max_response_bytes)));

  if (request.method == "GET") {
    set(curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
  } else if (request.method == "HEAD") {
    set(curl_easy_setopt(h, CURLOPT_NOBODY, 1L));
  } else {
    if (request.method != "POST") {
      set(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str()));
    }
    if (request.method == "POST" || !request.body.empty()) {
      set(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(request.body.size())));
      set(curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data()));
    }
  }

  if (!setopt_ok) {
    state_->Release(h);
    return core::Fail(core::Internal("libcurl rejected an option for " + where));
  }

  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  }
  // The handle must not keep pointers into this call's stack (errbuf, t, headers).
  state_->Release(h);

  if (rc != CURLE_OK) {
    core::Error e = MapCurlError(rc, errbuf, where, t, opt.max_response_bytes);
    if (request.bearer_token) {
      // Defence in depth: no library message should contain the token, but make sure.
      const std::string_view token = request.bearer_token->Reveal();
      for (size_t pos = e.message.find(token); pos != std::string::npos;
           pos = e.message.find(token)) {
        e.message.replace(pos, token.size(), core::Secret::kRedacted);
      }
    }
    return core::Fail(std::move(e));
  }

  OutboundResponse response;
  response.status = static_cast<int>(status);
  response.headers = std::move(t.headers);
  response.body = std::move(t.body);
  return response;
}

}  // namespace opsgate::http
