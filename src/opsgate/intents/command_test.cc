#include "opsgate/intents/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "opsgate/intents/intents.h"

namespace opsgate::intents {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Slots = std::map<std::string, std::string>;

// Matches a Result holding an error with `code` whose message contains `part`.
MATCHER_P2(ErrorIs, code, part, "") {
  if (arg.has_value()) {
    *result_listener << "has a value";
    return false;
  }
  *result_listener << "error: " << arg.error();
  return arg.error().code == code && arg.error().message.find(part) != std::string::npos;
}

class CommandTest : public ::testing::Test {
 protected:
  // The parsed command; fails the test on an error or nullopt.
  ParsedCommand Parse(std::string_view text, const CommandDefaults& defaults = {}) {
    auto r = ParseCommand(catalogue_, text, defaults);
    EXPECT_TRUE(r.has_value()) << r.error();
    if (!r.has_value() || !r->has_value()) {
      ADD_FAILURE() << "not a command: " << text;
      return {};
    }
    return **r;
  }

  const Catalogue catalogue_ = DefaultCatalogue();
};

// --- The catalogue -------------------------------------------------------------------

TEST(Catalogue, HasExactlyTheDefaultIntentsAndSlots) {
  const Catalogue c = DefaultCatalogue();
  const std::map<std::string, std::vector<std::string>> want = {
      {"ec2.describe", {"instance_id", "region", "name", "state"}},
      {"ec2.start", {"instance_id", "region"}},
      {"ec2.stop", {"instance_id", "region"}},
      {"ec2.reboot", {"instance_id", "region"}},
      {"ec2.resize", {"instance_id", "instance_type", "region"}},
      {"asg.scale", {"group", "capacity"}},
      {"waf.block_ip", {"ip"}},
      {"waf.unblock_ip", {"ip"}},
      {"alarms.status", {"region"}},
      {"jira.create", {"project", "summary"}},
      {"pipeline.run", {"pipeline", "branch"}},
      {"incident.open", {"service", "severity", "summary"}},
      {"help", {}},
  };
  ASSERT_EQ(c.intents.size(), want.size());
  for (const IntentSpec& i : c.intents) {
    ASSERT_EQ(want.count(i.name), 1u) << i.name;
    std::vector<std::string> names;
    for (const SlotSpec& s : i.slots) {
      names.push_back(s.name);
      EXPECT_FALSE(s.prompt.empty()) << i.name << "." << s.name;
    }
    EXPECT_EQ(names, want.at(i.name)) << i.name;
    EXPECT_FALSE(i.description.empty()) << i.name;
    EXPECT_GE(i.utterances.size(), 4u) << i.name;
    // ec2.describe has three more, for its name and state filters.
    EXPECT_LE(i.utterances.size(), i.name == "ec2.describe" ? 10u : 8u) << i.name;
    EXPECT_FALSE(i.action.empty()) << i.name;
    EXPECT_FALSE(i.resource_template.empty()) << i.name;
    // Every placeholder of an utterance is a slot of the intent.
    for (const std::string& u : i.utterances) {
      for (size_t p = u.find('{'); p != std::string::npos; p = u.find('{', p + 1)) {
        const size_t e = u.find('}', p);
        ASSERT_NE(e, std::string::npos) << u;
        EXPECT_NE(i.Slot(u.substr(p + 1, e - p - 1)), nullptr) << i.name << ": " << u;
      }
    }
    if (i.confirmation == Confirmation::kTyped) {
      EXPECT_NE(i.Slot(i.typed_slot), nullptr) << i.name;
    }
    if (i.destructive) {
      EXPECT_NE(i.confirmation, Confirmation::kNone) << i.name;
    }
  }
}

TEST(Catalogue, ActionsConfirmationAndRequiredSlots) {
  const Catalogue c = DefaultCatalogue();
  const std::map<std::string, std::string> actions = {
      {"ec2.describe", "ec2:DescribeInstances"}, {"ec2.start", "ec2:StartInstances"},
      {"ec2.stop", "ec2:StopInstances"},         {"ec2.reboot", "ec2:RebootInstances"},
      {"ec2.resize", "ec2:ModifyInstanceAttribute"},
      {"asg.scale", "autoscaling:SetDesiredCapacity"},
      {"waf.block_ip", "waf:BlockIp"},           {"waf.unblock_ip", "waf:UnblockIp"},
      {"alarms.status", "cloudwatch:DescribeAlarms"}, {"jira.create", "jira:CreateIssue"},
      {"pipeline.run", "pipeline:Run"},          {"incident.open", "incident:Open"},
      {"help", "opsgate:Help"}};
  for (const auto& [name, action] : actions) {
    ASSERT_NE(c.Find(name), nullptr) << name;
    EXPECT_EQ(c.Find(name)->action, action);
  }
  EXPECT_EQ(c.Find("none"), nullptr);
  for (const char* name : {"ec2.stop", "ec2.reboot", "waf.block_ip"}) {
    EXPECT_EQ(c.Find(name)->confirmation, Confirmation::kConfirm) << name;
    EXPECT_TRUE(c.Find(name)->destructive) << name;
  }
  EXPECT_EQ(c.Find("ec2.resize")->confirmation, Confirmation::kTyped);
  EXPECT_EQ(c.Find("ec2.resize")->typed_slot, "instance_id");
  EXPECT_EQ(c.Find("asg.scale")->confirmation, Confirmation::kTyped);
  EXPECT_EQ(c.Find("asg.scale")->typed_slot, "capacity");
  EXPECT_FALSE(c.Find("ec2.describe")->destructive);
  EXPECT_EQ(c.Find("ec2.describe")->confirmation, Confirmation::kNone);
  EXPECT_FALSE(c.Find("ec2.describe")->Slot("instance_id")->required);
  EXPECT_FALSE(c.Find("ec2.describe")->Slot("region")->required);
  EXPECT_TRUE(c.Find("ec2.stop")->Slot("instance_id")->required);
  EXPECT_EQ(c.Find("asg.scale")->Slot("capacity")->min, 0);
  EXPECT_EQ(c.Find("asg.scale")->Slot("capacity")->max, 1000);
  EXPECT_EQ(c.Find("incident.open")->Slot("severity")->type, SlotType::kEnum);
  EXPECT_EQ(c.Find("ec2.stop")->Slot("nope"), nullptr);
}

// --- ParseCommand on each intent ---------------------------------------------------------

TEST_F(CommandTest, Ec2StopPositionalAndNamed) {
  ParsedCommand p = Parse("ec2 stop i-0abc1234 region=eu-west-1");
  EXPECT_EQ(p.intent->name, "ec2.stop");
  EXPECT_EQ(p.slots, (Slots{{"instance_id", "i-0abc1234"}, {"region", "eu-west-1"}}));
  EXPECT_THAT(p.missing, IsEmpty());

  p = Parse("  EC2   Stop   I-0ABC1234  ");
  EXPECT_EQ(p.intent->name, "ec2.stop");
  EXPECT_EQ(p.slots, (Slots{{"instance_id", "i-0abc1234"}}));

  p = Parse("ec2 stop region=US-EAST-1 i-0abc1234");  // named first, positional skips it
  EXPECT_EQ(p.slots, (Slots{{"instance_id", "i-0abc1234"}, {"region", "us-east-1"}}));

  p = Parse("ec2 stop i-0abc1234 eu-west-2");  // optional slot filled positionally
  EXPECT_EQ(p.slots.at("region"), "eu-west-2");

  p = Parse("ec2 stop Instance-ID=i-0abc1234");  // slot names fold case and '-'
  EXPECT_EQ(p.slots.at("instance_id"), "i-0abc1234");
}

TEST_F(CommandTest, Ec2StartRebootDescribe) {
  EXPECT_EQ(Parse("ec2 start i-0abc1234").intent->name, "ec2.start");
  EXPECT_EQ(Parse("ec2 reboot i-0123456789abcdef0").intent->name, "ec2.reboot");
  ParsedCommand p = Parse("ec2 describe");
  EXPECT_EQ(p.intent->name, "ec2.describe");
  EXPECT_THAT(p.slots, IsEmpty());
  EXPECT_THAT(p.missing, IsEmpty());  // both slots optional
  p = Parse("ec2 describe region=ap-southeast-2");
  EXPECT_EQ(p.slots, (Slots{{"region", "ap-southeast-2"}}));
}

TEST_F(CommandTest, MissingRequiredSlotsAreReported) {
  ParsedCommand p = Parse("ec2 stop");
  EXPECT_EQ(p.intent->name, "ec2.stop");
  EXPECT_THAT(p.missing, ElementsAre("instance_id"));
  p = Parse("incident open payments");
  EXPECT_THAT(p.missing, ElementsAre("severity", "summary"));
  p = Parse("ec2 resize instance_type=t3.large");
  EXPECT_THAT(p.missing, ElementsAre("instance_id"));
}

TEST_F(CommandTest, Ec2Resize) {
  const ParsedCommand p = Parse("ec2 resize i-0abc1234 T3.Large us-gov-west-1");
  EXPECT_EQ(p.intent->name, "ec2.resize");
  EXPECT_EQ(p.slots, (Slots{{"instance_id", "i-0abc1234"},
                            {"instance_type", "t3.large"},
                            {"region", "us-gov-west-1"}}));
}

TEST_F(CommandTest, AsgScale) {
  const ParsedCommand p = Parse("asg scale web-asg +04");
  EXPECT_EQ(p.intent->name, "asg.scale");
  EXPECT_EQ(p.slots, (Slots{{"group", "web-asg"}, {"capacity", "4"}}));
  EXPECT_THAT(ParseCommand(catalogue_, "asg scale web-asg 1001"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "capacity: expected an integer from 0"));
  EXPECT_THAT(ParseCommand(catalogue_, "asg scale web-asg 99999999999999999999999"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "capacity:"));
}

TEST_F(CommandTest, WafBlockAndUnblockAcceptUnderscoreAndDash) {
  ParsedCommand p = Parse("waf block_ip 203.0.113.7");
  EXPECT_EQ(p.intent->name, "waf.block_ip");
  EXPECT_EQ(p.slots.at("ip"), "203.0.113.7");
  p = Parse("WAF Block-IP 2001:DB8::/32");
  EXPECT_EQ(p.intent->name, "waf.block_ip");
  EXPECT_EQ(p.slots.at("ip"), "2001:db8::/32");
  p = Parse("waf unblock-ip ip=10.0.0.0/8");
  EXPECT_EQ(p.intent->name, "waf.unblock_ip");
  EXPECT_THAT(ParseCommand(catalogue_, "waf block-ip 10.0.0.1/24"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "ip: expected a CIDR without host bits"));
}

TEST_F(CommandTest, AlarmsStatusUsesDefaultRegion) {
  ParsedCommand p = Parse("alarms status", {.region = "EU-WEST-1"});
  EXPECT_EQ(p.intent->name, "alarms.status");
  EXPECT_EQ(p.slots, (Slots{{"region", "eu-west-1"}}));
  p = Parse("alarms status us-east-1", {.region = "eu-west-1"});  // given beats default
  EXPECT_EQ(p.slots, (Slots{{"region", "us-east-1"}}));
  // No region slot: the default is not added.
  p = Parse("asg scale web 2", {.region = "eu-west-1"});
  EXPECT_EQ(p.slots.count("region"), 0u);
  EXPECT_THAT(ParseCommand(catalogue_, "alarms status", {.region = "mars-1"}),
              ErrorIs(core::ErrorCode::kInvalidArgument, "default region"));
}

TEST_F(CommandTest, JiraCreateWithQuotedSummary) {
  ParsedCommand p = Parse(R"(jira create ops "disk full on db-1")");
  EXPECT_EQ(p.intent->name, "jira.create");
  EXPECT_EQ(p.slots, (Slots{{"project", "OPS"}, {"summary", "disk full on db-1"}}));
  p = Parse(R"(jira create summary="say \"hi\" = \\o/" project=OPS)");
  EXPECT_EQ(p.slots.at("summary"), R"(say "hi" = \o/)");
  p = Parse(R"(jira create OPS "a=b")");  // a quoted '=' is not a slot name
  EXPECT_EQ(p.slots.at("summary"), "a=b");
  p = Parse(R"(jira create OPS one-word)");
  EXPECT_EQ(p.slots.at("summary"), "one-word");
}

TEST_F(CommandTest, PipelineRun) {
  ParsedCommand p = Parse("pipeline run deploy/api branch=release/1.2");
  EXPECT_EQ(p.intent->name, "pipeline.run");
  EXPECT_EQ(p.slots, (Slots{{"pipeline", "deploy/api"}, {"branch", "release/1.2"}}));
  p = Parse("pipeline run deploy-api");
  EXPECT_EQ(p.slots, (Slots{{"pipeline", "deploy-api"}}));
  EXPECT_THAT(p.missing, IsEmpty());
}

TEST_F(CommandTest, IncidentOpenWithEnumSynonym) {
  const ParsedCommand p =
      Parse(R"(incident open payments severity=P1 summary="checkout failing")");
  EXPECT_EQ(p.intent->name, "incident.open");
  EXPECT_EQ(p.slots, (Slots{{"service", "payments"},
                            {"severity", "sev1"},
                            {"summary", "checkout failing"}}));
  EXPECT_EQ(Parse(R"(incident open payments high "slow")").slots.at("severity"), "sev2");
}

TEST_F(CommandTest, Help) {
  const ParsedCommand p = Parse("HELP");
  EXPECT_EQ(p.intent->name, "help");
  EXPECT_THAT(p.slots, IsEmpty());
  EXPECT_THAT(ParseCommand(catalogue_, "help ec2"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "too many values"));
}

// --- Not a command ------------------------------------------------------------------------

TEST_F(CommandTest, FreeTextIsNotACommand) {
  for (const char* text : {"please stop my server", "stop i-0abc1234", "could you stop it",
                           "", "   ", "ec2-stop i-0abc1234", "\"ec2\" stop", "ec2: stop",
                           "what alarms are firing"}) {
    const auto r = ParseCommand(catalogue_, text);
    ASSERT_TRUE(r.has_value()) << text << ": " << r.error();
    EXPECT_FALSE(r->has_value()) << text;
  }
  // Free text with an unbalanced quote is still free text, not an error.
  const auto r = ParseCommand(catalogue_, R"(please "stop my server)");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
}

// --- Errors ----------------------------------------------------------------------------

TEST_F(CommandTest, UnknownVerbNamesUsageAndSuggestion) {
  const auto r = ParseCommand(catalogue_, "ec2 sotp i-0abc1234");
  EXPECT_THAT(r, ErrorIs(core::ErrorCode::kInvalidArgument, "ec2: unknown command 'sotp'"));
  EXPECT_THAT(r, ErrorIs(core::ErrorCode::kInvalidArgument, "did you mean 'stop'?"));
  EXPECT_THAT(r, ErrorIs(core::ErrorCode::kInvalidArgument,
                         "usage: ec2 describe [instance_id=INSTANCE_ID] [region=REGION] "
                         "[name=NAME] [state=STATE] | "
                         "ec2 start INSTANCE_ID [region=REGION]"));
  EXPECT_THAT(ParseCommand(catalogue_, "ec2"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "ec2: which command?"));
  EXPECT_THAT(ParseCommand(catalogue_, "waf block ip 1.2.3.4"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "unknown command 'block'"));
}

TEST_F(CommandTest, UnknownAndDuplicateSlots) {
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop i-0abc1234 zone=a"),
              ErrorIs(core::ErrorCode::kInvalidArgument,
                      "ec2.stop has no slot 'zone' (slots: instance_id, region); "
                      "usage: ec2 stop INSTANCE_ID [region=REGION]"));
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop i-0abc1234 region=eu-west-1 REGION=eu-west-2"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "slot region is given twice"));
  EXPECT_THAT(ParseCommand(catalogue_, "help topic=x"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "(it takes none)"));
}

