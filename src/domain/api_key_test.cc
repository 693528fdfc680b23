#include "domain/api_key.h"

#include <gtest/gtest.h>

namespace tally::domain {
namespace {

TEST(ApiKeyToken, RoundTripsAndMatchesOnlyItsOwnSecret) {
  auto t = MakeToken();
  ASSERT_TRUE(t.ok());
  auto parsed = ParseToken(t->token);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id, t->key_id);
  EXPECT_TRUE(SecretMatches(parsed->secret, t->secret_hash));
  EXPECT_EQ(t->secret_hash.size(), 64u);
  EXPECT_EQ(t->token.find(t->secret_hash), std::string::npos);
  auto other = MakeToken();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(SecretMatches(parsed->secret, other->secret_hash));
}

TEST(ApiKeyToken, RejectsMalformedTokens) {
  for (std::string_view bad : {"", "tly_", "Bearer x", "tly_0123456789ab_short",
                               "tly_0123456789aZ_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_FALSE(ParseToken(bad).has_value()) << bad;
  }
}

TEST(Role, ParsesItsNames) {
  EXPECT_EQ(*ParseRole("reporter"), Role::kReporter);
  EXPECT_FALSE(ParseRole("admin").ok());
}

}  // namespace
}  // namespace tally::domain
