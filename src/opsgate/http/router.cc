#include "opsgate/http/router.h"

#include <algorithm>
#include <cctype>

#include "opsgate/core/strings.h"

namespace opsgate::http {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// "host:443" and "host" name the same HTTPS origin.
std::string_view WithoutDefaultHttpsPort(std::string_view authority) {
  constexpr std::string_view kDefault = ":443";
  if (authority.size() > kDefault.size() &&
      authority.substr(authority.size() - kDefault.size()) == kDefault) {
    authority.remove_suffix(kDefault.size());
  }
  return authority;
}

// A serialised origin as browsers send it: lower-case "http(s)://host[:port]".
bool IsSerialisedOrigin(std::string_view origin) {
  std::string_view authority;
  if (origin.starts_with("https://")) {
    authority = origin.substr(8);
  } else if (origin.starts_with("http://")) {
    authority = origin.substr(7);
  } else {
    return false;
  }
  if (authority.empty()) {
    return false;
  }
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return false;
    }
    authority = authority.substr(0, colon);
  }
  return !authority.empty() && std::all_of(authority.begin(), authority.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::islower(c) != 0 || std::isdigit(c) != 0 || c == '.' || c == '-' || c == '[' ||
           c == ']' || c == ':';
  });
}

}  // namespace

bool OriginMatchesHost(const Request& request) {
  std::optional<std::string_view> origin = request.Header("origin");
  std::optional<std::string_view> host = request.Header("host");
  if (!origin || !host || host->empty()) {
    return false;
  }
  std::string lower_origin = Lower(*origin);
  constexpr std::string_view kScheme = "https://";
  if (!std::string_view(lower_origin).starts_with(kScheme)) {
    return false;
  }
  std::string lower_host = Lower(*host);
  return WithoutDefaultHttpsPort(std::string_view(lower_origin).substr(kScheme.size())) ==
         WithoutDefaultHttpsPort(lower_host);
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::Deferred(std::function<Response()> produce) {
  Response r;
  r.deferred = std::move(produce);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"error\":\"";
  body += core::JsonEscape(code);
  body += "\",\"message\":\"";
  body += core::JsonEscape(message);
  body += "\"}";
  return Json(status, std::move(body));
}

core::Status Router::Add(Route route) {
  if (route.method.empty()) {
    return core::Fail(core::InvalidArgument("route for path '" + route.path +
                                            "' has an empty method; use e.g. \"POST\""));
  }
  if (route.path.empty() || route.path.front() != '/') {
    return core::Fail(core::InvalidArgument("route path '" + route.path + "' must start with '/'"));
  }
  if (static_cast<bool>(route.handler) == static_cast<bool>(route.async_handler)) {
    return core::Fail(core::InvalidArgument("route " + route.method + " " + route.path +
                                            " needs exactly one of handler and async_handler"));
  }
  if (route.name.empty()) {
    route.name = route.path;
  }
  auto key = std::make_pair(route.method, route.path);
  if (routes_.count(key) != 0) {
    return core::Fail(
        core::AlreadyExists("route " + route.method + " " + route.path + " is registered twice"));
  }
  routes_.emplace(std::move(key), std::move(route));
  return core::Ok();
}

core::Status Router::AddWebSocket(std::string path, WebSocketRoute route) {
  if (path.empty() || path.front() != '/') {
    return core::Fail(
        core::InvalidArgument("WebSocket route path '" + path + "' must start with '/'"));
  }
  if (!route.accept) {
    return core::Fail(
        core::InvalidArgument("WebSocket route " + path + " needs an accept callback"));
  }
  const WebSocketOptions& o = route.options;
  if (o.max_message_bytes == 0 || o.max_queued_bytes == 0 || o.idle_timeout.count() <= 0) {
    return core::Fail(core::InvalidArgument(
        "WebSocket route " + path +
        ": max_message_bytes, max_queued_bytes and idle_timeout must be positive"));
  }
  for (const std::string& origin : o.allowed_origins) {
    if (!IsSerialisedOrigin(origin)) {
      return core::Fail(core::InvalidArgument(
          "WebSocket route " + path + ": allowed origin '" + origin +
          "' is not of the form https://host[:port] (lower case, no path or trailing '/')"));
    }
  }
  if (route.name.empty()) {
    route.name = path;
  }
  if (websocket_routes_.count(path) != 0) {
    return core::Fail(
        core::AlreadyExists("WebSocket route " + path + " is registered twice"));
  }
  // Requests that reach the path without asking for an upgrade get 426 from an
  // ordinary route; the server upgrades before dispatching when they do ask.
  Route plain{"GET", path, route.name, std::nullopt,
              [path](const Request&) {
                Response r = Response::Error(426, "upgrade_required",
                                             path + " is a WebSocket endpoint; connect with a "
                                                    "WebSocket client (Upgrade: websocket)");
                return r;
              },
              nullptr};
  OPSGATE_RETURN_IF_ERROR(Add(std::move(plain)));
  websocket_routes_.emplace(std::move(path), std::move(route));
  return core::Ok();
}

const WebSocketRoute* Router::FindWebSocket(std::string_view path) const {
  auto it = websocket_routes_.find(path);
  return it == websocket_routes_.end() ? nullptr : &it->second;
}

const Route* Router::Find(std::string_view method, std::string_view path) const {
  // std::less<> makes the map transparent, but std::pair<string, string> does not
  // compare with pair<string_view, string_view>, so build the key once.
  auto it = routes_.find(std::make_pair(std::string(method), std::string(path)));
  return it == routes_.end() ? nullptr : &it->second;
}

std::vector<std::string> Router::MethodsFor(std::string_view path) const {
  std::vector<std::string> methods;
  for (const auto& [key, route] : routes_) {
    if (key.second == path) {
      methods.push_back(key.first);
    }
  }
  return methods;  // map order: already sorted by method
}

size_t Router::BodyLimitFor(std::string_view method, std::string_view path,
                            size_t default_limit) const {
  if (const Route* exact = Find(method, path)) {
    return exact->body_limit.value_or(default_limit);
  }
  // No exact route: the request will get 405 or 404, but its body still has to be
  // read (or refused) to keep the connection usable. Allow what the path allows.
  std::optional<size_t> largest;
  for (const auto& [key, route] : routes_) {
    if (key.second == path) {
      size_t limit = route.body_limit.value_or(default_limit);
      largest = std::max(largest.value_or(0), limit);
    }
  }
  return largest.value_or(default_limit);
}

}  // namespace opsgate::http
