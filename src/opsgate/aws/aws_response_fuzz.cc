// Fuzz target for what AWS answers (docs/aws.md#calling-aws): any bytes given to the
// EC2, Auto Scaling, CloudWatch and WAFv2 response readers, the JSON and Query error
// readers, the decoded-authorization reader and the WAF address normaliser must yield a
// value or an error, never a crash, a hang or unbounded memory. The WAF reader is
// reached through Wafv2Client::GetIPSet over a fake HTTP client answering 200 with the
// input, the way a real answer reaches it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "opsgate/aws/api_client.h"
#include "opsgate/aws/autoscaling.h"
#include "opsgate/aws/cloudwatch.h"
#include "opsgate/aws/ec2.h"
#include "opsgate/aws/query.h"
#include "opsgate/aws/sts.h"
#include "opsgate/aws/wafv2.h"
#include "opsgate/core/clock.h"
#include "opsgate/http/client/fake_http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace opsgate;
  using namespace opsgate::aws;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)ParseDescribeInstances(text);
  (void)ParseStateChange(text, "StopInstances");
  (void)ParseDescribeAutoScalingGroups(text);
  (void)ParseDescribeAlarms(text);
  const QueryError q = ParseQueryError(400, text);
  const QueryError j = ParseJsonError(400, text, "");
  if (q.http_status != 400 || j.http_status != 400) {
    std::abort();
  }
  (void)DescribeDecodedAuthorization(text);
  (void)EncodedAuthorizationMessage(text);
  (void)NormalizeWafAddress(text);

  static core::SystemClock clock;
  http::testing::FakeHttpClient http;
  http.SetDefault(http::testing::FakeHttpClient::Response(200, std::string(text)));
  ApiClient::Options options;
  options.max_attempts = 1;
  options.sleep = [](std::chrono::milliseconds) {};
  ApiClient api(
      http,
      [](std::string_view name) -> std::optional<std::string> {
        if (name == "AWS_ENDPOINT_URL") {
          return std::string("http://127.0.0.1:1");
        }
        if (name == "AWS_REGION") {
          return std::string("eu-west-1");
        }
        return std::nullopt;
      },
      clock, options);
  Credentials creds;
  creds.access_key_id = "AKIDFUZZ";
  creds.secret_access_key = core::Secret(std::string("fuzz-secret-key"));
  Wafv2Client waf(api);
  auto set = waf.GetIPSet("eu-west-1", creds, IpSetRef{"blocked", "a1b2", "REGIONAL"});
  if (set && set->lock_token.empty()) {
    std::abort();  // a set is only returned with its lock token
  }
  return 0;
}
