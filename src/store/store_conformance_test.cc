// The store conformance suite: the behaviour every UsageStore backend must show, run against
// every factory in AllStoreFactories() (including the mode that reopens between steps).
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "domain/meter.h"
#include "store/store_test_util.h"

namespace tally::store::testing {
namespace {

using domain::Granularity;

constexpr int64_t kDay0 = 20000 * 24;  // an hour at UTC midnight (2024-10-04)
const char kBuiltinMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = Open(); }

  std::unique_ptr<UsageStore> Open() {
    auto s = GetParam().open(dir_.path(), &clock_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  AppendOutcome Append(const std::vector<domain::UsageRecord>& records, ReportedTime now) {
    auto r = store_->AppendUsage(records, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : AppendOutcome{};
  }

  // Every row of a query, page by page.
  std::vector<domain::UsageAggregate> All(AggregateQuery q, size_t page_size = 1000) {
    q.limit = page_size;
    std::vector<domain::UsageAggregate> out;
    for (int guard = 0; guard < 100000; ++guard) {
      auto page = store_->AggregateUsage(q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(page->rows.size(), page_size);
      for (auto& r : page->rows) out.push_back(r);
      // The rows view text their page keeps alive; keep it for the test's lifetime.
      kept_text_.push_back(page->text);
      if (!page->has_more) break;
      EXPECT_FALSE(page->rows.empty());
      q.after = page->rows.back().key.ToKey();
      q.as_of_seq = page->as_of_seq;
    }
    return out;
  }

  static AggregateQuery Query(std::vector<std::string> subs, ReportedTime from, ReportedTime to,
                              Granularity g = Granularity::kHourly) {
    AggregateQuery q;
    q.subscription_ids = std::move(subs);
    q.reported_from = from;
    q.reported_to = to;
    q.granularity = g;
    return q;
  }

  TempDir dir_;
  FakeClockForTesting clock_{UtcTime{(kDay0 + 100) * kMicrosPerHour}};
  std::unique_ptr<UsageStore> store_;
  std::vector<std::shared_ptr<const void>> kept_text_;
};

TEST_P(StoreConformance, AppendedRecordsAggregateByHour) {
  std::string sub = SubId(1);
  auto out = Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "2"),
                     MakeRecord("b", sub, kBuiltinMeter, kDay0, "3", "vm2"),
                     MakeRecord("c", sub, kBuiltinMeter, kDay0 + 1, "4")},
                    Reported(kDay0 + 2));
  EXPECT_EQ(out.accepted, 3u);
  EXPECT_EQ(out.duplicates, 0u);
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 3)));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].usage_start.micros, kDay0 * kMicrosPerHour);
  EXPECT_EQ(rows[0].usage_end.micros, (kDay0 + 1) * kMicrosPerHour);
  EXPECT_EQ(rows[0].quantity.ToString(), "2");
  EXPECT_EQ(rows[1].quantity.ToString(), "3");
  EXPECT_NE(rows[0].instance_data, rows[1].instance_data);
  EXPECT_NE(rows[0].instance_data.find("virtualMachines/vm1"), std::string::npos);
  EXPECT_EQ(rows[2].usage_start.micros, (kDay0 + 1) * kMicrosPerHour);
  EXPECT_EQ(rows[2].subscription_id, sub);
  EXPECT_EQ(store_->GetStats().records, 3u);
}

TEST_P(StoreConformance, DuplicateBatchChangesNothing) {
  std::string sub = SubId(1);
  std::vector<domain::UsageRecord> batch = {MakeRecord("a", sub, kBuiltinMeter, kDay0, "2"),
                                            MakeRecord("b", sub, kBuiltinMeter, kDay0, "3")};
  EXPECT_EQ(Append(batch, Reported(kDay0 + 1)).accepted, 2u);
  auto again = Append(batch, Reported(kDay0 + 2));
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(again.duplicates, 2u);
  EXPECT_TRUE(again.conflicts.empty());
  EXPECT_EQ(store_->GetStats().records, 2u);
  // Meter case is not part of the content.
  auto lower = batch;
  lower[0].meter_id = AsciiLower(kBuiltinMeter);
  EXPECT_EQ(Append({lower[0]}, Reported(kDay0 + 2)).duplicates, 1u);
  // The duplicate did not move the record's reported time.
  EXPECT_EQ(All(Query({sub}, Reported(kDay0 + 2), Reported(kDay0 + 3))).size(), 0u);
}

