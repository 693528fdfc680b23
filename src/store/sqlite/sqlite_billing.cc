// SqliteStore's BillingStore: rate cards, subscription pricing and invoices in their own tables
// (migration 3), written through the single writer like every other write, read through the
// read-only connection. Hourly usage for billing is answered by the in-memory index.
#include <algorithm>
#include <map>

#include "common/strings.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store {

std::string_view InvoiceStatusName(InvoiceStatus s) {
  return s == InvoiceStatus::kFinal ? "final" : "draft";
}

namespace sqlite {
namespace {

constexpr std::string_view kInvoiceHeaderColumns =
    "subscription_id, period, time_zone, offer_durable_id, currency, total, status, "
    "watermark_seq, coverage, billed, created_us, finalized_us";

// coverage: one "period after_seq up_to_seq" line per entry.
std::string FormatCoverage(const std::vector<InvoiceCoverage>& coverage) {
  std::string out;
  for (const InvoiceCoverage& c : coverage) {
    out += c.period + ' ' + std::to_string(c.after_seq) + ' ' + std::to_string(c.up_to_seq) + '\n';
  }
  return out;
}

Result<uint64_t> ParseSeq(std::string_view s) {
  if (s.empty() || s.size() > 19) return DataLoss("invoice coverage has a damaged seq");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return DataLoss("invoice coverage has a damaged seq");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

Result<std::vector<InvoiceCoverage>> ParseCoverage(std::string_view text) {
  std::vector<InvoiceCoverage> out;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string_view> f = Split(line, ' ');
    if (f.size() != 3) return DataLoss("invoice coverage line is damaged: " + std::string(line));
    InvoiceCoverage c;
    c.period = std::string(f[0]);
    TALLY_ASSIGN_OR_RETURN(c.after_seq, ParseSeq(f[1]));
    TALLY_ASSIGN_OR_RETURN(c.up_to_seq, ParseSeq(f[2]));
    out.push_back(std::move(c));
  }
  return out;
}

// billed: one "period<TAB>meter_id<TAB>quantity" line per entry (meter IDs hold no tab or
// line break: domain validation allows neither).
std::string FormatBilled(const std::vector<BilledQuantity>& billed) {
  std::string out;
  for (const BilledQuantity& b : billed) {
    out += b.period + '\t' + b.meter_id + '\t' + b.quantity.ToString() + '\n';
  }
  return out;
}

Result<std::vector<BilledQuantity>> ParseBilled(std::string_view text) {
  std::vector<BilledQuantity> out;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string_view> f = Split(line, '\t');
    if (f.size() != 3) return DataLoss("invoice billed line is damaged: " + std::string(line));
    BilledQuantity b;
    b.period = std::string(f[0]);
    b.meter_id = std::string(f[1]);
    TALLY_ASSIGN_OR_RETURN(b.quantity, Decimal::Parse(f[2]));
    out.push_back(std::move(b));
  }
  return out;
}

// Reads the kInvoiceHeaderColumns of the current row, starting at column 0.
Result<StoredInvoice> ReadInvoiceHeader(Statement& q) {
  StoredInvoice inv;
  inv.subscription_id = std::string(q.ColumnText(0));
  inv.period = std::string(q.ColumnText(1));
  inv.time_zone = std::string(q.ColumnText(2));
  inv.offer_durable_id = std::string(q.ColumnText(3));
  inv.currency = std::string(q.ColumnText(4));
  inv.total = std::string(q.ColumnText(5));
  std::string_view status = q.ColumnText(6);
  if (status == "final") {
    inv.status = InvoiceStatus::kFinal;
  } else if (status == "draft") {
    inv.status = InvoiceStatus::kDraft;
  } else {
    return DataLoss("invoice " + inv.subscription_id + " " + inv.period +
                    " has an unknown status " + std::string(status));
  }
  inv.watermark_seq = static_cast<uint64_t>(q.ColumnInt64(7));
  TALLY_ASSIGN_OR_RETURN(inv.coverage, ParseCoverage(q.ColumnText(8)));
  TALLY_ASSIGN_OR_RETURN(inv.billed, ParseBilled(q.ColumnText(9)));
  inv.created = UtcTime{q.ColumnInt64(10)};
  if (!q.ColumnIsNull(11)) inv.finalized = UtcTime{q.ColumnInt64(11)};
  return inv;
}

}  // namespace

