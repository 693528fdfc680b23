#include "domain/subscription.h"

#include <gtest/gtest.h>

namespace tally::domain {
namespace {

constexpr char kDefault[] = "00000000-0000-0000-0000-00000000000d";
constexpr char kReseller[] = "00000000-0000-0000-0000-0000000000e1";

Subscription Sub(std::string id, SubscriptionKind kind, std::string provider) {
  Subscription s;
  s.id = std::move(id);
  s.kind = kind;
  s.provider_id = std::move(provider);
  return s;
}

TEST(DirectTenant, NoProviderMeansTheDefaultProvider) {
  const Subscription t = Sub("00000000-0000-0000-0000-000000000001", SubscriptionKind::kTenant, "");
  EXPECT_TRUE(IsDirectTenantOf(t, kDefault, kDefault));
  EXPECT_FALSE(IsDirectTenantOf(t, kReseller, kDefault));
}

TEST(DirectTenant, ATenantOfADelegatedProviderIsOnlyItsTenant) {
  const Subscription t =
      Sub("00000000-0000-0000-0000-000000000002", SubscriptionKind::kTenant, kReseller);
  EXPECT_TRUE(IsDirectTenantOf(t, kReseller, kDefault));
  EXPECT_FALSE(IsDirectTenantOf(t, kDefault, kDefault));
}

TEST(DirectTenant, ADelegatedProviderIsADirectTenantOfItsParent) {
  const Subscription reseller = Sub(kReseller, SubscriptionKind::kProvider, kDefault);
  EXPECT_TRUE(IsDirectTenantOf(reseller, kDefault, kDefault));
  EXPECT_FALSE(IsDirectTenantOf(reseller, kReseller, kDefault));
}

TEST(DirectTenant, TheDefaultProviderIsNobodysTenant) {
  const Subscription p = Sub(kDefault, SubscriptionKind::kProvider, "");
  EXPECT_FALSE(IsDirectTenantOf(p, kDefault, kDefault));
  EXPECT_FALSE(IsDirectTenantOf(p, kReseller, kDefault));
}

}  // namespace
}  // namespace tally::domain
