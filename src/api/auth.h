// Bearer-token authentication of API requests against the store's API keys. Only the key ID
// part of a token is used to look a key up; the secret is compared with the stored hash in
// constant time. Tokens never appear in messages or logs. Thread-safe (the store is).
#pragma once

#include <string>
#include <vector>

#include "api/http_message.h"
#include "common/status.h"
#include "domain/api_key.h"
#include "store/usage_store.h"

namespace tally::api {

// The key of the request's `Authorization: Bearer tly_…` header. Unauthenticated when the
// header is missing, is not a Bearer token, names no stored key, has the wrong secret, or the
// key is revoked (the message says which, without echoing the token); the store's error when
// the look-up fails.
Result<domain::ApiKey> AuthenticateBearer(store::UsageStore& store, const HttpRequest& request);

// Whether `key` may read what belongs to subscription `subscription_id` (lower case) through a
// tenant-facing route (usage, RateCard, Partner Center): a tenant key its own subscriptions; an
// operator key the provider it acts for (the Default Provider Subscription, or the delegated
// provider it was created for) and that provider's direct tenants, a subscription never seen
// counting as the Default Provider's; a reporter key nothing. The store's error when a look-up
// fails.
Result<bool> MayReadSubscription(store::UsageStore& store, const domain::ApiKey& key,
                                 const std::string& subscription_id);

// Every subscription `key` may read by the rule of MayReadSubscription, as sorted lower-case
// IDs, for answers that list or export many (invoices, billing exports): a tenant key's own
// subscriptions; an operator key's provider and that provider's direct tenants (the
// subscriptions the store knows); nothing for a reporter key. The store's error when a
// look-up fails.
Result<std::vector<std::string>> ReadableSubscriptions(store::UsageStore& store,
                                                       const domain::ApiKey& key);

}  // namespace tally::api
