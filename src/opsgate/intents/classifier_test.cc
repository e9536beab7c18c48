// Classifier: masking, slot filling by type and position, robustness, confidence, none.
#include "opsgate/intents/classifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "opsgate/intents/slot_types.h"

namespace opsgate::intents {
namespace {

using Slots = std::map<std::string, std::string>;

const Classifier& Default() {
  static const Classifier c = *Classifier::Train(DefaultCatalogue());
  return c;
}

TEST(ClassifierTest, StopWithPolitenessKeepsExactlyTheInstance) {
  const NluResult r = Default().Parse("could you stop i-0abc1234 please");
  EXPECT_EQ(r.intent, "ec2.stop");
  EXPECT_EQ(r.slots, (Slots{{"instance_id", "i-0abc1234"}}));
  EXPECT_FALSE(r.below_threshold);
  EXPECT_GT(r.confidence, 0.5);
}

TEST(ClassifierTest, StopItHasNoSlots) {
  const NluResult r = Default().Parse("stop it");
  EXPECT_EQ(r.intent, "ec2.stop");
  EXPECT_TRUE(r.slots.empty());
}

TEST(ClassifierTest, CasePunctuationAndTypos) {
  for (const char* text : {"STOP I-0ABC1234!!!", "Stop, i-0abc1234.", "stpo i-0abc1234",
                           "kindly stop i-0abc1234, thanks"}) {
    const NluResult r = Default().Parse(text);
    EXPECT_EQ(r.intent, "ec2.stop") << text;
    EXPECT_EQ(r.slots, (Slots{{"instance_id", "i-0abc1234"}})) << text;
  }
  EXPECT_EQ(Default().Parse("rebot i-0abc1234").intent, "ec2.reboot");
  EXPECT_EQ(Default().Parse("hepl").intent, "help");
}

TEST(ClassifierTest, SlotsByTypeAndPosition) {
  EXPECT_EQ(
      Default().Parse("resize i-0abc1234 to T3.Large in EU-WEST-1").slots,
      (Slots{
          {"instance_id", "i-0abc1234"}, {"instance_type", "t3.large"}, {"region", "eu-west-1"}}));
  EXPECT_EQ(Default().Parse("scale the workers group to 3").slots,
            (Slots{{"group", "workers"}, {"capacity", "3"}}));
  EXPECT_EQ(Default().Parse("kick off build-images on release/1.4").slots,
            (Slots{{"pipeline", "build-images"}, {"branch", "release/1.4"}}));
  // The free text keeps its own words, including what looks like other slot values.
  const NluResult j = Default().Parse("open a ticket in OPS: i-0abc1234 is down, high cpu");
  EXPECT_EQ(j.intent, "jira.create");
  EXPECT_EQ(j.slots, (Slots{{"project", "OPS"}, {"summary", "i-0abc1234 is down, high cpu"}}));
  const NluResult inc =
      Default().Parse("declare a p1 incident on checkout: orders failing since 10:00");
  EXPECT_EQ(inc.intent, "incident.open");
  EXPECT_EQ(inc.slots, (Slots{{"service", "checkout"},
                              {"severity", "sev1"},
                              {"summary", "orders failing since 10:00"}}));
  // A quoted summary reserves only itself.
  const NluResult q = Default().Parse("create a jira ticket \"backup failed\" in OPS please");
  EXPECT_EQ(q.intent, "jira.create");
  EXPECT_EQ(q.slots, (Slots{{"project", "OPS"}, {"summary", "backup failed"}}));
  // A lower-case key where the utterances put the key.
  EXPECT_EQ(Default().Parse("raise a ticket in ops for flaky tests").slots,
            (Slots{{"project", "OPS"}, {"summary", "flaky tests"}}));
  EXPECT_EQ(Default().Parse("block 2001:DB8::/32").slots, (Slots{{"ip", "2001:db8::/32"}}));
  // A value the type refuses is not a slot: the dialog asks for it.
  EXPECT_EQ(Default().Parse("scale web-asg to 5000").slots, (Slots{{"group", "web-asg"}}));
}

TEST(ClassifierTest, OutOfScopeIsNone) {
  for (const char* text :
       {"tell me a joke", "what's the weather", "order pizza", "", "   ", "!!!", "\xff\xfe"}) {
    const NluResult r = Default().Parse(text);
    EXPECT_EQ(r.intent, "none") << text;
    EXPECT_TRUE(r.slots.empty());
  }
}

TEST(ClassifierTest, ConfidenceAndAlternatives) {
  const NluResult r = Default().Parse("turn i-0abc1234");
  EXPECT_GE(r.confidence, 0.0);
  EXPECT_LE(r.confidence, 1.0);
  ASSERT_EQ(r.alternatives.size(), 3u);
  double sum = r.confidence;
  for (size_t i = 0; i < r.alternatives.size(); ++i) {
    EXPECT_NE(r.alternatives[i].first, r.intent);
    EXPECT_LE(r.alternatives[i].second, i == 0 ? r.confidence : r.alternatives[i - 1].second);
    sum += r.alternatives[i].second;
  }
  EXPECT_LE(sum, 1.0 + 1e-9);
  EXPECT_EQ(r.below_threshold, r.confidence < Default().options().threshold);
  EXPECT_GT(Default().temperature(), 0.0);
}

TEST(ClassifierTest, ThresholdOption) {
  ClassifierOptions o;
  o.threshold = 1.0;
  auto c = Classifier::Train(DefaultCatalogue(), o);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->Parse("stop i-0abc1234").below_threshold);
  o.threshold = 2;
  EXPECT_FALSE(Classifier::Train(DefaultCatalogue(), o).has_value());
}

TEST(ClassifierTest, TrainRejectsBadCatalogues) {
  EXPECT_FALSE(Classifier::Train(Catalogue{}).has_value());
  Catalogue c = DefaultCatalogue();
  c.intents[0].utterances.push_back("describe {nothing}");
  auto r = Classifier::Train(c);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, ::testing::HasSubstr("{nothing}"));
  Catalogue none = DefaultCatalogue();
  none.intents[0].name = "none";
  EXPECT_FALSE(Classifier::Train(none).has_value());
}

