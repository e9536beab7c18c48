#include "opsgate/core/secret.h"

#include <gtest/gtest.h>

#include <sstream>

namespace opsgate::core {
namespace {

TEST(Secret, StreamsAsRedacted) {
  Secret s("xoxb-very-secret");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
  EXPECT_EQ(s.ToString(), "[redacted]");
}

TEST(Secret, RevealReturnsTheValue) {
  Secret s("hunter2");
  EXPECT_EQ(s.Reveal(), "hunter2");
  EXPECT_EQ(s.size(), 7u);
}

TEST(Secret, MovedFromIsEmpty) {
  Secret a("abc");
  Secret b(std::move(a));
  EXPECT_EQ(b.Reveal(), "abc");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
}

TEST(Secret, CopyAssignmentReplacesValue) {
  Secret a("one");
  const Secret b("two");
  a = b;
  EXPECT_EQ(a.Reveal(), "two");
}

}  // namespace
}  // namespace opsgate::core
