#include "opsgate/audit/export/format.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "opsgate/audit/export/test_records.h"

namespace opsgate::audit::siem {
namespace {

using export_testing::SampleRecord;

const std::string kLeaf(32, '\xab');
const std::string kLeafHex = [] {
  std::string s;
  for (int i = 0; i < 32; ++i) {
    s += "ab";
  }
  return s;
}();

RecordFormatter MakeFormatter(FormatOptions o = {}) {
  if (o.hostname.empty()) {
    o.hostname = "host1";
  }
  if (o.procid.empty()) {
    o.procid = "4242";
  }
  auto redactor = redact::Redactor::Create();
  EXPECT_TRUE(redactor.has_value());
  auto f = RecordFormatter::Create(*redactor, std::move(o));
  EXPECT_TRUE(f.has_value()) << f.error();
  return *f;
}

const std::string kGoldenJson =
    "{\"seq\":0,\"time\":\"2023-11-14T22:13:20.123Z\",\"kind\":\"decision\","
    "\"correlation_id\":\"c-0\",\"platform\":\"slack\",\"workspace\":\"T0001\","
    "\"channel\":\"C0002\",\"user\":\"U0003\",\"user_name\":\"Alice \\\"Ops\\\" M\xC3\xBCller\","
    "\"principal\":\"alice@example.com\",\"intent\":\"ec2.stop_instance\","
    "\"slots\":{\"instance\":\"i-0abc\",\"region\":\"eu-west-1\"},"
    "\"text\":\"stop i-0abc please\\nthanks\",\"decision\":\"allow\","
    "\"statement\":\"ops-can-stop\",\"action\":\"ec2:StopInstances\","
    "\"resource\":\"arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc\",\"result\":\"ok\","
    "\"output\":\"stopping\",\"latency_ms\":12,\"reason\":\"\",\"leaf_hash\":\"" +
    kLeafHex + "\"}";

TEST(FormatTest, JsonLineGolden) {
  EXPECT_EQ(MakeFormatter().JsonLine(SampleRecord(0), kLeaf), kGoldenJson);
}

TEST(FormatTest, JsonLineIsOneValidJsonObject) {
  Record r = SampleRecord(5);
  r.reason = std::string("ctl\x01\x7f and bad utf8 \xff\xfe", 22);
  const std::string line = MakeFormatter().JsonLine(r, kLeaf);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("seq").as_int64(), 5);
  EXPECT_EQ(o.at("kind").as_string(), "decision");
  EXPECT_EQ(o.at("slots").as_object().at("region").as_string(), "eu-west-1");
  EXPECT_EQ(o.at("leaf_hash").as_string(), kLeafHex);
}

TEST(FormatTest, SyslogGolden) {
  const std::string expected =
      "<109>1 2023-11-14T22:13:20.123Z host1 opsgate 4242 decision "
      "[opsgate@32473 seq=\"0\" correlation_id=\"c-0\" leaf_hash=\"" +
      kLeafHex + "\"] \xEF\xBB\xBF" + kGoldenJson;
  EXPECT_EQ(MakeFormatter().SyslogMessage(SampleRecord(0), kLeaf), expected);
}

TEST(FormatTest, SeverityAndFacility) {
  Record r = SampleRecord(0);
  r.kind = RecordKind::kRejection;
  EXPECT_EQ(SeverityFor(r), 4);
  // local0 (16) * 8 + warning (4).
  EXPECT_EQ(MakeFormatter({.facility = 16}).SyslogMessage(r, kLeaf).rfind("<132>1 ", 0), 0u);
  r.kind = RecordKind::kRequest;
  EXPECT_EQ(SeverityFor(r), 6);
  r.kind = RecordKind::kOutcome;
  EXPECT_EQ(SeverityFor(r), 6);
  r.kind = RecordKind::kApproval;
  EXPECT_EQ(SeverityFor(r), 5);
  r.kind = RecordKind::kAdmin;
  EXPECT_EQ(SeverityFor(r), 5);
  // kern (0) * 8 + informational (6): the smallest PRI keeps its single digit.
  r.kind = RecordKind::kRequest;
  EXPECT_EQ(MakeFormatter({.facility = 0}).SyslogMessage(r, kLeaf).rfind("<6>1 ", 0), 0u);
}

TEST(FormatTest, EscapesStructuredDataParamValues) {
  EXPECT_EQ(EscapeParamValue("a\"b\\c]d"), "a\\\"b\\\\c\\]d");
  EXPECT_EQ(EscapeParamValue("plain [x] = y"), "plain [x\\] = y");
  EXPECT_EQ(EscapeParamValue("bad \xff"), "bad \xEF\xBF\xBD");
  Record r = SampleRecord(0);
  r.correlation_id = "id\"with]all\\three";
  const std::string msg = MakeFormatter().SyslogMessage(r, kLeaf);
  EXPECT_NE(msg.find("correlation_id=\"id\\\"with\\]all\\\\three\""), std::string::npos) << msg;
}

TEST(FormatTest, HeaderFieldsAreSanitized) {
  const std::string msg = MakeFormatter({.hostname = "my host\xc3\xa9", .procid = "12 3"})
                              .SyslogMessage(SampleRecord(0), kLeaf);
  EXPECT_EQ(msg.rfind("<109>1 2023-11-14T22:13:20.123Z my_host__ opsgate 12_3 decision [", 0), 0u)
      << msg;
}

TEST(FormatTest, DefaultsHostnameAndProcid) {
  auto redactor = redact::Redactor::Create();
  ASSERT_TRUE(redactor.has_value());
  auto f = RecordFormatter::Create(*redactor, {});
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->options().hostname.empty());
  EXPECT_EQ(f->options().procid, std::to_string(::getpid()));
}

