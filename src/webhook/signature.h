// Webhook signatures: HMAC-SHA256 of "<unix seconds>.<body>" keyed with the endpoint's secret,
// sent as `Tally-Signature: t=<unix seconds>,v1=<lower-case hex>`. Receivers recompute it to
// know the request came from Tally and was not changed, and reject old timestamps to stop
// replays by third parties (docs/webhooks.md has the scheme and a verification example).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally::webhook {

// Lower-case hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// The Tally-Signature header value for `body` sent at `unix_seconds`.
std::string FormatSignatureHeader(std::string_view secret, int64_t unix_seconds,
                                  std::string_view body);

// A new endpoint secret: "whsec_" and 32 random bytes (OpenSSL's CSPRNG) in hex. Unavailable
// when no randomness is available.
Result<std::string> GenerateSecret();

}  // namespace tally::webhook
