#include "api/api_service.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "billing/billing_service.h"
#include "common/clock.h"
#include "domain/api_key.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::api {
namespace {

constexpr char kSub[] = "11111111-2222-3333-4444-555555555555";
constexpr char kOtherSub[] = "22222222-3333-4444-5555-666666666666";
constexpr char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

const std::string* FindHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

// A real SQLite store in a temporary directory, the services over it and a fake clock at
// 2024-06-01T00:00Z.
class ApiServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tally-api-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::SqliteStoreOptions options;
    options.data_dir = dir_;
    options.create_if_missing = true;
    options.clock = &clock_;
    auto store = store::OpenSqliteStore(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ingest_ = std::make_unique<ingest::IngestService>(*store_, clock_);
    query_ = std::make_unique<query::UsageQueryService>(*store_, clock_);
    api_ = std::make_unique<ApiService>(*store_, *ingest_, *query_, clock_);
    operator_ = MakeKey(domain::Role::kOperator, {});
    tenant_ = MakeKey(domain::Role::kTenant, {kSub});
    reporter_ = MakeKey(domain::Role::kReporter, {});
  }

  void TearDown() override {
    api_.reset();
    query_.reset();
    ingest_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string MakeKey(domain::Role role, std::vector<std::string> subs) {
    auto token = domain::MakeToken();
    EXPECT_TRUE(token.ok());
    domain::ApiKey key;
    key.key_id = token->key_id;
    key.role = role;
    key.subscriptions = std::move(subs);
    key.secret_hash = token->secret_hash;
    key.created = clock_.Now();
    EXPECT_TRUE(store_->SaveApiKey(key).ok());
    return token->token;
  }

  HttpResponse Send(Method method, std::string target, const std::string& token,
                    std::string body = "", std::string content_type = "application/x-ndjson",
                    HeaderList extra_headers = {}) {
    HttpRequest r;
    r.headers = std::move(extra_headers);
    r.method = method;
    r.target = std::move(target);
    r.local_authority = "127.0.0.1:9";
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    r.headers.emplace_back("Content-Type", content_type);
    r.headers.emplace_back("Host", host_);
    r.body = std::move(body);
    return api_->Handle(r);
  }

  // NDJSON of `n` records of kSub, resource "ip<i>", one hour each, reported 2024-05-02.
  static std::string Records(int n, const std::string& prefix = "r") {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += R"({"recordId":")" + prefix + std::to_string(i) + R"(","subscriptionId":")" + kSub +
             R"(","meterId":")" + kMeter + R"(","resourceUri":"/subscriptions/)" + kSub +
             "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip" +
             std::to_string(i) +
             R"(","location":"local","usageStartTime":"2024-05-01T10:00:00Z",)"
             R"("usageEndTime":"2024-05-01T11:00:00Z","quantity":1,)"
             R"("reportedTime":"2024-05-02T00:30:00Z"})"
             "\n";
    }
    return out;
  }

  static std::string UsageTarget(const std::string& sub, const std::string& extra = "") {
    return "/subscriptions/" + sub +
           "/providers/Microsoft.Commerce/UsageAggregates?api-version=2015-06-01-preview"
           "&reportedStartTime=2024-05-02&reportedEndTime=2024-05-03" +
           extra;
  }

  FakeClockForTesting clock_{UtcTime{1717200000LL * kMicrosPerSecond}};  // 2024-06-01
  std::string dir_;
  std::string host_ = "tally.example:8443";
  std::unique_ptr<store::UsageStore> store_;
  std::unique_ptr<ingest::IngestService> ingest_;
  std::unique_ptr<query::UsageQueryService> query_;
  std::unique_ptr<ApiService> api_;
  std::string operator_, tenant_, reporter_;
};

TEST_F(ApiServiceTest, ReporterMayIngestButNotReadUsage) {
  std::string body = Records(1);
  // Reporters may not set reportedTime: drop it.
  const std::string reported = R"(,"reportedTime":"2024-05-02T00:30:00Z")";
  body.erase(body.find(reported), reported.size());
  EXPECT_EQ(Send(Method::kPost, "/v1/usage/records", reporter_, body).status, 200);
  const HttpResponse r = Send(Method::kGet, UsageTarget(kSub), reporter_);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("AuthorizationFailed"), std::string::npos);
}