TEST_F(CommandTest, TooManyValues) {
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop i-0abc1234 eu-west-1 extra"),
              ErrorIs(core::ErrorCode::kInvalidArgument,
                      "too many values for ec2.stop: 'extra' is left over; usage: ec2 stop"));
  // A named slot does not free a positional place for another value.
  EXPECT_THAT(ParseCommand(catalogue_, "waf block_ip ip=1.2.3.4 5.6.7.8"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "too many values"));
}

TEST_F(CommandTest, UnterminatedQuote) {
  EXPECT_THAT(ParseCommand(catalogue_, R"(jira create OPS "disk full)"),
              ErrorIs(core::ErrorCode::kInvalidArgument,
                      "unterminated double quote; usage: jira create PROJECT SUMMARY"));
  EXPECT_THAT(ParseCommand(catalogue_, R"(jira create OPS "disk full\")"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "unterminated"));
}

TEST_F(CommandTest, InvalidValueNamesTheSlot) {
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop i-12"),
              ErrorIs(core::ErrorCode::kInvalidArgument,
                      "instance_id: expected an EC2 instance id: i- followed by 8 or 17 hex "
                      "digits (got 'i-12'); usage: ec2 stop INSTANCE_ID [region=REGION]"));
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop i-0abc1234 region=narnia-1"),
              ErrorIs(core::ErrorCode::kInvalidArgument, "region: expected an AWS region"));
  EXPECT_THAT(ParseCommand(catalogue_, "ec2 stop instance_id="),
              ErrorIs(core::ErrorCode::kInvalidArgument, "instance_id: expected"));
  EXPECT_THAT(ParseCommand(catalogue_, "jira create OPS \"bell\x07\""),
              ErrorIs(core::ErrorCode::kInvalidArgument, "summary: expected text"));
}

