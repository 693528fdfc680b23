#include "api/continuation_token.h"

#include <gtest/gtest.h>

namespace tally::api {
namespace {

query::UsageQuery SampleQuery() {
  query::UsageQuery q;
  q.subscription_ids = {"11111111-2222-3333-4444-555555555555"};
  q.reported_start = UtcTime{1714521600LL * kMicrosPerSecond};  // 2024-05-01
  q.reported_end = UtcTime{q.reported_start.micros + 7 * kMicrosPerDay};
  q.granularity = domain::Granularity::kHourly;
  return q;
}

ContinuationToken SampleToken() {
  ContinuationToken t;
  t.after.subscription_id = "11111111-2222-3333-4444-555555555555";
  t.after.usage_start_hours = 476256;
  t.after.meter_key = "F271A8A388C44D93956A063E1D2FA80B";
  t.after.instance_id = 123456789;
  t.as_of_seq = 987654321;
  return t;
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    const std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(n * 37 + 200));
  }
}

TEST(Base64Url, RefusesOtherAlphabetsAndTruncation) {
  EXPECT_FALSE(Base64UrlDecode("ab+/").ok());
  EXPECT_FALSE(Base64UrlDecode("abcde").ok());
  EXPECT_TRUE(Base64UrlDecode("YQ==").ok());  // padding tolerated
  EXPECT_FALSE(Base64UrlDecode("YR").ok());   // non-zero unused bits
}

TEST(ContinuationToken, RoundTrips) {
  const auto q = SampleQuery();
  const std::string text = FormatContinuationToken(SampleToken(), q);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  auto back = ParseContinuationToken(text, q);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->after, SampleToken().after);
  EXPECT_EQ(back->as_of_seq, SampleToken().as_of_seq);
}

TEST(ContinuationToken, IsBoundToTheQuery) {
  const auto q = SampleQuery();
  const std::string text = FormatContinuationToken(SampleToken(), q);
  auto other = q;
  other.granularity = domain::Granularity::kDaily;
  EXPECT_FALSE(ParseContinuationToken(text, other).ok());
  other = q;
  other.reported_end.micros += kMicrosPerHour;
  EXPECT_FALSE(ParseContinuationToken(text, other).ok());
  other = q;
  other.subscription_ids = {"99999999-2222-3333-4444-555555555555"};
  EXPECT_FALSE(ParseContinuationToken(text, other).ok());
}

TEST(ContinuationToken, DetectsDamage) {
  const auto q = SampleQuery();
  const std::string text = FormatContinuationToken(SampleToken(), q);
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(ParseContinuationToken(bad, q).ok()) << i;
  }
  EXPECT_FALSE(ParseContinuationToken(text.substr(0, text.size() - 4), q).ok());
  EXPECT_FALSE(ParseContinuationToken("", q).ok());
  EXPECT_FALSE(ParseContinuationToken("not a token", q).ok());
}

TEST(ContinuationToken, RefusesASubscriptionOutsideTheQuery) {
  auto q = SampleQuery();
  ContinuationToken t = SampleToken();
  t.after.subscription_id = "99999999-2222-3333-4444-555555555555";
  // Bound to the query, but naming another subscription: never a way to read it.
  EXPECT_FALSE(ParseContinuationToken(FormatContinuationToken(t, q), q).ok());
}

TEST(ContinuationToken, ErrorNamesTheProperty) {
  const auto r = ParseContinuationToken("xyz", SampleQuery());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("continuationToken"), std::string::npos);
}

}  // namespace
}  // namespace tally::api
