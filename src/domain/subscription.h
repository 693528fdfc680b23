// Subscriptions: tenant subscriptions whose usage is metered, and provider subscriptions (the
// Default Provider Subscription of every data directory, and delegated providers) that read
// the usage of their direct tenants. Values only; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"

namespace tally::domain {

enum class SubscriptionKind { kTenant, kProvider };
enum class SubscriptionState {
  kActive,
  kUnregistered,  // first seen in usage; an operator has not registered it yet
  kDisabled,
  kDeleted,  // its usage is kept and still reported to its provider
};

std::string_view SubscriptionKindName(SubscriptionKind k);  // "tenant" | "provider"
Result<SubscriptionKind> ParseSubscriptionKind(std::string_view s);
std::string_view SubscriptionStateName(SubscriptionState s);  // "active" | "unregistered" | ...
Result<SubscriptionState> ParseSubscriptionState(std::string_view s);

struct Subscription {
  std::string id;  // lower-case GUID
  SubscriptionKind kind = SubscriptionKind::kTenant;
  // For a tenant: the provider subscription it is a direct tenant of ("" = the Default Provider
  // Subscription). For a delegated provider: its parent provider.
  std::string provider_id;
  std::string owner;
  std::string display_name;
  std::string offer;  // OfferDurableId; "" when none yet
  SubscriptionState state = SubscriptionState::kActive;
  UtcTime created;

  bool operator==(const Subscription&) const = default;
};

// Whether `s` is a direct tenant of the provider subscription `provider_id` (contract §2: a
// provider sees only its direct tenants, including delegated providers placed under it and
// deleted subscriptions). A subscription with no provider belongs to the data directory's
// Default Provider Subscription, `default_provider_id`. No subscription is its own tenant.
bool IsDirectTenantOf(const Subscription& s, std::string_view provider_id,
                      std::string_view default_provider_id);

}  // namespace tally::domain
