// File: opsgate/aws/endpoints.h
//
// Where an AWS API call goes, the way the AWS SDKs decide it, so that tests and private
// endpoints (LocalStack, VPC endpoints, a stand-in server) need no code change:
//
//   1. AWS_ENDPOINT_URL_<SERVICE>   EC2, STS, AUTO_SCALING, WAFV2, CLOUDWATCH
//   2. AWS_ENDPOINT_URL
//   3. https://<service>.<region>.amazonaws.com   (".amazonaws.com.cn" in cn-* regions;
//      STS and WAFv2 regional, never the global endpoint)
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips 1 and 2.
//
// The region: the `region` argument, else AWS_REGION, else AWS_DEFAULT_REGION, else
// kFailedPrecondition saying what to set. It is the signing region in every case.
//
//   auto ep = ResolveEndpoint("monitoring", "", ProcessEnv());   // CloudWatch
//   if (!ep) { return core::Fail(ep.error()); }
//   request.url = ep->Url() + "/";
//   SignRequest({..., ep->HostHeader(), ...}, creds, ep->signing_region, ep->signing_service, ...);
//
// Thread-safety: pure functions of their arguments (and of what `env` returns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/aws/shared_config.h"
#include "opsgate/core/result.h"

namespace opsgate::aws {

struct Endpoint {
  std::string scheme;  // "https" or "http"
  // Lower-cased host name or IPv4 address; IPv6 in brackets ("[::1]").
  std::string host;
  uint16_t port = 443;
  // "" or a path without a trailing '/' ("/aws"): prefix of every request path.
  std::string base_path;
  std::string signing_region;
  // The SigV4 service name: "ec2", "sts", "autoscaling", "wafv2", "monitoring".
  std::string signing_service;
  // Whether the endpoint came from AWS_ENDPOINT_URL[_<SERVICE>].
  bool custom = false;

  // host, with ":port" when it is not the scheme's default: the Host header to sign.
  std::string HostHeader() const;
  // scheme://HostHeader()base_path
  std::string Url() const;
};

// The AWS_ENDPOINT_URL_<SUFFIX> of a signing name ("monitoring" -> "CLOUDWATCH"), or
// nullopt for a service opsgate does not call.
std::optional<std::string_view> EndpointEnvSuffix(std::string_view service);

// The region as described above. kInvalidArgument for a malformed region name.
[[nodiscard]] core::Result<std::string> ResolveRegion(std::string_view region,
                                                      const EnvLookup& env);

// `service` is a signing name: "ec2", "sts", "autoscaling", "wafv2" or "monitoring"
// (else kInvalidArgument). kInvalidArgument for an endpoint URL that is not
// http(s)://host[:port][/path] (no user info, query or fragment); the URL is quoted in
// errors only as scheme and host.
[[nodiscard]] core::Result<Endpoint> ResolveEndpoint(std::string_view service,
                                                     std::string_view region, const EnvLookup& env);

// Parses an endpoint URL as above into scheme, host, port and base_path.
[[nodiscard]] core::Result<Endpoint> ParseEndpointUrl(std::string_view url);

}  // namespace opsgate::aws
