#include "tests/api/api_world.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "api/body_stream.h"
#include "billing/billing_service.h"
#include "common/strings.h"
#include "domain/api_key.h"
#include "domain/customer.h"
#include "domain/subscription.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::api::testing {
namespace {

// 2024-06-01T12:30:00Z: an Hourly end of 12:00 is in the past, 13:00 in the future.
constexpr int64_t kNowSeconds = 1717245000;

constexpr char kP1[] = "b1b1b1b1-0000-4000-8000-0000000000b1";
constexpr char kT1[] = "c1c1c1c1-0000-4000-8000-0000000000c1";
constexpr char kT2[] = "c2c2c2c2-0000-4000-8000-0000000000c2";
constexpr char kT3[] = "c3c3c3c3-0000-4000-8000-0000000000c3";
constexpr char kU[] = "d0d0d0d0-0000-4000-8000-0000000000d0";
constexpr char kX[] = "e0e0e0e0-0000-4000-8000-0000000000e0";
constexpr char kCustomer[] = "f0f0f0f0-0000-4000-8000-0000000000f0";

constexpr char kStaticIp[] = "F271A8A388C44D93956A063E1D2FA80B";
constexpr char kDynamicIp[] = "9E2739BA86744796B465F64674B822BA";

ApiWorld* g_world = nullptr;

class WorldEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { ApiWorld::Destroy(); }
};
[[maybe_unused]] ::testing::Environment* const g_environment =
    ::testing::AddGlobalTestEnvironment(new WorldEnvironment);

// One NDJSON usage record with an explicit reported time (operators may set it).
// A rate card of the two fixture meters (RateCard API shape).
std::string RateCardJson() {
  std::string meters;
  for (const char* meter : {kStaticIp, kDynamicIp}) {
    if (!meters.empty()) meters += ",";
    meters += R"({"EffectiveDate":"2024-01-01T00:00:00Z","IncludedQuantity":1,)"
              R"("MeterCategory":"Networking","MeterId":")" +
              std::string(meter) +
              R"(","MeterName":"IP","MeterRates":{"0":0.01,"100":0.005},"MeterRegion":"local",)"
              R"("MeterSubCategory":"","MeterTags":[],"Unit":"IP addresses"})";
  }
  return R"({"OfferTerms":[],"Meters":[)" + meters +
         R"(],"Currency":"USD","Locale":"en-US","IsTaxIncluded":false})";
}

std::string Record(const std::string& record_id, const std::string& sub, const char* meter,
                   const std::string& resource, const std::string& usage_start,
                   const std::string& usage_end, const std::string& quantity,
                   const std::string& reported) {
  return R"({"recordId":")" + record_id + R"(","subscriptionId":")" + sub +
         R"(","meterId":")" + meter + R"(","resourceUri":"/subscriptions/)" + sub +
         "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/" + resource +
         R"(","location":"local","usageStartTime":")" + usage_start +
         R"(","usageEndTime":")" + usage_end + R"(","quantity":)" + quantity +
         R"(,"reportedTime":")" + reported + "\"}\n";
}

}  // namespace

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

const std::string* FindHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

ApiWorld* ApiWorld::Get() {
  if (g_world == nullptr) {
    auto* world = new ApiWorld();
    if (!world->Build()) {
      delete world;
      ADD_FAILURE() << "the API test world could not be built";
      return nullptr;
    }
    g_world = world;
  }
  return g_world;
}

void ApiWorld::Destroy() {
  delete g_world;
  g_world = nullptr;
}

