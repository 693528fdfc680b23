#include "api/auth.h"

#include <algorithm>
#include <optional>
#include <string>

#include "common/strings.h"

namespace tally::api {

Result<domain::ApiKey> AuthenticateBearer(store::UsageStore& store, const HttpRequest& request) {
  const std::string* header = request.Header("Authorization");
  if (header == nullptr) {
    return Unauthenticated("this request needs an API key: Authorization: Bearer tly_...");
  }
  std::string_view value = TrimSpace(*header);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated("the Authorization header must be 'Bearer <token>'");
  }
  const std::optional<domain::ParsedToken> token =
      domain::ParseToken(TrimSpace(value.substr(kScheme.size())));
  if (!token) return Unauthenticated("the bearer token is not a Tally API key");
  TALLY_ASSIGN_OR_RETURN(std::optional<domain::ApiKey> key, store.FindApiKey(token->key_id));
  // One message for "no such key" and "wrong secret": which key IDs exist is not the caller's
  // business.
  if (!key || !domain::SecretMatches(token->secret, key->secret_hash)) {
    return Unauthenticated("the API key is not valid");
  }
  if (key->revoked) return Unauthenticated("the API key has been revoked");
  return std::move(*key);
}

Result<bool> MayReadSubscription(store::UsageStore& store, const domain::ApiKey& key,
                                 const std::string& subscription_id) {
  switch (key.role) {
    case domain::Role::kTenant:
      return std::any_of(
          key.subscriptions.begin(), key.subscriptions.end(),
          [&](const std::string& s) { return EqualsIgnoreCase(s, subscription_id); });
    case domain::Role::kOperator: {
      TALLY_ASSIGN_OR_RETURN(domain::Subscription default_provider, store.DefaultProvider());
      const std::string acting_for =
          AsciiLower(key.subscriptions.empty() ? default_provider.id : key.subscriptions.front());
      if (subscription_id == acting_for) return true;
      TALLY_ASSIGN_OR_RETURN(std::optional<domain::Subscription> s,
                             store.FindSubscription(subscription_id));
      return s ? domain::IsDirectTenantOf(*s, acting_for, default_provider.id)
               : acting_for == default_provider.id;
    }
    case domain::Role::kReporter:
      return false;
  }
  return false;
}

Result<std::vector<std::string>> ReadableSubscriptions(store::UsageStore& store,
                                                       const domain::ApiKey& key) {
  std::vector<std::string> out;
  switch (key.role) {
    case domain::Role::kTenant:
      for (const std::string& s : key.subscriptions) out.push_back(AsciiLower(s));
      break;
    case domain::Role::kOperator: {
      TALLY_ASSIGN_OR_RETURN(domain::Subscription default_provider, store.DefaultProvider());
      const std::string acting_for =
          AsciiLower(key.subscriptions.empty() ? default_provider.id : key.subscriptions.front());
      TALLY_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<std::string>> tenants,
                             store.DirectTenantIds(acting_for));
      out = *tenants;
      out.push_back(acting_for);
      break;
    }
    case domain::Role::kReporter:
      break;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tally::api
