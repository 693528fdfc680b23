#include "domain/meter.h"

#include <gtest/gtest.h>

namespace tally::domain {
namespace {

TEST(MeterCatalog, FindsMetersCaseInsensitivelyAndKeepsTheirSpelling) {
  const Meter* m = MeterCatalog::Builtin().Find("f271a8a388c44d93956a063e1d2fa80b");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->id, "F271A8A388C44D93956A063E1D2FA80B");
  EXPECT_EQ(MeterCatalog::Builtin().Find("no-such-meter"), nullptr);
}

TEST(MeterCatalog, RejectsMalformedLines) {
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\n").ok());
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\tc\td\tmaybe\tyes\tn\n").ok());
  EXPECT_FALSE(MeterCatalog::Parse("a\tb\tc\td\tno\tyes\tn\nA\tb\tc\td\tno\tyes\tn\n").ok());
}

}  // namespace
}  // namespace tally::domain
