#include "opsgate/crypto/random.h"

#include <gtest/gtest.h>

#include <set>

namespace opsgate::crypto {
namespace {

TEST(RandomBytes, ReturnsRequestedLength) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{16}, size_t{4096}}) {
    auto r = RandomBytes(n);
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(r->size(), n);
  }
}

TEST(RandomBytes, DoesNotRepeat) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, std::string(32, '\0'));
}

TEST(NewCorrelationId, Is32LowercaseHexCharactersAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewCorrelationId();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace opsgate::crypto
