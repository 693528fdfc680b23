// SqliteStore's WebhookStore: endpoints, the outbox of events, deliveries and their attempts in
// the tables of migration 4, written through the single writer, read through the read-only
// connection. Refusals (unknown IDs, a delivery that is not pending) are made by the job's
// check, so they roll back without stopping writes.
#include <sqlite3.h>

#include "common/strings.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store {

std::string_view DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  for (DeliveryStatus s :
       {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kFailed}) {
    if (name == DeliveryStatusName(s)) return s;
  }
  return std::nullopt;
}

namespace sqlite {
namespace {

// Events are stored space-separated; matching wraps both sides in spaces.
std::string FormatEvents(const std::vector<std::string>& events) {
  std::string out;
  for (const std::string& e : events) {
    if (!out.empty()) out += ' ';
    out += e;
  }
  return out;
}

std::vector<std::string> ParseEvents(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view e : Split(text, ' ')) {
    if (!e.empty()) out.emplace_back(e);
  }
  return out;
}

constexpr std::string_view kEndpointColumns = "id, url, secret, events, created_us, removed_us";

WebhookEndpoint ReadEndpoint(Statement& q) {
  WebhookEndpoint e;
  e.id = q.ColumnInt64(0);
  e.url = std::string(q.ColumnText(1));
  e.secret = std::string(q.ColumnText(2));
  e.events = ParseEvents(q.ColumnText(3));
  e.created = UtcTime{q.ColumnInt64(4)};
  if (!q.ColumnIsNull(5)) e.removed = UtcTime{q.ColumnInt64(5)};
  return e;
}

constexpr std::string_view kDeliverySelect =
    "SELECT d.id, d.event_id, d.endpoint_id, e.url, v.type, v.subject, d.status, d.attempts, "
    "d.round_attempts, d.created_us, d.round_started_us, d.next_attempt_us, d.last_attempt_us, "
    "d.last_result, d.delivered_us, e.secret, v.payload FROM webhook_deliveries d "
    "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
    "JOIN webhook_events v ON v.id = d.event_id ";

std::optional<UtcTime> OptionalTime(Statement& q, int col) {
  if (q.ColumnIsNull(col)) return std::nullopt;
  return UtcTime{q.ColumnInt64(col)};
}

// Reads the first 15 columns of kDeliverySelect.
Result<WebhookDelivery> ReadDelivery(Statement& q) {
  WebhookDelivery d;
  d.id = q.ColumnInt64(0);
  d.event_id = q.ColumnInt64(1);
  d.endpoint_id = q.ColumnInt64(2);
  d.url = std::string(q.ColumnText(3));
  d.event_type = std::string(q.ColumnText(4));
  d.subject = std::string(q.ColumnText(5));
  std::optional<DeliveryStatus> status = ParseDeliveryStatus(q.ColumnText(6));
  if (!status) {
    return DataLoss("webhook delivery " + std::to_string(d.id) + " has an unknown status " +
                    std::string(q.ColumnText(6)));
  }
  d.status = *status;
  d.attempts = static_cast<int>(q.ColumnInt64(7));
  d.round_attempts = static_cast<int>(q.ColumnInt64(8));
  d.created = UtcTime{q.ColumnInt64(9)};
  d.round_started = UtcTime{q.ColumnInt64(10)};
  d.next_attempt = OptionalTime(q, 11);
  d.last_attempt = OptionalTime(q, 12);
  d.last_result = std::string(q.ColumnText(13));
  d.delivered = OptionalTime(q, 14);
  return d;
}

std::string AttemptResult(const DeliveryAttempt& a) {
  if (a.status_code != 0) return "HTTP " + std::to_string(a.status_code);
  return a.error.empty() ? std::string("no answer") : a.error;
}

}  // namespace

