// Policy evaluation speed: a generated policy of 1,000 statements (30 services, 60
// groups, wildcards, conditions of every kind), 1,000,000 evaluations of 1,000 mixed
// requests. Prints p50/p99/p99.9 per decision in microseconds and decisions/s.
//
//   policy_bench [statements=1000] [evaluations=1000000]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "opsgate/policy/evaluator.h"
#include "opsgate/policy/policy.h"

namespace {

using namespace opsgate::policy;
using Clock = std::chrono::steady_clock;

class ZeroCounter final : public RateCounter {
 public:
  opsgate::core::Result<uint64_t> Count(std::string_view, std::chrono::seconds) const override {
    return 1;
  }
};

const char* const kOps[] = {"DescribeInstances", "StopInstances", "StartInstances",
                            "RebootInstances",   "GetObject",     "ListBucket",
                            "ModifyInstanceAttribute", "CreateSnapshot"};

std::string Service(int i) { return i == 0 ? "ec2" : "svc" + std::to_string(i); }

std::string MakePolicy(int n, std::mt19937& rng) {
  std::string y = "version: 1\nstatements:\n";
  for (int i = 0; i < n; ++i) {
    const bool deny = rng() % 10 == 0;
    const int service = static_cast<int>(rng() % 30);
    y += "  - id: s" + std::to_string(i) + "\n";
    y += std::string("    effect: ") + (deny ? "deny" : "allow") + "\n";
    switch (rng() % 3) {
      case 0: y += "    principals: {groups: [g" + std::to_string(rng() % 60) + "]}\n"; break;
      case 1: y += "    principals: {roles: [r" + std::to_string(rng() % 10) + "]}\n"; break;
      default: y += "    principals: {users: [\"u" + std::to_string(rng() % 50) + "@*\"]}\n";
    }
    std::string action;
    switch (rng() % 20) {
      case 0: action = "*"; break;
      case 1: action = "svc*:" + std::string(kOps[rng() % 8]); break;
      case 2: case 3: case 4: action = Service(service) + ":*"; break;
      case 5: case 6: case 7: case 8: action = Service(service) + ":Describe*"; break;
      default: action = Service(service) + ":" + kOps[rng() % 8];
    }
    y += "    actions: [\"" + action + "\", \"" + Service(service) + ":Get*\"]\n";
    y += "    resources: [\"arn:aws:" + Service(service) + ":*:" +
         std::to_string(100000000000 + rng() % 5) + ":instance/*\", \"opsgate:db/x" +
         std::to_string(i) + "\"]\n";
    std::string cond;
    if (rng() % 3 == 0) cond += "      channels: [C1, C2, C" + std::to_string(rng() % 10) + "]\n";
    if (rng() % 4 == 0) cond += "      platforms: [slack, teams]\n";
    if (rng() % 5 == 0) cond += "      time_windows: [{days: [mon, tue, wed, thu, fri], hours: \"22:00-06:00\"}]\n";
    if (!deny) {
      if (rng() % 5 == 0) cond += "      allow_dm: true\n";
      if (rng() % 6 == 0) cond += "      mfa_max_age: 15m\n";
      if (rng() % 10 == 0) cond += "      approval: {count: 2, approver_group: leads}\n";
      if (rng() % 8 == 0) cond += "      rate_caps: {per_principal: {max: 5, window: 1h}, total: {max: 20, window: 1h}}\n";
    }
    if (!cond.empty()) y += "    conditions:\n" + cond;
  }
  return y;
}

Request MakeRequest(std::mt19937& rng) {
  Request r;
  r.principal.user = "u" + std::to_string(rng() % 60) + "@acme.com";
  r.principal.id = "oidc|" + r.principal.user;
  for (int g = 0; g < 3; ++g) r.principal.groups.push_back("g" + std::to_string(rng() % 70));
  if (rng() % 2) r.principal.roles.push_back("r" + std::to_string(rng() % 12));
  const int service = static_cast<int>(rng() % 33);  // some services nobody names
  r.action = Service(service) + ":" + kOps[rng() % 8];
  r.resource = "arn:aws:" + Service(service) + ":eu-west-1:" +
               std::to_string(100000000000 + rng() % 6) + ":instance/i-" + std::to_string(rng());
  r.platform = rng() % 4 ? "slack" : "telegram";
  r.workspace = "T1";
  r.is_dm = rng() % 5 == 0;
  r.channel = r.is_dm ? "" : "C" + std::to_string(rng() % 10);
  r.now = std::chrono::system_clock::time_point(std::chrono::hours(493000 + rng() % 200));
  if (rng() % 2) r.principal.mfa_at = r.now - std::chrono::minutes(rng() % 30);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int statements = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int evaluations = argc > 2 ? std::atoi(argv[2]) : 1000000;
  std::mt19937 rng(42);
  const std::string yaml = MakePolicy(statements, rng);
  const auto parse_start = Clock::now();
  auto policy = ParsePolicy(yaml, "bench.yaml");
  const auto parse_end = Clock::now();
  if (!policy) {
    std::fprintf(stderr, "%s\n", policy.error()[0].ToString().c_str());
    return 1;
  }
  std::vector<Request> requests;
  for (int i = 0; i < 1000; ++i) requests.push_back(MakeRequest(rng));
  ZeroCounter counter;
  EvalContext ctx;
  ctx.rates = &counter;

  std::vector<uint32_t> ns(static_cast<size_t>(evaluations));
  size_t counts[4] = {};
  const auto total_start = Clock::now();
  for (int i = 0; i < evaluations; ++i) {
    const Request& r = requests[static_cast<size_t>(i) % requests.size()];
    const auto t0 = Clock::now();
    const Decision d = Evaluate(*policy, r, ctx);
    const auto t1 = Clock::now();
    ns[static_cast<size_t>(i)] = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    ++counts[static_cast<int>(d.effect)];
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - total_start).count();
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) {
    return ns[std::min(ns.size() - 1, static_cast<size_t>(p * static_cast<double>(ns.size())))] /
           1000.0;
  };
  std::printf("policy: %d statements (%zu bytes of YAML) parsed in %.1f ms\n", statements,
              yaml.size(), std::chrono::duration<double, std::milli>(parse_end - parse_start).count());
  std::printf("decisions: %d  allow %zu  deny %zu  needs_mfa %zu  needs_approval %zu\n",
              evaluations, counts[0], counts[1], counts[2], counts[3]);
  std::printf("per decision: p50 %.2f us  p99 %.2f us  p99.9 %.2f us  max %.2f us\n", pct(0.50),
              pct(0.99), pct(0.999), ns.back() / 1000.0);
  std::printf("throughput: %.0f decisions/s (one thread, timing included)\n",
              evaluations / total_s);
  std::printf("target (issue 6): p99 < 20 us per decision: %s\n", pct(0.99) < 20.0 ? "met" : "MISSED");
  return 0;
}
