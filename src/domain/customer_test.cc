#include "domain/customer.h"

#include <gtest/gtest.h>

namespace tally::domain {
namespace {

TEST(NormalizeCustomer, LowerCasesSortsAndDropsRepeats) {
  Customer c;
  c.id = "AAAAAAAA-0000-4000-8000-000000000001";
  c.subscription_ids = {"BBBBBBBB-0000-4000-8000-000000000002",
                        "aaaaaaaa-0000-4000-8000-000000000003",
                        "bbbbbbbb-0000-4000-8000-000000000002"};
  Result<Customer> n = NormalizeCustomer(c);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->id, "aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(n->subscription_ids,
            (std::vector<std::string>{"aaaaaaaa-0000-4000-8000-000000000003",
                                      "bbbbbbbb-0000-4000-8000-000000000002"}));
}

TEST(NormalizeCustomer, NamesEveryIdThatIsNotAGuid) {
  Customer c;
  c.id = "contoso";
  c.subscription_ids = {"s1", "aaaaaaaa-0000-4000-8000-000000000003"};
  Result<Customer> n = NormalizeCustomer(c);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(n.status().message().find("customer id 'contoso'"), std::string::npos);
  EXPECT_NE(n.status().message().find("subscription id 's1'"), std::string::npos);
}

}  // namespace
}  // namespace tally::domain
