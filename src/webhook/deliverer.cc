#include "webhook/deliverer.h"

#include <chrono>

#include "webhook/signature.h"

namespace tally::webhook {

PassReport& PassReport::operator+=(const PassReport& o) {
  attempted += o.attempted;
  delivered += o.delivered;
  retrying += o.retrying;
  failed += o.failed;
  return *this;
}

api::HeaderList WebhookHeaders(const store::DueDelivery& due, int attempt, UtcTime now) {
  const int64_t unix_seconds = now.micros / kMicrosPerSecond;
  return {
      {"Content-Type", "application/json"},
      {"Tally-Event", due.delivery.event_type},
      {"Tally-Delivery", std::to_string(due.delivery.id)},
      {"Tally-Attempt", std::to_string(attempt)},
      {"Tally-Signature", FormatSignatureHeader(due.secret, unix_seconds, due.payload)},
  };
}

Deliverer::Deliverer(store::WebhookStore& store, Poster& poster, const Clock& clock,
                     DelivererOptions options)
    : store_(&store),
      poster_(&poster),
      clock_(&clock),
      options_(std::move(options)),
      random_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

Result<AttemptReport> Deliverer::Attempt(const store::DueDelivery& due) {
  AttemptReport report;
  report.delivery_id = due.delivery.id;
  report.url = due.delivery.url;
  store::DeliveryAttempt& attempt = report.attempt;
  attempt.attempt = due.delivery.attempts + 1;
  attempt.at = clock_->Now();
  const auto started = std::chrono::steady_clock::now();
  PostResult answer =
      poster_->Post(due.delivery.url, WebhookHeaders(due, attempt.attempt, attempt.at),
                    due.payload);
  attempt.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  attempt.status_code = answer.status;
  attempt.error = std::move(answer.error);
  if (attempt.status_code >= 200 && attempt.status_code <= 299) {
    report.status = store::DeliveryStatus::kDelivered;
  } else {
    report.next_attempt =
        NextAttemptTime(options_.retry, due.delivery.round_attempts + 1,
                        due.delivery.round_started, clock_->Now(), random_());
    report.status =
        report.next_attempt ? store::DeliveryStatus::kPending : store::DeliveryStatus::kFailed;
  }
  TALLY_RETURN_IF_ERROR(
      store_->RecordDeliveryAttempt(due.delivery.id, attempt, report.status, report.next_attempt));
  return report;
}

Result<PassReport> Deliverer::DeliverDue() {
  TALLY_ASSIGN_OR_RETURN(std::vector<store::DueDelivery> due,
                         store_->LoadDueDeliveries(clock_->Now(), options_.batch));
  PassReport pass;
  for (const store::DueDelivery& d : due) {
    Result<AttemptReport> report = Attempt(d);
    // A delivery replayed or finished by another writer meanwhile is refused, not a failure.
    if (!report.ok() && (report.status().code() == StatusCode::kInvalidArgument ||
                         report.status().code() == StatusCode::kNotFound)) {
      continue;
    }
    if (!report.ok()) return report.status();
    ++pass.attempted;
    switch (report->status) {
      case store::DeliveryStatus::kDelivered:
        ++pass.delivered;
        break;
      case store::DeliveryStatus::kPending:
        ++pass.retrying;
        break;
      case store::DeliveryStatus::kFailed:
        ++pass.failed;
        break;
    }
    if (options_.on_attempt) options_.on_attempt(*report);
  }
  return pass;
}

Result<PassReport> Deliverer::DeliverUntilIdle(
    UtcTime deadline, const std::function<void(int64_t micros)>& sleep) {
  PassReport total;
  while (true) {
    TALLY_ASSIGN_OR_RETURN(PassReport pass, DeliverDue());
    total += pass;
    TALLY_ASSIGN_OR_RETURN(std::optional<UtcTime> next, store_->NextDueTime());
    if (!next || next->micros > deadline.micros) return total;
    const int64_t wait = next->micros - clock_->Now().micros;
    // Due yet nothing attempted: another writer holds those deliveries; do not spin.
    if (wait <= 0 && pass.attempted == 0) return total;
    if (wait > 0) sleep(wait);
  }
}

}  // namespace tally::webhook
