// The fixed queries the continuation-token fuzzer checks tokens against, shared with the seed
// generator (make_continuation_token_seeds.cc) so the committed valid seeds stay bound to
// them. Every binding differs from the others in exactly one way a real next page could get
// wrong: granularity, window end, subscription list, scope or provider. Values only.
#pragma once

#include <string>
#include <vector>

#include "common/time.h"
#include "domain/aggregate.h"
#include "query/usage_query.h"

namespace tally::fuzz {

struct TokenBinding {
  std::string label;  // names the seed files
  query::UsageQuery query;
  std::string scope;  // "" = bound to query.subscription_ids
};

inline constexpr char kSubscriptionA[] = "11111111-2222-3333-4444-555555555555";
inline constexpr char kSubscriptionB[] = "99999999-8888-7777-6666-555555555555";

inline std::vector<TokenBinding> FixedBindings() {
  const UtcTime start{1714521600LL * kMicrosPerSecond};  // 2024-05-01T00:00:00Z
  const UtcTime week_end{start.micros + 7 * kMicrosPerDay};
  auto make = [&](std::string label, std::vector<std::string> subs, UtcTime end,
                  domain::Granularity granularity, std::string scope) {
    TokenBinding b;
    b.label = std::move(label);
    b.query.subscription_ids = std::move(subs);
    b.query.reported_start = start;
    b.query.reported_end = end;
    b.query.granularity = granularity;
    b.scope = std::move(scope);
    return b;
  };
  using domain::Granularity;
  return {
      make("tenant_daily", {kSubscriptionA}, week_end, Granularity::kDaily, ""),
      make("tenant_hourly", {kSubscriptionA}, week_end, Granularity::kHourly, ""),
      make("tenant_daily_later_end", {kSubscriptionA}, UtcTime{week_end.micros + kMicrosPerDay},
           Granularity::kDaily, ""),
      make("other_tenant", {kSubscriptionB}, week_end, Granularity::kDaily, ""),
      // Listed out of order: the binding sorts them.
      make("two_subscriptions", {kSubscriptionB, kSubscriptionA}, week_end, Granularity::kDaily,
           ""),
      make("operator_scope", {kSubscriptionA, kSubscriptionB}, week_end, Granularity::kDaily,
           "tenants-of:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
      make("operator_scope_other_provider", {kSubscriptionA, kSubscriptionB}, week_end,
           Granularity::kDaily, "tenants-of:ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"),
  };
}

}  // namespace tally::fuzz