TEST_P(StoreConformance, ConflictRefusesWholeBatch) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "2")}, Reported(kDay0 + 1));
  auto out = Append({MakeRecord("new", sub, kBuiltinMeter, kDay0, "1"),
                     MakeRecord("a", sub, kBuiltinMeter, kDay0, "2.5")},
                    Reported(kDay0 + 1));
  EXPECT_EQ(out.accepted, 0u);
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].index, 1u);
  EXPECT_EQ(out.conflicts[0].record_id, "a");
  EXPECT_EQ(store_->GetStats().records, 1u);
  auto records = store_->ListRecords(0, 10);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].record.quantity.ToString(), "2");
}

TEST_P(StoreConformance, RepeatsWithinBatchAreDuplicatesOrConflicts) {
  std::string sub = SubId(1);
  auto out = Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "2"),
                     MakeRecord("a", sub, kBuiltinMeter, kDay0, "2")},
                    Reported(kDay0 + 1));
  EXPECT_EQ(out.accepted, 1u);
  EXPECT_EQ(out.duplicates, 1u);
  auto bad = Append({MakeRecord("b", sub, kBuiltinMeter, kDay0, "2"),
                     MakeRecord("b", sub, kBuiltinMeter, kDay0, "3")},
                    Reported(kDay0 + 1));
  EXPECT_EQ(bad.accepted, 0u);
  ASSERT_EQ(bad.conflicts.size(), 1u);
  EXPECT_EQ(bad.conflicts[0].index, 1u);
  EXPECT_EQ(store_->GetStats().records, 1u);
}

TEST_P(StoreConformance, UnknownSubscriptionAndMeterAreRegistered) {
  std::string sub = SubId(7);
  Append({MakeRecord("a", sub, "Custom.Meter-1", kDay0, "1")}, Reported(kDay0 + 1));
  auto found = store_->FindSubscription(sub);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, domain::SubscriptionState::kUnregistered);
  EXPECT_EQ((*found)->kind, domain::SubscriptionKind::kTenant);
  auto meters = store_->ListMeters();
  ASSERT_TRUE(meters.ok());
  bool seen = false;
  for (const auto& m : *meters) {
    if (m.id == "Custom.Meter-1") {
      seen = true;
      EXPECT_EQ(m.source, domain::MeterSource::kUnknown);
      EXPECT_EQ(m.name, "");
    }
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(meters->size(), domain::MeterCatalog::Builtin().meters().size() + 1);
}

TEST_P(StoreConformance, DirectTenantIdsFollowEverySubscriptionChange) {
  const std::string default_id = store_->DefaultProvider()->id;
  auto tenants_of = [&](const std::string& provider) {
    auto ids = store_->DirectTenantIds(provider);
    EXPECT_TRUE(ids.ok()) << ids.status().ToString();
    return ids.ok() ? **ids : std::vector<std::string>{};
  };
  EXPECT_EQ(tenants_of(default_id), std::vector<std::string>{});
  // First seen in usage: a tenant of the Default Provider.
  Append({MakeRecord("a", SubId(9), "Custom.Meter-1", kDay0, "1")}, Reported(kDay0 + 1));
  Append({MakeRecord("b", SubId(3), "Custom.Meter-1", kDay0, "1")}, Reported(kDay0 + 1));
  const auto before = store_->DirectTenantIds(default_id);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(**before, (std::vector<std::string>{SubId(3), SubId(9)}));

  domain::Subscription delegated;
  delegated.id = SubId(0xab);
  delegated.kind = domain::SubscriptionKind::kProvider;
  ASSERT_TRUE(store_->SaveSubscription(delegated).ok());
  auto moved = store_->FindSubscription(SubId(9));
  ASSERT_TRUE(moved.ok() && moved->has_value());
  domain::Subscription tenant = **moved;
  tenant.provider_id = AsciiUpper(SubId(0xab));  // IDs are matched case-insensitively
  ASSERT_TRUE(store_->SaveSubscription(tenant).ok());

  EXPECT_EQ(tenants_of(default_id), (std::vector<std::string>{SubId(3), SubId(0xab)}));
  EXPECT_EQ(tenants_of(AsciiUpper(SubId(0xab))), std::vector<std::string>{SubId(9)});
  EXPECT_EQ(tenants_of(SubId(3)), std::vector<std::string>{});
  // A list handed out earlier never changes.
  EXPECT_EQ(**before, (std::vector<std::string>{SubId(3), SubId(9)}));
}

