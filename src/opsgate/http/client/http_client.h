// File: opsgate/http/client/http_client.h
//
// The outbound HTTP interface: everything in opsgate that calls out (Slack's
// chat.postMessage and response_url, AWS, Jira, ...) takes an `HttpClient&`, so it can
// be tested with FakeHttpClient (fake_http_client.h) instead of the network.
//
//   OutboundRequest req;
//   req.url = "https://slack.com/api/chat.postMessage";
//   req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
//   req.body = message_json;
//   req.bearer_token = bot_token;           // sent as "Authorization: Bearer ..."
//   core::Result<OutboundResponse> r = client.Send(req);
//
// Send() blocks until the response or the request's timeout, so it must never run on
// an I/O thread: hand deliveries to a RetryingSender (retrying_sender.h).
//
// An HTTP status, any status, is a successful Send(): the caller decides what a 4xx
// or 5xx means. Errors are for requests that did not produce a response.
//
// Thread-safety: implementations must allow concurrent Send() from several threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsgate/core/result.h"
#include "opsgate/core/secret.h"

namespace opsgate::http {

struct OutboundRequest {
  // Upper-case token: GET, POST, PUT, PATCH, DELETE, HEAD.
  std::string method = "POST";
  // Absolute https:// URL. Treat it as sensitive: Slack's response_url carries a
  // capability in its path, so implementations never log it or put it in errors
  // (only scheme and host).
  std::string url;
  // Extra request headers, sent as given. Names and values must not contain CR/LF.
  // Do not set Authorization here when bearer_token is set.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Sent as "Authorization: Bearer <token>". Never appears in errors or logs.
  std::optional<core::Secret> bearer_token;
  // Whole-request deadline: connect, TLS, send, wait and read.
  std::chrono::milliseconds timeout{10000};

  // The first value of header `name` (case-insensitive) in `headers`, if present.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct OutboundResponse {
  int status = 0;
  // Header names lower-cased; values as received. Repeated headers appear repeatedly.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (case-insensitive), if present. The view points
  // into this response and lives as long as it does.
  std::optional<std::string_view> Header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient();

  // Sends `request` and waits for the whole response.
  // Errors:
  //   kInvalidArgument    malformed URL or header, scheme not allowed (http:// unless the
  //                       implementation was told to allow it), Authorization twice.
  //   kUnavailable        DNS, connect, TLS (including certificate verification) or
  //                       transport failure; the message carries the library's reason
  //                       and the host, never the path, query or token. Retrying may help.
  //   kDeadlineExceeded   `request.timeout` passed.
  //   kResourceExhausted  the response was larger than the implementation's limit.
  [[nodiscard]] virtual core::Result<OutboundResponse> Send(const OutboundRequest& request) = 0;
};

// Scheme and host[:port] of `url` ("https://hooks.slack.com"), for logs, metrics and
// error messages: drops user info, path, query and fragment, which may hold secrets.
// Returns "<invalid url>" when no scheme://host prefix can be found.
std::string RedactUrl(std::string_view url);

}  // namespace opsgate::http