ApiWorld::~ApiWorld() {
  throttled_api_.reset();
  api_.reset();
  query_.reset();
  ingest_.reset();
  store_.reset();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

std::string ApiWorld::MakeKey(domain::Role role, std::vector<std::string> subscriptions,
                              std::string label, domain::ApiKey* saved) {
  Result<domain::NewToken> token = domain::MakeToken();
  if (!token.ok()) {
    ADD_FAILURE() << token.status().ToString();
    return {};
  }
  domain::ApiKey key;
  key.key_id = token->key_id;
  key.role = role;
  key.subscriptions = std::move(subscriptions);
  key.label = std::move(label);
  key.secret_hash = token->secret_hash;
  key.created = clock_.Now();
  const Status s = store_->SaveApiKey(key);
  if (!s.ok()) ADD_FAILURE() << s.ToString();
  if (saved != nullptr) *saved = key;
  return token->token;
}

bool ApiWorld::Build() {
  clock_.Set(UtcTime{kNowSeconds * kMicrosPerSecond});
  char tmpl[] = "/tmp/tally-api-cases-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return false;
  dir_ = tmpl;
  store::SqliteStoreOptions options;
  options.data_dir = dir_;
  options.create_if_missing = true;
  options.clock = &clock_;
  Result<std::unique_ptr<store::UsageStore>> store = store::OpenSqliteStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return false;
  }
  store_ = std::move(*store);
  ingest_ = std::make_unique<ingest::IngestService>(*store_, clock_);
  query_ = std::make_unique<query::UsageQueryService>(*store_, clock_);
  api_ = std::make_unique<ApiService>(*store_, *ingest_, *query_, clock_);
  ApiServiceOptions throttled;
  throttled.max_concurrent_queries = 0;
  throttled_api_ = std::make_unique<ApiService>(*store_, *ingest_, *query_, clock_, throttled);

  Result<domain::Subscription> p0 = store_->DefaultProvider();
  if (!p0.ok()) {
    ADD_FAILURE() << p0.status().ToString();
    return false;
  }
  ids_ = {{"P0", p0->id}, {"P1", kP1}, {"T1", kT1}, {"T2", kT2},
          {"T3", kT3},    {"U", kU},   {"X", kX}};

  auto save = [&](const char* id, domain::SubscriptionKind kind, std::string provider,
                  domain::SubscriptionState state) {
    domain::Subscription s;
    s.id = id;
    s.kind = kind;
    s.provider_id = std::move(provider);
    s.display_name = std::string("fixture ") + id;
    s.state = state;
    s.created = clock_.Now();
    const Status st = store_->SaveSubscription(s);
    if (!st.ok()) ADD_FAILURE() << st.ToString();
    return st.ok();
  };
  using Kind = domain::SubscriptionKind;
  using State = domain::SubscriptionState;
  if (!save(kP1, Kind::kProvider, p0->id, State::kActive) ||
      !save(kT1, Kind::kTenant, "", State::kActive) ||
      !save(kT2, Kind::kTenant, kP1, State::kActive) ||
      !save(kT3, Kind::kTenant, p0->id, State::kActive)) {
    return false;
  }
  parents_ = {{kP1, p0->id}, {kT1, p0->id}, {kT2, kP1}, {kT3, p0->id}, {kU, p0->id}};

  // Known usage. Quantities are powers of two so that every sum names its records.
  const std::string p0_id = p0->id;
  std::string body;
  body += Record("t1-a", kT1, kStaticIp, "ip1", "2024-05-01T22:00:00Z", "2024-05-01T23:00:00Z",
                 "1", "2024-05-01T23:30:00Z");
  body += Record("t1-b", kT1, kStaticIp, "ip1", "2024-05-01T23:00:00Z", "2024-05-02T00:00:00Z",
                 "2", "2024-05-02T00:30:00Z");
  body += Record("t1-c", kT1, kDynamicIp, "ip2", "2024-05-02T00:00:00Z", "2024-05-02T01:00:00Z",
                 "4", "2024-05-02T01:10:00Z");
  body += Record("t1-d", kT1, kStaticIp, "ip1", "2024-05-02T10:00:00Z", "2024-05-02T11:00:00Z",
                 "8", "2024-05-02T12:00:00Z");
  body += Record("t1-e", kT1, kStaticIp, "ip1", "2024-05-02T23:00:00Z", "2024-05-03T00:00:00Z",
                 "16", "2024-05-03T00:10:00Z");
  const std::string h23 = "2024-05-01T23:00:00Z", h24 = "2024-05-02T00:00:00Z";
  body += Record("t2-a", kT2, kStaticIp, "ip1", h23, h24, "32", "2024-05-02T00:40:00Z");
  body += Record("t3-a", kT3, kStaticIp, "ip1", h23, h24, "64", "2024-05-02T00:45:00Z");
  body += Record("u-a", kU, kStaticIp, "ip1", h23, h24, "128", "2024-05-02T00:50:00Z");
  body += Record("p1-a", kP1, kStaticIp, "ip1", h23, h24, "256", "2024-05-02T00:55:00Z");
  body += Record("p0-a", p0_id, kStaticIp, "ip1", h23, h24, "512", "2024-05-02T00:20:00Z");
  // Reported 2024-05-10T03:00Z: 1,001 aggregates of T1 (two pages), and one each of T2, T3, U.
  const std::string h1 = "2024-05-10T01:00:00Z", h2 = "2024-05-10T02:00:00Z",
                    paged = "2024-05-10T03:00:00Z";
  for (int i = 0; i <= 1000; ++i) {
    body += Record("t1-pg-" + std::to_string(i), kT1, kStaticIp, "pg" + std::to_string(i), h1, h2,
                   "1", paged);
  }
  body += Record("t2-pg", kT2, kStaticIp, "pg", h1, h2, "1000", paged);
  body += Record("t3-pg", kT3, kStaticIp, "pg", h1, h2, "0.25", paged);
  body += Record("u-pg", kU, kStaticIp, "pg", h1, h2, "0.5", paged);
  const ingest::IngestOutcome outcome =
      ingest_->Ingest(body, ingest::BodyFormat::kNdjson, ingest::Sender::kOperator);
  if (!outcome.status.ok()) {
    ADD_FAILURE() << outcome.status.ToString();
    for (const auto& e : outcome.errors) {
      ADD_FAILURE() << e.index << " " << e.property << " " << e.reason;
    }
    return false;
  }
  // Billing: T1, T2 and T3 on the offer, their May 2024 invoices final; a customer of
  // Partner Center with every known tenant subscription (not P0, not X).
  Result<billing::BillingService> billing = billing::BillingService::Make(*store_, clock_);
  if (!billing.ok() || !billing->ImportRateCard(RateCardJson(), std::string(kOffer), "").ok()) {
    ADD_FAILURE() << "the fixture rate card cannot be imported";
    return false;
  }
  for (const char* id : {kT1, kT2, kT3}) {
    billing::SubscriptionPricingRequest pricing;
    pricing.subscription_id = id;
    pricing.offer_durable_id = kOffer;
    const auto priced = billing->SetSubscriptionPricing(pricing);
    if (!priced.ok()) {
      ADD_FAILURE() << priced.status().ToString();
      return false;
    }
  }
  const auto may = pricing::BillingMonth::Parse("2024-05");
  const auto utc = pricing::TimeZone::Load("UTC");
  const auto run = billing->RunInvoices(*may, *utc);
  const auto finalized = billing->FinalizeInvoices(*may);
  if (!run.ok() || !finalized.ok() || finalized->finalized.size() != 3) {
    ADD_FAILURE() << "the fixture invoices of 2024-05 cannot be made final";
    return false;
  }
  invoiced_ = {kT1, kT2, kT3};
  domain::Customer customer;
  customer.id = kCustomer;
  customer.name = "fixture customer";
  customer.subscription_ids = {kP1, kT1, kT2, kT3, kU};
  customer.created = clock_.Now();
  if (const Status s = store_->SaveCustomer(customer); !s.ok()) {
    ADD_FAILURE() << s.ToString();
    return false;
  }

  if (!save(kT3, Kind::kTenant, p0->id, State::kDeleted)) return false;
  Result<std::optional<domain::Subscription>> u = store_->FindSubscription(kU);
  if (!u.ok() || !*u || (*u)->state != State::kUnregistered) {
    ADD_FAILURE() << "U is not an unregistered subscription first seen in usage";
    return false;
  }

  using Role = domain::Role;
  using TK = TokenModel::Kind;
  auto add = [&](const std::string& name, const std::string& header, TokenModel model) {
    authorization_[name] = header;
    models_[name] = std::move(model);
  };
  const std::string op = MakeKey(Role::kOperator, {}, "operator");
  add("operator", "Bearer " + op, {TK::kOperator, p0_id, {}});
  add("lowercase-scheme", "bearer " + op, {TK::kOperator, p0_id, {}});
  add("operator-p1", "Bearer " + MakeKey(Role::kOperator, {kP1}, "operator p1"),
      {TK::kOperator, kP1, {}});
  add("tenant-t1", "Bearer " + MakeKey(Role::kTenant, {kT1}, "tenant t1"),
      {TK::kTenant, "", {kT1}});
  add("tenant-t2", "Bearer " + MakeKey(Role::kTenant, {kT2}, "tenant t2"),
      {TK::kTenant, "", {kT2}});
  add("tenant-multi", "Bearer " + MakeKey(Role::kTenant, {kT1, kT3}, "tenant t1+t3"),
      {TK::kTenant, "", {kT1, kT3}});
  add("reporter", "Bearer " + MakeKey(Role::kReporter, {}, "reporter"), {TK::kReporter, "", {}});
  domain::ApiKey revoked_op, revoked_tenant;
  add("revoked-operator", "Bearer " + MakeKey(Role::kOperator, {}, "revoked", &revoked_op), {});
  add("revoked-tenant",
      "Bearer " + MakeKey(Role::kTenant, {kT1}, "revoked tenant", &revoked_tenant), {});
  if (!store_->RevokeApiKey(revoked_op.key_id, clock_.Now()).ok() ||
      !store_->RevokeApiKey(revoked_tenant.key_id, clock_.Now()).ok()) {
    ADD_FAILURE() << "revoking the fixture keys failed";
    return false;
  }
  // The operator's key ID with another well-formed secret.
  const std::optional<domain::ParsedToken> parsed = domain::ParseToken(op);
  if (!parsed) {
    ADD_FAILURE() << "the operator token does not parse";
    return false;
  }
  add("wrong-secret", "Bearer tly_" + parsed->key_id + "_" + std::string(43, 'A'), {});
  Result<domain::NewToken> unsaved = domain::MakeToken();
  if (!unsaved.ok()) return false;
  add("unknown-key", "Bearer " + unsaved->token, {});
  add("malformed", "Bearer not-a-tally-token", {});
  add("basic", "Basic dXNlcjpwYXNzd29yZA==", {});
  add("bearer-empty", "Bearer ", {});
  models_["none"] = {};
  return true;
}

