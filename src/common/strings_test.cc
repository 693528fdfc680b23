#include "common/strings.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(Strings, ComparesIgnoringAsciiCase) {
  EXPECT_TRUE(EqualsIgnoreCase("UsageAggregates", "usageaggregates"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
}

TEST(Strings, RecognisesGuids) {
  EXPECT_TRUE(IsGuid("09F8879E-87E9-4305-A572-4B7BE209F857"));
  EXPECT_FALSE(IsGuid("F271A8A388C44D93956A063E1D2FA80B"));
  EXPECT_FALSE(IsGuid("09F8879E-87E9-4305-A572-4B7BE209F85G"));
}

TEST(Strings, SplitsKeepingEmptyFields) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

}  // namespace
}  // namespace tally
