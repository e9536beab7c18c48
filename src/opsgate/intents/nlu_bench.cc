// Classifier speed (issue 7): parse latency over the held-out texts and training time for
// about 1,000 utterances. Prints p50/p99/p99.9 per parse in microseconds and the training
// time of the default catalogue and of the expanded one.
//
//   nlu_bench [rounds=200] [heldout.jsonl]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "opsgate/intents/classifier.h"
#include "opsgate/intents/nlu_eval.h"

namespace {

using namespace opsgate::intents;
using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

std::string Value(SlotType t, size_t i) {
  static const char* const ids[] = {"i-0abc1234", "i-0123456789abcdef0", "i-0fff0000"};
  static const char* const regions[] = {"eu-west-1", "us-east-1", "ap-southeast-2"};
  static const char* const types[] = {"t3.large", "m5.xlarge", "c7g.2xlarge"};
  static const char* const ips[] = {"203.0.113.7", "198.51.100.0/24", "2001:db8::/32"};
  static const char* const names[] = {"web-asg", "deploy-api", "payments", "main"};
  static const char* const texts[] = {"disk full on db-1", "login is slow", "cert expires"};
  static const char* const keys[] = {"OPS", "INFRA", "SEC"};
  switch (t) {
    case SlotType::kAwsInstanceId:
      return ids[i % 3];
    case SlotType::kAwsRegion:
      return regions[i % 3];
    case SlotType::kEc2InstanceType:
      return types[i % 3];
    case SlotType::kInteger:
      return std::to_string(i % 50);
    case SlotType::kIpOrCidr:
      return ips[i % 3];
    case SlotType::kEnum:
      return i % 2 ? "sev2" : "p1";
    case SlotType::kIdentifier:
      return names[i % 4];
    case SlotType::kJiraProjectKey:
      return keys[i % 3];
    case SlotType::kFreeText:
      return texts[i % 3];
    case SlotType::kDuration:
      return "15m";
  }
  return "x";
}

// The default catalogue with every utterance expanded with slot values, ~`target` in all.
Catalogue Expanded(size_t target) {
  Catalogue c = DefaultCatalogue();
  size_t base = 0;
  for (const IntentSpec& i : c.intents) {
    base += i.utterances.size();
  }
  const size_t copies = (target + base - 1) / base;
  for (IntentSpec& intent : c.intents) {
    std::vector<std::string> out;
    for (size_t k = 0; k < copies; ++k) {
      for (const std::string& u : intent.utterances) {
        std::string s = u;
        for (const SlotSpec& slot : intent.slots) {
          const std::string ph = "{" + slot.name + "}";
          for (size_t p = s.find(ph); p != std::string::npos; p = s.find(ph)) {
            s.replace(p, ph.size(), Value(slot.type, k + out.size()));
          }
        }
        out.push_back(std::move(s));
      }
    }
    intent.utterances = std::move(out);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  const std::string path = argc > 2 ? argv[2] : OPSGATE_NLU_HELDOUT;

  auto t0 = Clock::now();
  auto classifier = Classifier::Train(DefaultCatalogue());
  const double train_default = Micros(Clock::now() - t0) / 1000;
  if (!classifier) {
    std::fprintf(stderr, "train: %s\n", classifier.error().message.c_str());
    return 1;
  }
  auto data = ReadEvalFile(path, classifier->catalogue());
  if (!data) {
    std::fprintf(stderr, "%s\n", data.error().message.c_str());
    return 1;
  }

  const Catalogue big = Expanded(1000);
  size_t utterances = 0;
  for (const IntentSpec& i : big.intents) {
    utterances += i.utterances.size();
  }
  std::vector<double> train_ms;
  for (int i = 0; i < 5; ++i) {
    t0 = Clock::now();
    auto c = Classifier::Train(big);
    train_ms.push_back(Micros(Clock::now() - t0) / 1000);
    if (!c) {
      std::fprintf(stderr, "train: %s\n", c.error().message.c_str());
      return 1;
    }
  }
  std::sort(train_ms.begin(), train_ms.end());

  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(rounds) * data->size());
  size_t sink = 0;
  for (const EvalExample& ex : *data) {  // warm-up
    sink += classifier->Parse(ex.text).slots.size();
  }
  const auto wall0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const EvalExample& ex : *data) {
      const auto s = Clock::now();
      const NluResult res = classifier->Parse(ex.text);
      lat.push_back(Micros(Clock::now() - s));
      sink += res.intent.size();
    }
  }
  const double wall = Micros(Clock::now() - wall0);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))];
  };
  std::printf("held-out texts: %zu, parses: %zu (sink %zu)\n", data->size(), lat.size(), sink);
  std::printf(
      "parse latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%.0f parses/s, 1 thread)\n",
      pct(0.50), pct(0.99), pct(0.999), lat.back(), static_cast<double>(lat.size()) / (wall / 1e6));
  std::printf("train default catalogue (%zu samples): %.2f ms\n", classifier->training_samples(),
              train_default);
  std::printf("train %zu utterances: median %.1f ms, max %.1f ms (5 runs)\n", utterances,
              train_ms[train_ms.size() / 2], train_ms.back());
  return 0;
}
