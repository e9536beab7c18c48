#include "opsgate/intents/catalogue_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "opsgate/intents/command.h"
#include "opsgate/intents/slot_types.h"

namespace opsgate::intents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Messages(const CatalogueResult& r) {
  std::vector<std::string> out;
  if (!r) {
    for (const auto& d : r.error()) {
      out.push_back(d.ToString());
    }
  }
  return out;
}

// The whole catalogue text around one intent (at line 3).
std::string WithIntent(const std::string& intent) { return "version: 1\nintents:\n" + intent; }

constexpr const char* kMinimal = R"(  - name: ec2.stop
    description: Stop an instance.
    action: ec2:StopInstances
    resource: "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    utterances: ["stop {instance_id}"]
    slots:
      - name: instance_id
        type: aws_instance_id
        required: true
        prompt: Which instance?
)";

// Replaces the first occurrence of `from` in `text`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

void ExpectSameSlot(const SlotSpec& a, const SlotSpec& b, const std::string& where) {
  SCOPED_TRACE(where + " slot " + b.name);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.required, b.required);
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    EXPECT_EQ(a.values[i].value, b.values[i].value);
    EXPECT_EQ(a.values[i].synonyms, b.values[i].synonyms);
  }
}

void ExpectSameCatalogue(const Catalogue& got, const Catalogue& want) {
  ASSERT_EQ(got.intents.size(), want.intents.size());
  for (size_t i = 0; i < want.intents.size(); ++i) {
    const IntentSpec& a = got.intents[i];
    const IntentSpec& b = want.intents[i];
    SCOPED_TRACE("intent " + b.name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.description, b.description);
    EXPECT_EQ(a.utterances, b.utterances);
    EXPECT_EQ(a.confirmation, b.confirmation);
    EXPECT_EQ(a.typed_slot, b.typed_slot);
    EXPECT_EQ(a.confirmation_prompt, b.confirmation_prompt);
    EXPECT_EQ(a.action, b.action);
    EXPECT_EQ(a.resource_template, b.resource_template);
    EXPECT_EQ(a.destructive, b.destructive);
    ASSERT_EQ(a.slots.size(), b.slots.size());
    for (size_t j = 0; j < b.slots.size(); ++j) {
      ExpectSameSlot(a.slots[j], b.slots[j], b.name);
    }
  }
}

TEST(CatalogueYaml, DefaultYamlIsTheDefaultCatalogueFieldByField) {
  const auto parsed = ParseCatalogue(DefaultCatalogueYaml(), "intents.yaml");
  ASSERT_TRUE(parsed.has_value()) << testing::PrintToString(Messages(parsed));
  ExpectSameCatalogue(*parsed, DefaultCatalogue());
  EXPECT_EQ(CatalogueDifference(*parsed, DefaultCatalogue()), "");
}

TEST(CatalogueYaml, CatalogueDifferenceNamesTheFirstDifference) {
  const Catalogue a = DefaultCatalogue();
  Catalogue b = a;
  EXPECT_EQ(CatalogueDifference(a, b), "");
  b.intents[5].slots[1].max = 100;
  b.intents[11].slots[1].values[0].synonyms.pop_back();
  EXPECT_EQ(CatalogueDifference(a, b), "intents[5].slots[1].max: 1000 != 100");
  b.intents[5].slots[1].max = 1000;
  EXPECT_THAT(CatalogueDifference(a, b),
              testing::StartsWith("intents[11].slots[1].values[0].synonyms: ['critical'"));
  b.intents.pop_back();
  EXPECT_EQ(CatalogueDifference(a, b), "intents (count): 13 != 12");
}

TEST(CatalogueYaml, ParsedCatalogueWorksWithCommandsAndResources) {
  const auto parsed = ParseCatalogue(DefaultCatalogueYaml(), "intents.yaml");
  ASSERT_TRUE(parsed.has_value());
  auto cmd = ParseCommand(*parsed, "incident open payments severity=P1 summary=\"down\"");
  ASSERT_TRUE(cmd.has_value());
  ASSERT_TRUE(cmd->has_value());
  EXPECT_EQ((*cmd)->slots.at("severity"), "sev1");
  const IntentSpec* scale = parsed->Find("asg.scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(ResourceFor(*scale, {{"group", "web"}, {"capacity", "3"}}, "111111111111"),
            "arn:aws:autoscaling:*:111111111111:autoScalingGroup:*:autoScalingGroupName/web");
  EXPECT_FALSE(NormaliseSlot(*scale->Slot("capacity"), "1001").has_value());
}