TEST_F(ApiServiceTest, TenantGetsTheSame403WhetherTheSubscriptionExistsOrNot) {
  const HttpResponse unknown = Send(Method::kGet, UsageTarget(kOtherSub), tenant_);
  domain::Subscription other;
  other.id = kOtherSub;
  ASSERT_TRUE(store_->SaveSubscription(other).ok());
  const HttpResponse known = Send(Method::kGet, UsageTarget(kOtherSub), tenant_);
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(known.status, 403);
  EXPECT_EQ(known.body, unknown.body);
  EXPECT_EQ(Send(Method::kGet, UsageTarget(kSub), tenant_).status, 200);
}

TEST_F(ApiServiceTest, PagesThroughAThousandAndOneAggregates) {
  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(1001)).status, 200);
  HttpResponse first =
      Send(Method::kGet, UsageTarget(kSub, "&aggregationGranularity=Hourly"), tenant_);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string marker = R"("nextLink":")";
  const size_t at = first.body.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string link = first.body.substr(at + marker.size());
  link = link.substr(0, link.find('"'));
  const std::string base = "http://tally.example:8443";
  ASSERT_EQ(link.substr(0, base.size()), base);
  EXPECT_NE(link.find("aggregationGranularity=Hourly"), std::string::npos);

  const HttpResponse second = Send(Method::kGet, link.substr(base.size()), tenant_);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.body.find("nextLink"), std::string::npos);
  size_t values = 0;
  for (size_t p = 0; (p = second.body.find("\"properties\"", p)) != std::string::npos; ++p) {
    ++values;
  }
  EXPECT_EQ(values, 1u);

  // The token is bound to its query.
  const std::string token = link.substr(link.find("continuationToken=") + 18);
  const HttpResponse daily =
      Send(Method::kGet, UsageTarget(kSub, "&continuationToken=" + token), tenant_);
  EXPECT_EQ(daily.status, 400);
  EXPECT_NE(daily.body.find("continuationToken"), std::string::npos);
}

TEST_F(ApiServiceTest, UnusableHostFallsBackToTheLocalAddress) {
  host_ = "evil\"host";
  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(1001)).status, 200);
  const HttpResponse r =
      Send(Method::kGet, UsageTarget(kSub, "&aggregationGranularity=Hourly"), tenant_);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("nextLink":"http://127.0.0.1:9/subscriptions/)"), std::string::npos);
}