Status SqliteStore::SaveRateCard(const StoredRateCard& card) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (card.offer_durable_id.empty()) problem("the rate card's offer is required");
  if (card.currency.empty()) problem("the rate card's currency is required");
  if (card.locale.empty()) problem("the rate card's locale is required");
  if (card.document.empty()) problem("the rate card's document is empty");
  if (!problems.empty()) return InvalidArgument(problems);
  StoredRateCard c = card;
  return RunMetaWrite(
      [this, c]() -> Status {
        TALLY_ASSIGN_OR_RETURN(
            Statement st,
            writer_db_.Prepare("INSERT OR REPLACE INTO rate_cards (offer_key, region_key, "
                               "currency_key, locale_key, offer_durable_id, region, currency, "
                               "locale, document, imported_us) VALUES (?,?,?,?,?,?,?,?,?,?)"));
        const std::string keys[] = {AsciiUpper(c.offer_durable_id), AsciiUpper(c.region),
                                    AsciiUpper(c.currency), AsciiUpper(c.locale)};
        for (int i = 0; i < 4; ++i) st.BindText(i + 1, keys[i]);
        st.BindText(5, c.offer_durable_id);
        st.BindText(6, c.region);
        st.BindText(7, c.currency);
        st.BindText(8, c.locale);
        st.BindText(9, c.document);
        st.BindInt64(10, c.imported.micros);
        return st.Run();
      },
      [] {});
}

Result<std::vector<StoredRateCard>> SqliteStore::ListRateCards() {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q,
      reader_db_.Prepare("SELECT offer_durable_id, region, currency, locale, document, "
                         "imported_us FROM rate_cards ORDER BY offer_key, region_key, "
                         "currency_key, locale_key"));
  std::vector<StoredRateCard> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    StoredRateCard c;
    c.offer_durable_id = std::string(q.ColumnText(0));
    c.region = std::string(q.ColumnText(1));
    c.currency = std::string(q.ColumnText(2));
    c.locale = std::string(q.ColumnText(3));
    c.document = std::string(q.ColumnText(4));
    c.imported = UtcTime{q.ColumnInt64(5)};
    out.push_back(std::move(c));
    return Status::Ok();
  }));
  return out;
}

Status SqliteStore::SaveSubscriptionPricing(const SubscriptionPricingRecord& record) {
  std::string problems;
  if (!IsGuid(record.subscription_id)) problems = "subscription id must be a GUID";
  if (record.offer_durable_id.empty()) {
    if (!problems.empty()) problems.append("; ");
    problems.append("the offer is required");
  }
  if (!problems.empty()) return InvalidArgument(problems);
  SubscriptionPricingRecord r = record;
  r.subscription_id = AsciiLower(r.subscription_id);
  return RunMetaWrite(
      [this, r]() -> Status {
        TALLY_ASSIGN_OR_RETURN(
            Statement st,
            writer_db_.Prepare("INSERT OR REPLACE INTO subscription_pricing (subscription_id, "
                               "offer_durable_id, region, currency, adjustment_percent, "
                               "commitment, updated_us) VALUES (?,?,?,?,?,?,?)"));
        const std::string percent = r.adjustment_percent.ToString();
        const std::string commitment = r.commitment ? r.commitment->ToString() : "";
        st.BindText(1, r.subscription_id);
        st.BindText(2, r.offer_durable_id);
        st.BindText(3, r.region);
        st.BindText(4, r.currency);
        st.BindText(5, percent);
        if (r.commitment) {
          st.BindText(6, commitment);
        } else {
          st.BindNull(6);
        }
        st.BindInt64(7, r.updated.micros);
        return st.Run();
      },
      [] {});
}

Result<std::vector<SubscriptionPricingRecord>> SqliteStore::ListSubscriptionPricing() {
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q, reader_db_.Prepare("SELECT subscription_id, offer_durable_id, region, "
                                      "currency, adjustment_percent, commitment, updated_us "
                                      "FROM subscription_pricing ORDER BY subscription_id"));
  std::vector<SubscriptionPricingRecord> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    SubscriptionPricingRecord r;
    r.subscription_id = std::string(q.ColumnText(0));
    r.offer_durable_id = std::string(q.ColumnText(1));
    r.region = std::string(q.ColumnText(2));
    r.currency = std::string(q.ColumnText(3));
    TALLY_ASSIGN_OR_RETURN(r.adjustment_percent, Decimal::Parse(q.ColumnText(4)));
    if (!q.ColumnIsNull(5)) {
      TALLY_ASSIGN_OR_RETURN(Decimal c, Decimal::Parse(q.ColumnText(5)));
      r.commitment = c;
    }
    r.updated = UtcTime{q.ColumnInt64(6)};
    out.push_back(std::move(r));
    return Status::Ok();
  }));
  return out;
}