TEST(CatalogueYaml, MinimalIntentWithDefaults) {
  const auto parsed = ParseCatalogue(WithIntent(kMinimal), "c.yaml");
  ASSERT_TRUE(parsed.has_value()) << testing::PrintToString(Messages(parsed));
  ASSERT_EQ(parsed->intents.size(), 1u);
  const IntentSpec& i = parsed->intents[0];
  EXPECT_EQ(i.confirmation, Confirmation::kNone);
  EXPECT_FALSE(i.destructive);
  ASSERT_EQ(i.slots.size(), 1u);
  EXPECT_EQ(i.slots[0].min, INT64_MIN);
  EXPECT_EQ(i.slots[0].max, INT64_MAX);
}

TEST(CatalogueYaml, UnknownTypeSuggestsTheClosest) {
  const auto r = ParseCatalogue(WithIntent(Replace(kMinimal, "aws_instance_id", "int")), "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre("c.yaml:10:15: intents[0].slots[0].type: unknown type "
                                       "'int' (did you mean 'integer'?)"));
}

TEST(CatalogueYaml, UnknownKeysSuggestTheClosest) {
  const auto r = ParseCatalogue(
      WithIntent(Replace(kMinimal, "    utterances:", "    destructiv: true\n    utterances:")),
      "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre("c.yaml:7:5: intents[0].destructiv: unknown key (did you "
                                       "mean 'destructive'?)"));
  const auto top = ParseCatalogue("version: 1\nintent: []\n", "c.yaml");
  EXPECT_THAT(Messages(top), ElementsAre("c.yaml:1:1: intents: missing (a list of intents)",
                                         "c.yaml:2:1: intent: unknown key (did you mean "
                                         "'intents'?)"));
}

TEST(CatalogueYaml, MissingKeys) {
  const auto r = ParseCatalogue(WithIntent("  - name: x.y\n"), "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre(HasSubstr("intents[0].description: missing"),
                                       HasSubstr("intents[0].action: missing"),
                                       HasSubstr("intents[0].resource: missing"),
                                       HasSubstr("intents[0].utterances: missing")));
  EXPECT_THAT(Messages(ParseCatalogue("intents: []\n", "c.yaml")),
              ElementsAre("c.yaml:1:1: version: missing (version: 1)",
                          "c.yaml:1:10: intents: must not be empty (a catalogue needs at least "
                          "one intent)"));
  EXPECT_THAT(Messages(ParseCatalogue("", "c.yaml")), ElementsAre(HasSubstr("empty catalogue")));
  EXPECT_THAT(Messages(ParseCatalogue("version: 2\nintents: []\n", "c.yaml")),
              ElementsAre(HasSubstr("version: expected an integer from 1 to 1"),
                          HasSubstr("must not be empty")));
}

TEST(CatalogueYaml, RequiredSlotNeedsAPrompt) {
  const auto r = ParseCatalogue(
      WithIntent(Replace(kMinimal, "        prompt: Which instance?\n", "")), "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre(HasSubstr("intents[0].slots[0].prompt: missing (a "
                                                 "required slot needs the question")));
}

TEST(CatalogueYaml, DuplicateIntentAndSlotNames) {
  const auto r = ParseCatalogue(WithIntent(std::string(kMinimal) + kMinimal), "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre("c.yaml:13:5: intents[1].name: duplicate intent name "
                                       "'ec2.stop' (first used by intents[0])"));
  const std::string slot = "      - name: instance_id\n        type: identifier\n";
  const auto s = ParseCatalogue(WithIntent(std::string(kMinimal) + slot), "c.yaml");
  EXPECT_THAT(Messages(s), ElementsAre("c.yaml:13:9: intents[0].slots[1].name: duplicate slot "
                                       "name 'instance_id' (first used by "
                                       "intents[0].slots[0])"));
}

TEST(CatalogueYaml, DuplicateKeysAndAliasesAreRefused) {
  const auto r = ParseCatalogue(
      WithIntent(Replace(kMinimal, "    utterances:", "    action: ec2:X\n    utterances:")),
      "c.yaml");
  EXPECT_THAT(Messages(r), ElementsAre(HasSubstr("intents[0].action: duplicate key")));
  const auto a = ParseCatalogue(
      WithIntent(Replace(kMinimal, "description: Stop an instance.", "description: &d Stop") +
                 Replace(Replace(kMinimal, "ec2.stop", "ec2.halt"),
                         "description: Stop an instance.", "description: *d")),
      "c.yaml");
  EXPECT_FALSE(a.has_value());
}