TEST_P(StoreConformance, CustomersGroupSubscriptionsAndOwnEachAtMostOnce) {
  domain::Customer contoso;
  contoso.id = AsciiUpper(SubId(0xc1));
  contoso.name = "Contoso";
  contoso.subscription_ids = {SubId(2), AsciiUpper(SubId(0xa1))};
  contoso.created = UtcTime{77};
  ASSERT_TRUE(store_->SaveCustomer(contoso).ok());
  domain::Customer fabrikam;
  fabrikam.id = SubId(0xf1);
  fabrikam.name = "Fabrikam";
  fabrikam.subscription_ids = {SubId(3)};
  ASSERT_TRUE(store_->SaveCustomer(fabrikam).ok());

  // A subscription of another customer is refused, the whole change with it, and the store
  // goes on accepting writes.
  domain::Customer steal = fabrikam;
  steal.subscription_ids = {SubId(3), SubId(2)};
  Status refused = store_->SaveCustomer(steal);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find(SubId(2)), std::string::npos) << refused.ToString();
  EXPECT_TRUE(store_->WriteHealth().ok());
  domain::Customer bad;
  bad.id = "not-a-guid";
  EXPECT_EQ(store_->SaveCustomer(bad).code(), StatusCode::kInvalidArgument);

  auto found = store_->FindCustomer(SubId(0xc1));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, SubId(0xc1));
  EXPECT_EQ((*found)->name, "Contoso");
  EXPECT_EQ((*found)->created, UtcTime{77});
  EXPECT_EQ((*found)->subscription_ids, (std::vector<std::string>{SubId(2), SubId(0xa1)}));
  auto other = store_->FindCustomer(SubId(0xf1));
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->subscription_ids, std::vector<std::string>{SubId(3)});

  // Replacing a customer replaces its list, which frees a subscription for another.
  contoso.subscription_ids = {SubId(0xa1)};
  ASSERT_TRUE(store_->SaveCustomer(contoso).ok());
  ASSERT_TRUE(store_->SaveCustomer(steal).ok());
  auto all = store_->ListCustomers();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].subscription_ids, std::vector<std::string>{SubId(0xa1)});
  EXPECT_EQ((*all)[1].subscription_ids, (std::vector<std::string>{SubId(2), SubId(3)}));
  EXPECT_FALSE(store_->FindCustomer(SubId(0xc2))->has_value());
}

TEST_P(StoreConformance, MetersMatchCaseInsensitivelyAndUseCanonicalSpelling) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, "f271a8a388c44d93956a063e1d2fa80b", kDay0, "1"),
          MakeRecord("b", sub, "myMeter", kDay0, "1"),
          MakeRecord("c", sub, "MYMETER", kDay0, "2")},
         Reported(kDay0 + 1));
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 2)));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].meter_id, kBuiltinMeter);
  EXPECT_EQ(rows[1].meter_id, "myMeter");
  EXPECT_EQ(rows[1].key.meter_key, "MYMETER");
  EXPECT_EQ(rows[1].quantity.ToString(), "3");
  auto records = store_->ListRecords(0, 10);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[0].record.meter_id, kBuiltinMeter);
  EXPECT_EQ((*records)[2].record.meter_id, "myMeter");

  // Naming the unknown meter with another case changes how it is spelled from now on.
  domain::Meter named;
  named.id = "MyMeter";
  named.name = "My meter";
  named.unit = "things";
  ASSERT_TRUE(store_->SaveMeter(named).ok());
  rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 2)));
  EXPECT_EQ(rows[1].meter_id, "MyMeter");
}

