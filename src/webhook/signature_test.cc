#include "webhook/signature.h"

#include <gtest/gtest.h>

namespace tally::webhook {
namespace {

TEST(Signature, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, HeaderSignsTimestampDotBody) {
  // Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test',
  //   b'1700000000.{\"total\":\"18.58\"}', hashlib.sha256).hexdigest())"
  EXPECT_EQ(FormatSignatureHeader("whsec_test", 1700000000, "{\"total\":\"18.58\"}"),
            "t=1700000000,v1=494319f739020f9f0587b67a3979ba5c9993a6a97b95d6f10e5d76f51795807c");
  // Any change of body, time or secret changes it.
  const std::string base = FormatSignatureHeader("whsec_test", 1700000000, "{}");
  EXPECT_NE(base, FormatSignatureHeader("whsec_test", 1700000001, "{}"));
  EXPECT_NE(base, FormatSignatureHeader("whsec_tesT", 1700000000, "{}"));
  EXPECT_NE(base, FormatSignatureHeader("whsec_test", 1700000000, "{ }"));
}

TEST(Signature, GeneratedSecretsAreLongAndDistinct) {
  auto a = GenerateSecret();
  auto b = GenerateSecret();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 6u + 64u);
  EXPECT_EQ(a->rfind("whsec_", 0), 0u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace tally::webhook
