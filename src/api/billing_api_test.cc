// Invoices and billing exports over HTTP (billing_api.cc), against a real SQLite store: who
// sees what, the downloads' bytes and headers, the streamed exports, and the ARM errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "api/api_service.h"
#include "api/body_stream.h"
#include "billing/billing_export.h"
#include "billing/billing_service.h"
#include "common/clock.h"
#include "domain/api_key.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::api {
namespace {

constexpr char kSub[] = "11111111-2222-3333-4444-555555555555";
constexpr char kOtherSub[] = "22222222-3333-4444-5555-666666666666";
constexpr char kUnknownSub[] = "33333333-4444-5555-6666-777777777777";
constexpr char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";
constexpr char kOffer[] = "MS-AZR-0003P";

const std::string* FindHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

size_t Count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Two tenant subscriptions on one offer with usage in May 2024, a fake clock at 2024-06-01, and
// a key of every role (the tenant key reads kSub only).
class BillingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tally-billing-api-test-XXXXXX";
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

    auto billing = billing::BillingService::Make(*store_, clock_);
    ASSERT_TRUE(billing.ok()) << billing.status().ToString();
    const std::string card = R"({"OfferTerms":[],"Meters":[{"EffectiveDate":"2024-01-01T00:00:00Z",)"
                             R"("IncludedQuantity":10,"MeterCategory":"Networking","MeterId":")" +
                             std::string(kMeter) +
                             R"(","MeterName":"Static IP Address Usage","MeterRates":)"
                             R"({"0":0.0035,"100":0.0025},"MeterRegion":"local",)"
                             R"("MeterSubCategory":"","MeterTags":[],"Unit":"IP addresses"}],)"
                             R"("Currency":"USD","Locale":"en-US","IsTaxIncluded":false})";
    ASSERT_TRUE(billing->ImportRateCard(card, kOffer, "").ok());
    for (const char* id : {kSub, kOtherSub}) {
      domain::Subscription sub;
      sub.id = id;
      sub.display_name = std::string("sub ") + id;
      ASSERT_TRUE(store_->SaveSubscription(sub).ok());
      billing::SubscriptionPricingRequest pricing;
      pricing.subscription_id = id;
      pricing.offer_durable_id = kOffer;
      ASSERT_TRUE(billing->SetSubscriptionPricing(pricing).ok());
    }
    Ingest(Records(kSub, 3, "a") + Records(kOtherSub, 2, "b"));
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

  void Ingest(const std::string& ndjson) {
    const ingest::IngestOutcome outcome =
        ingest_->Ingest(ndjson, ingest::BodyFormat::kNdjson, ingest::Sender::kOperator);
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  }

  // `n` one-hour records of `sub`, resources "<prefix><i>" (one aggregate each), reported
  // 2024-05-02.
  static std::string Records(const std::string& sub, int n, const std::string& prefix) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += R"({"recordId":")" + prefix + std::to_string(i) + R"(","subscriptionId":")" + sub +
             R"(","meterId":")" + kMeter + R"(","resourceUri":"/subscriptions/)" + sub +
             "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/" + prefix +
             std::to_string(i) +
             R"(","location":"local","usageStartTime":"2024-05-01T10:00:00Z",)"
             R"("usageEndTime":"2024-05-01T11:00:00Z","quantity":40,)"
             R"("reportedTime":"2024-05-02T00:30:00Z"})"
             "\n";
    }
    return out;
  }

  HttpResponse Send(Method method, std::string target, const std::string& token) {
    HttpRequest r;
    r.method = method;
    r.target = std::move(target);
    r.local_authority = "127.0.0.1:9";
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    return api_->Handle(r);
  }
  HttpResponse Get(std::string target, const std::string& token) {
    return Send(Method::kGet, std::move(target), token);
  }
  // A GET whose streamed body (if any) is collected into `body`.
  HttpResponse Download(std::string target, const std::string& token) {
    HttpResponse r = Get(std::move(target), token);
    const Status s = CollectStreamedBody(r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  void RunAndFinalizeMay() {
    ASSERT_EQ(Send(Method::kPost, "/v1/invoices/run?period=2024-05", operator_).status, 200);
    ASSERT_EQ(Send(Method::kPost, "/v1/invoices/finalize?period=2024-05", operator_).status, 200);
  }

  // What `tally export` writes for the same request (the shared layer, into a string).
  std::string ExportDirectly(const billing::ExportParameters& p) {
    auto request = billing::MakeExportRequest(p, "--");
    EXPECT_TRUE(request.ok()) << request.status().ToString();
    auto billing = billing::BillingService::Make(*store_, clock_);
    auto job = billing::ExportJob::Prepare(*store_, *billing, std::move(*request));
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    std::ostringstream out;
    EXPECT_TRUE(job->Write(out).ok());
    return out.str();
  }

  FakeClockForTesting clock_{UtcTime{1717200000LL * kMicrosPerSecond}};  // 2024-06-01
  std::string dir_;
  std::unique_ptr<store::UsageStore> store_;
  std::unique_ptr<ingest::IngestService> ingest_;
  std::unique_ptr<query::UsageQueryService> query_;
  std::unique_ptr<ApiService> api_;
  std::string operator_, tenant_, reporter_;
};

TEST_F(BillingApiTest, OperatorRunsAndFinalizesTheMonth) {
  const HttpResponse run = Send(Method::kPost, "/v1/invoices/run?period=2024-05", operator_);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_NE(run.body.find(R"("period":"2024-05","timeZone":"UTC")"), std::string::npos)
      << run.body;
  EXPECT_EQ(Count(run.body, R"("subscriptionId")"), 2u) << run.body;
  // 3 resources x 40 = 120 units, 10 included: 100 x 0.0035 + 10 x 0.0025 = 0.375 -> 0.38
  // (half-even); the other: 80 - 10 = 70 x 0.0035 = 0.245 -> 0.24.
  EXPECT_NE(run.body.find(R"("total":0.38)"), std::string::npos) << run.body;
  EXPECT_NE(run.body.find(R"("total":0.24)"), std::string::npos) << run.body;

  const HttpResponse fin = Send(Method::kPost, "/v1/invoices/finalize?period=2024-05", operator_);
  ASSERT_EQ(fin.status, 200) << fin.body;
  EXPECT_EQ(Count(fin.body, R"("subscriptionId")"), 2u) << fin.body;
  const HttpResponse again = Send(Method::kPost, "/v1/invoices/finalize?period=2024-05", operator_);
  EXPECT_NE(again.body.find(R"("finalized":[],"alreadyFinal":[")"), std::string::npos)
      << again.body;

  // Only the Default Provider's operator starts runs; bad parameters are one 400.
  const std::string delegated = MakeKey(domain::Role::kOperator, {kOtherSub});
  for (const std::string& token : {tenant_, reporter_, delegated}) {
    EXPECT_EQ(Send(Method::kPost, "/v1/invoices/run?period=2024-05", token).status, 403);
  }
  EXPECT_EQ(Send(Method::kPost, "/v1/invoices/run?period=2024-05", "").status, 401);
  const HttpResponse bad =
      Send(Method::kPost, "/v1/invoices/run?period=2024-13&time-zone=Mars/Olympus", operator_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error_code, "InvalidQueryParameterValue");
  EXPECT_NE(bad.body.find("period '2024-13'"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("Mars/Olympus"), std::string::npos) << bad.body;
  EXPECT_EQ(Send(Method::kPost, "/v1/invoices/finalize", operator_).status, 400);
}

TEST_F(BillingApiTest, ListsOnlyTheInvoicesTheKeyMayRead) {
  RunAndFinalizeMay();
  const HttpResponse all = Get("/v1/invoices?period=2024-05", operator_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.content_type, kJsonContentType);
  EXPECT_EQ(all.body.rfind(R"({"value":[{"subscriptionId":")", 0), 0u) << all.body;
  EXPECT_NE(all.body.find(kSub), std::string::npos);
  EXPECT_NE(all.body.find(kOtherSub), std::string::npos);
  EXPECT_EQ(Count(all.body, R"("status":"final")"), 2u) << all.body;

  const HttpResponse mine = Get("/v1/invoices", tenant_);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_NE(mine.body.find(kSub), std::string::npos);
  EXPECT_EQ(mine.body.find(kOtherSub), std::string::npos) << mine.body;

  // A subscription the tenant may not read: the same 403 whether it exists or not.
  const HttpResponse other = Get(std::string("/v1/invoices?subscriptionId=") + kOtherSub, tenant_);
  const HttpResponse unknown =
      Get(std::string("/v1/invoices?subscriptionId=") + kUnknownSub, tenant_);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body.substr(0, other.body.find(kOtherSub)),
            unknown.body.substr(0, unknown.body.find(kUnknownSub)));
  // An operator acting for another provider sees only that provider's direct tenants (none).
  const std::string delegated = MakeKey(domain::Role::kOperator, {kUnknownSub});
  EXPECT_EQ(Get("/v1/invoices?period=2024-05", delegated).body, R"({"value":[]})");

  EXPECT_EQ(Get("/v1/invoices", reporter_).status, 403);
  EXPECT_EQ(Get("/v1/invoices", "").status, 401);
  const HttpResponse bad = Get("/v1/invoices?period=May&status=open&subscriptionId=x", operator_);
  EXPECT_EQ(bad.status, 400);
  for (const char* part : {"period 'May'", "status must be draft or final", "subscriptionId 'x'"}) {
    EXPECT_NE(bad.body.find(part), std::string::npos) << bad.body;
  }
  EXPECT_EQ(Get("/v1/invoices?status=draft", operator_).body, R"({"value":[]})");
}

TEST_F(BillingApiTest, DownloadsAnInvoiceInEachFormat) {
  RunAndFinalizeMay();
  auto billing = billing::BillingService::Make(*store_, clock_);
  auto stored = billing->GetInvoice(kSub, "2024-05");
  ASSERT_TRUE(stored.ok());
  const std::string base = std::string("/v1/subscriptions/") + kSub + "/invoices/2024-05";
  struct Want {
    std::string query;
    std::string body;
    std::string content_type;
    std::string disposition;
  };
  const std::string file = std::string("invoice-") + kSub + "-2024-05";
  for (const Want& w : {
           Want{"", stored->json + "\n", std::string(kJsonContentType),
                "inline; filename=\"" + file + ".json\""},
           Want{"?format=csv", stored->csv, "text/csv; charset=utf-8",
                "attachment; filename=\"" + file + ".csv\""},
           Want{"?format=html", stored->html, "text/html; charset=utf-8",
                "inline; filename=\"" + file + ".html\""},
       }) {
    for (const std::string& token : {operator_, tenant_}) {
      const HttpResponse r = Get(base + w.query, token);
      ASSERT_EQ(r.status, 200) << w.query << r.body;
      EXPECT_FALSE(r.stream);
      EXPECT_EQ(r.body, w.body);
      EXPECT_EQ(r.content_type, w.content_type);
      const std::string* disposition = FindHeader(r, "Content-Disposition");
      ASSERT_NE(disposition, nullptr);
      EXPECT_EQ(*disposition, w.disposition);
    }
  }
  // Upper-case IDs in the path are the same subscription.
  EXPECT_EQ(Get(std::string("/v1/subscriptions/") + kSub + "/invoices/2024-05", tenant_).status,
            200);

  const auto forbidden = [&](const std::string& sub) {
    return Get("/v1/subscriptions/" + sub + "/invoices/2024-05", tenant_);
  };
  const HttpResponse other = forbidden(kOtherSub);
  const HttpResponse unknown = forbidden(kUnknownSub);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(other.body.substr(0, other.body.find(kOtherSub)),
            unknown.body.substr(0, unknown.body.find(kUnknownSub)));
  EXPECT_EQ(Get(base, reporter_).status, 403);

  const HttpResponse missing = Get(std::string("/v1/subscriptions/") + kSub + "/invoices/2024-04",
                                   operator_);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code, "InvoiceNotFound");
  const HttpResponse bad =
      Get(std::string("/v1/subscriptions/") + kSub + "/invoices/24-05?format=pdf", operator_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("format must be json, csv or html"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("period '24-05'"), std::string::npos) << bad.body;
}

TEST_F(BillingApiTest, ExportsStreamTheSameBytesAsTheSharedExport) {
  RunAndFinalizeMay();
  billing::ExportParameters p;
  p.format = "usage-summary";
  p.period = "2024-05";
  const HttpResponse summary = Download("/v1/exports/usage-summary?period=2024-05", operator_);
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(summary.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(summary.body, ExportDirectly(p));
  EXPECT_EQ(Count(summary.body, "\r\n"), 1u + 5u);  // header + one row per resource
  const std::string* disposition = FindHeader(summary, "Content-Disposition");
  ASSERT_NE(disposition, nullptr);
  EXPECT_EQ(*disposition, "attachment; filename=\"tally-usage-summary-2024-05.csv\"");

  p.format = "jsonl";
  p.period.clear();
  p.from = "2024-05-02T00:00:00Z";
  p.to = "2024-05-03T00:00:00Z";
  p.granularity = "Hourly";
  const HttpResponse jsonl = Download(
      "/v1/exports/jsonl?from=2024-05-02T00:00:00Z&to=2024-05-03T00:00:00Z&granularity=Hourly",
      operator_);
  ASSERT_EQ(jsonl.status, 200) << jsonl.body;
  EXPECT_EQ(jsonl.content_type, "application/x-ndjson");
  EXPECT_EQ(jsonl.body, ExportDirectly(p));
  EXPECT_EQ(Count(jsonl.body, "\n"), 5u);

  p = {};
  p.format = "focus";
  p.period = "2024-05";
  p.provider_name = "Contoso";
  p.billing_account_id = "acct-1";
  const HttpResponse focus = Download(
      "/v1/exports/focus?period=2024-05&provider-name=Contoso&billing-account-id=acct-1",
      operator_);
  ASSERT_EQ(focus.status, 200) << focus.body;
  EXPECT_EQ(focus.body, ExportDirectly(p));
  EXPECT_NE(focus.body.find(std::string(kSub) + "/2024-05"), std::string::npos);
  EXPECT_EQ(FindHeader(focus, "Tally-Draft-Invoices-Skipped"), nullptr);

  // A tenant exports only its own subscription.
  const HttpResponse mine = Download("/v1/exports/usage-summary?period=2024-05", tenant_);
  ASSERT_EQ(mine.status, 200);
  EXPECT_NE(mine.body.find(kSub), std::string::npos);
  EXPECT_EQ(mine.body.find(kOtherSub), std::string::npos) << mine.body;
  EXPECT_EQ(Count(mine.body, "\r\n"), 1u + 3u);
  const HttpResponse one = Download(
      std::string("/v1/exports/jsonl?period=2024-05&subscriptionId=") + kOtherSub, operator_);
  EXPECT_EQ(Count(one.body, "\n"), 2u);
  EXPECT_EQ(one.body.find(kSub), std::string::npos);
}

TEST_F(BillingApiTest, LargeExportIsStreamedInPiecesAndStopsWhenTheClientGoes) {
  // About 5,000 rows of ~350 bytes: well over one 64 KiB piece.
  std::string more;
  for (int batch = 0; batch < 5; ++batch) {
    more += Records(kSub, 1000, "big" + std::to_string(batch) + "-");
  }
  Ingest(more);
  HttpResponse r = Get("/v1/exports/jsonl?period=2024-05&granularity=Hourly", operator_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.stream);
  EXPECT_TRUE(r.body.empty());
  size_t pieces = 0;
  std::string body;
  const BodySink collect = [&](std::string_view piece) {
    ++pieces;
    EXPECT_LE(piece.size(), kBodyPieceSize);
    body.append(piece);
    return true;
  };
  ASSERT_TRUE(r.stream(collect).ok());
  EXPECT_GT(pieces, 5u);
  EXPECT_EQ(Count(body, "\n"), 5005u);

  // The client goes away after the first piece: the export stops with Unavailable.
  HttpResponse again = Get("/v1/exports/jsonl?period=2024-05&granularity=Hourly", operator_);
  size_t offered = 0;
  const BodySink gone = [&](std::string_view) { return ++offered < 2; };
  const Status s = again.stream(gone);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_EQ(offered, 2u);
}

TEST_F(BillingApiTest, BadExportRequestsAreOneArmError) {
  const HttpResponse bad = Get("/v1/exports/xml?granularity=Weekly", operator_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error_code, "InvalidQueryParameterValue");
  EXPECT_FALSE(bad.stream);
  for (const char* part : {"format must be usage-summary, focus or jsonl",
                           "give either period or both from and to",
                           "granularity must be Hourly or Daily"}) {
    EXPECT_NE(bad.body.find(part), std::string::npos) << bad.body;
  }
  const HttpResponse focus = Get("/v1/exports/focus?from=2024-05-01&to=2024-05-02", operator_);
  EXPECT_EQ(focus.status, 400);
  for (const char* part : {"format focus exports invoices: it needs period",
                           "needs provider-name", "needs billing-account-id"}) {
    EXPECT_NE(focus.body.find(part), std::string::npos) << focus.body;
  }
  EXPECT_EQ(Get("/v1/exports/jsonl?from=2024-05-02&to=2024-05-01", operator_).status, 400);
  EXPECT_EQ(Get("/v1/exports/jsonl?period=2024-05&period=2024-06", operator_).status, 400);
  EXPECT_EQ(Get("/v1/exports/jsonl?period=2024-05", reporter_).status, 403);
  EXPECT_EQ(Get("/v1/exports/jsonl?period=2024-05", "").status, 401);
  const HttpResponse other =
      Get(std::string("/v1/exports/jsonl?period=2024-05&subscriptionId=") + kOtherSub, tenant_);
  EXPECT_EQ(other.status, 403);
  EXPECT_FALSE(other.stream);
}

TEST(BodyStream, HandsOverFullPiecesAndTheRestOnFlush) {
  std::vector<std::string> pieces;
  const BodySink sink = [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  };
  BodyStream out(sink, 4);
  out << "abcdefghij";
  EXPECT_EQ(pieces, (std::vector<std::string>{"abcd", "efgh"}));
  out.flush();
  EXPECT_EQ(pieces.back(), "ij");
  EXPECT_TRUE(out.good());

  const BodySink refuse = [](std::string_view) { return false; };
  BodyStream bad(refuse, 4);
  bad << "abcdefgh";
  EXPECT_FALSE(bad.good());
}

}  // namespace
}  // namespace tally::api
