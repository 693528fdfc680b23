// Conformance of WebhookStore (UsageStore::Webhooks()): endpoints, the outbox written by
// BillingStore::FinalizeInvoice, the delivery log and replay, each checked with and without
// closing and reopening the store between steps.
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace tally::store::testing {
namespace {

const char kMeterA[] = "F271A8A388C44D93956A063E1D2FA80B";

class WebhookStoreConformance : public ReopeningStoreTest {
 protected:
  WebhookStoreConformance() : ReopeningStoreTest(UtcTime{1'000'000}) {}

  // The webhook and billing sides, after a reopen when the test runs in that mode.
  WebhookStore& Webhooks() { return *Step().Webhooks(); }
  BillingStore& Billing() { return *Step().Billing(); }

  int64_t AddEndpoint(const std::string& url, std::vector<std::string> events = {"invoice.finalized"}) {
    WebhookEndpoint e;
    e.url = url;
    e.secret = "secret-of-" + url;
    e.events = std::move(events);
    e.created = UtcTime{100};
    auto saved = Webhooks().AddWebhookEndpoint(e);
    EXPECT_TRUE(saved.ok()) << saved.status().ToString();
    return saved.ok() ? saved->id : 0;
  }

  // Saves a draft of (sub, period) and finalizes it at `when`.
  void Finalize(const std::string& sub, const std::string& period, UtcTime when) {
    StoredInvoice inv;
    inv.subscription_id = sub;
    inv.period = period;
    inv.time_zone = "UTC";
    inv.offer_durable_id = "MS-AZR-0003P";
    inv.currency = "USD";
    inv.total = "1.50";
    inv.watermark_seq = 1;
    inv.billed = {{period, kMeterA, *Decimal::Parse("1")}};
    inv.json = "{\"subscriptionId\":\"" + sub + "\",\"period\":\"" + period + "\"}";
    inv.created = UtcTime{1};
    ASSERT_TRUE(Billing().SaveDraftInvoices({inv}).ok());
    Status s = Billing().FinalizeInvoice(sub, period, 1, when);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_P(WebhookStoreConformance, EndpointsRoundTripAndRemovedOnesAreNotListed) {
  const int64_t a = AddEndpoint("https://a.example/hook");
  const int64_t b = AddEndpoint("http://127.0.0.1:9/b");
  EXPECT_LT(a, b);
  auto all = Webhooks().ListWebhookEndpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, a);
  EXPECT_EQ((*all)[0].url, "https://a.example/hook");
  EXPECT_EQ((*all)[0].secret, "secret-of-https://a.example/hook");
  EXPECT_EQ((*all)[0].events, std::vector<std::string>{"invoice.finalized"});
  EXPECT_EQ((*all)[0].created, UtcTime{100});

  ASSERT_TRUE(Webhooks().RemoveWebhookEndpoint(a, UtcTime{200}).ok());
  EXPECT_EQ(Webhooks().RemoveWebhookEndpoint(a, UtcTime{300}).code(), StatusCode::kNotFound);
  EXPECT_EQ(Webhooks().RemoveWebhookEndpoint(999, UtcTime{300}).code(), StatusCode::kNotFound);
  all = Webhooks().ListWebhookEndpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, b);
  EXPECT_TRUE(store_->WriteHealth().ok());

  WebhookEndpoint bad;
  auto refused = Webhooks().AddWebhookEndpoint(bad);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("URL"), std::string::npos);
  EXPECT_NE(refused.status().message().find("secret"), std::string::npos);
}

TEST_P(WebhookStoreConformance, FinalizeEnqueuesOneDeliveryPerSubscribedEndpoint) {
  // No endpoint: finalizing records nothing.
  Finalize(SubId(1), "2026-09", UtcTime{5'000'000});
  auto none = Webhooks().ListWebhookDeliveries({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  const int64_t a = AddEndpoint("https://a.example/hook");
  const int64_t other = AddEndpoint("https://other.example/", {"some.other.event"});
  const int64_t removed = AddEndpoint("https://gone.example/");
  ASSERT_TRUE(Webhooks().RemoveWebhookEndpoint(removed, UtcTime{1}).ok());
  const int64_t b = AddEndpoint("https://b.example/hook");
  Finalize(SubId(2), "2026-10", UtcTime{6'000'000});

  auto deliveries = Webhooks().ListWebhookDeliveries({});
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 2u);
  // Newest first.
  const WebhookDelivery& to_b = (*deliveries)[0];
  const WebhookDelivery& to_a = (*deliveries)[1];
  EXPECT_EQ(to_a.endpoint_id, a);
  EXPECT_EQ(to_b.endpoint_id, b);
  EXPECT_NE(to_a.endpoint_id, other);
  EXPECT_EQ(to_a.event_id, to_b.event_id);
  EXPECT_EQ(to_a.url, "https://a.example/hook");
  EXPECT_EQ(to_a.event_type, "invoice.finalized");
  EXPECT_EQ(to_a.subject, SubId(2) + "/2026-10");
  EXPECT_EQ(to_a.status, DeliveryStatus::kPending);
  EXPECT_EQ(to_a.attempts, 0);
  EXPECT_EQ(to_a.created, UtcTime{6'000'000});
  EXPECT_EQ(to_a.next_attempt, UtcTime{6'000'000});

  auto due = Webhooks().LoadDueDeliveries(UtcTime{6'000'000}, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].delivery.id, to_a.id);  // by due time, then ID
  EXPECT_EQ((*due)[0].secret, "secret-of-https://a.example/hook");
  EXPECT_EQ((*due)[0].payload,
            "{\"subscriptionId\":\"" + SubId(2) + "\",\"period\":\"2026-10\"}");
  auto early = Webhooks().LoadDueDeliveries(UtcTime{5'999'999}, 10);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
}

TEST_P(WebhookStoreConformance, AttemptsAreLoggedAndMoveTheDeliveryOn) {
  AddEndpoint("https://a.example/hook");
  Finalize(SubId(1), "2026-10", UtcTime{1'000'000});
  auto listed = Webhooks().ListWebhookDeliveries({});
  ASSERT_TRUE(listed.ok() && listed->size() == 1u);
  const int64_t id = (*listed)[0].id;

  DeliveryAttempt first{1, UtcTime{1'000'000}, 500, "", 1200};
  ASSERT_TRUE(Webhooks()
                  .RecordDeliveryAttempt(id, first, DeliveryStatus::kPending, UtcTime{3'000'000})
                  .ok());
  auto next = Webhooks().NextDueTime();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, UtcTime{3'000'000});
  auto due = Webhooks().LoadDueDeliveries(UtcTime{2'999'999}, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());

  // Attempt numbers must follow on; a pending status needs its next time.
  DeliveryAttempt skipped{3, UtcTime{3'000'000}, 200, "", 1};
  EXPECT_EQ(Webhooks()
                .RecordDeliveryAttempt(id, skipped, DeliveryStatus::kDelivered, std::nullopt)
                .code(),
            StatusCode::kInvalidArgument);
  DeliveryAttempt second{2, UtcTime{3'000'000}, 0, "connection refused", 10};
  EXPECT_EQ(Webhooks()
                .RecordDeliveryAttempt(id, second, DeliveryStatus::kPending, std::nullopt)
                .code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(Webhooks()
                  .RecordDeliveryAttempt(id, second, DeliveryStatus::kPending, UtcTime{7'000'000})
                  .ok());
  DeliveryAttempt third{3, UtcTime{7'000'000}, 204, "", 30};
  ASSERT_TRUE(
      Webhooks().RecordDeliveryAttempt(id, third, DeliveryStatus::kDelivered, std::nullopt).ok());
  EXPECT_TRUE(store_->WriteHealth().ok());

  auto found = Webhooks().FindWebhookDelivery(id);
  ASSERT_TRUE(found.ok() && found->has_value());
  const WebhookDelivery& d = **found;
  EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.round_attempts, 3);
  EXPECT_EQ(d.next_attempt, std::nullopt);
  EXPECT_EQ(d.last_attempt, UtcTime{7'000'000});
  EXPECT_EQ(d.delivered, UtcTime{7'000'000});
  EXPECT_EQ(d.last_result, "HTTP 204");
  auto log = Webhooks().ListDeliveryAttempts(id);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, (std::vector<DeliveryAttempt>{first, second, third}));
  next = Webhooks().NextDueTime();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, std::nullopt);

  // A delivered delivery takes no more attempts, and unknown ones are not found.
  DeliveryAttempt fourth{4, UtcTime{8'000'000}, 200, "", 1};
  EXPECT_EQ(Webhooks()
                .RecordDeliveryAttempt(id, fourth, DeliveryStatus::kDelivered, std::nullopt)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Webhooks()
                .RecordDeliveryAttempt(id + 100, fourth, DeliveryStatus::kDelivered, std::nullopt)
                .code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(store_->WriteHealth().ok());

  auto delivered = Webhooks().ListWebhookDeliveries({DeliveryStatus::kDelivered, 0, 0});
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->size(), 1u);
  auto pending = Webhooks().ListWebhookDeliveries({DeliveryStatus::kPending, 0, 0});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST_P(WebhookStoreConformance, ReplayStartsANewRoundAndKeepsTheLog) {
  AddEndpoint("https://a.example/hook");
  Finalize(SubId(1), "2026-10", UtcTime{1'000'000});
  const int64_t id = (*Webhooks().ListWebhookDeliveries({}))[0].id;
  DeliveryAttempt first{1, UtcTime{1'000'000}, 503, "", 1};
  ASSERT_TRUE(
      Webhooks().RecordDeliveryAttempt(id, first, DeliveryStatus::kFailed, std::nullopt).ok());
  auto failed = Webhooks().FindWebhookDelivery(id);
  ASSERT_TRUE(failed.ok() && failed->has_value());
  EXPECT_EQ((*failed)->status, DeliveryStatus::kFailed);

  ASSERT_TRUE(Webhooks().ReplayWebhookDelivery(id, UtcTime{9'000'000}).ok());
  auto replayed = Webhooks().FindWebhookDelivery(id);
  ASSERT_TRUE(replayed.ok() && replayed->has_value());
  EXPECT_EQ((*replayed)->status, DeliveryStatus::kPending);
  EXPECT_EQ((*replayed)->attempts, 1);
  EXPECT_EQ((*replayed)->round_attempts, 0);
  EXPECT_EQ((*replayed)->round_started, UtcTime{9'000'000});
  EXPECT_EQ((*replayed)->next_attempt, UtcTime{9'000'000});
  auto due = Webhooks().LoadDueDeliveries(UtcTime{9'000'000}, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);

  DeliveryAttempt second{2, UtcTime{9'000'000}, 200, "", 1};
  ASSERT_TRUE(
      Webhooks().RecordDeliveryAttempt(id, second, DeliveryStatus::kDelivered, std::nullopt).ok());
  auto log = Webhooks().ListDeliveryAttempts(id);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, (std::vector<DeliveryAttempt>{first, second}));
  // A delivered one can be replayed too (the receiver lost it).
  ASSERT_TRUE(Webhooks().ReplayWebhookDelivery(id, UtcTime{10'000'000}).ok());
  EXPECT_EQ(Webhooks().ReplayWebhookDelivery(id + 100, UtcTime{1}).code(),
            StatusCode::kNotFound);
}

