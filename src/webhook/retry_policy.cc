#include "webhook/retry_policy.h"

#include <string>

namespace tally::webhook {

Status ValidateRetryPolicy(const RetryPolicy& policy) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (policy.base_us <= 0) problem("the retry base must be positive");
  if (policy.cap_us <= 0) problem("the retry cap must be positive");
  if (policy.base_us > 0 && policy.cap_us > 0 && policy.base_us > policy.cap_us) {
    problem("the retry base must not exceed the cap");
  }
  if (policy.max_attempts < 1) problem("the maximum number of attempts must be at least 1");
  if (policy.max_age_us <= 0) problem("the maximum age must be positive");
  if (!problems.empty()) return InvalidArgument(problems);
  return Status::Ok();
}

int64_t BackoffCeiling(const RetryPolicy& policy, int attempts) {
  int64_t delay = policy.base_us;
  // Doubling stops at the cap, so it never overflows.
  for (int i = 1; i < attempts && delay < policy.cap_us; ++i) {
    delay = delay > policy.cap_us / 2 ? policy.cap_us : delay * 2;
  }
  return delay < policy.cap_us ? delay : policy.cap_us;
}

int64_t BackoffDelay(const RetryPolicy& policy, int attempts, uint64_t random) {
  const int64_t ceiling = BackoffCeiling(policy, attempts);
  const int64_t fixed = ceiling / 2;
  const uint64_t spread = static_cast<uint64_t>(ceiling - fixed) + 1;
  return fixed + static_cast<int64_t>(random % spread);
}

std::optional<UtcTime> NextAttemptTime(const RetryPolicy& policy, int round_attempts,
                                       UtcTime round_started, UtcTime now, uint64_t random) {
  if (round_attempts >= policy.max_attempts) return std::nullopt;
  const UtcTime next{now.micros + BackoffDelay(policy, round_attempts, random)};
  if (next.micros - round_started.micros > policy.max_age_us) return std::nullopt;
  return next;
}

}  // namespace tally::webhook
