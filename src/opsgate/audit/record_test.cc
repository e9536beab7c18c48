#include "opsgate/audit/record.h"

#include <gtest/gtest.h>

namespace opsgate::audit {
namespace {

Record Sample() {
  Record r;
  r.seq = 42;
  r.timestamp_ms = 1764170000123;
  r.kind = RecordKind::kDecision;
  r.latency_ms = 17;
  r.correlation_id = "0123456789abcdef0123456789abcdef";
  r.platform = "slack";
  r.workspace = "T0ACME";
  r.channel = "C0OPS";
  r.user = "U0ADA";
  r.principal = "ada@example.com";
  r.intent = "ec2.stop_instance";
  r.decision = "allow";
  r.statement = "ops-can-stop-dev";
  r.action = "ec2:StopInstances";
  r.resource = "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc";
  r.result = "ok";
  r.reason = "";
  r.user_name = Field::Plain("ada");
  r.text = Field::Plain("stop i-0abc");
  r.slots = Field::Plain(EncodeSlots({{"instance_id", "i-0abc"}, {"region", "eu-west-1"}}));
  r.output = Field::Sealed(std::string("\x01\x02\x00\xff", 4));
  return r;
}

void ExpectDataLoss(std::string_view bytes, std::string_view needle) {
  auto r = DecodeRecord(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, core::ErrorCode::kDataLoss);
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
}

TEST(AuditRecord, RoundTripsEveryField) {
  const Record r = Sample();
  const std::string bytes = EncodeRecord(r);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kRecordVersion);
  auto back = DecodeRecord(bytes);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(EncodeRecord(*back), bytes);
}

TEST(AuditRecord, EmptyRecordRoundTrips) {
  Record r;
  auto back = DecodeRecord(EncodeRecord(r));
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(*back, r);
}

TEST(AuditRecord, RejectsTrailingBytes) { ExpectDataLoss(EncodeRecord(Sample()) + "x", "trailing"); }

TEST(AuditRecord, RejectsEmptyInput) { ExpectDataLoss("", "empty"); }

TEST(AuditRecord, RejectsUnknownVersion) {
  std::string b = EncodeRecord(Sample());
  b[0] = 2;
  ExpectDataLoss(b, "unknown format version 2");
}

TEST(AuditRecord, RejectsUnknownKind) {
  std::string b = EncodeRecord(Sample());
  b[17] = 9;  // version(1) + seq(8) + timestamp(8)
  ExpectDataLoss(b, "unknown kind 9");
}

TEST(AuditRecord, RejectsLengthPastTheEnd) {
  std::string b = EncodeRecord(Sample());
  b[26] = '\x7f';  // high byte of correlation_id's length
  ExpectDataLoss(b, "claims");
}

TEST(AuditRecord, RejectsEveryTruncation) {
  const std::string b = EncodeRecord(Sample());
  for (size_t n = 1; n < b.size(); ++n) {
    EXPECT_FALSE(DecodeRecord(b.substr(0, n)).has_value()) << n;
  }
}

TEST(AuditRecord, RejectsUnknownFieldForm) {
  Record r;
  std::string b = EncodeRecord(r);
  // The four sensitive fields are last: form(1) + len(4) each, all empty.
  b[b.size() - 20] = 7;
  ExpectDataLoss(b, "unknown form 7");
}

TEST(AuditRecord, RejectsNonCanonicalSlots) {
  std::string slots = EncodeSlots({{"a", "1"}, {"b", "2"}});
  // Swap the two entries: same content, not in key order.
  const std::string one = slots.substr(4, 10);
  const std::string two = slots.substr(14, 10);
  std::string swapped = slots.substr(0, 4) + two + one;
  EXPECT_FALSE(DecodeSlots(swapped).has_value());
  Record r;
  r.slots = Field::Plain(swapped);
  ExpectDataLoss(EncodeRecord(r), "not canonical");
  r.slots = Field::Sealed(swapped);  // sealed bytes are opaque here
  EXPECT_TRUE(DecodeRecord(EncodeRecord(r)).has_value());
}

TEST(AuditRecord, ValidateAgreesWithDecodeOnEveryMutation) {
  const std::string b = EncodeRecord(Sample());
  EXPECT_EQ(ValidateRecord(b).value_or(0), 42u);
  for (size_t i = 0; i < b.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      std::string m = b;
      m[i] = static_cast<char>(m[i] ^ bit);
      auto d = DecodeRecord(m);
      auto v = ValidateRecord(m);
      ASSERT_EQ(d.has_value(), v.has_value()) << i;
      if (d) {
        EXPECT_EQ(d->seq, *v);
      } else {
        EXPECT_EQ(d.error(), v.error());
      }
    }
  }
}

TEST(AuditRecord, JsonShowsSealedFieldsAsBase64) {
  const std::string json = RecordToJson(Sample());
  EXPECT_NE(json.find("\"kind\":\"decision\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"output\":{\"sealed\":\"AQIA/w==\"}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"slots\":{\"instance_id\":\"i-0abc\",\"region\":\"eu-west-1\"}"),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace opsgate::audit
