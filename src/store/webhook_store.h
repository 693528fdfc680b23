// WebhookStore: the durable side of webhooks: the endpoints operators configure, the outbox of
// events to deliver (one delivery per endpoint and event), and the log of every delivery
// attempt. Events are written by the change they report, in its own transaction (today:
// BillingStore::FinalizeInvoice records `invoice.finalized`), so a crash can never finalize an
// invoice without its deliveries or the other way round.
//
// The store keeps payloads as given and decides nothing about retries: the deliverer
// (src/webhook/) computes every outcome and next attempt and records it here. One deliverer per
// store at a time (a data directory is opened by one process; that process runs one deliverer).
//
// A backend implements it next to UsageStore and through the same single writer (the SQLite
// store: UsageStore::Webhooks()). Thread-safe: any method may be called from any thread.
// docs/webhooks.md has the tables and the delivery rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace tally::store {

// The event a finalized invoice raises; its payload is the invoice's JSON.
inline constexpr std::string_view kInvoiceFinalizedEvent = "invoice.finalized";

struct WebhookEndpoint {
  int64_t id = 0;  // assigned by AddWebhookEndpoint
  std::string url;
  std::string secret;               // the HMAC key; never printed
  std::vector<std::string> events;  // event types it receives, e.g. {"invoice.finalized"}
  UtcTime created;
  std::optional<UtcTime> removed;  // removed endpoints get no new deliveries
  bool operator==(const WebhookEndpoint&) const = default;
};

enum class DeliveryStatus { kPending, kDelivered, kFailed };
std::string_view DeliveryStatusName(DeliveryStatus s);  // "pending", "delivered", "failed"
// The status of one of those names; nullopt for anything else.
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name);

// One POST of a delivery.
struct DeliveryAttempt {
  int attempt = 0;       // 1-based, over the delivery's whole life (replays continue counting)
  UtcTime at;            // when the request was sent
  int status_code = 0;   // the HTTP status, 0 when there was no answer
  std::string error;     // why there was no answer (connection refused, timeout...); "" if any
  int64_t duration_us = 0;
  bool operator==(const DeliveryAttempt&) const = default;
};

struct WebhookDelivery {
  int64_t id = 0;
  int64_t event_id = 0;
  int64_t endpoint_id = 0;
  std::string url;         // the endpoint's
  std::string event_type;  // e.g. "invoice.finalized"
  std::string subject;     // what the event is about, e.g. "<subscription>/2026-10"
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;        // every attempt so far
  int round_attempts = 0;  // attempts since it was created or last replayed
  UtcTime created;
  UtcTime round_started;  // created, or the last replay
  std::optional<UtcTime> next_attempt;  // pending deliveries only
  std::optional<UtcTime> last_attempt;
  std::string last_result;  // "HTTP 500", "connection refused"...; "" before the first attempt
  std::optional<UtcTime> delivered;
  bool operator==(const WebhookDelivery&) const = default;
};

// What the deliverer needs to send one delivery.
struct DueDelivery {
  WebhookDelivery delivery;
  std::string secret;
  std::string payload;
};

// What to list; defaults list everything, newest first.
struct DeliveryFilter {
  std::optional<DeliveryStatus> status;
  int64_t endpoint_id = 0;  // 0 = any
  size_t limit = 0;         // 0 = no limit
};

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Saves a new endpoint and returns it with its ID. InvalidArgument when the URL, secret or
  // event list is empty.
  virtual Result<WebhookEndpoint> AddWebhookEndpoint(const WebhookEndpoint& endpoint) = 0;
  // Every endpoint not removed, by ID.
  virtual Result<std::vector<WebhookEndpoint>> ListWebhookEndpoints() = 0;
  // Marks the endpoint removed at `when`; its pending deliveries become failed ("endpoint
  // removed"). NotFound when there is no such endpoint or it is already removed.
  virtual Status RemoveWebhookEndpoint(int64_t id, UtcTime when) = 0;

  // Deliveries matching the filter, newest (highest ID) first.
  virtual Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(
      const DeliveryFilter& filter) = 0;
  // One delivery; nullopt when there is none.
  virtual Result<std::optional<WebhookDelivery>> FindWebhookDelivery(int64_t id) = 0;
  // The attempts of one delivery, in order (empty for an unknown ID).
  virtual Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) = 0;

  // Pending deliveries whose next attempt is at or before `now`, earliest first, at most
  // `limit`, with their endpoint's secret and the event's payload.
  virtual Result<std::vector<DueDelivery>> LoadDueDeliveries(UtcTime now, size_t limit) = 0;
  // The earliest next attempt of any pending delivery; nullopt when none is pending.
  virtual Result<std::optional<UtcTime>> NextDueTime() = 0;

  // Appends `attempt` to the delivery's log and moves it to `status`: kPending with
  // `next_attempt` set (retry), kDelivered or kFailed (no next attempt). One transaction.
  // NotFound for an unknown delivery; InvalidArgument when it is not pending, when the attempt
  // number is not the next one, or when `next_attempt` does not match the status.
  virtual Status RecordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt,
                                       DeliveryStatus status,
                                       std::optional<UtcTime> next_attempt) = 0;

  // Makes any delivery pending again, due at `when`, starting a new round (round_attempts 0,
  // round_started `when`); its log is kept. NotFound for an unknown delivery; InvalidArgument
  // when its endpoint was removed.
  virtual Status ReplayWebhookDelivery(int64_t id, UtcTime when) = 0;
};

}  // namespace tally::store