TEST_F(CommandTest, RefusesInputOver4KiB) {
  const std::string big = "ec2 describe " + std::string(kMaxCommandBytes, ' ');
  EXPECT_THAT(ParseCommand(catalogue_, big),
              ErrorIs(core::ErrorCode::kResourceExhausted, "at most 4096"));
  const std::string free_text(kMaxCommandBytes + 1, 'a');
  EXPECT_THAT(ParseCommand(catalogue_, free_text),
              ErrorIs(core::ErrorCode::kResourceExhausted, "at most 4096"));
  const std::string exact = "jira create OPS " + std::string(kMaxCommandBytes - 16, 'a');
  EXPECT_THAT(ParseCommand(catalogue_, exact),
              ErrorIs(core::ErrorCode::kInvalidArgument, "summary:"));  // > 2000 bytes
}

// --- Usage, ResourceFor, CanonicalAction ---------------------------------------------------

TEST(Usage, DescribesEachIntent) {
  const Catalogue c = DefaultCatalogue();
  EXPECT_EQ(Usage(*c.Find("ec2.stop")), "ec2 stop INSTANCE_ID [region=REGION]");
  EXPECT_EQ(Usage(*c.Find("ec2.describe")),
            "ec2 describe [instance_id=INSTANCE_ID] [region=REGION] [name=NAME] [state=STATE]");
  EXPECT_EQ(Usage(*c.Find("ec2.resize")), "ec2 resize INSTANCE_ID INSTANCE_TYPE [region=REGION]");
  EXPECT_EQ(Usage(*c.Find("asg.scale")), "asg scale GROUP CAPACITY");
  EXPECT_EQ(Usage(*c.Find("waf.block_ip")), "waf block_ip IP");
  EXPECT_EQ(Usage(*c.Find("alarms.status")), "alarms status [region=REGION]");
  EXPECT_EQ(Usage(*c.Find("jira.create")), "jira create PROJECT SUMMARY");
  EXPECT_EQ(Usage(*c.Find("pipeline.run")), "pipeline run PIPELINE [branch=BRANCH]");
  EXPECT_EQ(Usage(*c.Find("incident.open")), "incident open SERVICE SEVERITY SUMMARY");
  EXPECT_EQ(Usage(*c.Find("help")), "help");
}

