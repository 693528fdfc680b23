// Deliverer: works the webhook outbox of a store. Each pass loads the deliveries due now and
// POSTs each once to its endpoint: the event's payload as the body, signed (signature.h), with
// Tally-Event, Tally-Delivery (the delivery ID, for receivers to drop duplicates) and
// Tally-Attempt headers. A 2xx answer acknowledges it; any other answer, no answer or a timeout
// schedules the next attempt by the retry policy, or fails the delivery when the policy gives
// up. Every attempt and its outcome are recorded in the store (the delivery log) in one write.
//
// Owner: the caller owns the store, the poster and the clock, which must outlive it. Not
// thread-safe: one thread drives one Deliverer, and one Deliverer works a store at a time
// (delivery_worker.h runs it in the background of `tally serve`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "api/http_message.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/webhook_store.h"
#include "webhook/retry_policy.h"

namespace tally::webhook {

// The answer to one POST: the HTTP status, or 0 with why there was none.
struct PostResult {
  int status = 0;
  std::string error;
};

// Sends one webhook request. An interface so tests can stand in for the network.
class Poster {
 public:
  virtual ~Poster() = default;
  virtual PostResult Post(const std::string& url, const api::HeaderList& headers,
                          std::string_view body) = 0;
};

// What happened to one delivery in a pass, for logs.
struct AttemptReport {
  int64_t delivery_id = 0;
  std::string url;
  store::DeliveryAttempt attempt;
  store::DeliveryStatus status = store::DeliveryStatus::kPending;
  std::optional<UtcTime> next_attempt;
};

struct DelivererOptions {
  RetryPolicy retry;
  size_t batch = 100;  // deliveries loaded per pass
  uint64_t seed = 0;   // of the jitter; 0 = a random seed
  // Called after each recorded attempt (e.g. to log it); may be empty.
  std::function<void(const AttemptReport&)> on_attempt;
};

struct PassReport {
  size_t attempted = 0;
  size_t delivered = 0;
  size_t retrying = 0;
  size_t failed = 0;
  PassReport& operator+=(const PassReport& o);
};

class Deliverer {
 public:
  Deliverer(store::WebhookStore& store, Poster& poster, const Clock& clock,
            DelivererOptions options);

  // Attempts every delivery due now once (up to options.batch). Fails only when the store does.
  Result<PassReport> DeliverDue();

  // Runs passes until no delivery is pending, or the next one is due after `deadline`; between
  // passes calls sleep(micros) until the next due time. Fails only when the store does.
  Result<PassReport> DeliverUntilIdle(UtcTime deadline,
                                      const std::function<void(int64_t micros)>& sleep);

  // The earliest next attempt of any pending delivery; nullopt when none is pending.
  Result<std::optional<UtcTime>> NextDueTime() { return store_->NextDueTime(); }

 private:
  Result<AttemptReport> Attempt(const store::DueDelivery& due);

  store::WebhookStore* store_;
  Poster* poster_;
  const Clock* clock_;
  DelivererOptions options_;
  std::mt19937_64 random_;
};

// The headers of one webhook request (Content-Type and the Tally-* headers), signed at `now`.
api::HeaderList WebhookHeaders(const store::DueDelivery& due, int attempt, UtcTime now);

}  // namespace tally::webhook
