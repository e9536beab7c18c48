#include "opsgate/store/sqlite/sqlite_nlu_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace opsgate::store {
namespace {

core::Clock::WallTime At(int64_t s) { return core::Clock::WallTime(std::chrono::seconds(s)); }

NluCandidate Candidate(std::string utterance, std::string intent = "ec2.reboot") {
  NluCandidate c;
  c.text = "bounce i-0abc1234";
  c.utterance = std::move(utterance);
  c.intent = std::move(intent);
  c.guessed = "ec2.stop";
  c.confidence = 0.412;
  c.principal = "iss|alice";
  c.created_at = At(100);
  return c;
}

class SqliteNluStoreTest : public ::testing::Test {
 protected:
  SqliteNluStoreTest() : store_(std::move(*SqliteStore::Open(":memory:"))), nlu_(*store_) {}
  std::unique_ptr<SqliteStore> store_;
  SqliteNluCandidateStore nlu_;
};

TEST_F(SqliteNluStoreTest, AddListReviewOnce) {
  auto a = nlu_.Add(Candidate("bounce {instance_id}"));
  ASSERT_TRUE(a.has_value()) << a.error();
  // The same pending rephrasing is one candidate.
  EXPECT_EQ(*nlu_.Add(Candidate("bounce {instance_id}")), *a);
  auto b = nlu_.Add(Candidate("kick {instance_id}"));
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(*a, *b);
  auto pending = nlu_.List("pending", 10);
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].utterance, "bounce {instance_id}");
  EXPECT_EQ((*pending)[0].guessed, "ec2.stop");
  EXPECT_DOUBLE_EQ((*pending)[0].confidence, 0.412);
  EXPECT_EQ((*pending)[0].created_at, At(100));

  EXPECT_TRUE(*nlu_.Review(*a, "accepted", "admin", At(200)));
  EXPECT_FALSE(*nlu_.Review(*a, "rejected", "admin", At(201)));  // reviewed once
  EXPECT_TRUE(*nlu_.Review(*b, "rejected", "admin", At(202)));
  EXPECT_EQ(nlu_.Review(999, "accepted", "admin", At(203)).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(nlu_.Review(*b, "maybe", "admin", At(203)).error().code,
            core::ErrorCode::kInvalidArgument);
  auto accepted = nlu_.List("accepted", 10);
  ASSERT_EQ(accepted->size(), 1u);
  EXPECT_EQ((*accepted)[0].reviewer, "admin");
  EXPECT_EQ((*accepted)[0].reviewed_at, At(200));
  EXPECT_EQ(nlu_.List("", 10)->size(), 2u);
  EXPECT_TRUE(nlu_.List("pending", 10)->empty());
  // Accepted, the same rephrasing may come back as a new candidate later.
  EXPECT_NE(*nlu_.Add(Candidate("bounce {instance_id}")), *a);
}

TEST_F(SqliteNluStoreTest, RefusesBadFields) {
  NluCandidate c = Candidate("");
  EXPECT_EQ(nlu_.Add(c).error().code, core::ErrorCode::kInvalidArgument);
  c = Candidate("x");
  c.confidence = 1.5;
  EXPECT_EQ(nlu_.Add(c).error().code, core::ErrorCode::kInvalidArgument);
  c = Candidate(std::string(2001, 'x'));
  EXPECT_EQ(nlu_.Add(c).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::store