Status SqliteStore::SaveDraftInvoices(const std::vector<StoredInvoice>& invoices) {
  std::string problems;
  for (const StoredInvoice& inv : invoices) {
    if (inv.status != InvoiceStatus::kDraft) {
      if (!problems.empty()) problems.append("; ");
      problems.append("invoice " + inv.subscription_id + " " + inv.period + " is not a draft");
    }
  }
  if (!problems.empty()) return InvalidArgument(problems);
  if (invoices.empty()) return Status::Ok();
  // Shared with the writer job; the caller waits for it, so a pointer is enough.
  const std::vector<StoredInvoice>* batch = &invoices;
  auto check = [this, batch]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement q, writer_db_.Prepare("SELECT status FROM invoices WHERE subscription_id = ? "
                                        "AND period = ?"));
    std::string finals;
    for (const StoredInvoice& inv : *batch) {
      const std::string sub = AsciiLower(inv.subscription_id);
      q.BindText(1, sub);
      q.BindText(2, inv.period);
      auto row = q.Step();
      if (!row.ok()) {
        q.Reset();
        return row.status();
      }
      bool final = *row && q.ColumnText(0) == "final";
      q.Reset();
      if (final) {
        if (!finals.empty()) finals.append(", ");
        finals.append(sub + " " + inv.period);
      }
    }
    if (!finals.empty()) {
      return AlreadyExists("final invoices cannot be replaced: " + finals);
    }
    return Status::Ok();
  };
  auto write = [this, batch]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement st,
        writer_db_.Prepare("INSERT INTO invoices (subscription_id, period, time_zone, "
                           "offer_durable_id, currency, total, status, watermark_seq, coverage, "
                           "billed, json, csv, html, created_us, finalized_us) "
                           "VALUES (?,?,?,?,?,?,'draft',?,?,?,?,?,?,?,NULL) "
                           "ON CONFLICT (subscription_id, period) DO UPDATE SET "
                           "time_zone = excluded.time_zone, "
                           "offer_durable_id = excluded.offer_durable_id, "
                           "currency = excluded.currency, total = excluded.total, "
                           "watermark_seq = excluded.watermark_seq, "
                           "coverage = excluded.coverage, billed = excluded.billed, "
                           "json = excluded.json, csv = excluded.csv, html = excluded.html, "
                           "created_us = excluded.created_us"));
    for (const StoredInvoice& inv : *batch) {
      const std::string sub = AsciiLower(inv.subscription_id);
      const std::string coverage = FormatCoverage(inv.coverage);
      const std::string billed = FormatBilled(inv.billed);
      st.BindText(1, sub);
      st.BindText(2, inv.period);
      st.BindText(3, inv.time_zone);
      st.BindText(4, inv.offer_durable_id);
      st.BindText(5, inv.currency);
      st.BindText(6, inv.total);
      st.BindInt64(7, static_cast<int64_t>(inv.watermark_seq));
      st.BindText(8, coverage);
      st.BindText(9, billed);
      st.BindText(10, inv.json);
      st.BindText(11, inv.csv);
      st.BindText(12, inv.html);
      st.BindInt64(13, inv.created.micros);
      TALLY_RETURN_IF_ERROR(st.Run());
    }
    return Status::Ok();
  };
  return RunMetaWrite(write, [] {}, check);
}