TEST_F(CommandTest, ResourceForFillsSlotsAndAccount) {
  const IntentSpec& stop = *catalogue_.Find("ec2.stop");
  EXPECT_EQ(ResourceFor(stop, {{"instance_id", "i-0abc1234"}, {"region", "eu-west-1"}},
                        "111111111111"),
            "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc1234");
  // Optional region not given and no account: '*', which only wildcard policies match.
  EXPECT_EQ(ResourceFor(stop, {{"instance_id", "i-0abc1234"}}, ""),
            "arn:aws:ec2:*:*:instance/i-0abc1234");
  // Required slot missing: unresolvable, never instance/*.
  EXPECT_EQ(ResourceFor(stop, {{"region", "eu-west-1"}}, "111111111111"), "");
  // describe without an id covers every instance.
  EXPECT_EQ(ResourceFor(*catalogue_.Find("ec2.describe"), {{"region", "eu-west-1"}}, "1"),
            "arn:aws:ec2:eu-west-1:1:instance/*");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("asg.scale"), {{"group", "web"}, {"capacity", "2"}},
                        "111111111111"),
            "arn:aws:autoscaling:*:111111111111:autoScalingGroup:*:autoScalingGroupName/web");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("waf.block_ip"), {{"ip", "10.0.0.0/8"}}, "1"),
            "opsgate:waf/ip/10.0.0.0/8");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("alarms.status"), {}, "1"),
            "arn:aws:cloudwatch:*:1:alarm:*");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("jira.create"), {{"project", "OPS"}, {"summary", "x"}},
                        "1"),
            "opsgate:jira/project/OPS");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("pipeline.run"), {{"pipeline", "deploy/api"}}, "1"),
            "opsgate:pipeline/deploy/api");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("incident.open"), {{"service", "payments"}}, "1"),
            "opsgate:incident/payments");
  EXPECT_EQ(ResourceFor(*catalogue_.Find("help"), {}, "1"), "*");
  // Values that would act as wildcards or placeholders make the resource unresolvable.
  EXPECT_EQ(ResourceFor(stop, {{"instance_id", "i-*"}}, "1"), "");
  EXPECT_EQ(ResourceFor(stop, {{"instance_id", "i-0abc1234"}}, "1?"), "");
  EXPECT_EQ(ResourceFor(stop, {{"instance_id", "{account}"}}, "1"), "");
}

