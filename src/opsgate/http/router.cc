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

}  // namespace

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