Status SqliteStore::EnqueueInvoiceEventLocked(std::string_view type,
                                              const std::string& subscription_id,
                                              const std::string& period, UtcTime when) {
  TALLY_ASSIGN_OR_RETURN(
      Statement endpoints,
      writer_db_.Prepare("SELECT id FROM webhook_endpoints WHERE removed_us IS NULL AND "
                         "instr(' ' || events || ' ', ' ' || ? || ' ') > 0 ORDER BY id"));
  endpoints.BindText(1, type);
  std::vector<int64_t> ids;
  TALLY_RETURN_IF_ERROR(ForEachRow(endpoints, [&]() -> Status {
    ids.push_back(endpoints.ColumnInt64(0));
    return Status::Ok();
  }));
  if (ids.empty()) return Status::Ok();
  TALLY_ASSIGN_OR_RETURN(
      Statement event,
      writer_db_.Prepare("INSERT INTO webhook_events (type, subject, payload, created_us) "
                         "SELECT ?, subscription_id || '/' || period, json, ? FROM invoices "
                         "WHERE subscription_id = ? AND period = ?"));
  event.BindText(1, type);
  event.BindInt64(2, when.micros);
  event.BindText(3, subscription_id);
  event.BindText(4, period);
  TALLY_RETURN_IF_ERROR(event.Run());
  if (sqlite3_changes(writer_db_.raw()) != 1) {
    return Internal("no invoice " + subscription_id + " " + period + " to raise " +
                    std::string(type) + " for");
  }
  const int64_t event_id = sqlite3_last_insert_rowid(writer_db_.raw());
  TALLY_ASSIGN_OR_RETURN(
      Statement delivery,
      writer_db_.Prepare("INSERT INTO webhook_deliveries (event_id, endpoint_id, status, "
                         "attempts, round_attempts, created_us, round_started_us, "
                         "next_attempt_us, last_attempt_us, last_result, delivered_us) "
                         "VALUES (?, ?, 'pending', 0, 0, ?, ?, ?, NULL, '', NULL)"));
  for (int64_t endpoint_id : ids) {
    delivery.BindInt64(1, event_id);
    delivery.BindInt64(2, endpoint_id);
    delivery.BindInt64(3, when.micros);
    delivery.BindInt64(4, when.micros);
    delivery.BindInt64(5, when.micros);
    TALLY_RETURN_IF_ERROR(delivery.Run());
  }
  return Status::Ok();
}

Result<WebhookEndpoint> SqliteStore::AddWebhookEndpoint(const WebhookEndpoint& endpoint) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (endpoint.url.empty()) problem("the endpoint's URL is required");
  if (endpoint.secret.empty()) problem("the endpoint's secret is required");
  if (endpoint.events.empty()) problem("the endpoint must receive at least one event");
  for (const std::string& e : endpoint.events) {
    if (e.empty() || e.find(' ') != std::string::npos) problem("bad event name '" + e + "'");
  }
  if (!problems.empty()) return InvalidArgument(problems);
  WebhookEndpoint saved = endpoint;
  saved.removed.reset();
  WebhookEndpoint* out = &saved;  // the caller waits for the job
  Status written = RunMetaWrite(
      [this, out]() -> Status {
        TALLY_ASSIGN_OR_RETURN(
            Statement st,
            writer_db_.Prepare("INSERT INTO webhook_endpoints (url, secret, events, created_us, "
                               "removed_us) VALUES (?, ?, ?, ?, NULL)"));
        const std::string events = FormatEvents(out->events);
        st.BindText(1, out->url);
        st.BindText(2, out->secret);
        st.BindText(3, events);
        st.BindInt64(4, out->created.micros);
        TALLY_RETURN_IF_ERROR(st.Run());
        out->id = sqlite3_last_insert_rowid(writer_db_.raw());
        return Status::Ok();
      },
      [] {});
  if (!written.ok()) return written;
  return saved;
}

Result<std::vector<WebhookEndpoint>> SqliteStore::ListWebhookEndpoints() {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(Statement q,
                         reader_db_.Prepare("SELECT " + std::string(kEndpointColumns) +
                                            " FROM webhook_endpoints WHERE removed_us IS NULL "
                                            "ORDER BY id"));
  std::vector<WebhookEndpoint> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    out.push_back(ReadEndpoint(q));
    return Status::Ok();
  }));
  return out;
}