TEST_F(CommandTest, CanonicalActionFormatAndProperties) {
  const ParsedCommand a = Parse("ec2 stop i-0abc1234 region=eu-west-1");
  const std::string resource = ResourceFor(*a.intent, a.slots, "111111111111");
  EXPECT_EQ(CanonicalAction(a, resource),
            "opsgate-action-v1;8:ec2.stop,17:ec2:StopInstances,54:arn:aws:ec2:eu-west-1:"
            "111111111111:instance/i-0abc1234,1:2,11:instance_id,10:i-0abc1234,6:region,"
            "9:eu-west-1,");
  // Slot order in the command is irrelevant.
  const ParsedCommand b = Parse("ec2 stop region=EU-WEST-1 instance_id=I-0ABC1234");
  EXPECT_EQ(CanonicalAction(a, resource), CanonicalAction(b, resource));
  // Different slots, intents or resources give different strings.
  std::set<std::string> seen;
  for (const char* text :
       {"ec2 stop i-0abc1234 region=eu-west-1", "ec2 stop i-0abc1235 region=eu-west-1",
        "ec2 stop i-0abc1234 region=eu-west-2", "ec2 stop i-0abc1234",
        "ec2 reboot i-0abc1234 region=eu-west-1", "ec2 start i-0abc1234 region=eu-west-1"}) {
    const ParsedCommand p = Parse(text);
    EXPECT_TRUE(seen.insert(CanonicalAction(p, ResourceFor(*p.intent, p.slots, "1"))).second)
        << text;
  }
  // Length prefixes keep shifted boundaries apart.
  ParsedCommand x = Parse(R"(jira create OPS "a,1:b")");
  ParsedCommand y = Parse(R"(jira create OPS "a")");
  EXPECT_NE(CanonicalAction(x, "r"), CanonicalAction(y, "r"));
  EXPECT_NE(CanonicalAction(a, resource), CanonicalAction(a, resource + "x"));
}

