#include "opsgate/aws/endpoints.h"

#include <array>
#include <string>
#include <utility>

#include "opsgate/core/strings.h"
#include "opsgate/http/client/http_client.h"

namespace opsgate::aws {
namespace {

struct ServiceInfo {
  std::string_view signing_name;
  std::string_view env_suffix;
};

constexpr std::array<ServiceInfo, 5> kServices = {{
    {"ec2", "EC2"},
    {"sts", "STS"},
    {"autoscaling", "AUTO_SCALING"},
    {"wafv2", "WAFV2"},
    {"monitoring", "CLOUDWATCH"},
}};

bool IsRegionChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

std::optional<std::string> NonEmpty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (!v) {
    return std::nullopt;
  }
  const std::string_view t = core::Trim(*v);
  if (t.empty()) {
    return std::nullopt;
  }
  return std::string(t);
}

core::Error BadUrl(std::string_view url, std::string_view why) {
  return core::InvalidArgument("endpoint URL " + http::RedactUrl(url) + " " + std::string(why) +
                               "; expected http(s)://host[:port][/path]");
}

}  // namespace

std::string Endpoint::HostHeader() const {
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

std::string Endpoint::Url() const { return scheme + "://" + HostHeader() + base_path; }

std::optional<std::string_view> EndpointEnvSuffix(std::string_view service) {
  for (const ServiceInfo& s : kServices) {
    if (s.signing_name == service) {
      return s.env_suffix;
    }
  }
  return std::nullopt;
}

core::Result<std::string> ResolveRegion(std::string_view region, const EnvLookup& env) {
  std::string r(core::Trim(region));
  std::string source = "the region argument";
  if (r.empty()) {
    if (auto v = NonEmpty(env, "AWS_REGION")) {
      r = *v;
      source = "AWS_REGION";
    } else if (auto d = NonEmpty(env, "AWS_DEFAULT_REGION")) {
      r = *d;
      source = "AWS_DEFAULT_REGION";
    } else {
      return core::Fail(core::FailedPrecondition(
          "no AWS region: set AWS_REGION (e.g. AWS_REGION=eu-west-1) or AWS_DEFAULT_REGION, or "
          "configure the region"));
    }
  }
  if (r.size() > 64 || r.front() == '-' || r.back() == '-') {
    return core::Fail(core::InvalidArgument(source + " is not a valid AWS region name"));
  }
  for (char c : r) {
    if (!IsRegionChar(c)) {
      return core::Fail(core::InvalidArgument(
          source + " is not a valid AWS region name (lower-case letters, digits and '-')"));
    }
  }
  return r;
}

core::Result<Endpoint> ParseEndpointUrl(std::string_view url) {
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return core::Fail(BadUrl(url, "contains whitespace, control or non-ASCII bytes"));
    }
  }
  Endpoint ep;
  std::string_view rest;
  const std::string lower_prefix = core::AsciiLower(url.substr(0, 8));
  if (lower_prefix.rfind("https://", 0) == 0) {
    ep.scheme = "https";
    ep.port = 443;
    rest = url.substr(8);
  } else if (lower_prefix.rfind("http://", 0) == 0) {
    ep.scheme = "http";
    ep.port = 80;
    rest = url.substr(7);
  } else {
    return core::Fail(BadUrl(url, "does not start with http:// or https://"));
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return core::Fail(BadUrl(url, "has a query or fragment"));
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return core::Fail(BadUrl(url, "has user info"));
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 3) {
      return core::Fail(BadUrl(url, "has a malformed IPv6 address"));
    }
    const std::string_view inner = authority.substr(1, close - 1);
    for (char c : inner) {
      if (!(core::HexDigitValue(c) >= 0 || c == ':' || c == '.')) {
        return core::Fail(BadUrl(url, "has a malformed IPv6 address"));
      }
    }
    ep.host = "[" + core::AsciiLower(inner) + "]";
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return core::Fail(BadUrl(url, "has text after the IPv6 address"));
      }
      port_text = after.substr(1);
      if (port_text.empty()) {
        return core::Fail(BadUrl(url, "has an empty port"));
      }
    }
  } else {
    const size_t colon = authority.find(':');
    ep.host = core::AsciiLower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) {
        return core::Fail(BadUrl(url, "has an empty port"));
      }
    }
    if (ep.host.empty() || ep.host.size() > 253 || ep.host.front() == '.' ||
        ep.host.front() == '-') {
      return core::Fail(BadUrl(url, "has no valid host"));
    }
    for (char c : ep.host) {
      if (!IsHostChar(c)) {
        return core::Fail(BadUrl(url, "has no valid host"));
      }
    }
  }
  if (!port_text.empty()) {
    const auto port = core::ParseDigits(port_text);
    if (!port || *port == 0 || *port > 65535) {
      return core::Fail(BadUrl(url, "has a port outside 1-65535"));
    }
    ep.port = static_cast<uint16_t>(*port);
  }
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  ep.base_path = std::string(path);
  return ep;
}

core::Result<Endpoint> ResolveEndpoint(std::string_view service, std::string_view region,
                                       const EnvLookup& env) {
  const auto suffix = EndpointEnvSuffix(service);
  if (!suffix) {
    return core::Fail(core::InvalidArgument("unknown AWS service '" +
                                            std::string(service.substr(0, 32)) +
                                            "'; known: ec2, sts, autoscaling, wafv2, monitoring"));
  }
  auto resolved_region = ResolveRegion(region, env);
  if (!resolved_region) {
    return core::Fail(resolved_region.error());
  }
  const auto ignore = NonEmpty(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  const bool use_env = !(ignore && core::AsciiLower(*ignore) == "true");
  std::optional<std::pair<std::string, std::string>> configured;  // variable, URL
  if (use_env) {
    const std::string specific = "AWS_ENDPOINT_URL_" + std::string(*suffix);
    if (auto v = NonEmpty(env, specific)) {
      configured.emplace(specific, *v);
    } else if (auto g = NonEmpty(env, "AWS_ENDPOINT_URL")) {
      configured.emplace("AWS_ENDPOINT_URL", *g);
    }
  }
  Endpoint ep;
  if (configured) {
    auto parsed = ParseEndpointUrl(configured->second);
    if (!parsed) {
      return core::Fail(
          core::Error{parsed.error().code, configured->first + ": " + parsed.error().message});
    }
    ep = std::move(*parsed);
    ep.custom = true;
  } else {
    const bool china = resolved_region->rfind("cn-", 0) == 0;
    ep.scheme = "https";
    ep.port = 443;
    ep.host = std::string(service) + "." + *resolved_region +
              (china ? ".amazonaws.com.cn" : ".amazonaws.com");
  }
  ep.signing_region = std::move(*resolved_region);
  ep.signing_service = std::string(service);
  return ep;
}

}  // namespace opsgate::aws