std::string ApiWorld::CustomerId() const { return kCustomer; }

std::string ApiWorld::Id(std::string_view name) const {
  auto it = ids_.find(std::string(name));
  if (it == ids_.end()) {
    ADD_FAILURE() << "no fixture subscription " << name;
    return {};
  }
  return it->second;
}

std::vector<std::string> ApiWorld::AllIds() const {
  std::vector<std::string> out;
  for (const auto& [name, id] : ids_) out.push_back(id);
  return out;
}

std::optional<std::string> ApiWorld::Authorization(std::string_view token_name) const {
  if (token_name == "none") return std::nullopt;
  auto it = authorization_.find(token_name);
  if (it == authorization_.end()) {
    ADD_FAILURE() << "no fixture token named '" << token_name << "'";
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> ApiWorld::TokenNames() const {
  std::vector<std::string> out;
  for (const auto& [name, model] : models_) out.push_back(name);
  return out;
}

const TokenModel& ApiWorld::Model(std::string_view token_name) const {
  static const TokenModel kNone;
  auto it = models_.find(token_name);
  if (it == models_.end()) {
    ADD_FAILURE() << "no fixture token named '" << token_name << "'";
    return kNone;
  }
  return it->second;
}

bool ApiWorld::IsKnown(std::string_view id) const {
  return id == Id("P0") || parents_.count(std::string(id)) > 0;
}

bool ApiWorld::IsDirectTenant(std::string_view id, std::string_view provider) const {
  if (id == provider) return false;
  if (id == Id("P0")) return false;  // the Default Provider is nobody's tenant
  auto it = parents_.find(std::string(id));
  const std::string parent = it == parents_.end() ? Id("P0") : it->second;
  return parent == provider;
}

std::set<std::string> ApiWorld::VisibleTo(std::string_view token_name) const {
  const TokenModel& m = Model(token_name);
  std::set<std::string> out;
  switch (m.kind) {
    case TokenModel::Kind::kTenant:
      out.insert(m.subscriptions.begin(), m.subscriptions.end());
      break;
    case TokenModel::Kind::kOperator:
      out.insert(m.acting_for);
      for (const std::string& id : AllIds()) {
        if (IsDirectTenant(id, m.acting_for)) out.insert(id);
      }
      break;
    case TokenModel::Kind::kReporter:
    case TokenModel::Kind::kNone:
      break;
  }
  return out;
}

std::string ApiWorld::Substitute(std::string_view text) const {
  std::string out(text);
  for (const auto& [name, id] : ids_) {
    out = ReplaceAll(out, "{" + name + ":upper}", AsciiUpper(id));
    out = ReplaceAll(out, "{" + name + "}", id);
  }
  for (const auto& [name, header] : authorization_) {
    const std::string key = "{TOKEN:" + name + "}";
    if (out.find(key) == std::string::npos) continue;
    const size_t space = header.find(' ');
    out = ReplaceAll(out, key, space == std::string::npos ? header : header.substr(space + 1));
  }
  return out;
}

HttpResponse ApiWorld::Send(HttpRequest request, bool throttled) const {
  request.local_authority = "127.0.0.1:9";
  if (request.Header("Host") == nullptr) request.headers.emplace_back("Host", kTestHost);
  HttpResponse response = (throttled ? throttled_api_ : api_)->Handle(request);
  // A streamed body as the client would receive it.
  const Status streamed = CollectStreamedBody(response);
  if (!streamed.ok()) ADD_FAILURE() << request.target << ": " << streamed.ToString();
  return response;
}

HttpResponse ApiWorld::Get(std::string_view target, std::string_view token_name) const {
  HttpRequest r;
  r.method = Method::kGet;
  r.target = std::string(target);
  if (std::optional<std::string> auth = Authorization(token_name)) {
    r.headers.emplace_back("Authorization", *auth);
  }
  return Send(std::move(r));
}

}  // namespace tally::api::testing
