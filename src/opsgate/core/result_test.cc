#include "opsgate/core/result.h"

#include <gtest/gtest.h>

namespace opsgate::core {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return Fail(InvalidArgument("odd number; pass an even one"));
  }
  return x / 2;
}

Status HalfTwice(int x) {
  OPSGATE_RETURN_IF_ERROR(Half(x).and_then(Half));
  return Ok();
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(Half(4).value(), 2);
  ASSERT_FALSE(Half(3).has_value());
  EXPECT_EQ(Half(3).error().code, ErrorCode::kInvalidArgument);
}

TEST(Result, ReturnIfErrorPropagatesTheFirstError) {
  EXPECT_TRUE(HalfTwice(8).has_value());
  const Status s = HalfTwice(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message, "odd number; pass an even one");
}

TEST(ErrorCodeName, IsSnakeCase) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPermissionDenied), "permission_denied");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kResourceExhausted), "resource_exhausted");
}

}  // namespace
}  // namespace opsgate::core