TEST_P(StoreConformance, ReportedWindowIsInclusiveExclusive) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "1")}, Reported(kDay0 + 1));
  Append({MakeRecord("b", sub, kBuiltinMeter, kDay0, "10")}, Reported(kDay0 + 2, -1));
  Append({MakeRecord("c", sub, kBuiltinMeter, kDay0, "100")}, Reported(kDay0 + 2));
  // An operator import with an explicit reported time.
  auto late = MakeRecord("d", sub, kBuiltinMeter, kDay0, "1000");
  late.reported_time = Reported(kDay0 + 5);
  Append({late}, Reported(kDay0 + 2));
  auto sum = [&](int64_t from, int64_t to) {
    auto rows = All(Query({sub}, Reported(from), Reported(to)));
    return rows.empty() ? std::string("none") : rows[0].quantity.ToString();
  };
  EXPECT_EQ(sum(kDay0 + 1, kDay0 + 2), "11");
  EXPECT_EQ(sum(kDay0 + 2, kDay0 + 3), "100");
  EXPECT_EQ(sum(kDay0, kDay0 + 1), "none");
  EXPECT_EQ(sum(kDay0 + 5, kDay0 + 6), "1000");
  EXPECT_EQ(sum(kDay0, kDay0 + 24), "1111");
}

TEST_P(StoreConformance, DailyIsExactSumOfHours) {
  std::string sub = SubId(1);
  std::vector<domain::UsageRecord> batch;
  for (int h = 0; h < 48; ++h) {
    batch.push_back(MakeRecord("r" + std::to_string(h), sub, kBuiltinMeter, kDay0 + h,
                               "0.1" + std::to_string(h)));
  }
  Append(batch, Reported(kDay0 + 49));
  auto hourly = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 72)));
  auto daily = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 72), Granularity::kDaily));
  ASSERT_EQ(hourly.size(), 48u);
  ASSERT_EQ(daily.size(), 2u);
  Decimal day[2];
  for (const auto& r : hourly) {
    day[(r.usage_start.micros / kMicrosPerHour - kDay0) / 24] += r.quantity;
  }
  EXPECT_EQ(daily[0].quantity, day[0]);
  EXPECT_EQ(daily[1].quantity, day[1]);
  EXPECT_EQ(daily[0].usage_start.micros, kDay0 * kMicrosPerHour);
  EXPECT_EQ(daily[0].usage_end.micros, (kDay0 + 24) * kMicrosPerHour);
  EXPECT_EQ(daily[1].key.usage_start_hours, kDay0 + 24);
}

TEST_P(StoreConformance, SumsAreExactDecimals) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "0.1"),
          MakeRecord("b", sub, kBuiltinMeter, kDay0, "0.2"),
          MakeRecord("c", sub, kBuiltinMeter, kDay0, "0.000000000000001", "vm2"),
          MakeRecord("d", sub, kBuiltinMeter, kDay0, "0.000000000000002", "vm2"),
          MakeRecord("e", sub, kBuiltinMeter, kDay0, "123456789012345.123456789012345", "vm3"),
          MakeRecord("f", sub, kBuiltinMeter, kDay0, "876543210987654.876543210987655", "vm3"),
          MakeRecord("g", sub, kBuiltinMeter, kDay0, "99999999999999999999", "vm4"),
          MakeRecord("h", sub, kBuiltinMeter, kDay0, "1", "vm4")},
         Reported(kDay0 + 1));
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 2)));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].quantity.ToString(), "0.3");
  EXPECT_EQ(rows[1].quantity.ToString(), "0.000000000000003");
  EXPECT_EQ(rows[2].quantity.ToString(), "1000000000000000");
  EXPECT_EQ(rows[3].quantity.ToString(), "100000000000000000000");
  auto records = store_->ListRecords(0, 10);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[4].record.quantity.ToString(), "123456789012345.123456789012345");
}

