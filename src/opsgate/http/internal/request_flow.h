// File: opsgate/http/internal/request_flow.h
//
// The steps of request_path.h on Beast types, shared by the socket server (server.cc)
// and the buffer path (request_path.cc) so both answer every input the same way:
//
//   RequestParser parser; ConfigureParser(parser, limits);
//   ... read the header ...          error -> RejectionForReadError()
//   HeaderVerdict v = OnHeader(parser, router, limits);   v.rejection -> Reject()
//   ... read the body ...            error -> RejectionForReadError()
//   Answer a = Dispatch(parser.release(), v, router, remote);
//   BeastResponse out = Finish(std::move(a.response), ...);
//
// Module-private: only http/*.cc include this (it pulls in Beast's HTTP headers).
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsgate/config/config.h"
#include "opsgate/core/clock.h"
#include "opsgate/http/request_path.h"
#include "opsgate/http/router.h"

namespace opsgate::http::internal {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Header limit from `limits`; no body limit until the route is known (OnHeader sets it).
void ConfigureParser(RequestParser& parser, const config::LimitsConfig& limits);

// The rejection for an error from reading/parsing a request, or nullopt when the peer
// went away or the read was cancelled (close without answering).
std::optional<Rejection> RejectionForReadError(const boost::beast::error_code& ec);

struct HeaderVerdict {
  const Route* route = nullptr;        // exact match; nullptr: 404/405 after the body
  std::string route_label;             // Route::name or "unmatched"
  size_t body_limit = 0;               // set on the parser
  std::optional<Rejection> rejection;  // refuse now, without reading the body
  std::string detail;                  // for kBadRequest: what was wrong
  std::string correlation_id;          // client's valid X-Correlation-Id or a new one
  bool expect_continue = false;        // send "100 Continue" before reading the body
};

// Runs once the header is parsed: picks the route, sets the parser's body limit,
// refuses a declared Content-Length over it, and checks what Beast leaves to us.
HeaderVerdict OnHeader(RequestParser& parser, const Router& router,
                       const config::LimitsConfig& limits);

// A response produced for a request, before the server's own headers are added.
struct Answer {
  Response response;
  std::string route_label;
  std::optional<Rejection> rejection;
  bool handler_ran = false;
  std::string handler_error;  // non-empty: the handler threw or returned garbage
};

struct RejectDetail {
  size_t limit = 0;                // 431/413: the byte limit hit; 408: milliseconds
  std::vector<std::string> allow;  // 405: the methods the path accepts
  std::string_view method;         // 404/405: for the message
  std::string_view path;           // 404/405: for the message
  std::string_view detail;         // 400: what was malformed
};

// The answer the server gives for `rejection`.
Answer Reject(Rejection rejection, std::string route_label, const RejectDetail& detail = {});

// Routes a complete request: 404, 405 with Allow, or the handler's response (500 when
// it throws or returns an invalid status). An async route must answer before its
// handler returns here (the socket-free path has no later). Never throws.
Answer Dispatch(BeastRequest&& message, const HeaderVerdict& verdict, const Router& router,
                const std::string& remote_address);

// As Dispatch, for any route: calls `done` exactly once with the answer — at once for
// rejections and synchronous handlers, from the Responder's caller for an async
// handler (a Responder dropped without a call answers 500). Never throws.
void DispatchAsync(BeastRequest&& message, const HeaderVerdict& verdict, const Router& router,
                   const std::string& remote_address, std::function<void(Answer)> done);

// Works out a deferred response (Response::Deferred) in place: call it on the
// connection's I/O thread. A producer that throws or returns an invalid status gives
// the 500 a handler would. Does nothing for an ordinary answer. Never throws.
void SettleDeferred(Answer& answer, const std::string& correlation_id);

struct FinishOptions {
  std::string_view correlation_id;
  bool tls = false;
  bool keep_alive = false;
  bool head = false;      // answering HEAD: no body is sent
  unsigned version = 11;  // the request's HTTP version
  core::Clock::WallTime now{};
};

// Adds the server's headers to `response` (dropping handler headers the server owns or
// that are not valid field syntax) and builds the Beast message to write. Never throws.
BeastResponse Finish(Response& response, const FinishOptions& options);

// Whether the connection stays open after answering.
bool KeepAlive(const Answer& answer, bool request_keep_alive, bool draining, size_t requests_served,
               size_t max_requests);

}  // namespace opsgate::http::internal
