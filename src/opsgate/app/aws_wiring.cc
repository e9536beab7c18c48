// File: opsgate/app/aws_wiring.cc
//
// The aws section of the config made real (docs/aws.md#configuration): an HTTP client
// for AWS, the default credentials chain behind a cache, STS, the session broker, the
// API client and the executors, and the bounded pool they run on.
#include "opsgate/app/gateway.h"
#include "opsgate/http/client/curl_http_client.h"

namespace opsgate::app {

core::Status Gateway::BuildAws(const config::Config& c) {
  const config::AwsConfig& a = c.aws;
  if (a.enabled == config::ConnectorSwitch::kOff || a.roles.empty()) {
    log_.Info("aws.off", {{"why", a.enabled == config::ConnectorSwitch::kOff
                                      ? std::string("aws.enabled is false")
                                      : std::string("no role is mapped under aws.roles")}});
    return core::Ok();
  }
  http::CurlHttpClientOptions client_options;
  client_options.ca_file = c.outbound.ca_file;
  // Instance and container metadata (169.254.169.254, 169.254.170.2) speak plain HTTP, and
  // so may an endpoint the operator names in AWS_ENDPOINT_URL; every URL this client
  // sees comes from those, never from a chat message.
  client_options.allow_http = true;
  client_options.user_agent = "opsgate aws";
  auto client = http::CurlHttpClient::Create(client_options);
  if (!client) {
    return core::Fail(client.error());
  }
  aws_http_ = std::move(*client);
  sts_ = std::make_unique<aws::SigV4StsClient>(*aws_http_, aws::ProcessEnv(), clock_, a.region);
  aws_credentials_ = std::make_unique<aws::CachingCredentialsProvider>(
      aws::MakeDefaultCredentialsChain({aws::ProcessEnv(), aws_http_.get(), sts_.get(), &clock_}),
      clock_);
  assumer_ = std::make_unique<aws::StsRoleAssumer>(*sts_);
  broker_ = std::make_unique<aws::SessionBroker>(*assumer_, *aws_credentials_, clock_);
  aws_api_ = std::make_unique<aws::ApiClient>(*aws_http_, aws::ProcessEnv(), clock_,
                                              aws::ApiClient::Options{});
  ops::AwsActionsOptions options;
  options.region = a.region;
  options.account = a.account;
  options.roles = ops::RoleMap(a.roles);
  if (a.waf_ipv4) {
    options.waf_ipv4 = aws::IpSetRef{a.waf_ipv4->name, a.waf_ipv4->id, a.waf_ipv4->scope};
  }
  if (a.waf_ipv6) {
    options.waf_ipv6 = aws::IpSetRef{a.waf_ipv6->name, a.waf_ipv6->id, a.waf_ipv6->scope};
  }
  options.resize_timeout = a.resize_timeout;
  options.metrics = &metrics_;
  aws_actions_ = std::make_unique<ops::AwsActions>(*broker_, *aws_api_, std::move(options), log_);
  slow_work_ = std::make_unique<core::WorkQueue>("aws", a.workers, a.queue);
  log_.Info("aws.on", {{"roles", static_cast<uint64_t>(a.roles.size())},
                       {"region", a.region.empty() ? std::string("(from AWS_REGION)") : a.region},
                       {"workers", static_cast<uint64_t>(a.workers)}});
  return core::Ok();
}

void Gateway::RegisterAws() {
  if (aws_actions_ != nullptr) {
    aws_actions_->RegisterWith(*dispatcher_);
  }
}

}  // namespace opsgate::app
