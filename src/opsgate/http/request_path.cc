#include "opsgate/http/request_path.h"

#include <atomic>

#include <openssl/rand.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <ctime>
#include <exception>
#include <random>
#include <sstream>

#include "opsgate/http/internal/request_flow.h"
#include "opsgate/http/tls_profile.h"

namespace opsgate::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// RFC 9110 tchar.
bool IsTokenChar(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsFieldName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return IsTokenChar(static_cast<unsigned char>(c));
  });
}

// Field values may hold visible characters, spaces, tabs and obs-text; never CR, LF,
// NUL or other controls, which would let a value start a new header.
bool IsFieldValue(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

// Headers only the server writes; a handler's copy is dropped.
bool IsServerOwned(std::string_view name) {
  static constexpr std::string_view kOwned[] = {
      "content-length",
      "transfer-encoding",
      "connection",
      "keep-alive",
      "date",
      "server",
      "x-correlation-id",
      "cache-control",
      "x-content-type-options",
      "strict-transport-security",
      "content-type",
      "upgrade",
  };
  std::string lower = Lower(name);
  return std::find(std::begin(kOwned), std::end(kOwned), lower) != std::end(kOwned);
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Keeps user-controlled text in error messages short.
std::string Clip(std::string_view s) {
  constexpr size_t kMax = 200;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += sep;
    }
    out += item;
  }
  return out;
}

Request BuildRequest(internal::BeastRequest&& message, const std::string& remote_address,
                     const std::string& correlation_id) {
  Request r;
  r.method = std::string(message.method_string());
  r.target = std::string(message.target());
  size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? std::string() : r.target.substr(q + 1);
  r.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    r.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  r.body = std::move(message.body());
  r.remote_address = remote_address;
  r.correlation_id = correlation_id;
  return r;
}

}  // namespace

std::string_view RejectionReason(Rejection rejection) {
  switch (rejection) {
    case Rejection::kHeaderTooLarge:
      return "header_too_large";
    case Rejection::kBodyTooLarge:
      return "body_too_large";
    case Rejection::kReadTimeout:
      return "read_timeout";
    case Rejection::kConnectionLimit:
      return "connection_limit";
    case Rejection::kTlsHandshake:
      return "tls_handshake";
    case Rejection::kBadRequest:
      return "bad_request";
    case Rejection::kMethodNotAllowed:
      return "method_not_allowed";
    case Rejection::kNotFound:
      return "not_found";
  }
  return "unknown";
}

int RejectionStatus(Rejection rejection) {
  switch (rejection) {
    case Rejection::kHeaderTooLarge:
      return 431;
    case Rejection::kBodyTooLarge:
      return 413;
    case Rejection::kReadTimeout:
      return 408;
    case Rejection::kConnectionLimit:
      return 503;
    case Rejection::kTlsHandshake:
      return 0;
    case Rejection::kBadRequest:
      return 400;
    case Rejection::kMethodNotAllowed:
      return 405;
    case Rejection::kNotFound:
      return 404;
  }
  return 500;
}

bool RejectionClosesConnection(Rejection rejection) {
  return rejection != Rejection::kMethodNotAllowed && rejection != Rejection::kNotFound;
}

bool IsValidCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