TEST_P(StoreConformance, PagingReturnsEveryRowOnceInKeyOrder) {
  std::vector<domain::UsageRecord> batch;
  int n = 0;
  for (int s = 3; s >= 1; --s) {
    for (int h = 0; h < 30; ++h) {
      for (const char* meter : {"zeta", kBuiltinMeter, "alpha"}) {
        for (int vm = 0; vm < 3; ++vm) {
          batch.push_back(MakeRecord("r" + std::to_string(n++), SubId(s), meter, kDay0 + h,
                                     std::to_string(vm + 1), "vm" + std::to_string(vm)));
        }
      }
    }
  }
  Append(batch, Reported(kDay0 + 40));
  for (Granularity g : {Granularity::kHourly, Granularity::kDaily}) {
    auto q = Query({SubId(2), SubId(1), SubId(3), SubId(9)}, Reported(kDay0),
                   Reported(kDay0 + 48), g);
    auto whole = All(q, 100000);
    EXPECT_EQ(whole.size(), g == Granularity::kHourly ? 3u * 30 * 9 : 3u * 2 * 9);
    // Reopening before every page makes small pages slow; that mode pages in larger steps.
    std::vector<size_t> pages = GetParam().reopens_between_steps ? std::vector<size_t>{41, 97}
                                                                 : std::vector<size_t>{1, 7, 9, 50};
    for (size_t page : pages) {
      auto paged = All(q, page);
      ASSERT_EQ(paged.size(), whole.size()) << "page " << page;
      for (size_t i = 0; i < paged.size(); ++i) {
        EXPECT_EQ(paged[i].key, whole[i].key);
        EXPECT_EQ(paged[i].quantity, whole[i].quantity);
        if (i > 0) {
          EXPECT_LT(paged[i - 1].key, paged[i].key);
        }
      }
    }
  }
}

TEST_P(StoreConformance, AsOfSeqExcludesLaterRecords) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "1"),
          MakeRecord("b", sub, kBuiltinMeter, kDay0 + 1, "1")},
         Reported(kDay0 + 2));
  auto q = Query({sub}, Reported(kDay0), Reported(kDay0 + 24));
  q.limit = 1;
  auto first = store_->AggregateUsage(q);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_more);
  uint64_t as_of = first->as_of_seq;
  EXPECT_EQ(as_of, 2u);
  Append({MakeRecord("c", sub, kBuiltinMeter, kDay0, "5"),
          MakeRecord("d", sub, kBuiltinMeter, kDay0 + 2, "5")},
         Reported(kDay0 + 3));
  q.after = first->rows.back().key.ToKey();
  q.as_of_seq = as_of;
  q.limit = 10;
  auto second = store_->AggregateUsage(q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->rows.size(), 1u);
  EXPECT_FALSE(second->has_more);
  EXPECT_EQ(second->rows[0].quantity.ToString(), "1");
  q.after.reset();
  q.as_of_seq = 0;
  auto latest = store_->AggregateUsage(q);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->as_of_seq, 4u);
  EXPECT_EQ(latest->rows.size(), 3u);
  EXPECT_EQ(latest->rows[0].quantity.ToString(), "6");
}