TEST(CatalogueYaml, PlaceholdersMustNameSlots) {
  const auto r = ParseCatalogue(
      WithIntent(Replace(kMinimal, "\"stop {instance_id}\"", "\"stop {instance}\"")), "c.yaml");
  EXPECT_THAT(Messages(r),
              ElementsAre("c.yaml:7:18: intents[0].utterances[0]: placeholder {instance} is not "
                          "a slot of the intent (did you mean {instance_id}?)"));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "\"stop {instance_id}\"", "\"stop {x\"")), "c")),
              ElementsAre(HasSubstr("unmatched '{' at byte 6")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "\"stop {instance_id}\"", "\"stop x}\"")), "c")),
              ElementsAre(HasSubstr("unmatched '}'")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "\"stop {instance_id}\"", "\"stop {}\"")), "c")),
              ElementsAre(HasSubstr("empty placeholder")));
  // Resources may use {account} and {region} without a region slot, but nothing else.
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "instance/{instance_id}", "instance/{id}")), "c")),
              ElementsAre(HasSubstr("intents[0].resource: placeholder {id} is not {account}, "
                                    "{region} or a slot of the intent")));
}

TEST(CatalogueYaml, ConfirmationRules) {
  const std::string typed =
      Replace(kMinimal, "    utterances:", "    confirmation: typed\n    utterances:");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(typed), "c")),
              ElementsAre(HasSubstr("intents[0].typed_slot: missing"),
                          HasSubstr("intents[0].confirmation_prompt: missing")));
  const std::string bad_slot =
      Replace(kMinimal, "    utterances:",
              "    confirmation: typed\n    typed_slot: instance\n"
              "    confirmation_prompt: Stop {instance_id}?\n    utterances:");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(bad_slot), "c")),
              ElementsAre("c:8:17: intents[0].typed_slot: 'instance' is not a slot of the intent "
                          "(did you mean 'instance_id'?)"));
  const std::string optional_typed =
      Replace(Replace(bad_slot, "typed_slot: instance", "typed_slot: instance_id"),
              "required: true", "required: false");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(optional_typed), "c")),
              ElementsAre(HasSubstr("must be required: true")));
  const std::string stray =
      Replace(kMinimal, "    utterances:",
              "    typed_slot: instance_id\n    confirmation_prompt: Sure?\n    utterances:");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(stray), "c")),
              ElementsAre(HasSubstr("typed_slot: only with confirmation: typed"),
                          HasSubstr("confirmation_prompt: only with confirmation: confirm or "
                                    "typed")));
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "    utterances:",
                                                         "    confirmation: yes\n    utterances:")),
                                      "c")),
              ElementsAre(HasSubstr("confirmation: expected one of none, confirm, typed")));
}

TEST(CatalogueYaml, NamesAndActions) {
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "ec2.stop", "none")), "c")),
              ElementsAre(HasSubstr("intents[0].name: 'none' is reserved")));
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "ec2.stop", "EC2.Stop")), "c")),
              ElementsAre(HasSubstr("is not an intent name")));
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "ec2.stop", "a.b.c")), "c")),
              ElementsAre(HasSubstr("is not an intent name")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "ec2:StopInstances", "StopInstances")), "c")),
              ElementsAre(HasSubstr("is not an action")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "name: instance_id", "name: Instance-Id")), "c")),
              ElementsAre(HasSubstr("is not a slot name")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "name: instance_id", "name: account")), "c")),
              ElementsAre(HasSubstr("'account' is reserved")));
  // A single-word intent such as help is fine.
  EXPECT_TRUE(ParseCatalogue(WithIntent(Replace(kMinimal, "ec2.stop", "help")), "c").has_value());
}