TEST(ClassifierTest, DeterministicAndThreadSafe) {
  const auto a = Classifier::Train(DefaultCatalogue());
  const auto b = Classifier::Train(DefaultCatalogue());
  ASSERT_TRUE(a && b);
  const std::vector<std::string> texts = {"could you stop i-0abc1234 please", "tell me a joke",
                                          "scale web-asg to 4", "open a ticket in OPS: x"};
  for (const std::string& t : texts) {
    const NluResult x = a->Parse(t);
    const NluResult y = b->Parse(t);
    EXPECT_EQ(x.intent, y.intent);
    EXPECT_EQ(x.confidence, y.confidence);
    EXPECT_EQ(x.slots, y.slots);
    EXPECT_EQ(x.alternatives, y.alternatives);
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        const std::string& text = texts[static_cast<size_t>(i) % texts.size()];
        if (a->Parse(text).intent != b->Parse(text).intent) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ClassifierTest, SlotsReNormaliseToThemselves) {
  for (const char* text : {"resize I-0ABC1234 to M5.2XLARGE", "block 10.0.0.0/8",
                           "raise a critical incident for auth: login failing"}) {
    const NluResult r = Default().Parse(text);
    const IntentSpec* spec = Default().catalogue().Find(r.intent);
    ASSERT_NE(spec, nullptr) << text;
    for (const auto& [name, value] : r.slots) {
      const SlotSpec* s = spec->Slot(name);
      ASSERT_NE(s, nullptr);
      auto again = NormaliseSlot(*s, value);
      ASSERT_TRUE(again.has_value());
      EXPECT_EQ(*again, value);
    }
  }
}

TEST(ClassifierTest, LongInputIsCut) {
  std::string big = "stop i-0abc1234 ";
  while (big.size() < 3 * kMaxNluTextBytes) {
    big += "and more words ";
  }
  const NluResult r = Default().Parse(big);
  EXPECT_FALSE(r.intent.empty());
}

}  // namespace
}  // namespace opsgate::intents