TEST_P(StoreConformance, MetadataRoundTrips) {
  auto provider = store_->DefaultProvider();
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ(provider->kind, domain::SubscriptionKind::kProvider);
  EXPECT_EQ(provider->display_name, "Default Provider Subscription");
  EXPECT_TRUE(IsGuid(provider->id));

  domain::Subscription s;
  s.id = SubId(42);
  s.display_name = "Contoso";
  s.owner = "ops@contoso";
  s.offer = "offer1";
  s.created = UtcTime{123};
  ASSERT_TRUE(store_->SaveSubscription(s).ok());
  s.state = domain::SubscriptionState::kDisabled;
  ASSERT_TRUE(store_->SaveSubscription(s).ok());
  auto found = store_->FindSubscription(s.id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, s);
  EXPECT_FALSE(store_->FindSubscription(SubId(43))->has_value());
  EXPECT_EQ(store_->ListSubscriptions()->size(), 2u);
  domain::Subscription bad;
  bad.id = "nope";
  EXPECT_EQ(store_->SaveSubscription(bad).code(), StatusCode::kInvalidArgument);

  domain::Meter builtin = domain::MeterCatalog::Builtin().meters()[0];
  builtin.name = "renamed";
  EXPECT_EQ(store_->SaveMeter(builtin).code(), StatusCode::kInvalidArgument);
  domain::Meter custom;
  custom.id = "Gpu.Hours";
  custom.name = "GPU hours";
  custom.unit = "hours";
  custom.family = "Compute";
  ASSERT_TRUE(store_->SaveMeter(custom).ok());
  auto meters = store_->ListMeters();
  ASSERT_TRUE(meters.ok());
  EXPECT_EQ(meters->back().id, "Gpu.Hours");
  EXPECT_EQ(meters->back().source, domain::MeterSource::kCustom);

  domain::ApiKey key;
  key.key_id = "0123456789ab";
  key.role = domain::Role::kTenant;
  key.subscriptions = {SubId(42), SubId(43)};
  key.label = "tenant key";
  key.secret_hash = std::string(64, 'a');
  key.created = UtcTime{5};
  ASSERT_TRUE(store_->SaveApiKey(key).ok());
  auto k = store_->FindApiKey(key.key_id);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(k->has_value());
  EXPECT_EQ(**k, key);
  EXPECT_EQ(store_->RevokeApiKey("missing", UtcTime{9}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->RevokeApiKey(key.key_id, UtcTime{9}).ok());
  ASSERT_TRUE(store_->RevokeApiKey(key.key_id, UtcTime{10}).ok());
  auto revoked = store_->FindApiKey(key.key_id);
  ASSERT_TRUE(revoked.ok() && revoked->has_value());
  EXPECT_EQ((*revoked)->revoked, UtcTime{9});
  EXPECT_EQ(store_->ListApiKeys()->size(), 1u);

  // Everything survives a reopen, and the default provider stays the same.
  std::string provider_id = provider->id;
  store_.reset();
  store_ = Open();
  EXPECT_EQ(store_->DefaultProvider()->id, provider_id);
  EXPECT_EQ(**store_->FindSubscription(s.id), s);
  EXPECT_EQ((*store_->FindApiKey(key.key_id))->revoked, UtcTime{9});
  EXPECT_EQ(store_->ListMeters()->back().name, "GPU hours");
}

TEST_P(StoreConformance, FailedCommitStopsWritesUntilReopen) {
  std::string sub = SubId(1);
  Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "1")}, Reported(kDay0 + 1));
  ASSERT_TRUE(GetParam().fail_next_commits(*store_, 1).ok());
  auto failed = store_->AppendUsage({MakeRecord("b", sub, kBuiltinMeter, kDay0, "2")},
                                    Reported(kDay0 + 1));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("store refuses writes after a failed commit"),
            std::string::npos);
  if (!GetParam().reopens_between_steps) {
    EXPECT_EQ(store_->WriteHealth().code(), StatusCode::kUnavailable);
    auto refused = store_->AppendUsage({MakeRecord("c", sub, kBuiltinMeter, kDay0, "3")},
                                       Reported(kDay0 + 1));
    EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
    domain::Subscription s;
    s.id = SubId(5);
    EXPECT_EQ(store_->SaveSubscription(s).code(), StatusCode::kUnavailable);
    // Reads still work.
    EXPECT_EQ(All(Query({sub}, Reported(kDay0), Reported(kDay0 + 2))).size(), 1u);
  }
  store_.reset();
  store_ = Open();
  EXPECT_TRUE(store_->WriteHealth().ok());
  EXPECT_EQ(store_->GetStats().records, 1u);
  auto out = Append({MakeRecord("a", sub, kBuiltinMeter, kDay0, "1"),
                     MakeRecord("b", sub, kBuiltinMeter, kDay0, "2")},
                    Reported(kDay0 + 1));
  EXPECT_EQ(out.accepted, 1u);
  EXPECT_EQ(out.duplicates, 1u);
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 2)));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].quantity.ToString(), "3");
}