std::string NewCorrelationId() {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Correlation ids are labels, not secrets: if the DRBG is unusable the TLS stack is
    // too, but a plain-HTTP deployment should still get distinct ids.
    thread_local std::mt19937_64 fallback{std::random_device{}()};
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(fallback());
    }
  }
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::string FormatHttpDate(core::Clock::WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

namespace internal {

void ConfigureParser(RequestParser& parser, const config::LimitsConfig& limits) {
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(limits.header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // Beast compares Content-Length with the body limit while it parses the header, with a
  // 1 MiB default. The real limit depends on the route, so it is set in OnHeader().
  parser.body_limit(boost::none);
}

std::optional<Rejection> RejectionForReadError(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) {
    return Rejection::kHeaderTooLarge;
  }
  if (ec == bhttp::error::body_limit) {
    return Rejection::kBodyTooLarge;
  }
  if (ec == beast::error::timeout) {
    return Rejection::kReadTimeout;
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == bhttp::error::need_more) {
    return std::nullopt;
  }
  if (ec.category() == beast::error_code(bhttp::error::bad_method).category()) {
    return Rejection::kBadRequest;
  }
  return std::nullopt;  // socket errors: the peer is gone or the read was cancelled
}

HeaderVerdict OnHeader(RequestParser& parser, const Router& router,
                       const config::LimitsConfig& limits) {
  HeaderVerdict v;
  const BeastRequest& message = parser.get();
  auto id = message.find("X-Correlation-Id");
  if (id != message.end() && IsValidCorrelationId(id->value())) {
    v.correlation_id = std::string(id->value());
  } else {
    v.correlation_id = NewCorrelationId();
  }
  std::string_view method = message.method_string();
  std::string_view path = PathOf(message.target());
  v.route = router.Find(method, path);
  v.route_label = v.route != nullptr ? v.route->name : std::string(kUnmatchedRoute);
  v.body_limit = router.BodyLimitFor(method, path, limits.body_bytes);
  parser.body_limit(static_cast<std::uint64_t>(v.body_limit));

  if (message.version() != 10 && message.version() != 11) {
    v.rejection = Rejection::kBadRequest;
    v.detail = "unsupported HTTP version; use HTTP/1.1";
    return v;
  }
  if (message.version() == 11 && message.find(bhttp::field::host) == message.end()) {
    // RFC 9112 section 3.2: a server must answer 400 to an HTTP/1.1 request without Host.
    v.rejection = Rejection::kBadRequest;
    v.detail = "HTTP/1.1 requests need a Host header";
    return v;
  }
  // Refuse a declared oversized body before reading a byte of it. Chunked bodies are
  // cut off by the parser's body_limit as they grow.
  if (auto length = parser.content_length(); length && *length > v.body_limit) {
    v.rejection = Rejection::kBodyTooLarge;
    return v;
  }
  auto expect = message.find(bhttp::field::expect);
  v.expect_continue = message.version() == 11 && expect != message.end() &&
                      EqualsIgnoreCase(expect->value(), "100-continue") && !parser.is_done();
  return v;
}

Answer Reject(Rejection rejection, std::string route_label, const RejectDetail& d) {
  Answer a;
  a.route_label = std::move(route_label);
  a.rejection = rejection;
  int status = RejectionStatus(rejection);
  std::string_view code = RejectionReason(rejection);
  switch (rejection) {
    case Rejection::kHeaderTooLarge:
      a.response = Response::Error(
          status, code,
          "request headers exceed " + std::to_string(d.limit) + " bytes; send smaller headers");
      break;
    case Rejection::kBodyTooLarge:
      a.response = Response::Error(
          status, code, "the body exceeds " + std::to_string(d.limit) + " bytes for this route");
      break;
    case Rejection::kReadTimeout:
      a.response = Response::Error(status, code,
                                   "the request did not arrive within " + std::to_string(d.limit) +
                                       " ms of its first byte; send it in one go");
      break;
    case Rejection::kConnectionLimit:
      a.response =
          Response::Error(status, code, "the server has too many open connections; retry shortly");
      a.response.headers.emplace_back("Retry-After", "1");
      break;
    case Rejection::kTlsHandshake:
      a.response = Response::Error(400, code, "the TLS handshake failed");
      break;
    case Rejection::kBadRequest:
      a.response = Response::Error(
          status, code,
          "malformed HTTP request" + (d.detail.empty() ? std::string() : ": " + Clip(d.detail)));
      break;
    case Rejection::kMethodNotAllowed:
      a.response = Response::Error(
          status, code,
          Clip(d.method) + " is not allowed on " + Clip(d.path) + "; use " + Join(d.allow, " or "));
      a.response.headers.emplace_back("Allow", Join(d.allow, ", "));
      break;
    case Rejection::kNotFound:
      a.response = Response::Error(status, code, "no route for " + Clip(d.path));
      break;
  }
  return a;
}

namespace {

// Checks what a handler produced; a bad status or `error` becomes a 500.
Answer HandlerAnswer(std::string route_label, const std::string& correlation_id,
                     Response response, std::string error) {
  Answer a;
  a.route_label = std::move(route_label);
  a.handler_ran = true;
  a.response = std::move(response);
  a.handler_error = std::move(error);
  if (a.handler_error.empty() && (a.response.status < 200 || a.response.status > 599)) {
    a.handler_error = "handler returned invalid status " + std::to_string(a.response.status);
  }
  if (!a.handler_error.empty()) {
    a.response = Response::Error(
        500, "internal", "the request failed inside opsgate; report correlation id " +
                             correlation_id);
  }
  return a;
}

}  // namespace

void SettleDeferred(Answer& answer, const std::string& correlation_id) {
  if (!answer.response.deferred) {
    return;
  }
  const std::function<Response()> produce = std::move(answer.response.deferred);
  Response produced;
  std::string error;
  try {
    produced = produce();
  } catch (const std::exception& e) {
    error = std::string("deferred response threw: ") + e.what();
  } catch (...) {
    error = "deferred response threw a non-std exception";
  }
  if (error.empty() && produced.deferred) {
    error = "a deferred response produced another deferred response";
  }
  answer = HandlerAnswer(std::move(answer.route_label), correlation_id, std::move(produced),
                         std::move(error));
}

namespace {

// Calls `done` once: with the first answer given, or with a 500 if the last copy of
// the responder is destroyed unanswered.
class OnceAnswer {
 public:
  OnceAnswer(std::string route_label, std::string correlation_id,
             std::function<void(Answer)> done)
      : route_label_(std::move(route_label)),
        correlation_id_(std::move(correlation_id)),
        done_(std::move(done)) {}
  ~OnceAnswer() {
    Give({}, "async handler dropped its responder without answering");
  }
  void Give(Response response, std::string error) {
    if (answered_.exchange(true)) {
      return;
    }
    // Release `done` (and what it holds, such as the connection) as soon as it has run:
    // a caller may keep its copy of the responder long after answering, even past the
    // server's shutdown.
    std::function<void(Answer)> done = std::move(done_);
    done_ = nullptr;
    done(HandlerAnswer(route_label_, correlation_id_, std::move(response), std::move(error)));
  }

 private:
  std::string route_label_;
  std::string correlation_id_;
  std::function<void(Answer)> done_;
  std::atomic<bool> answered_{false};
};

}  // namespace

void DispatchAsync(BeastRequest&& message, const HeaderVerdict& verdict, const Router& router,
                   const std::string& remote_address, std::function<void(Answer)> done) {
  if (verdict.route == nullptr || !verdict.route->async_handler) {
    done(Dispatch(std::move(message), verdict, router, remote_address));
    return;
  }
  auto once = std::make_shared<OnceAnswer>(verdict.route_label, verdict.correlation_id,
                                           std::move(done));
  const Request request = BuildRequest(std::move(message), remote_address, verdict.correlation_id);
  try {
    verdict.route->async_handler(request, [once](Response r) { once->Give(std::move(r), {}); });
  } catch (const std::exception& e) {
    once->Give({}, std::string("handler threw: ") + e.what());
  } catch (...) {
    once->Give({}, "handler threw a non-std exception");
  }
}

Answer Dispatch(BeastRequest&& message, const HeaderVerdict& verdict, const Router& router,
                const std::string& remote_address) {
  if (verdict.route == nullptr) {
    std::string method(message.method_string());
    std::string path(PathOf(message.target()));
    std::vector<std::string> allow = router.MethodsFor(path);
    RejectDetail d{.limit = 0, .allow = allow, .method = method, .path = path, .detail = {}};
    return Reject(allow.empty() ? Rejection::kNotFound : Rejection::kMethodNotAllowed,
                  std::string(kUnmatchedRoute), d);
  }
  const Request request = BuildRequest(std::move(message), remote_address, verdict.correlation_id);
  if (verdict.route->async_handler) {
    std::optional<Answer> answer;
    {
      auto once = std::make_shared<OnceAnswer>(verdict.route_label, verdict.correlation_id,
                                               [&answer](Answer a) { answer = std::move(a); });
      try {
        verdict.route->async_handler(request, [once](Response r) { once->Give(std::move(r), {}); });
      } catch (const std::exception& e) {
        once->Give({}, std::string("handler threw: ") + e.what());
      } catch (...) {
        once->Give({}, "handler threw a non-std exception");
      }
      if (!answer) {
        once->Give({}, "async handler did not answer before returning (socket-free path)");
      }
    }
    SettleDeferred(*answer, verdict.correlation_id);
    return std::move(*answer);
  }
  try {
    return HandlerAnswer(verdict.route_label, verdict.correlation_id,
                         verdict.route->handler(request), {});
  } catch (const std::exception& e) {
    return HandlerAnswer(verdict.route_label, verdict.correlation_id, {},
                         std::string("handler threw: ") + e.what());
  } catch (...) {
    return HandlerAnswer(verdict.route_label, verdict.correlation_id, {},
                         "handler threw a non-std exception");
  }
}

BeastResponse Finish(Response& response, const FinishOptions& o) {
  if (!IsFieldValue(response.content_type) || response.content_type.empty()) {
    response.content_type = "application/octet-stream";
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(response.headers.size() + 7);
  for (auto& [name, value] : response.headers) {
    if (IsFieldName(name) && IsFieldValue(value) && !IsServerOwned(name)) {
      headers.emplace_back(std::move(name), std::move(value));
    }
  }
  headers.emplace_back("Date", FormatHttpDate(o.now));
  headers.emplace_back("Server", "opsgate");
  headers.emplace_back("X-Correlation-Id", std::string(o.correlation_id));
  headers.emplace_back("Cache-Control", "no-store");
  headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (o.tls) {
    headers.emplace_back(
        "Strict-Transport-Security",
        "max-age=" +
            std::to_string(SpecFor(config::TlsProfile::kIntermediate).hsts_max_age_seconds));
  }
  response.headers = std::move(headers);

  BeastResponse out;
  try {
    out.version(o.version == 10 ? 10 : 11);
    out.result(static_cast<unsigned>(response.status));
    out.set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) {
      out.insert(name, value);
    }
    bool no_body = response.status == 204 || response.status == 304;
    if (no_body) {
      response.body.clear();
    }
    out.keep_alive(o.keep_alive);
    if (o.head) {
      // HEAD: announce the length a GET would get, send no body.
      out.content_length(response.body.size());
    } else {
      out.body() = response.body;
      out.prepare_payload();
    }
  } catch (const std::exception&) {
    // Unreachable with the checks above; never let a bad response take the server down.
    out = BeastResponse(bhttp::status::internal_server_error, 11);
    out.set(bhttp::field::content_type, "application/json");
    out.body() = R"({"error":"internal","message":"the response could not be encoded"})";
    out.keep_alive(false);
    out.prepare_payload();
  }
  return out;
}

bool KeepAlive(const Answer& answer, bool request_keep_alive, bool draining, size_t requests_served,
               size_t max_requests) {
  if (answer.rejection && RejectionClosesConnection(*answer.rejection)) {
    return false;
  }
  return request_keep_alive && !draining && requests_served < max_requests;
}

}  // namespace internal

namespace {

ProcessedRequest Complete(internal::Answer&& answer, std::string_view correlation_id,
                          bool request_keep_alive, unsigned version, bool head, size_t served,
                          const config::LimitsConfig& limits, const ProcessOptions& options) {
  ProcessedRequest p;
  p.keep_alive = internal::KeepAlive(answer, request_keep_alive, options.draining, served,
                                     limits.max_requests_per_connection);
  p.route = std::move(answer.route_label);
  p.rejection = answer.rejection;
  p.handler_ran = answer.handler_ran;
  p.response = std::move(answer.response);
  internal::FinishOptions fo{.correlation_id = correlation_id,
                             .tls = options.tls,
                             .keep_alive = p.keep_alive,
                             .head = head,
                             .version = version,
                             .now = options.now};
  internal::BeastResponse wire = internal::Finish(p.response, fo);
  std::ostringstream os;
  os << wire;
  p.wire = os.str();
  return p;
}

}  // namespace

ProcessResult ProcessRequestBytes(std::string_view bytes, const Router& router,
                                  const config::LimitsConfig& limits,
                                  const ProcessOptions& options) {
  ProcessResult result;
  size_t served = 0;
  while (result.consumed < bytes.size()) {
    std::string_view rest = bytes.substr(result.consumed);
    internal::RequestParser parser;
    internal::ConfigureParser(parser, limits);
    // Not eager: the first put() stops after the header, so the body limit of the route
    // is in place before any body byte is parsed.
    parser.eager(false);
    beast::error_code ec;
    size_t used = parser.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
    auto reject_and_stop = [&](internal::Answer&& answer, std::string_view correlation_id) {
      ++served;
      result.consumed += used;
      result.responses.push_back(
          Complete(std::move(answer), correlation_id, false, 11, false, served, limits, options));
    };
    if (ec == bhttp::error::need_more) {
      result.incomplete = true;
      break;
    }
    if (ec) {
      std::optional<Rejection> r = internal::RejectionForReadError(ec);
      if (!r) {
        break;
      }
      internal::RejectDetail d;
      d.limit = limits.header_bytes;
      std::string detail = ec.message();
      d.detail = detail;
      reject_and_stop(internal::Reject(*r, std::string(kUnmatchedRoute), d), NewCorrelationId());
      break;
    }
    internal::HeaderVerdict verdict = internal::OnHeader(parser, router, limits);
    if (verdict.rejection) {
      internal::RejectDetail d;
      d.limit = verdict.body_limit;
      d.detail = verdict.detail;
      reject_and_stop(internal::Reject(*verdict.rejection, verdict.route_label, d),
                      verdict.correlation_id);
      break;
    }
    parser.eager(true);
    bool stop = false;
    while (!parser.is_done()) {
      std::string_view body = rest.substr(used);
      size_t n =
          body.empty() ? 0 : parser.put(boost::asio::const_buffer(body.data(), body.size()), ec);
      used += n;
      if (ec == bhttp::error::need_more || (!ec && n == 0)) {
        result.incomplete = true;
        stop = true;
        break;
      }
      if (ec) {
        std::optional<Rejection> r = internal::RejectionForReadError(ec);
        if (r) {
          internal::RejectDetail d;
          d.limit = verdict.body_limit;
          std::string detail = ec.message();
          d.detail = detail;
          reject_and_stop(internal::Reject(*r, verdict.route_label, d), verdict.correlation_id);
        }
        stop = true;
        break;
      }
    }
    if (stop) {
      break;
    }
    result.consumed += used;
    ++served;
    bool keep_alive = parser.get().keep_alive();
    unsigned version = parser.get().version();
    bool head = parser.get().method() == bhttp::verb::head;
    internal::Answer answer =
        internal::Dispatch(parser.release(), verdict, router, options.remote_address);
    ProcessedRequest p = Complete(std::move(answer), verdict.correlation_id, keep_alive, version,
                                  head, served, limits, options);
    bool more = p.keep_alive;
    result.responses.push_back(std::move(p));
    if (!more) {
      break;
    }
  }
  return result;
}

}  // namespace opsgate::http
