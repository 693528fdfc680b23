#include "common/strings.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(Strings, ChecksEveryCharacterOfAGuid) {
  const std::string valid = "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55";
  ASSERT_TRUE(IsGuid(valid));
  for (size_t i = 0; i < valid.size(); ++i) {
    std::string bad = valid;
    // A dash where a digit belongs, or 'g' where a dash or a digit belongs.
    bad[i] = valid[i] == '-' ? 'a' : '-';
    EXPECT_FALSE(IsGuid(bad)) << bad;
    bad[i] = 'g';
    EXPECT_FALSE(IsGuid(bad)) << bad;
  }
  EXPECT_FALSE(IsGuid(valid + "0"));
  EXPECT_FALSE(IsGuid(valid.substr(1)));
  EXPECT_FALSE(IsGuid(""));
}

TEST(Strings, SplitsKeepingEmptyFields) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

}  // namespace
}  // namespace tally
