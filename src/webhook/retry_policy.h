// RetryPolicy: when a webhook delivery that was not acknowledged is tried again, and when it is
// given up. The delay before retry n of a round (n = attempts made in the round so far, from 1)
// is exponential, base * 2^(n-1), capped at `cap`, with "equal jitter": half of it fixed, the
// other half uniformly random, so that endpoints coming back after an outage are not hit by
// every delivery at once. A delivery fails after `max_attempts` attempts in a round or when its
// next attempt would fall more than `max_age` after the round started (a replay starts a new
// round). Values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "common/status.h"
#include "common/time.h"

namespace tally::webhook {

struct RetryPolicy {
  int64_t base_us = 10 * kMicrosPerSecond;
  int64_t cap_us = kMicrosPerHour;
  int max_attempts = 15;
  int64_t max_age_us = 72 * kMicrosPerHour;
};

// InvalidArgument naming every bad value: base and cap must be positive with base <= cap,
// max_attempts >= 1, max_age positive.
Status ValidateRetryPolicy(const RetryPolicy& policy);

// The un-jittered delay after the `attempts`-th attempt of a round (attempts >= 1):
// min(cap, base * 2^(attempts-1)), in microseconds.
int64_t BackoffCeiling(const RetryPolicy& policy, int attempts);

// The jittered delay: ceiling/2 + random % (ceiling - ceiling/2 + 1), so within
// [ceiling/2, ceiling]. `random` is a uniformly random 64-bit value.
int64_t BackoffDelay(const RetryPolicy& policy, int attempts, uint64_t random);

// After a failed attempt at `now`, the `round_attempts`-th of a round that started at
// `round_started`: the time of the next attempt, or nullopt when the delivery is given up.
std::optional<UtcTime> NextAttemptTime(const RetryPolicy& policy, int round_attempts,
                                       UtcTime round_started, UtcTime now, uint64_t random);

}  // namespace tally::webhook
