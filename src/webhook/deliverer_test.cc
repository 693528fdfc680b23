// The deliverer over a real SQLite store, a fake clock and a scripted poster.
#include "webhook/deliverer.h"

#include <gtest/gtest.h>

#include <deque>

#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"
#include "webhook/signature.h"

namespace tally::webhook {
namespace {

using store::DeliveryStatus;
using store::testing::SubId;
using store::testing::TempDir;

constexpr int64_t kSecond = kMicrosPerSecond;

// Answers with the scripted results in order (then 200), recording every request.
class ScriptedPoster final : public Poster {
 public:
  struct Request {
    std::string url;
    api::HeaderList headers;
    std::string body;
    std::string Header(std::string_view name) const {
      for (const auto& [n, v] : headers) {
        if (n == name) return v;
      }
      return "";
    }
  };
  std::deque<PostResult> script;
  std::vector<Request> requests;

  PostResult Post(const std::string& url, const api::HeaderList& headers,
                  std::string_view body) override {
    requests.push_back({url, headers, std::string(body)});
    if (script.empty()) return {200, ""};
    PostResult r = script.front();
    script.pop_front();
    return r;
  }
};

class DelivererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteStoreOptions o;
    o.data_dir = dir_.path();
    o.create_if_missing = true;
    o.clock = &clock_;
    auto s = store::OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    options_.retry.base_us = 10 * kSecond;
    options_.retry.cap_us = 60 * kSecond;
    options_.retry.max_attempts = 4;
    options_.retry.max_age_us = kMicrosPerDay;
    options_.seed = 7;
  }

  store::WebhookStore& Webhooks() { return *store_->Webhooks(); }

  void AddEndpoint(const std::string& url) {
    store::WebhookEndpoint e{0, url, "whsec_0123456789abcdef", {"invoice.finalized"},
                             clock_.Now(), std::nullopt};
    ASSERT_TRUE(Webhooks().AddWebhookEndpoint(e).ok());
  }

  void FinalizeInvoice() {
    store::StoredInvoice inv;
    inv.subscription_id = SubId(1);
    inv.period = "2026-10";
    inv.time_zone = "UTC";
    inv.offer_durable_id = "O";
    inv.currency = "USD";
    inv.total = "18.58";
    inv.watermark_seq = 1;
    inv.json = kInvoiceJson;
    ASSERT_TRUE(store_->Billing()->SaveDraftInvoices({inv}).ok());
    ASSERT_TRUE(store_->Billing()->FinalizeInvoice(SubId(1), "2026-10", 1, clock_.Now()).ok());
  }

  static constexpr const char* kInvoiceJson = "{\"period\":\"2026-10\",\"total\":\"18.58\"}";
  TempDir dir_;
  FakeClockForTesting clock_{UtcTime{1'800'000'000 * kSecond}};
  std::unique_ptr<store::UsageStore> store_;
  ScriptedPoster poster_;
  DelivererOptions options_;
};

TEST_F(DelivererTest, FailsTwiceThenIsAcknowledged) {
  AddEndpoint("http://127.0.0.1:9/hook");
  FinalizeInvoice();
  poster_.script = {{500, ""}, {0, "connection refused"}, {204, ""}};
  std::vector<AttemptReport> reports;
  options_.on_attempt = [&](const AttemptReport& r) { reports.push_back(r); };
  Deliverer deliverer(Webhooks(), poster_, clock_, options_);

  auto pass = deliverer.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->attempted, 1u);
  EXPECT_EQ(pass->retrying, 1u);
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_TRUE(reports[0].next_attempt.has_value());
  const int64_t first_delay = reports[0].next_attempt->micros - clock_.Now().micros;
  EXPECT_GE(first_delay, 5 * kSecond);
  EXPECT_LE(first_delay, 10 * kSecond);

  // Nothing is due before the next attempt.
  clock_.Advance(first_delay - 1);
  pass = deliverer.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->attempted, 0u);

