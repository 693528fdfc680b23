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

// Every byte value at every position of strings that span a word, a word and a half and less than
// one, against a byte-at-a-time reference, on neighbours that are themselves near the edges.
TEST(Strings, CountsAndFindsControlCharactersAtEveryByte) {
  for (size_t size : {size_t{0}, size_t{5}, size_t{8}, size_t{13}, size_t{24}}) {
    for (const char filler : {'a', '\x1f', '\x20', '\x7e', '\x80', '\xff'}) {
      for (size_t at = 0; at < size; ++at) {
        for (int b = 0; b < 256; ++b) {
          std::string s(size, filler);
          s[at] = static_cast<char>(b);
          size_t count = 0;
          bool control = false;
          for (char c : s) {
            count += c == filler;
            const auto u = static_cast<unsigned char>(c);
            control |= u < 0x20 || u == 0x7f;
          }
          ASSERT_EQ(CountByte(s, filler), count) << size << ' ' << at << ' ' << b;
          ASSERT_EQ(HasControlChars(s), control) << size << ' ' << at << ' ' << b;
        }
      }
    }
  }
  EXPECT_EQ(CountByte("", 'a'), 0u);
  EXPECT_FALSE(HasControlChars(""));
  EXPECT_EQ(CountByte("{\"a\":{},\"b\":{}}{", '{'), 4u);
  EXPECT_TRUE(HasControlChars("/subscriptions/x/resourceGroups/rg\t"));
  EXPECT_FALSE(HasControlChars("/subscriptions/x/resourceGroups/r\xc3\xa9sum\xc3\xa9"));
}

TEST(Strings, SplitsKeepingEmptyFields) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
}

}  // namespace
}  // namespace tally