TEST_F(ApiServiceTest, FailedCommitMakesIngestAndReadyz503) {
  ASSERT_TRUE(store::FailNextCommitsForTesting(*store_, 1).ok());
  const HttpResponse failed = Send(Method::kPost, "/v1/usage/records", operator_, Records(1));
  EXPECT_GE(failed.status, 500);
  const HttpResponse again = Send(Method::kPost, "/v1/usage/records", operator_, Records(1));
  EXPECT_EQ(again.status, 503) << again.body;
  EXPECT_NE(FindHeader(again, "Retry-After"), nullptr);
  EXPECT_NE(again.body.find("ServiceUnavailable"), std::string::npos);
  const HttpResponse ready = Send(Method::kGet, "/readyz", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(Send(Method::kGet, "/healthz", "").status, 200);
}

TEST_F(ApiServiceTest, MetricsShowHowLongTheStoresCommitsAndCheckpointPausesTook) {
  const HttpResponse before = Send(Method::kGet, "/metrics", "");
  ASSERT_EQ(before.status, 200);
  EXPECT_NE(before.body.find("# TYPE tally_store_commit_duration_seconds histogram\n"),
            std::string::npos)
      << before.body;
  EXPECT_NE(before.body.find("\ntally_store_commit_duration_seconds_count 0\n"), std::string::npos);

  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(2)).status, 200);
  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(2)).status, 200);  // dups
  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(1, "s")).status, 200);
  const HttpResponse after = Send(Method::kGet, "/metrics", "");
  ASSERT_EQ(after.status, 200);
  EXPECT_NE(after.body.find("\ntally_store_commit_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            std::string::npos)
      << after.body;
  EXPECT_NE(after.body.find("\ntally_store_commit_duration_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(after.body.find("\ntally_store_commit_duration_max_seconds 0."), std::string::npos);
  // Beside them, the checkpoint steps that held up the writer: none for so small a log.
  EXPECT_NE(after.body.find("# TYPE tally_store_checkpoint_pause_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(after.body.find("\ntally_store_checkpoint_pause_seconds_count 0\n"),
            std::string::npos);
  EXPECT_NE(after.body.find("\ntally_store_checkpoint_pause_max_seconds 0.000000\n"),
            std::string::npos);
  // Beside them, how many groups their callers wrote themselves: the first, at least (one
  // request at a time; the first registers its subscription, after which the writer thread may
  // still hold the role when the next arrives).
  const std::string led = "\ntally_store_caller_led_groups_total ";
  const size_t at = after.body.find(led);
  ASSERT_NE(at, std::string::npos) << after.body;
  const int groups = std::stoi(after.body.substr(at + led.size()));
  EXPECT_GE(groups, 1);
  EXPECT_LE(groups, 3);
}

// The Partner Center utilization API (partner_center.cc).
class PartnerCenterTest : public ApiServiceTest {
 protected:
  static constexpr char kCustomer[] = "c0000000-0000-4000-8000-00000000000c";

  void SetUp() override {
    ApiServiceTest::SetUp();
    domain::Customer c;
    c.id = kCustomer;
    c.name = "Contoso";
    c.subscription_ids = {kSub};
    ASSERT_TRUE(store_->SaveCustomer(c).ok());
  }

  static std::string Target(const std::string& customer, const std::string& sub,
                            const std::string& extra = "") {
    return "/v1/customers/" + customer + "/subscriptions/" + sub +
           "/utilizations/azure?start_time=2024-05-02T00:00:00Z&end_time=2024-05-03T00:00:00Z" +
           extra;
  }

  HttpResponse Get(const std::string& target, const std::string& token, HeaderList headers = {}) {
    return Send(Method::kGet, target, token, "", "application/json", std::move(headers));
  }
};

TEST_F(PartnerCenterTest, PagesUtilizationRecordsThroughLinksNext) {
  ASSERT_EQ(Send(Method::kPost, "/v1/usage/records", operator_, Records(1001)).status, 200);
  const HttpResponse first = Get(Target(kCustomer, kSub, "&granularity=Hourly"), tenant_);
  ASSERT_EQ(first.status, 200) << first.body;
  simdjson::dom::parser parser;
  simdjson::dom::element page = parser.parse(first.body);
  EXPECT_EQ(int64_t(page["totalCount"]), 1000);
  EXPECT_EQ(simdjson::dom::array(page["items"]).size(), 1000u);
  EXPECT_EQ(std::string_view(page["attributes"]["objectType"]), "Collection");

  simdjson::dom::element record = page["items"].at(0);
  EXPECT_EQ(std::string_view(record["usageStartTime"]), "2024-05-01T10:00:00+00:00");
  EXPECT_EQ(std::string_view(record["usageEndTime"]), "2024-05-01T11:00:00+00:00");
  EXPECT_EQ(std::string_view(record["resource"]["id"]), kMeter);
  EXPECT_EQ(std::string_view(record["resource"]["name"]), "Static IP Address Usage");
  EXPECT_EQ(std::string_view(record["resource"]["region"]), "Azure Stack");
  EXPECT_EQ(double(record["quantity"]), 1.0);
  EXPECT_EQ(std::string_view(record["attributes"]["objectType"]), "AzureUtilizationRecord");
  simdjson::dom::element instance = record["instanceData"];
  EXPECT_EQ(std::string_view(instance["location"]), "local");
  EXPECT_EQ(std::string_view(instance["resourceUri"]).substr(0, 15), "/subscriptions/");
  EXPECT_EQ(std::string_view(instance["partNumber"]), "");
  EXPECT_EQ(std::string_view(instance["additionalInfo"]["azureStack.MeterId"]), kMeter);
  EXPECT_EQ(std::string_view(instance["additionalInfo"]["azureStack.SubscriptionId"]), kSub);
  EXPECT_EQ(std::string_view(instance["additionalInfo"]["azureStack.EventDateTime"]),
            "05/01/2024 10:00:00");

  // links.next: relative to /v1/, the original query plus seek_operation=Next, the token in
  // a header.
  const std::string uri{std::string_view(page["links"]["next"]["uri"])};
  EXPECT_EQ(uri.rfind("customers/" + std::string(kCustomer) + "/subscriptions/", 0), 0u) << uri;
  EXPECT_NE(uri.find("granularity=Hourly"), std::string::npos);
  EXPECT_NE(uri.find("seek_operation=Next"), std::string::npos);
  simdjson::dom::element header = page["links"]["next"]["headers"].at(0);
  EXPECT_EQ(std::string_view(header["key"]), "MS-ContinuationToken");
  const std::string token{std::string_view(header["value"])};

  const HttpResponse second = Get("/v1/" + uri, tenant_, {{"MS-ContinuationToken", token}});
  ASSERT_EQ(second.status, 200) << second.body;
  simdjson::dom::element last = parser.parse(second.body);
  EXPECT_EQ(int64_t(last["totalCount"]), 1);
  EXPECT_EQ(last["links"]["next"].error(), simdjson::NO_SUCH_FIELD);

  // The token belongs to its query; without it, Next cannot go on.
  const HttpResponse daily = Get(Target(kCustomer, kSub, "&seek_operation=Next"), tenant_,
                                 {{"MS-ContinuationToken", token}});
  EXPECT_EQ(daily.status, 400) << daily.body;
  EXPECT_EQ(Get("/v1/" + uri, tenant_).status, 400);

  // size pages by fewer; Daily (the default) sums the day.
  const HttpResponse small = Get(Target(kCustomer, kSub, "&size=10"), operator_);
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(int64_t(parser.parse(small.body)["totalCount"]), 10);
}

TEST_F(PartnerCenterTest, RefusesWithPartnerCenterErrorBodies) {
  struct Case {
    std::string target;
    std::string token;
    int status;
    std::string code;
  };
  const std::string other_customer = "d0000000-0000-4000-8000-00000000000d";
  const std::vector<Case> cases = {
      {Target(kCustomer, kSub), "", 401, "AuthenticationFailed"},
      {Target(kCustomer, kOtherSub), tenant_, 403, "AuthorizationFailed"},
      {Target(kCustomer, kSub), reporter_, 403, "AuthorizationFailed"},
      {Target(other_customer, kSub), tenant_, 404, "NotFound"},
      {Target(kCustomer, kOtherSub), operator_, 404, "NotFound"},
      {"/v1/customers/" + std::string(kCustomer) + "/subscriptions/" + kSub +
           "/utilizations/azure?end_time=2024-05-03T00:00:00Z",
       tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&start_time=yesterday"), tenant_, 400, "InvalidInput"},
      {"/v1/customers/" + std::string(kCustomer) + "/subscriptions/" + kSub +
           "/utilizations/azure?start_time=2024-05-02T00:30:00Z&end_time=2024-05-03",
       tenant_, 400, "InvalidInput"},
      {"/v1/customers/" + std::string(kCustomer) + "/subscriptions/" + kSub +
           "/utilizations/azure?start_time=2024-05-02&end_time=2024-07-01",
       tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&granularity=weekly"), tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&show_details=maybe"), tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&size=0"), tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&size=1001"), tenant_, 400, "InvalidInput"},
      {Target(kCustomer, kSub, "&seek_operation=Previous"), tenant_, 400, "InvalidInput"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = Get(c.target, c.token);
    EXPECT_EQ(r.status, c.status) << c.target << "\n" << r.body;
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    ASSERT_EQ(parser.parse(r.body).get(body), simdjson::SUCCESS) << r.body;
    EXPECT_EQ(std::string_view(body["code"]), c.code) << c.target;
    EXPECT_FALSE(std::string_view(body["description"]).empty());
    EXPECT_EQ(std::string_view(body["source"]), "Tally");
    EXPECT_EQ(body["error"].error(), simdjson::NO_SUCH_FIELD);
  }
  EXPECT_EQ(Get(Target(kCustomer, kSub, "&show_details=False&granularity=daily"), tenant_).status,
            200);
}

// The RateCard API (rate_card_api.cc).
class RateCardTest : public ApiServiceTest {
 protected:
  static constexpr char kOffer[] = "MS-AZR-0003P";

  void SetUp() override {
    ApiServiceTest::SetUp();
    auto billing = billing::BillingService::Make(*store_, clock_);
    ASSERT_TRUE(billing.ok()) << billing.status().ToString();
    const std::string card = R"({"OfferTerms":[{"Name":"Monetary Credit","Credit":25.5,)"
                             R"("ExcludedMeterIds":[],"EffectiveDate":"2024-01-01T00:00:00Z"}],)"
                             R"("Meters":[{"EffectiveDate":"2024-01-01T00:00:00Z",)"
                             R"("IncludedQuantity":10,"MeterCategory":"Networking","MeterId":")" +
                             std::string(kMeter) +
                             R"(","MeterName":"Static IP Address Usage","MeterRates":)"
                             R"({"0":0.0035,"100":0.0025},"MeterRegion":"local",)"
                             R"("MeterSubCategory":"","MeterTags":[],"Unit":"IP addresses"}],)"
                             R"("Currency":"USD","Locale":"en-US","IsTaxIncluded":false})";
    auto imported = billing->ImportRateCard(card, kOffer, "");
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    document_ = imported->card.document;
    auto other = billing->ImportRateCard(card, "MS-AZR-0121P", "");
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    domain::Subscription sub;
    sub.id = kSub;
    ASSERT_TRUE(store_->SaveSubscription(sub).ok());
    billing::SubscriptionPricingRequest pricing;
    pricing.subscription_id = kSub;
    pricing.offer_durable_id = kOffer;
    ASSERT_TRUE(billing->SetSubscriptionPricing(pricing).ok());
  }

  static std::string Target(const std::string& sub, const std::string& filter,
                            const std::string& api_version = "2015-06-01-preview") {
    return "/subscriptions/" + sub +
           "/providers/Microsoft.Commerce/RateCard?api-version=" + api_version +
           "&%24filter=" + filter;
  }
  static std::string Filter(const std::string& offer, const std::string& currency = "USD") {
    return "OfferDurableId+eq+%27" + offer + "%27+and+Currency+eq+%27" + currency +
           "%27+and+Locale+eq+%27en-US%27+and+RegionInfo+eq+%27US%27";
  }

  std::string document_;
};

TEST_F(RateCardTest, AnswersTheCardAsADirect200) {
  for (const std::string& token : {tenant_, operator_}) {
    const HttpResponse r = Send(Method::kGet, Target(kSub, Filter("ms-azr-0003p")), token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, document_);
    EXPECT_EQ(r.content_type, kJsonContentType);
    EXPECT_NE(r.body.find(R"("MeterRates":{"0":0.0035,"100":0.0025})"), std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find(R"("IncludedQuantity":10)"), std::string::npos) << r.body;
    EXPECT_NE(r.body.rfind("{", 0), std::string::npos);  // no BOM
  }
  // The newer api-version and a spaced, raw-quoted filter work too.
  const HttpResponse raw =
      Send(Method::kGet,
           Target(kSub,
                  "OfferDurableId%20eq%20'MS-AZR-0003P'%20and%20Currency%20eq%20'USD'%20and%20"
                  "Locale%20eq%20'en-US'%20and%20RegionInfo%20eq%20'US'",
                  "2016-08-31-preview"),
           tenant_);
  EXPECT_EQ(raw.status, 200) << raw.body;
  // Operators read any offer's card.
  EXPECT_EQ(Send(Method::kGet, Target(kSub, Filter("MS-AZR-0121P")), operator_).status, 200);
}

TEST_F(RateCardTest, RefusesWithArmErrors) {
  struct Case {
    std::string target;
    std::string token;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {Target(kSub, Filter(kOffer)), "", 401, "AuthenticationFailed"},
      {Target(kSub, Filter(kOffer)), reporter_, 403, "AuthorizationFailed"},
      {Target(kOtherSub, Filter(kOffer)), tenant_, 403, "AuthorizationFailed"},
      {Target(kSub, Filter("MS-AZR-0121P")), tenant_, 403, "AuthorizationFailed"},
      {Target(kSub, Filter("MS-AZR-0999P")), operator_, 404, "RateCardNotFound"},
      {Target(kSub, Filter(kOffer, "EUR")), operator_, 404, "RateCardNotFound"},
      {Target(kSub, "OfferDurableId+eq+%27" + std::string(kOffer) + "%27"), tenant_, 400,
       "InvalidFilter"},
      {"/subscriptions/" + std::string(kSub) +
           "/providers/Microsoft.Commerce/RateCard?api-version=2015-06-01-preview",
       tenant_, 400, "InvalidFilter"},
      {"/subscriptions/" + std::string(kSub) + "/providers/Microsoft.Commerce/RateCard", tenant_,
       400, "NoApiVersion"},
      {Target(kSub, Filter(kOffer), "2099-01-01"), tenant_, 400, "InvalidApiVersionParameter"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = Send(Method::kGet, c.target, c.token);
    EXPECT_EQ(r.status, c.status) << c.target << "\n" << r.body;
    EXPECT_NE(r.body.find(R"({"error":{"code":")" + c.code + "\""), std::string::npos)
        << c.target << "\n"
        << r.body;
    EXPECT_EQ(FindHeader(r, "Retry-After"), nullptr);
  }
}

}  // namespace
}  // namespace tally::api