TEST_F(CommandTest, EveryUsageLineParsesBackToItsIntent) {
  const std::map<std::string, std::string> sample = {{"instance_id", "i-0abc1234"},
                                                     {"region", "eu-west-1"},
                                                     {"instance_type", "t3.micro"},
                                                     {"group", "web"},
                                                     {"capacity", "3"},
                                                     {"ip", "192.0.2.1"},
                                                     {"project", "OPS"},
                                                     {"summary", "x"},
                                                     {"pipeline", "p"},
                                                     {"branch", "main"},
                                                     {"service", "payments"},
                                                     {"severity", "sev3"},
                                                     {"name", "web-1"},
                                                     {"state", "stopped"}};
  for (const IntentSpec& i : catalogue_.intents) {
    std::string text(i.name);
    for (char& ch : text) {
      ch = ch == '.' ? ' ' : ch;
    }
    for (const SlotSpec& s : i.slots) {
      text += " " + sample.at(s.name);  // positional, in declaration order
    }
    const ParsedCommand p = Parse(text);
    ASSERT_NE(p.intent, nullptr) << text;
    EXPECT_EQ(p.intent, &i) << text;
    EXPECT_EQ(p.slots.size(), i.slots.size()) << text;
    EXPECT_THAT(p.missing, IsEmpty()) << text;
    EXPECT_NE(ResourceFor(i, p.slots, "111111111111"), "") << text;
  }
}

}  // namespace
}  // namespace opsgate::intents