TEST_P(WebhookStoreConformance, RemovingAnEndpointFailsItsPendingDeliveries) {
  const int64_t a = AddEndpoint("https://a.example/hook");
  Finalize(SubId(1), "2026-10", UtcTime{1'000'000});
  const int64_t id = (*Webhooks().ListWebhookDeliveries({}))[0].id;
  ASSERT_TRUE(Webhooks().RemoveWebhookEndpoint(a, UtcTime{2'000'000}).ok());
  auto d = Webhooks().FindWebhookDelivery(id);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->status, DeliveryStatus::kFailed);
  EXPECT_EQ((*d)->last_result, "endpoint removed");
  auto due = Webhooks().LoadDueDeliveries(UtcTime{9'000'000}, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  Status replay = Webhooks().ReplayWebhookDelivery(id, UtcTime{3'000'000});
  EXPECT_EQ(replay.code(), StatusCode::kInvalidArgument) << replay.ToString();
  EXPECT_TRUE(store_->WriteHealth().ok());
}

// The outbox is written with the finalize: a finalize whose commit fails leaves neither.
TEST_P(WebhookStoreConformance, FailedFinalizeCommitEnqueuesNothing) {
  if (GetParam()) GTEST_SKIP() << "one store object per test step";
  AddEndpoint("https://a.example/hook");
  StoredInvoice inv;
  inv.subscription_id = SubId(1);
  inv.period = "2026-10";
  inv.time_zone = "UTC";
  inv.offer_durable_id = "O";
  inv.currency = "USD";
  inv.total = "1.00";
  inv.watermark_seq = 1;
  inv.json = "{}";
  ASSERT_TRUE(Billing().SaveDraftInvoices({inv}).ok());
  ASSERT_TRUE(FailNextCommitsForTesting(*store_, 1).ok());
  EXPECT_FALSE(Billing().FinalizeInvoice(SubId(1), "2026-10", 1, UtcTime{5}).ok());
  Open();  // a failed commit stops writes until the store is reopened
  auto listed = Webhooks().ListWebhookDeliveries({});
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto found = Billing().FindInvoice(SubId(1), "2026-10");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->status, InvoiceStatus::kDraft);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, WebhookStoreConformance, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("ReopenEachStep")
                                              : std::string("SameStore");
                         });

}  // namespace
}  // namespace tally::store::testing