TEST_P(StoreConformance, ConcurrentAppendsStoreEachRecordOnce) {
  if (GetParam().reopens_between_steps) GTEST_SKIP() << "one store object per test step";
  constexpr int kThreads = 4, kBatches = 25, kPerBatch = 40;
  std::string sub = SubId(1);
  std::vector<std::thread> threads;
  std::atomic<size_t> accepted{0}, duplicates{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<domain::UsageRecord> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          // Threads overlap: thread t and t+1 send half of the same records.
          int id = ((t / 2) * kBatches + b) * kPerBatch + i;
          batch.push_back(MakeRecord("r" + std::to_string(id), sub, kBuiltinMeter,
                                     kDay0 + id % 24, "1", "vm" + std::to_string(id % 5)));
        }
        auto out = store_->AppendUsage(batch, Reported(kDay0 + 30));
        ASSERT_TRUE(out.ok()) << out.status().ToString();
        accepted += out->accepted;
        duplicates += out->duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  const size_t unique = kThreads / 2 * kBatches * kPerBatch;
  EXPECT_EQ(accepted.load(), unique);
  EXPECT_EQ(duplicates.load(), unique);
  auto records = store_->ListRecords(0, 100000);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), unique);
  std::set<std::string> ids;
  for (size_t i = 0; i < records->size(); ++i) {
    EXPECT_EQ((*records)[i].seq, i + 1);
    ids.insert((*records)[i].record.record_id);
  }
  EXPECT_EQ(ids.size(), unique);
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 48), Granularity::kDaily));
  Decimal total;
  for (const auto& r : rows) total += r.quantity;
  EXPECT_EQ(total, Decimal::FromInt(static_cast<int64_t>(unique)));
}

TEST_P(StoreConformance, RecoversAfterProcessDiesWithoutShutdown) {
  std::string sub = SubId(1);
  store_.reset();  // the child process owns the directory
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto child = GetParam().open(dir_.path(), &clock_);
    if (!child.ok()) _exit(2);
    for (int b = 0; b < 5; ++b) {
      std::vector<domain::UsageRecord> batch;
      for (int i = 0; i < 20; ++i) {
        batch.push_back(MakeRecord("r" + std::to_string(b * 20 + i), sub, "Crash.Meter",
                                   kDay0 + i, "1.5"));
      }
      auto out = (*child)->AppendUsage(batch, Reported(kDay0 + 30));
      if (!out.ok() || out->accepted != 20) _exit(3);
    }
    // No destructors, no checkpoint, no unlock: as if the process had been killed.
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  store_ = Open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->GetStats().records, 100u);
  EXPECT_EQ(store_->GetStats().last_seq, 100u);
  std::vector<domain::UsageRecord> again;
  for (int i = 0; i < 100; ++i) {
    again.push_back(MakeRecord("r" + std::to_string(i), sub, "Crash.Meter", kDay0 + i % 20, "1.5"));
  }
  auto out = Append(again, Reported(kDay0 + 31));
  EXPECT_EQ(out.duplicates, 100u);
  auto rows = All(Query({sub}, Reported(kDay0), Reported(kDay0 + 48), Granularity::kDaily));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].quantity.ToString(), "150");
  EXPECT_EQ(rows[0].meter_id, "Crash.Meter");
}

TEST_P(StoreConformance, SecondOpenOfDataDirectoryIsRefused) {
  auto second = GetParam().open(dir_.path(), &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("is in use by another tally process (pid " +
                                           std::to_string(getpid()) + ")"),
            std::string::npos)
      << second.status().message();
}

TEST_P(StoreConformance, ListRecordsPagesBySeq) {
  std::string sub = SubId(1);
  auto r = MakeRecord("a", sub, kBuiltinMeter, kDay0, "1");
  r.tags = domain::Properties{{"env", "prod"}, {"quote\"d", "line\nbreak"}};
  r.additional_info = domain::Properties{};
  Append({r, MakeRecord("b", sub, kBuiltinMeter, kDay0, "2")}, Reported(kDay0 + 1, 7));
  Append({MakeRecord("c", sub, kBuiltinMeter, kDay0, "3")}, Reported(kDay0 + 2));
  auto first = store_->ListRecords(0, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].seq, 1u);
  EXPECT_EQ((*first)[0].reported_time, Reported(kDay0 + 1, 7));
  EXPECT_TRUE(domain::SameContent((*first)[0].record, r));
  auto rest = store_->ListRecords(2, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].seq, 3u);
  EXPECT_EQ((*rest)[0].record.record_id, "c");
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreConformance,
                         ::testing::ValuesIn(AllStoreFactories()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace tally::store::testing