TEST(CatalogueYaml, IntegerAndEnumSlots) {
  const std::string integer =
      Replace(kMinimal, "type: aws_instance_id", "type: integer\n        min: 5\n        max: 1");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(integer), "c")),
              ElementsAre(HasSubstr("slots[0].min: greater than max (5 > 1)")));
  const std::string negative = Replace(kMinimal, "type: aws_instance_id",
                                       "type: integer\n        min: -9223372036854775808");
  const auto n = ParseCatalogue(WithIntent(negative), "c");
  ASSERT_TRUE(n.has_value()) << testing::PrintToString(Messages(n));
  EXPECT_EQ(n->intents[0].slots[0].min, INT64_MIN);
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "type: aws_instance_id",
                                                         "type: integer\n        min: 1.5")),
                                      "c")),
              ElementsAre(HasSubstr("slots[0].min: expected an integer")));
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "type: aws_instance_id",
                                                         "type: identifier\n        max: 3")),
                                      "c")),
              ElementsAre(HasSubstr("slots[0].max: only for slots of type integer")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "type: aws_instance_id", "type: enum")), "c")),
              ElementsAre(HasSubstr("slots[0].values: missing")));
  const std::string dup_enum =
      Replace(kMinimal, "type: aws_instance_id",
              "type: enum\n        values:\n          - {value: sev1, synonyms: [P1]}\n"
              "          - {value: sev2, synonyms: [p1]}");
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(dup_enum), "c")),
              ElementsAre(HasSubstr("slots[0].values[1].synonyms[0]: 'p1' is already used by "
                                    "intents[0].slots[0].values[0].synonyms[0]")));
  EXPECT_THAT(
      Messages(ParseCatalogue(WithIntent(Replace(kMinimal, "type: aws_instance_id",
                                                 "type: identifier\n        values: [{value: a}]")),
                              "c")),
      ElementsAre(HasSubstr("slots[0].values: only for slots of type enum")));
}

TEST(CatalogueYaml, WrongTypesAndDuplicateUtterances) {
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "[\"stop {instance_id}\"]", "stop")), "c")),
              ElementsAre(HasSubstr("intents[0].utterances: expected a list of sample utterances "
                                    "(got 'stop')")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "[\"stop {instance_id}\"]",
                                     "[\"stop {instance_id}\", \"Stop {instance_id}\"]")),
                  "c")),
              ElementsAre(HasSubstr("utterances[1]: duplicate utterance (same as "
                                    "intents[0].utterances[0])")));
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "required: true", "required: yes")), "c")),
              ElementsAre(HasSubstr("slots[0].required: expected true or false")));
  EXPECT_THAT(Messages(ParseCatalogue("- a\n", "c")),
              ElementsAre(HasSubstr("expected a mapping of keys")));
  EXPECT_THAT(Messages(ParseCatalogue("version: 1\nintents: [3]\n", "c")),
              ElementsAre(HasSubstr("intents[0]: expected an intent mapping")));
}

TEST(CatalogueYaml, Limits) {
  std::string many = "version: 1\nintents:\n";
  for (size_t i = 0; i <= kMaxIntents; ++i) {
    many += Replace(kMinimal, "ec2.stop", "svc.i" + std::to_string(i));
  }
  EXPECT_THAT(Messages(ParseCatalogue(many, "c")),
              ElementsAre(HasSubstr("intents: more than 200 intents")));
  std::string utterances = "[";
  for (size_t i = 0; i <= kMaxUtterances; ++i) {
    utterances += "\"stop " + std::to_string(i) + "\",";
  }
  utterances += "]";
  EXPECT_THAT(Messages(ParseCatalogue(
                  WithIntent(Replace(kMinimal, "[\"stop {instance_id}\"]", utterances)), "c")),
              ElementsAre(HasSubstr("utterances: more than 100 utterances")));
  std::string slots;
  for (size_t i = 0; i <= kMaxSlots; ++i) {
    slots += "      - {name: s" + std::to_string(i) + ", type: identifier}\n";
  }
  EXPECT_THAT(Messages(ParseCatalogue(WithIntent(std::string(kMinimal) + slots), "c")),
              ElementsAre(HasSubstr("slots: more than 20 slots")));
  EXPECT_THAT(Messages(ParseCatalogue(std::string(kMaxCatalogueBytes + 1, '#'), "c")),
              ElementsAre("c: the config is larger than 1024 KiB (got 1048577 bytes)"));
}

TEST(CatalogueYaml, LoadCatalogueFile) {
  const std::string dir =
      ::testing::TempDir() + "/catalogue_yaml_test_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/intents.yaml";
  { std::ofstream(path) << DefaultCatalogueYaml(); }
  const auto loaded = LoadCatalogueFile(path);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->intents.size(), 13u);
  EXPECT_THAT(Messages(LoadCatalogueFile(dir + "/missing.yaml")),
              ElementsAre(dir + "/missing.yaml: no such file"));
  EXPECT_THAT(Messages(LoadCatalogueFile(dir)), ElementsAre(dir + ": not a regular file"));
  { std::ofstream(path, std::ios::trunc) << "version: 1\nintents:\n  - name: 1\n"; }
  EXPECT_THAT(Messages(LoadCatalogueFile(path)),
              testing::Contains(HasSubstr(path + ":3:11: intents[0].name: '1' is not an intent "
                                                 "name")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace opsgate::intents