Status SqliteStore::RemoveWebhookEndpoint(int64_t id, UtcTime when) {
  auto check = [this, id]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement q, writer_db_.Prepare("SELECT 1 FROM webhook_endpoints WHERE id = ? AND "
                                        "removed_us IS NULL"));
    q.BindInt64(1, id);
    TALLY_ASSIGN_OR_RETURN(bool found, q.Step());
    q.Reset();
    if (!found) return NotFound("there is no webhook endpoint " + std::to_string(id));
    return Status::Ok();
  };
  auto write = [this, id, when]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement st,
        writer_db_.Prepare("UPDATE webhook_endpoints SET removed_us = ? WHERE id = ?"));
    st.BindInt64(1, when.micros);
    st.BindInt64(2, id);
    TALLY_RETURN_IF_ERROR(st.Run());
    TALLY_ASSIGN_OR_RETURN(
        Statement fail,
        writer_db_.Prepare("UPDATE webhook_deliveries SET status = 'failed', "
                           "next_attempt_us = NULL, last_result = 'endpoint removed' "
                           "WHERE endpoint_id = ? AND status = 'pending'"));
    fail.BindInt64(1, id);
    return fail.Run();
  };
  return RunMetaWrite(write, [] {}, check);
}

Result<std::vector<WebhookDelivery>> SqliteStore::ListWebhookDeliveries(
    const DeliveryFilter& filter) {
  const std::string status =
      filter.status ? std::string(DeliveryStatusName(*filter.status)) : std::string();
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q, reader_db_.Prepare(std::string(kDeliverySelect) +
                                      "WHERE (?1 = '' OR d.status = ?1) AND "
                                      "(?2 = 0 OR d.endpoint_id = ?2) ORDER BY d.id DESC "
                                      "LIMIT ?3"));
  q.BindText(1, status);
  q.BindInt64(2, filter.endpoint_id);
  q.BindInt64(3, filter.limit == 0 ? -1 : static_cast<int64_t>(filter.limit));
  std::vector<WebhookDelivery> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(WebhookDelivery d, ReadDelivery(q));
    out.push_back(std::move(d));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<WebhookDelivery>> SqliteStore::FindWebhookDelivery(int64_t id) {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(Statement q,
                         reader_db_.Prepare(std::string(kDeliverySelect) + "WHERE d.id = ?"));
  q.BindInt64(1, id);
  std::optional<WebhookDelivery> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(WebhookDelivery d, ReadDelivery(q));
    out = std::move(d);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<DeliveryAttempt>> SqliteStore::ListDeliveryAttempts(int64_t delivery_id) {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q,
      reader_db_.Prepare("SELECT attempt, at_us, status_code, error, duration_us FROM "
                         "webhook_attempts WHERE delivery_id = ? ORDER BY attempt"));
  q.BindInt64(1, delivery_id);
  std::vector<DeliveryAttempt> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    DeliveryAttempt a;
    a.attempt = static_cast<int>(q.ColumnInt64(0));
    a.at = UtcTime{q.ColumnInt64(1)};
    a.status_code = static_cast<int>(q.ColumnInt64(2));
    a.error = std::string(q.ColumnText(3));
    a.duration_us = q.ColumnInt64(4);
    out.push_back(std::move(a));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<DueDelivery>> SqliteStore::LoadDueDeliveries(UtcTime now, size_t limit) {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q, reader_db_.Prepare(std::string(kDeliverySelect) +
                                      "WHERE d.status = 'pending' AND d.next_attempt_us <= ? "
                                      "ORDER BY d.next_attempt_us, d.id LIMIT ?"));
  q.BindInt64(1, now.micros);
  q.BindInt64(2, limit == 0 ? -1 : static_cast<int64_t>(limit));
  std::vector<DueDelivery> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    DueDelivery due;
    TALLY_ASSIGN_OR_RETURN(due.delivery, ReadDelivery(q));
    due.secret = std::string(q.ColumnText(15));
    due.payload = std::string(q.ColumnText(16));
    out.push_back(std::move(due));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<UtcTime>> SqliteStore::NextDueTime() {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q, reader_db_.Prepare("SELECT min(next_attempt_us) FROM webhook_deliveries "
                                      "WHERE status = 'pending'"));
  std::optional<UtcTime> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    if (!q.ColumnIsNull(0)) out = UtcTime{q.ColumnInt64(0)};
    return Status::Ok();
  }));
  return out;
}

