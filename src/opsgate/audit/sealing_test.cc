#include "opsgate/audit/sealing.h"

#include <gtest/gtest.h>

#include "opsgate/crypto/testing/fake_key_provider.h"

namespace opsgate::audit {
namespace {

using crypto::testing::FakeKeyProvider;

Record Sample(uint64_t seq) {
  Record r;
  r.seq = seq;
  r.correlation_id = "c-1";
  r.user = "U123";
  r.user_name = Field::Plain("Ada Lovelace");
  r.text = Field::Plain("stop i-0abc1234 in eu-west-1");
  r.slots = Field::Plain(EncodeSlots({{"instance", "i-0abc1234"}}));
  return r;  // output stays empty
}

TEST(SealingTest, SealsNonEmptySensitiveFieldsAndOpensThemBack) {
  FakeKeyProvider kek;
  crypto::FieldSealer sealer(kek);
  const Record original = Sample(7);
  Record r = original;
  ASSERT_TRUE(SealRecordFields(r, sealer).has_value());
  EXPECT_TRUE(r.user_name.sealed());
  EXPECT_TRUE(r.text.sealed());
  EXPECT_TRUE(r.slots.sealed());
  EXPECT_FALSE(r.output.sealed()) << "empty fields stay plain";
  EXPECT_EQ(EncodeRecord(r).find("Ada Lovelace"), std::string::npos);
  EXPECT_EQ(EncodeRecord(r).find("i-0abc1234"), std::string::npos);
  EXPECT_EQ(r.user, "U123") << "platform ids are not sensitive fields";

  // The sealed record survives encoding; opening restores every field.
  auto decoded = DecodeRecord(EncodeRecord(r));
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  ASSERT_TRUE(OpenRecordFields(*decoded, sealer).has_value());
  EXPECT_EQ(*decoded, original);
}

TEST(SealingTest, ASealedFieldMovedToAnotherRecordOrFieldDoesNotOpen) {
  FakeKeyProvider kek;
  crypto::FieldSealer sealer(kek);
  Record a = Sample(1);
  Record b = Sample(2);
  ASSERT_TRUE(SealRecordFields(a, sealer).has_value());
  ASSERT_TRUE(SealRecordFields(b, sealer).has_value());

  Record moved = b;
  moved.text = a.text;  // record 1's text pasted into record 2
  auto st = OpenRecordFields(moved, sealer);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kDataLoss);
  EXPECT_NE(st.error().message.find("record 2 field text"), std::string::npos) << st.error();
  EXPECT_TRUE(moved.user_name.sealed()) << "a failed open leaves the record unchanged";

  Record swapped = a;
  swapped.user_name = a.text;  // another field of the same record
  EXPECT_FALSE(OpenRecordFields(swapped, sealer).has_value());
}

TEST(SealingTest, AlteredBlobIsDataLoss) {
  FakeKeyProvider kek;
  crypto::FieldSealer sealer(kek);
  Record r = Sample(3);
  ASSERT_TRUE(SealRecordFields(r, sealer).has_value());
  r.text.bytes.back() ^= 0x01;
  auto st = OpenRecordFields(r, sealer);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kDataLoss);
}

TEST(SealingTest, WithoutTheKeyEncryptionKeyOpeningIsNotFound) {
  FakeKeyProvider kek("kekA000000000001");
  crypto::FieldSealer sealer(kek);
  Record r = Sample(4);
  ASSERT_TRUE(SealRecordFields(r, sealer).has_value());

  FakeKeyProvider other("kekB000000000002", '\x07');
  crypto::FieldSealer stranger(other);
  auto st = OpenRecordFields(r, stranger);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kNotFound);
}

TEST(SealingTest, AFailingKeyProviderLeavesTheRecordPlainAndReportsIt) {
  FakeKeyProvider kek;
  kek.set_fail(true);
  crypto::FieldSealer sealer(kek);
  const Record original = Sample(5);
  Record r = original;
  auto st = SealRecordFields(r, sealer);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("sealing audit field user_name"), std::string::npos);
  EXPECT_EQ(r, original);
}

TEST(SealingTest, AadNamesSeqAndField) {
  EXPECT_EQ(SealedFieldAad(42, "text"), "opsgate-audit-v1:seq=42:field=text");
}

}  // namespace
}  // namespace opsgate::audit
