#include "domain/subscription.h"

namespace tally::domain {

std::string_view SubscriptionKindName(SubscriptionKind k) {
  return k == SubscriptionKind::kProvider ? "provider" : "tenant";
}

Result<SubscriptionKind> ParseSubscriptionKind(std::string_view s) {
  if (s == "tenant") return SubscriptionKind::kTenant;
  if (s == "provider") return SubscriptionKind::kProvider;
  return InvalidArgument("unknown subscription kind '" + std::string(s) +
                         "' (expected tenant or provider)");
}

std::string_view SubscriptionStateName(SubscriptionState s) {
  switch (s) {
    case SubscriptionState::kActive: return "active";
    case SubscriptionState::kUnregistered: return "unregistered";
    case SubscriptionState::kDisabled: return "disabled";
    case SubscriptionState::kDeleted: return "deleted";
  }
  return "active";
}

Result<SubscriptionState> ParseSubscriptionState(std::string_view s) {
  if (s == "active") return SubscriptionState::kActive;
  if (s == "unregistered") return SubscriptionState::kUnregistered;
  if (s == "disabled") return SubscriptionState::kDisabled;
  if (s == "deleted") return SubscriptionState::kDeleted;
  return InvalidArgument("unknown subscription state '" + std::string(s) +
                         "' (expected active, unregistered, disabled or deleted)");
}

bool IsDirectTenantOf(const Subscription& s, std::string_view provider_id,
                      std::string_view default_provider_id) {
  if (s.id == provider_id) return false;
  const std::string_view parent =
      s.provider_id.empty() ? default_provider_id : std::string_view(s.provider_id);
  return parent == provider_id;
}

}  // namespace tally::domain
