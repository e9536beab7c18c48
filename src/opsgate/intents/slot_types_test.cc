#include "opsgate/intents/slot_types.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "opsgate/intents/intents.h"

namespace opsgate::intents {
namespace {

using ::testing::HasSubstr;

SlotSpec Spec(SlotType type, int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
  SlotSpec s;
  s.name = "x";
  s.type = type;
  s.min = min;
  s.max = max;
  return s;
}

SlotSpec Severity() {
  const Catalogue c = DefaultCatalogue();
  return *c.Find("incident.open")->Slot("severity");
}

struct Case {
  SlotSpec spec;
  std::string raw;
  std::optional<std::string> want;  // nullopt: refused
  std::string error_part = "";      // refused: a substring of the message
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << SlotTypeName(c.spec.type) << " '" << c.raw << "'";
}

constexpr auto kId = SlotType::kAwsInstanceId;
constexpr auto kRegion = SlotType::kAwsRegion;
constexpr auto kType = SlotType::kEc2InstanceType;
constexpr auto kInt = SlotType::kInteger;
constexpr auto kIp = SlotType::kIpOrCidr;
constexpr auto kIdent = SlotType::kIdentifier;
constexpr auto kJira = SlotType::kJiraProjectKey;
constexpr auto kText = SlotType::kFreeText;
constexpr auto kDur = SlotType::kDuration;
const std::nullopt_t kRefused = std::nullopt;

std::vector<Case> Cases() {
  return {
      // aws_instance_id
      {Spec(kId), "i-0abc1234", "i-0abc1234"},
      {Spec(kId), "I-0ABC1234", "i-0abc1234"},
      {Spec(kId), "i-0123456789ABCDEF0", "i-0123456789abcdef0"},
      {Spec(kId), "  i-0abc1234\t", "i-0abc1234"},
      {Spec(kId), "i-12", kRefused,
       "expected an EC2 instance id: i- followed by 8 or 17 hex digits (got 'i-12')"},
      {Spec(kId), "i-0abc12345", kRefused, "8 or 17 hex digits"},  // 9 digits
      {Spec(kId), "i-0123456789abcdef", kRefused},                 // 16 digits
      {Spec(kId), "i-0abc123g", kRefused},
      {Spec(kId), "x-0abc1234", kRefused},
      {Spec(kId), "i_0abc1234", kRefused},
      {Spec(kId), "i-*", kRefused},
      {Spec(kId), "", kRefused, "(got '')"},
      // aws_region
      {Spec(kRegion), "eu-west-1", "eu-west-1"},
      {Spec(kRegion), "US-EAST-1", "us-east-1"},
      {Spec(kRegion), "ap-southeast-2", "ap-southeast-2"},
      {Spec(kRegion), "us-gov-west-1", "us-gov-west-1"},
      {Spec(kRegion), "cn-north-1", "cn-north-1"},
      {Spec(kRegion), "il-central-1", "il-central-1"},
      {Spec(kRegion), "ca-west-1", "ca-west-1"},
      {Spec(kRegion), "mx-central-1", "mx-central-1"},
      {Spec(kRegion), "us-iso-east-1", "us-iso-east-1"},
      {Spec(kRegion), "eu-west", kRefused, "an AWS region"},
      {Spec(kRegion), "eu-west-0", kRefused},
      {Spec(kRegion), "eu-west-01", kRefused},
      {Spec(kRegion), "xx-west-1", kRefused},
      {Spec(kRegion), "eu-up-1", kRefused},
      {Spec(kRegion), "eu-west-1a", kRefused},  // an availability zone, not a region
      {Spec(kRegion), "-west-1", kRefused},
      {Spec(kRegion), "*", kRefused},
      // ec2_instance_type
      {Spec(kType), "t3.micro", "t3.micro"},
      {Spec(kType), "M5.2XLARGE", "m5.2xlarge"},
      {Spec(kType), "c7gn.16xlarge", "c7gn.16xlarge"},
      {Spec(kType), "u-6tb1.metal", "u-6tb1.metal"},
      {Spec(kType), "m7i.metal-24xl", "m7i.metal-24xl"},
      {Spec(kType), "mac2-m2pro.metal", "mac2-m2pro.metal"},
      {Spec(kType), "t3", kRefused, "an EC2 instance type"},
      {Spec(kType), "t3.huge", kRefused},
      {Spec(kType), "t.micro", kRefused},  // no generation digit
      {Spec(kType), "t3.1xlarge", kRefused},
      {Spec(kType), "t3.02xlarge", kRefused},
      {Spec(kType), "t3.micro.x", kRefused},
      {Spec(kType), "3t.micro", kRefused},
      {Spec(kType), "u--6tb1.metal", kRefused},
      // integer
      {Spec(kInt, 0, 1000), "4", "4"},
      {Spec(kInt, 0, 1000), "+007", "7"},
      {Spec(kInt, 0, 1000), "0", "0"},
      {Spec(kInt, 0, 1000), "-0", "0"},
      {Spec(kInt, 0, 1000), "1000", "1000"},
      {Spec(kInt, 0, 1000), "1001", kRefused, "expected an integer from 0 to 1000 (got '1001')"},
      {Spec(kInt, 0, 1000), "-1", kRefused},
      {Spec(kInt, 0, 1000), "3.5", kRefused},
      {Spec(kInt, 0, 1000), "1e3", kRefused},
      {Spec(kInt, 0, 1000), "+", kRefused},
      {Spec(kInt, 0, 1000), "1 0", kRefused},
      {Spec(kInt, 0, 1000), "0x10", kRefused},
      {Spec(kInt), "9223372036854775807", "9223372036854775807"},
      {Spec(kInt), "-9223372036854775808", "-9223372036854775808"},
      {Spec(kInt), "9223372036854775808", kRefused, "expected an integer (got"},
      {Spec(kInt), "-9223372036854775809", kRefused},
      {Spec(kInt), "99999999999999999999999", kRefused},
      {Spec(kInt), "00000000000000000000000000042", "42"},
      // ip_or_cidr
      {Spec(kIp), "203.0.113.7", "203.0.113.7"},
      {Spec(kIp), "10.0.0.0/8", "10.0.0.0/8"},
      {Spec(kIp), "0.0.0.0/0", "0.0.0.0/0"},
      {Spec(kIp), "192.168.1.1/32", "192.168.1.1/32"},
      {Spec(kIp), "2001:DB8:0:0::1", "2001:db8::1"},
      {Spec(kIp), "2001:db8::/32", "2001:db8::/32"},
      {Spec(kIp), "::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {Spec(kIp), "::/0", "::/0"},
      {Spec(kIp), "10.0.0.1/33", kRefused, "prefix length from 0 to 32"},
      {Spec(kIp), "2001:db8::/129", kRefused, "from 0 to 128"},
      {Spec(kIp), "10.0.0.1/24", kRefused, "did you mean 10.0.0.0/24?"},
      {Spec(kIp), "2001:db8::1/32", kRefused, "did you mean 2001:db8::/32?"},
      {Spec(kIp), "fe80::1%eth0", kRefused, "without a zone id"},
      {Spec(kIp), "10.0.0.0/08", kRefused},
      {Spec(kIp), "10.0.0.0/", kRefused},
      {Spec(kIp), "256.1.1.1", kRefused},
      {Spec(kIp), "10.1", kRefused},
      {Spec(kIp), "010.0.0.1", kRefused},
      {Spec(kIp), "10.0.0.1/24/24", kRefused},
      {Spec(kIp), "10.0.0.*", kRefused},
      {Spec(kIp), std::string("1.2.3.4\0junk", 12), kRefused},
      {Spec(kIp), "example.com", kRefused},
      // enum
      {Severity(), "sev1", "sev1"},
      {Severity(), "SEV2", "sev2"},
      {Severity(), "critical", "sev1"},
      {Severity(), "P2", "sev2"},
      {Severity(), "Low", "sev4"},
      {Severity(), "sev5", kRefused, "expected one of sev1, sev2, sev3, sev4 (got 'sev5')"},
      {Severity(), "", kRefused},
      // identifier
      {Spec(kIdent), "web-asg", "web-asg"},
      {Spec(kIdent), "Deploy/API_v2.1", "Deploy/API_v2.1"},
      {Spec(kIdent), "_private", "_private"},
      {Spec(kIdent), std::string(128, 'a'), std::string(128, 'a')},
      {Spec(kIdent), std::string(129, 'a'), kRefused},
      {Spec(kIdent), "-rf", kRefused},
      {Spec(kIdent), "../etc", kRefused},
      {Spec(kIdent), "a..b", kRefused},
      {Spec(kIdent), "web asg", kRefused},
      {Spec(kIdent), "web*", kRefused},
      {Spec(kIdent), "", kRefused},
      // jira_project_key
      {Spec(kJira), "OPS", "OPS"},
      {Spec(kJira), "ops2", "OPS2"},
      {Spec(kJira), "ABCDEFGHIJ", "ABCDEFGHIJ"},
      {Spec(kJira), "A", kRefused, "a Jira project key"},
      {Spec(kJira), "ABCDEFGHIJK", kRefused},
      {Spec(kJira), "2OPS", kRefused},
      {Spec(kJira), "OPS-1", kRefused},
      // free_text
      {Spec(kText), "disk full on db-1", "disk full on db-1"},
      {Spec(kText), "  line one\nline two\t", "line one line two"},
      {Spec(kText), "caf\xc3\xa9 \xe2\x80\x94 ok", "caf\xc3\xa9 \xe2\x80\x94 ok"},
      {Spec(kText), std::string(2000, 'x'), std::string(2000, 'x')},
      {Spec(kText), std::string(2001, 'x'), kRefused, "(got 2001 bytes)"},
      {Spec(kText), "   ", kRefused},
      {Spec(kText), "bell\x07", kRefused, "control character"},
      {Spec(kText), "esc\x1b[31m", kRefused},
      {Spec(kText), "c1 \xc2\x85", kRefused},
      {Spec(kText), "rtl \xe2\x80\xae txt", kRefused},
      {Spec(kText), "isolate \xe2\x81\xa6", kRefused},
      {Spec(kText), "bad \xff utf8", kRefused, "not valid UTF-8"},
      // duration
      {Spec(kDur), "30s", "30s"},
      {Spec(kDur), "15m", "900s"},
      {Spec(kDur), "2H", "7200s"},
      {Spec(kDur), "1d", "86400s"},
      {Spec(kDur), "1h30m", "5400s"},
      {Spec(kDur), "365d", "31536000s"},
      {Spec(kDur), "366d", kRefused, "from 1 second to 365 days"},
      {Spec(kDur), "0s", kRefused},
      {Spec(kDur), "30", kRefused},
      {Spec(kDur), "m", kRefused},
      {Spec(kDur), "30m1h", kRefused},
      {Spec(kDur), "1h1h", kRefused},
      {Spec(kDur), "1w", kRefused},
      {Spec(kDur), "-5m", kRefused},
      {Spec(kDur), "1.5h", kRefused},
  };
}

class NormaliseSlotTable : public ::testing::TestWithParam<Case> {};

TEST_P(NormaliseSlotTable, AcceptsOrRefusesAsSpecified) {
  const Case& c = GetParam();
  const auto got = NormaliseSlot(c.spec, c.raw);
  if (c.want) {
    ASSERT_TRUE(got.has_value()) << got.error().message;
    EXPECT_EQ(*got, *c.want);
    // Normalised values are fixed points.
    const auto again = NormaliseSlot(c.spec, *got);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(*again, *got);
  } else {
    ASSERT_FALSE(got.has_value()) << "accepted as '" << *got << "'";
    EXPECT_EQ(got.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_THAT(got.error().message, HasSubstr(c.error_part));
    EXPECT_THAT(got.error().message, HasSubstr("expected"));
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, NormaliseSlotTable, ::testing::ValuesIn(Cases()));

TEST(NormaliseSlot, TableCoversEveryTypeWithEnoughCases) {
  const auto cases = Cases();
  EXPECT_GE(cases.size(), 60u);
  for (int t = 0; t <= static_cast<int>(SlotType::kDuration); ++t) {
    int accepted = 0;
    int refused = 0;
    for (const Case& c : cases) {
      if (static_cast<int>(c.spec.type) == t) {
        (c.want ? accepted : refused)++;
      }
    }
    EXPECT_GE(accepted, 1) << SlotTypeName(static_cast<SlotType>(t));
    EXPECT_GE(refused, 1) << SlotTypeName(static_cast<SlotType>(t));
  }
}

TEST(QuoteForMessage, CutsLongInputAndReplacesControlAndInvalidBytes) {
  EXPECT_EQ(QuoteForMessage("abc"), "'abc'");
  EXPECT_EQ(QuoteForMessage("a\nb\xff"), "'a?b?'");
  EXPECT_EQ(QuoteForMessage(std::string(100, 'z')), "'" + std::string(64, 'z') + "...'");
  // A multi-byte character straddling the limit is dropped whole, not cut.
  const std::string s = std::string(63, 'z') + "\xc3\xa9";
  EXPECT_EQ(QuoteForMessage(s), "'" + std::string(63, 'z') + "...'");
}

TEST(NormaliseSlot, ErrorMessageForInstanceIdIsExact) {
  const Catalogue c = DefaultCatalogue();
  const auto got = NormaliseSlot(*c.Find("ec2.stop")->Slot("instance_id"), "i-12");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().message,
            "expected an EC2 instance id: i- followed by 8 or 17 hex digits (got 'i-12')");
}

}  // namespace
}  // namespace opsgate::intents
