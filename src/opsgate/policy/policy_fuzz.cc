// Fuzz target for ParsePolicy: any bytes must yield a Policy or diagnostics, never a
// crash, a hang or an exception. Whatever parses is then evaluated against a fixed
// request, which must produce a decision naming a statement and giving a reason.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/policy.h"

namespace {

class ZeroCounter final : public opsgate::policy::RateCounter {
 public:
  opsgate::core::Result<uint64_t> Count(std::string_view, std::chrono::seconds) const override {
    return 0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace opsgate::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParseResult parsed = ParsePolicy(text, "fuzz.yaml");
  if (!parsed) {
    if (parsed.error().empty()) {
      std::abort();  // a refusal always says why
    }
    for (const auto& d : parsed.error()) {
      if (d.ToString().find('\n') != std::string::npos) {
        std::abort();
      }
    }
    return 0;
  }
  Request r;
  r.principal = {"oidc|alice", "alice@acme.com", {"devs", "sre"}, {"oncall"},
                 std::chrono::system_clock::time_point(std::chrono::hours(493000))};
  r.action = "ec2:StopInstances";
  r.resource = "arn:aws:ec2:eu-west-1:111111111111:instance/i-1";
  r.platform = "slack";
  r.workspace = "T1";
  r.channel = "C1";
  r.now = std::chrono::system_clock::time_point(std::chrono::hours(493001));
  ZeroCounter counter;
  EvalContext ctx;
  ctx.rates = &counter;
  ctx.approvals.push_back({ApprovalKey(r), "oidc|bob", {"sre-leads"}});
  for (int dm = 0; dm < 2; ++dm) {
    r.is_dm = dm == 1;
    const Decision d = Evaluate(*parsed, r, ctx);
    if (d.statement.empty() || d.reason.empty()) {
      std::abort();
    }
  }
  return 0;
}