  // DeliverUntilIdle sleeps (here: advances the fake clock) until each retry is due.
  std::vector<int64_t> sleeps;
  auto rest = deliverer.DeliverUntilIdle(UtcTime{clock_.Now().micros + 3600 * kSecond},
                                         [&](int64_t us) {
                                           sleeps.push_back(us);
                                           clock_.Advance(us);
                                         });
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->attempted, 2u);
  EXPECT_EQ(rest->delivered, 1u);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], 1);
  EXPECT_GE(sleeps[1], 10 * kSecond);  // the second delay is within [10 s, 20 s]
  EXPECT_LE(sleeps[1], 20 * kSecond);

  ASSERT_EQ(poster_.requests.size(), 3u);
  auto deliveries = Webhooks().ListWebhookDeliveries({});
  ASSERT_TRUE(deliveries.ok() && deliveries->size() == 1u);
  const store::WebhookDelivery& d = (*deliveries)[0];
  EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d.attempts, 3);
  auto log = Webhooks().ListDeliveryAttempts(d.id);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].status_code, 500);
  EXPECT_EQ((*log)[1].status_code, 0);
  EXPECT_EQ((*log)[1].error, "connection refused");
  EXPECT_EQ((*log)[2].status_code, 204);

  // Every request carries the payload, signed at its own time, and the same delivery ID.
  for (size_t i = 0; i < poster_.requests.size(); ++i) {
    const auto& r = poster_.requests[i];
    EXPECT_EQ(r.url, "http://127.0.0.1:9/hook");
    EXPECT_EQ(r.body, kInvoiceJson);
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    EXPECT_EQ(r.Header("Tally-Event"), "invoice.finalized");
    EXPECT_EQ(r.Header("Tally-Delivery"), std::to_string(d.id));
    EXPECT_EQ(r.Header("Tally-Attempt"), std::to_string(i + 1));
    const int64_t t = (*log)[i].at.micros / kSecond;
    EXPECT_EQ(r.Header("Tally-Signature"),
              FormatSignatureHeader("whsec_0123456789abcdef", t, kInvoiceJson));
  }
}

TEST_F(DelivererTest, GivesUpAfterMaxAttemptsAndReplayDeliversAgain) {
  AddEndpoint("http://127.0.0.1:9/hook");
  FinalizeInvoice();
  poster_.script = {{500, ""}, {502, ""}, {503, ""}, {500, ""}};
  Deliverer deliverer(Webhooks(), poster_, clock_, options_);
  auto pass = deliverer.DeliverUntilIdle(UtcTime{clock_.Now().micros + 3600 * kSecond},
                                         [&](int64_t us) { clock_.Advance(us); });
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->attempted, 4u);
  EXPECT_EQ(pass->failed, 1u);
  auto failed = Webhooks().ListWebhookDeliveries({DeliveryStatus::kFailed, 0, 0});
  ASSERT_TRUE(failed.ok() && failed->size() == 1u);
  const int64_t id = (*failed)[0].id;
  EXPECT_EQ((*failed)[0].last_result, "HTTP 500");

  // The operator replays it: a new round, and this time the endpoint answers.
  ASSERT_TRUE(Webhooks().ReplayWebhookDelivery(id, clock_.Now()).ok());
  pass = deliverer.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->delivered, 1u);
  auto d = Webhooks().FindWebhookDelivery(id);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->status, DeliveryStatus::kDelivered);
  EXPECT_EQ((*d)->attempts, 5);
  EXPECT_EQ((*d)->round_attempts, 1);
  EXPECT_EQ(poster_.requests.back().Header("Tally-Attempt"), "5");
}

TEST_F(DelivererTest, StopsWaitingAtTheDeadline) {
  AddEndpoint("http://127.0.0.1:9/hook");
  FinalizeInvoice();
  poster_.script = {{500, ""}};
  Deliverer deliverer(Webhooks(), poster_, clock_, options_);
  int sleeps = 0;
  // The retry is due 5-10 s later, after the 1 s deadline.
  auto pass = deliverer.DeliverUntilIdle(UtcTime{clock_.Now().micros + kSecond},
                                         [&](int64_t) { ++sleeps; });
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->attempted, 1u);
  EXPECT_EQ(sleeps, 0);
  auto next = deliverer.NextDueTime();
  ASSERT_TRUE(next.ok() && next->has_value());
}

}  // namespace
}  // namespace tally::webhook