TEST(FormatTest, SealedFieldsStaySealedWithoutDecrypt) {
  Record r = SampleRecord(0);
  r.text = Field::Sealed("envelope-bytes");
  r.slots = Field::Sealed("envelope-bytes-2");
  const std::string line = MakeFormatter().JsonLine(r, kLeaf);
  EXPECT_NE(line.find("\"text\":{\"sealed\":true}"), std::string::npos) << line;
  EXPECT_NE(line.find("\"slots\":{\"sealed\":true}"), std::string::npos) << line;
  EXPECT_EQ(line.find("envelope"), std::string::npos);
}

TEST(FormatTest, DecryptCallbackOpensSealedFields) {
  Record r = SampleRecord(0);
  r.text = Field::Sealed("E1");
  r.slots = Field::Sealed("E2");
  r.output = Field::Sealed("E3");
  FormatOptions o;
  o.decrypt = [seq = r.seq](uint64_t at, std::string_view name,
                            const Field& f) -> std::optional<std::string> {
    EXPECT_EQ(at, seq);  // sealed fields are bound to their record and field name
    if (f.bytes == "E1" && name == "text") {
      return "opened password=hunter2";
    }
    if (f.bytes == "E2" && name == "slots") {
      return EncodeSlots({{"k", "v"}});
    }
    return std::nullopt;  // cannot open: stays sealed
  };
  const std::string line = MakeFormatter(std::move(o)).JsonLine(r, kLeaf);
  EXPECT_NE(line.find("\"text\":\"opened password=[redacted:password]\""), std::string::npos)
      << line;
  EXPECT_NE(line.find("\"slots\":{\"k\":\"v\"}"), std::string::npos) << line;
  EXPECT_NE(line.find("\"output\":{\"sealed\":true}"), std::string::npos) << line;
}

TEST(FormatTest, RedactsEveryStringField) {
  Record r = SampleRecord(0);
  const std::string key = "AKIAIOSFODNN7EXAMPLE";
  r.text = Field::Plain("key " + key);
  r.reason = "leaked " + key;
  r.correlation_id = "cid-" + key;
  r.slots = Field::Plain(EncodeSlots({{"token", "xoxb-123456789012-abcdefghijklmnop"}}));
  const std::string msg = MakeFormatter().SyslogMessage(r, kLeaf);
  EXPECT_EQ(msg.find(key), std::string::npos) << msg;
  EXPECT_EQ(msg.find("xoxb-123456789012"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[redacted:aws-access-key-id]"), std::string::npos) << msg;
}

TEST(FormatTest, EmptyAndInvalidSlots) {
  Record r = SampleRecord(0);
  r.slots = Field::Plain("");
  EXPECT_NE(MakeFormatter().JsonLine(r, kLeaf).find("\"slots\":{}"), std::string::npos);
  r.slots = Field::Plain("junk");
  EXPECT_NE(MakeFormatter().JsonLine(r, kLeaf).find("\"slots\":{\"invalid\":true}"),
            std::string::npos);
}

TEST(FormatTest, OctetCountingFrame) {
  EXPECT_EQ(FrameOctetCounted("abc"), "3 abc");
  EXPECT_EQ(FrameOctetCounted(""), "0 ");
  // Bytes, not characters: BOM (3) + "\xC3\xBC" (2).
  EXPECT_EQ(FrameOctetCounted("\xEF\xBB\xBF\xC3\xBC"), "5 \xEF\xBB\xBF\xC3\xBC");
  const std::string msg = MakeFormatter().SyslogMessage(SampleRecord(3), kLeaf);
  const std::string frame = FrameOctetCounted(msg);
  auto split = export_testing::SplitFrames(frame + frame);
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ((*split)[0], msg);
}

TEST(FormatTest, CreateRejectsBadOptions) {
  auto redactor = redact::Redactor::Create();
  ASSERT_TRUE(redactor.has_value());
  auto bad_facility = RecordFormatter::Create(*redactor, {.facility = 24});
  ASSERT_FALSE(bad_facility.has_value());
  EXPECT_EQ(bad_facility.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_facility.error().message.find("0..23"), std::string::npos);
  for (std::string id :
       std::vector<std::string>{"opsgate", "opsgate@", "@123", "ops gate@1", "ops]@1", "a@1@2",
                                "opsgate@12x", std::string(40, 'a') + "@1"}) {
    auto bad = RecordFormatter::Create(*redactor, {.sd_id = id});
    EXPECT_FALSE(bad.has_value()) << id;
  }
  EXPECT_TRUE(RecordFormatter::Create(*redactor, {.sd_id = "audit@99999"}).has_value());
}

TEST(FormatTest, ParseExportFormat) {
  EXPECT_EQ(ParseExportFormat("jsonl").value(), ExportFormat::kJsonLines);
  EXPECT_EQ(ParseExportFormat("syslog").value(), ExportFormat::kSyslog);
  auto bad = ParseExportFormat("csv");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("jsonl"), std::string::npos);
  EXPECT_EQ(ExportFormatName(ExportFormat::kSyslog), "syslog");
}

}  // namespace
}  // namespace opsgate::audit::siem
