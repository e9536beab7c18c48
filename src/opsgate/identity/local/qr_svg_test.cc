#include "opsgate/identity/local/qr_svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace opsgate::identity::local {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(QrCodeSvg, RendersASelfContainedSvg) {
  auto svg = QrCodeSvg(
      "otpauth://totp/opsgate:alice?secret=JBSWY3DPEHPK3PXP&issuer=opsgate&algorithm=SHA1"
      "&digits=6&period=30");
  ASSERT_TRUE(svg.has_value()) << svg.error();
  EXPECT_THAT(*svg, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_THAT(*svg, HasSubstr("<path fill=\"#000\" d=\"M"));
  EXPECT_THAT(*svg, Not(HasSubstr("<script")));
  EXPECT_THAT(*svg, Not(HasSubstr("href")));
  EXPECT_THAT(*svg, Not(HasSubstr("<image")));
  EXPECT_THAT(*svg, Not(HasSubstr("secret")));
  // The finder pattern's top row starts at the quiet zone (4,4) as a run of 7 modules.
  EXPECT_THAT(*svg, HasSubstr("M4 4h7v1h-7z"));
}

TEST(QrCodeSvg, IsDeterministic) {
  EXPECT_EQ(*QrCodeSvg("hello"), *QrCodeSvg("hello"));
  EXPECT_NE(*QrCodeSvg("hello"), *QrCodeSvg("hellp"));
}

TEST(QrCodeSvg, RefusesEmptyOrOversizedInput) {
  EXPECT_EQ(QrCodeSvg("").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(QrCodeSvg(std::string(3000, 'a')).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(QrCodeSvg("x", 0).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opsgate::identity::local
