#include "opsgate/aws/xml.h"

#include <gtest/gtest.h>

#include <string>

namespace opsgate::aws {
namespace {

TEST(XmlTest, ParsesElementsTextAndAttributes) {
  auto doc = ParseXml(R"(<?xml version="1.0" encoding="UTF-8"?>
<Root a="1" b='two'><A><B>hello</B><B>world</B></A><C/></Root>)");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "Root");
  EXPECT_EQ(doc->Attribute("a"), "1");
  EXPECT_EQ(doc->Attribute("b"), "two");
  EXPECT_FALSE(doc->Attribute("c"));
  EXPECT_EQ(doc->ChildText("A/B"), "hello");
  ASSERT_EQ(doc->Child("A")->Children("B").size(), 2u);
  EXPECT_EQ(doc->Child("A")->Children("B")[1]->text, "world");
  EXPECT_NE(doc->Child("C"), nullptr);
  EXPECT_EQ(doc->ChildText("C"), "");
  EXPECT_EQ(doc->OptionalChildText("C"), "");
  EXPECT_EQ(doc->Find("A/X/Y"), nullptr);
  EXPECT_EQ(doc->ChildText("Nope"), "");
  EXPECT_FALSE(doc->OptionalChildText("Nope"));
}

TEST(XmlTest, StripsNamespacePrefixesAndDeclarations) {
  auto doc = ParseXml(
      R"(<sts:Resp xmlns="https://sts.amazonaws.com/doc/2011-06-15/" xmlns:sts="urn:x" sts:k="v"><sts:Inner>x</sts:Inner></sts:Resp>)");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "Resp");
  ASSERT_EQ(doc->attributes.size(), 1u);
  EXPECT_EQ(doc->Attribute("k"), "v");
  EXPECT_EQ(doc->ChildText("Inner"), "x");
}

TEST(XmlTest, ResolvesPredefinedEntitiesAndCdata) {
  auto doc = ParseXml(
      "<R><M>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;</M>"
      "<D><![CDATA[<not>&amp;</not>]]></D></R>");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->ChildText("M"), "a & b <c> \"d\" 'e' AB");
  EXPECT_EQ(doc->ChildText("D"), "<not>&amp;</not>");
}

TEST(XmlTest, MalformedNamesLineAndColumnWithoutQuoting) {
  auto doc = ParseXml("<R>\n  <A>secret-value</B>\n</R>");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(doc.error().message.find("line 2"), std::string::npos) << doc.error().message;
  EXPECT_NE(doc.error().message.find("column"), std::string::npos);
  EXPECT_EQ(doc.error().message.find("secret-value"), std::string::npos);
}

TEST(XmlTest, RejectsEmptyTruncatedAndTrailingGarbage) {
  EXPECT_FALSE(ParseXml(""));
  EXPECT_FALSE(ParseXml("   "));
  EXPECT_FALSE(ParseXml("<R><A>"));
  EXPECT_FALSE(ParseXml("<R/><S/>"));
  EXPECT_FALSE(ParseXml("<R>&undefined;</R>"));
  EXPECT_FALSE(ParseXml("<R a='1' a='2'/>"));
}

TEST(XmlTest, RefusesDoctypeAndEntities) {
  const char* billion_laughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>)";
  auto a = ParseXml(billion_laughs);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(a.error().message.find("DOCTYPE"), std::string::npos) << a.error().message;
  EXPECT_NE(a.error().message.find("line 2"), std::string::npos) << a.error().message;

  auto xxe = ParseXml(R"(<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>)");
  ASSERT_FALSE(xxe);
  EXPECT_EQ(xxe.error().message.find("passwd"), std::string::npos);

  auto ext = ParseXml(R"(<!DOCTYPE r SYSTEM "http://example.com/x.dtd"><r/>)");
  ASSERT_FALSE(ext);
  EXPECT_NE(ext.error().message.find("DOCTYPE"), std::string::npos);
}

TEST(XmlTest, EnforcesSizeDepthAndElementLimits) {
  XmlLimits limits;
  limits.max_bytes = 10;
  auto big = ParseXml("<R>0123456789</R>", limits);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, core::ErrorCode::kResourceExhausted);

  limits = XmlLimits{};
  limits.max_depth = 3;
  EXPECT_TRUE(ParseXml("<a><b><c/></b></a>", limits));
  auto deep = ParseXml("<a><b><c><d/></c></b></a>", limits);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(deep.error().message.find("deeper"), std::string::npos);

  limits = XmlLimits{};
  limits.max_elements = 3;
  EXPECT_TRUE(ParseXml("<a><b/><c/></a>", limits));
  auto many = ParseXml("<a><b/><c/><d/></a>", limits);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, core::ErrorCode::kResourceExhausted);

  // The default depth limit stops a deeply nested document without recursion trouble.
  std::string nested;
  for (int i = 0; i < 100000; ++i) {
    nested += "<a>";
  }
  EXPECT_FALSE(ParseXml(nested));
}

TEST(XmlTest, AcceptsUtf8AndNonAsciiText) {
  auto doc = ParseXml("<R><N>caf\xc3\xa9 \xe2\x9c\x93</N></R>");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->ChildText("N"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_FALSE(ParseXml("<R>\xff\xfe</R>"));
}

}  // namespace
}  // namespace opsgate::aws
