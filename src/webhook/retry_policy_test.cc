#include "webhook/retry_policy.h"

#include <gtest/gtest.h>

#include <random>

namespace tally::webhook {
namespace {

constexpr int64_t kSecond = kMicrosPerSecond;

RetryPolicy Policy() {
  RetryPolicy p;
  p.base_us = 10 * kSecond;
  p.cap_us = 300 * kSecond;
  p.max_attempts = 8;
  p.max_age_us = kMicrosPerDay;
  return p;
}

TEST(RetryPolicy, CeilingDoublesFromTheBaseUpToTheCap) {
  const RetryPolicy p = Policy();
  std::vector<int64_t> got;
  for (int n = 1; n <= 8; ++n) got.push_back(BackoffCeiling(p, n) / kSecond);
  EXPECT_EQ(got, (std::vector<int64_t>{10, 20, 40, 80, 160, 300, 300, 300}));
  // Far past the cap nothing overflows.
  EXPECT_EQ(BackoffCeiling(p, 1000), 300 * kSecond);
  RetryPolicy huge = p;
  huge.cap_us = INT64_MAX;
  EXPECT_GT(BackoffCeiling(huge, 200), 0);
}

TEST(RetryPolicy, JitterStaysWithinHalfToFullCeiling) {
  const RetryPolicy p = Policy();
  std::mt19937_64 random(42);
  for (int n = 1; n <= 8; ++n) {
    const int64_t ceiling = BackoffCeiling(p, n);
    int64_t lowest = INT64_MAX, highest = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t d = BackoffDelay(p, n, random());
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    EXPECT_GE(lowest, ceiling / 2) << "attempt " << n;
    EXPECT_LE(highest, ceiling) << "attempt " << n;
    // The random half is really used.
    EXPECT_LT(lowest, ceiling / 2 + ceiling / 8) << "attempt " << n;
    EXPECT_GT(highest, ceiling - ceiling / 8) << "attempt " << n;
  }
  EXPECT_EQ(BackoffDelay(p, 1, 0), 5 * kSecond);
  EXPECT_EQ(BackoffDelay(p, 1, 5 * kSecond), 10 * kSecond);
}

TEST(RetryPolicy, GivesUpAfterMaxAttemptsOrMaxAge) {
  RetryPolicy p = Policy();
  const UtcTime start{1'000 * kSecond};
  auto next = NextAttemptTime(p, 1, start, start, 0);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->micros, start.micros + 5 * kSecond);
  EXPECT_TRUE(NextAttemptTime(p, 7, start, start, 0).has_value());
  EXPECT_FALSE(NextAttemptTime(p, 8, start, start, 0).has_value());

  p.max_age_us = 60 * kSecond;
  // 50 s into the round, a delay of at least 5 s: 55 s is within the age, 65 s is not.
  EXPECT_TRUE(NextAttemptTime(p, 1, start, UtcTime{start.micros + 50 * kSecond}, 0));
  EXPECT_FALSE(NextAttemptTime(p, 1, start, UtcTime{start.micros + 56 * kSecond}, 0));
}

TEST(RetryPolicy, ValidationReportsEveryProblem) {
  EXPECT_TRUE(ValidateRetryPolicy(Policy()).ok());
  RetryPolicy bad;
  bad.base_us = 0;
  bad.cap_us = -1;
  bad.max_attempts = 0;
  bad.max_age_us = 0;
  Status s = ValidateRetryPolicy(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("base"), std::string::npos);
  EXPECT_NE(s.message().find("cap"), std::string::npos);
  EXPECT_NE(s.message().find("attempts"), std::string::npos);
  EXPECT_NE(s.message().find("age"), std::string::npos);
  RetryPolicy inverted = Policy();
  inverted.base_us = inverted.cap_us + 1;
  EXPECT_EQ(ValidateRetryPolicy(inverted).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tally::webhook
