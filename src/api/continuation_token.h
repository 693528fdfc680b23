// Continuation tokens of the tenant usage API: where the next page of a UsageAggregates query
// starts. Stateless and thread-safe.
//
// Format (version 1): base64url without padding (RFC 4648 §5, so it survives URLs and the
// Python client's parse_qs untouched) of these bytes, integers little-endian:
//   u8  version = 1
//   u64 check     Hash64 (xxHash3) of the binding text followed by every byte after `check`
//   u64 as_of_seq the store snapshot of the first page, so every page sees the same records
//   i64 usage_start_hours             (these four: the AggregateKey of the last aggregate
//   u64 instance_id                    already returned)
//   u8 n, n bytes subscription_id     (lower-case GUID)
//   u8 n, n bytes meter_key           (upper-case meter ID)
// The binding text is "tally-ct-1|" + the query's subscription IDs (sorted, comma-separated),
// or "scope:" + a scope the caller names (the operator API's "every direct tenant of provider
// P", whose subscription list may grow between pages) + "|" + reported start µs + "|" +
// reported end µs + "|" + granularity name, so a token only works for the query that produced
// it and a damaged token is detected.
//
// The check is not a secret MAC and need not be: a token carries only a position, never a
// permission. Which subscriptions may be read is decided from the caller's key and the path,
// and the token's subscription must be one of the query's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "domain/aggregate.h"
#include "query/usage_query.h"

namespace tally::api {

struct ContinuationToken {
  domain::AggregateKey after;  // resume strictly after this key
  uint64_t as_of_seq = 0;
};

// The token text for `token`, bound to `query` (and to `scope` instead of the query's
// subscription list when `scope` is not empty).
std::string FormatContinuationToken(const ContinuationToken& token, const query::UsageQuery& query,
                                    std::string_view scope = {});

// Parses a token produced by FormatContinuationToken for the same query. InvalidArgument when
// the text is not base64url, is truncated or damaged, has another version, or belongs to
// another query.
Result<ContinuationToken> ParseContinuationToken(std::string_view text,
                                                 const query::UsageQuery& query,
                                                 std::string_view scope = {});

// base64url without padding, and its inverse (which also accepts trailing '=' padding).
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace tally::api