Status SqliteStore::RecordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt,
                                          DeliveryStatus status,
                                          std::optional<UtcTime> next_attempt) {
  if ((status == DeliveryStatus::kPending) != next_attempt.has_value()) {
    return InvalidArgument("a pending delivery needs its next attempt time, and only it");
  }
  const std::string name = "webhook delivery " + std::to_string(delivery_id);
  auto check = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement q,
        writer_db_.Prepare("SELECT status, attempts FROM webhook_deliveries WHERE id = ?"));
    q.BindInt64(1, delivery_id);
    TALLY_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) {
      q.Reset();
      return NotFound("there is no " + name);
    }
    const bool pending = q.ColumnText(0) == "pending";
    const int64_t attempts = q.ColumnInt64(1);
    q.Reset();
    if (!pending) return InvalidArgument(name + " is not pending");
    if (attempt.attempt != attempts + 1) {
      return InvalidArgument(name + " has " + std::to_string(attempts) +
                             " attempts; attempt " + std::to_string(attempt.attempt) +
                             " is not the next");
    }
    return Status::Ok();
  };
  auto write = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement log,
        writer_db_.Prepare("INSERT INTO webhook_attempts (delivery_id, attempt, at_us, "
                           "status_code, error, duration_us) VALUES (?, ?, ?, ?, ?, ?)"));
    log.BindInt64(1, delivery_id);
    log.BindInt64(2, attempt.attempt);
    log.BindInt64(3, attempt.at.micros);
    log.BindInt64(4, attempt.status_code);
    log.BindText(5, attempt.error);
    log.BindInt64(6, attempt.duration_us);
    TALLY_RETURN_IF_ERROR(log.Run());
    TALLY_ASSIGN_OR_RETURN(
        Statement st,
        writer_db_.Prepare("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
                           "round_attempts = round_attempts + 1, next_attempt_us = ?, "
                           "last_attempt_us = ?, last_result = ?, delivered_us = "
                           "CASE WHEN ?1 = 'delivered' THEN ?3 ELSE delivered_us END "
                           "WHERE id = ?"));
    const std::string result = AttemptResult(attempt);
    st.BindText(1, DeliveryStatusName(status));
    if (next_attempt) {
      st.BindInt64(2, next_attempt->micros);
    } else {
      st.BindNull(2);
    }
    st.BindInt64(3, attempt.at.micros);
    st.BindText(4, result);
    st.BindInt64(5, delivery_id);
    return st.Run();
  };
  return RunMetaWrite(write, [] {}, check);
}

Status SqliteStore::ReplayWebhookDelivery(int64_t id, UtcTime when) {
  const std::string name = "webhook delivery " + std::to_string(id);
  auto check = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement q, writer_db_.Prepare("SELECT e.removed_us FROM webhook_deliveries d JOIN "
                                        "webhook_endpoints e ON e.id = d.endpoint_id "
                                        "WHERE d.id = ?"));
    q.BindInt64(1, id);
    TALLY_ASSIGN_OR_RETURN(bool found, q.Step());
    const bool removed = found && !q.ColumnIsNull(0);
    q.Reset();
    if (!found) return NotFound("there is no " + name);
    if (removed) return InvalidArgument(name + " cannot be replayed: its endpoint was removed");
    return Status::Ok();
  };
  auto write = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement st,
        writer_db_.Prepare("UPDATE webhook_deliveries SET status = 'pending', round_attempts = "
                           "0, round_started_us = ?1, next_attempt_us = ?1 WHERE id = ?2"));
    st.BindInt64(1, when.micros);
    st.BindInt64(2, id);
    return st.Run();
  };
  return RunMetaWrite(write, [] {}, check);
}

}  // namespace sqlite
}  // namespace tally::store
