#include "opsgate/core/strings.h"

#include <gtest/gtest.h>

namespace opsgate::core {
namespace {

TEST(JsonEscape, EscapesQuotesControlAndBackslash) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
}

TEST(JsonEscape, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(JsonEscape("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(JsonEscape("bad\xFF"), "bad\xEF\xBF\xBD");
  EXPECT_EQ(JsonEscape("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong NUL
  EXPECT_EQ(JsonEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(Utf8, ValidatesAndSanitizes) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xF0\x9F\x9A\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(SanitizeUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(ParseDigits, AcceptsOnlyPlainDigits) {
  EXPECT_EQ(ParseDigits("1531420618"), 1531420618u);
  EXPECT_EQ(ParseDigits("0"), 0u);
  EXPECT_FALSE(ParseDigits(""));
  EXPECT_FALSE(ParseDigits("+1"));
  EXPECT_FALSE(ParseDigits("-1"));
  EXPECT_FALSE(ParseDigits(" 1"));
  EXPECT_FALSE(ParseDigits("1e9"));
  EXPECT_FALSE(ParseDigits("0x10"));
  EXPECT_FALSE(ParseDigits("99999999999999999999"));  // overflows uint64
}

TEST(Words, SplitsOnAsciiWhitespaceAndDropsEmptyOnes) {
  EXPECT_EQ(Words("  approve\tab12 \r\n x "),
            (std::vector<std::string_view>{"approve", "ab12", "x"}));
  EXPECT_TRUE(Words("").empty());
  EXPECT_TRUE(Words(" \t\n").empty());
  EXPECT_EQ(Words("one"), (std::vector<std::string_view>{"one"}));
}

TEST(Split, KeepsEmptyPieces) {
  const auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

TEST(PercentEncode, KeepsUnreservedAndEncodesEveryOtherByte) {
  EXPECT_EQ(PercentEncode("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(PercentEncode("a b&c=d/e?+"), "a%20b%26c%3Dd%2Fe%3F%2B");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(PercentEncode(std::string_view("\0", 1)), "%00");
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(Trim, StripsBothEnds) { EXPECT_EQ(Trim("  x y \n"), "x y"); }

TEST(ClosestMatch, SuggestsNearKeyOnly) {
  const std::vector<std::string> keys = {"listen", "tls", "limits"};
  EXPECT_EQ(ClosestMatch("lisen", keys), "listen");
  EXPECT_EQ(ClosestMatch("limts", keys), "limits");
  EXPECT_FALSE(ClosestMatch("completely_else", keys));
}

}  // namespace
}  // namespace opsgate::core