Status SqliteStore::FinalizeInvoice(const std::string& subscription_id,
                                    const std::string& period, uint64_t expected_watermark_seq,
                                    UtcTime when) {
  const std::string sub = AsciiLower(subscription_id);
  const std::string name = "invoice " + sub + " " + period;
  auto check = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement q, writer_db_.Prepare(std::string("SELECT ") +
                                        std::string(kInvoiceHeaderColumns) +
                                        " FROM invoices WHERE subscription_id = ?"));
    q.BindText(1, sub);
    std::map<std::string, StoredInvoice> by_period;
    TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
      TALLY_ASSIGN_OR_RETURN(StoredInvoice inv, ReadInvoiceHeader(q));
      std::string key = inv.period;
      by_period.emplace(std::move(key), std::move(inv));
      return Status::Ok();
    }));
    auto it = by_period.find(period);
    if (it == by_period.end()) return NotFound("there is no " + name);
    const StoredInvoice& inv = it->second;
    if (inv.status == InvoiceStatus::kFinal) return AlreadyExists(name + " is already final");
    if (inv.watermark_seq != expected_watermark_seq) {
      return InvalidArgument(name + " was recomputed (usage up to seq " +
                             std::to_string(inv.watermark_seq) + ", expected " +
                             std::to_string(expected_watermark_seq) + ")");
    }
    std::string problems;
    for (const InvoiceCoverage& c : inv.coverage) {
      auto covered_it = by_period.find(c.period);
      std::string why;
      if (covered_it == by_period.end() || covered_it->second.status != InvoiceStatus::kFinal) {
        why = "period " + c.period + " is not final";
      } else {
        uint64_t covered = covered_it->second.watermark_seq;
        for (const auto& [p, other] : by_period) {
          if (other.status != InvoiceStatus::kFinal) continue;
          for (const InvoiceCoverage& o : other.coverage) {
            if (o.period == c.period) covered = std::max(covered, o.up_to_seq);
          }
        }
        if (c.after_seq != covered) {
          why = "its late usage of " + c.period + " starts after seq " +
                std::to_string(c.after_seq) + " but the final invoices cover it up to seq " +
                std::to_string(covered);
        }
      }
      if (!why.empty()) {
        if (!problems.empty()) problems.append("; ");
        problems.append(why);
      }
    }
    if (!problems.empty()) {
      return InvalidArgument(name + " is out of date, compute it again: " + problems);
    }
    return Status::Ok();
  };
  auto write = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(
        Statement st,
        writer_db_.Prepare("UPDATE invoices SET status = 'final', finalized_us = ? "
                           "WHERE subscription_id = ? AND period = ?"));
    st.BindInt64(1, when.micros);
    st.BindText(2, sub);
    st.BindText(3, period);
    TALLY_RETURN_IF_ERROR(st.Run());
    // The webhook outbox, in the same transaction: finalized means notified, eventually.
    return EnqueueInvoiceEventLocked(kInvoiceFinalizedEvent, sub, period, when);
  };
  return RunMetaWrite(write, [] {}, check);
}

Result<std::vector<StoredInvoice>> SqliteStore::ListInvoices(const InvoiceFilter& filter) {
  std::string sql = std::string("SELECT ") + std::string(kInvoiceHeaderColumns) +
                    " FROM invoices WHERE (?1 = '' OR subscription_id = ?1) AND "
                    "(?2 = '' OR period = ?2) AND (?3 = '' OR status = ?3) "
                    "ORDER BY subscription_id, period";
  const std::string sub = AsciiLower(filter.subscription_id);
  const std::string status = filter.status ? std::string(InvoiceStatusName(*filter.status)) : "";
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(Statement q, reader_db_.Prepare(sql));
  q.BindText(1, sub);
  q.BindText(2, filter.period);
  q.BindText(3, status);
  std::vector<StoredInvoice> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(StoredInvoice inv, ReadInvoiceHeader(q));
    out.push_back(std::move(inv));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<StoredInvoice>> SqliteStore::FindInvoice(const std::string& subscription_id,
                                                              const std::string& period) {
  const std::string sub = AsciiLower(subscription_id);
  std::lock_guard lock(reader_mu_);
  TALLY_ASSIGN_OR_RETURN(
      Statement q, reader_db_.Prepare(std::string("SELECT ") +
                                      std::string(kInvoiceHeaderColumns) +
                                      ", json, csv, html FROM invoices WHERE subscription_id = ? "
                                      "AND period = ?"));
  q.BindText(1, sub);
  q.BindText(2, period);
  std::optional<StoredInvoice> out;
  TALLY_RETURN_IF_ERROR(ForEachRow(q, [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(StoredInvoice inv, ReadInvoiceHeader(q));
    inv.json = std::string(q.ColumnText(12));
    inv.csv = std::string(q.ColumnText(13));
    inv.html = std::string(q.ColumnText(14));
    out = std::move(inv);
    return Status::Ok();
  }));
  return out;
}

Status SqliteStore::VisitHourlyUsage(const HourlyUsageQuery& query,
                                     const std::function<void(const HourlyUsageRow&)>& visit) {
  AwaitVisible();
  return index_.VisitHourly(query, visit);
}

}  // namespace sqlite
}  // namespace tally::store
