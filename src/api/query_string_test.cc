#include "api/query_string.h"

#include <gtest/gtest.h>

namespace tally::api {
namespace {

TEST(PercentDecode, DecodesEscapesOfEitherCaseAndPlus) {
  EXPECT_EQ(*PercentDecode("2024-05-01T00%3a00%3A00%2b00%3a00", true), "2024-05-01T00:00:00+00:00");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
}

TEST(PercentDecode, RefusesBrokenEscapes) {
  EXPECT_FALSE(PercentDecode("%", true).ok());
  EXPECT_FALSE(PercentDecode("%4", true).ok());
  EXPECT_FALSE(PercentDecode("%zz", true).ok());
  EXPECT_EQ(*PercentDecode("%41", true), "A");
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e f+g/h:"), "a-b_c.d~e%20f%2Bg%2Fh%3A");
}

TEST(QueryString, FindsNamesCaseInsensitively) {
  const auto q = QueryString::Parse("api-version=2015-06-01-preview&reportedstartTime=2024-05-01");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->Find("reportedStartTime"), "2024-05-01");
  EXPECT_EQ(q->Find("API-VERSION"), "2015-06-01-preview");
  EXPECT_EQ(q->Find("missing"), std::nullopt);
}

TEST(QueryString, ReadsAPlusAsTheSpaceFormsMakeOfIt) {
  const auto q = QueryString::Parse("t=2019-12-30T01:00:00.0000000+01:00");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->Find("t"), "2019-12-30T01:00:00.0000000 01:00");
}

TEST(QueryString, SkipsEmptyPiecesAndKeepsValuelessNames) {
  const auto q = QueryString::Parse("&a=1&&b&c=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->params().size(), 3u);
  EXPECT_EQ(q->Find("b"), "");
  EXPECT_EQ(q->Find("c"), "");
}

TEST(QueryString, FirstOfRepeatedNamesWins) {
  const auto q = QueryString::Parse("a=1&A=2");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->Find("a"), "1");
  EXPECT_TRUE(q->IsRepeated("a"));
}

TEST(QueryString, MalformedEscapeNamesTheParameter) {
  const auto q = QueryString::Parse("reportedEndTime=%zz");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("reportedEndTime"), std::string::npos);
}

TEST(QueryString, RawWithoutEchoesOtherParametersVerbatim) {
  const auto q = QueryString::Parse(
      "api-version=2015-06-01-preview&reportedstartTime=9%2f1%2f2016&"
      "ContinuationToken=abc&x");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->RawWithout("continuationToken"),
            "api-version=2015-06-01-preview&reportedstartTime=9%2f1%2f2016&x");
}

}  // namespace
}  // namespace tally::api
