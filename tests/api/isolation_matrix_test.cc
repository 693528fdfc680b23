// The isolation matrix: every route of the API (api_service.cc) × every fixture token × every
// fixture subscription (in the path and, for the operator API, as subscriberId) × request
// variants, each answer compared with what the isolation rules (docs/api.md, modelled in
// ApiWorld independently of src/api) allow, and every answer checked for the invariants of
// api_checks.h (no 200 body names a subscription the token may not see; no error body names
// one the request did not). Also: a 403 is byte-for-byte the same whatever the subscription
// (existing, deleted, unknown) and whoever asks, and a 401 is the same for one token
// whatever it asks for.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/api/api_checks.h"
#include "tests/api/api_world.h"

namespace tally::api::testing {
namespace {

constexpr char kApiVersion[] = "api-version=2015-06-01-preview";
// Reported 2024-05-02T00:00Z-01:00Z: usage of T1, T2, T3, U, P1 and P0 (not X).
constexpr char kWindow[] =
    "reportedStartTime=2024-05-02T00:00:00Z&reportedEndTime=2024-05-02T01:00:00Z"
    "&aggregationGranularity=Hourly";

struct Expected {
  int status = 200;
  std::string code;  // "" for 200
};

bool operator==(const Expected& a, const Expected& b) {
  return a.status == b.status && a.code == b.code;
}

// A way a request can be, beyond who sends it and for which subscription.
struct Variant {
  std::string name;
  std::string query;
  bool throttled = false;
  Expected when_allowed;  // the answer once authentication and authorization pass
};

std::vector<Variant> Variants() {
  const std::string valid = std::string(kApiVersion) + "&" + kWindow;
  return {
      {"valid", valid, false, {200, ""}},
      {"no-api-version", kWindow, false, {400, "NoApiVersion"}},
      {"unparseable-start",
       std::string(kApiVersion) +
           "&reportedStartTime=yesterday&reportedEndTime=2024-05-02T01:00:00Z"
           "&aggregationGranularity=Hourly",
       false,
       {400, "InvalidProperty"}},
      {"foreign-token", valid + "&continuationToken=bm90LWEtdG9rZW4", false,
       {400, "InvalidProperty"}},
      {"throttled", valid, true, {503, "ServiceUnavailable"}},
  };
}

// The subscriptions with usage in kWindow.
std::set<std::string> WithUsage(const ApiWorld& w) {
  return {w.Id("T1"), w.Id("T2"), w.Id("T3"), w.Id("U"), w.Id("P1"), w.Id("P0")};
}

class Matrix {
 public:
  explicit Matrix(const ApiWorld& world) : world_(world) {}

  // Sends one request and compares the answer with `want`; `rows_from` (for a 200 usage
  // answer) is the exact set of subscriptions whose usage the answer must hold.
  // Returns the answer when it is the one wanted, else nullopt.
  std::optional<HttpResponse> Check(std::string_view family, Method method,
                                    const std::string& target, const std::string& token,
                                    bool throttled, const Expected& want,
                                    const std::set<std::string>* rows_from = nullptr,
                                    const std::string& body = {}) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (std::optional<std::string> auth = world_.Authorization(token)) {
      r.headers.emplace_back("Authorization", *auth);
    }
    if (!body.empty()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
    }
    const HttpResponse resp = world_.Send(r, throttled);
    ++requests_;
    const std::string where = std::string(MethodName(method)) + " " + target + " token=" + token +
                              (throttled ? " (throttled)" : "");
    SCOPED_TRACE(where);
    const std::optional<SeenPage> page = CheckInvariants(world_, r, token, resp);
    const Expected got{resp.status, resp.error_code};
    if (!(got == want)) {
      if (mismatches_.size() < 40) {
        mismatches_.push_back(where + ": got " + std::to_string(got.status) + " " + got.code +
                              ", want " + std::to_string(want.status) + " " + want.code + "  " +
                              resp.body.substr(0, 200));
      } else {
        ++more_mismatches_;
      }
      return std::nullopt;
    }
    if (resp.status == 200 && rows_from != nullptr && page) {
      std::set<std::string> seen;
      for (const SeenAggregate& a : page->rows) seen.insert(a.subscription_id);
      EXPECT_EQ(seen, *rows_from) << "the subscriptions in the answer";
    }
    // The same 403 for everyone and every subscription; the same 401 for one token.
    std::string normalized = resp.body;
    for (const std::string& id : world_.AllIds()) normalized = ReplaceAll(normalized, id, "{S}");
    if (resp.status == 403) forbidden_[std::string(family)].insert(normalized);
    if (resp.status == 401) unauthenticated_[token].insert(normalized);
    return resp;
  }

  void Report() {
    for (const std::string& m : mismatches_) ADD_FAILURE() << m;
    if (more_mismatches_ > 0) ADD_FAILURE() << "… and " << more_mismatches_ << " more";
    for (const auto& [family, bodies] : forbidden_) {
      EXPECT_EQ(bodies.size(), 1u) << family << ": 403 answers differ between subscriptions "
                                   << "or callers: " << ::testing::PrintToString(bodies);
    }
    for (const auto& [token, bodies] : unauthenticated_) {
      EXPECT_EQ(bodies.size(), 1u) << token << ": 401 answers differ between requests: "
                                   << ::testing::PrintToString(bodies);
    }
    std::printf("%zu requests\n", requests_);
    EXPECT_GT(requests_, 0u);
  }

 private:
  const ApiWorld& world_;
  size_t requests_ = 0;
  std::vector<std::string> mismatches_;
  size_t more_mismatches_ = 0;
  std::map<std::string, std::set<std::string>> forbidden_;
  std::map<std::string, std::set<std::string>> unauthenticated_;
};

// Whether token `t` may read subscription `id` through a tenant-facing route (usage, RateCard,
// Partner Center, invoice downloads): a tenant its own; an operator its provider and the
// provider's direct tenants (a subscription never seen counting as the Default Provider's).
bool MayRead(const ApiWorld& w, const TokenModel& t, const std::string& id) {
  switch (t.kind) {
    case TokenModel::Kind::kTenant:
      return std::find(t.subscriptions.begin(), t.subscriptions.end(), id) !=
             t.subscriptions.end();
    case TokenModel::Kind::kOperator:
      return id == t.acting_for || w.IsDirectTenant(id, t.acting_for);
    case TokenModel::Kind::kReporter:
    case TokenModel::Kind::kNone:
      break;
  }
  return false;
}

// The answer to a token that fails authentication or authorization, else `allowed`.
Expected Gate(const TokenModel& t, bool may, const Expected& allowed) {
  if (t.kind == TokenModel::Kind::kNone) return {401, "AuthenticationFailed"};
  if (!may) return {403, "AuthorizationFailed"};
  return allowed;
}

// Each path ID as lower and upper case (IDs compare lower-cased).
std::vector<std::string> PathForms(const std::string& id) { return {id, AsciiUpper(id)}; }

TEST(IsolationMatrix, TenantApi) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::set<std::string> with_usage = WithUsage(*w);
  const std::vector<std::string> paths = {
      "/subscriptions/{S}/providers/Microsoft.Commerce/UsageAggregates",
      "/SUBSCRIPTIONS/{S}/Providers/microsoft.commerce/usageAggregates/"};
  for (const std::string& token : w->TokenNames()) {
    const TokenModel& t = w->Model(token);
    for (const std::string& id : w->AllIds()) {
      const bool allowed = MayRead(*w, t, id);
      std::set<std::string> rows;
      if (with_usage.count(id) > 0) rows.insert(id);
      for (const Variant& v : Variants()) {
        Expected want = v.when_allowed;
        if (t.kind == TokenModel::Kind::kNone) {
          want = {401, "AuthenticationFailed"};
        } else if (!allowed) {
          want = {403, "AuthorizationFailed"};
        }
        for (const std::string& path : paths) {
          for (const std::string& form : PathForms(id)) {
            const std::string target = ReplaceAll(path, "{S}", form) + "?" + v.query;
            for (Method method : {Method::kGet, Method::kHead}) {
              m.Check("tenant", method, target, token, v.throttled, want, &rows);
            }
          }
        }
      }
    }
  }
  m.Report();
}

void OperatorApi(std::string_view ns) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::set<std::string> with_usage = WithUsage(*w);
  const std::string path =
      "/subscriptions/{S}/providers/" + std::string(ns) + "/subscriberUsageAggregates";
  for (const std::string& token : w->TokenNames()) {
    const TokenModel& t = w->Model(token);
    for (const std::string& id : w->AllIds()) {
      Expected denied;
      bool allowed = false;
      if (t.kind == TokenModel::Kind::kNone) {
        denied = {401, "AuthenticationFailed"};
      } else if (t.kind != TokenModel::Kind::kOperator || id != t.acting_for) {
        denied = {403, "AuthorizationFailed"};
      } else {
        allowed = true;
      }
      // Every direct tenant with usage, never the provider itself.
      std::set<std::string> all_rows;
      for (const std::string& s : with_usage) {
        if (allowed && w->IsDirectTenant(s, id)) all_rows.insert(s);
      }
      for (const Variant& v : Variants()) {
        for (const std::string& form : PathForms(id)) {
          const std::string target = ReplaceAll(path, "{S}", form) + "?" + v.query;
          for (Method method : {Method::kGet, Method::kHead}) {
            m.Check(ns, method, target, token, v.throttled, allowed ? v.when_allowed : denied,
                    &all_rows);
          }
        }
        // subscriberId: every fixture subscription, as the only filter. Checked after
        // api-version (step 4) and before the times (6) and throttling (8).
        for (const std::string& q : w->AllIds()) {
          const bool direct = w->IsKnown(q) && w->IsDirectTenant(q, id);
          Expected want = v.when_allowed;
          if (!allowed) {
            want = denied;
          } else if (!direct && v.name != "no-api-version") {
            want = {400, "SubscriberIdIsNotDirectTenant"};
          }
          std::set<std::string> rows;
          if (with_usage.count(q) > 0) rows.insert(q);
          const std::string target = ReplaceAll(path, "{S}", id) + "?" + v.query +
                                     "&subscriberId=" + (q == id ? AsciiUpper(q) : q);
          m.Check(ns, Method::kGet, target, token, v.throttled, want, &rows);
        }
      }
    }
  }
  m.Report();
}

TEST(IsolationMatrix, OperatorApi) { OperatorApi("Microsoft.Commerce.Admin"); }
TEST(IsolationMatrix, LegacyOperatorApi) { OperatorApi("Microsoft.Commerce"); }

TEST(IsolationMatrix, PathsWithoutASubscription) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::vector<std::string> paths = {
      "/subscriptions//providers/Microsoft.Commerce/UsageAggregates",
      "/providers/Microsoft.Commerce/UsageAggregates",
      "/subscriptions//providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
      "/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
      "/subscriptions//providers/Microsoft.Commerce/subscriberUsageAggregates",
      "/providers/microsoft.commerce/SubscriberUsageAggregates"};
  for (const std::string& token : w->TokenNames()) {
    const bool authenticated = w->Model(token).kind != TokenModel::Kind::kNone;
    const Expected want = authenticated ? Expected{400, "SubscriptionIdMissingInRequest"}
                                        : Expected{401, "AuthenticationFailed"};
    for (const std::string& path : paths) {
      m.Check("missing", Method::kGet, path + "?" + kApiVersion + "&" + kWindow, token, false,
              want);
    }
  }
  m.Report();
}

TEST(IsolationMatrix, IngestAndPublicEndpoints) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  for (const std::string& token : w->TokenNames()) {
    const TokenModel::Kind kind = w->Model(token).kind;
    for (const std::string& id : w->AllIds()) {
      // An invalid record (no meter, times or quantity) never reaches the store.
      const std::string body =
          R"({"records":[{"recordId":"matrix-1","subscriptionId":")" + id + R"("}]})";
      Expected want{400, "InvalidRecords"};
      if (kind == TokenModel::Kind::kNone) want = {401, "AuthenticationFailed"};
      if (kind == TokenModel::Kind::kTenant) want = {403, "AuthorizationFailed"};
      m.Check("ingest", Method::kPost, "/v1/usage/records", token, false, want, nullptr, body);
    }
    for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
      m.Check("public", Method::kGet, path, token, false, {200, ""});
    }
  }
  m.Report();
}

// The subscriptions of `ids` whose IDs `body` names (lower-cased).
std::set<std::string> Named(const ApiWorld& w, const std::string& body) {
  const std::string lower = AsciiLower(body);
  std::set<std::string> out;
  for (const std::string& id : w.AllIds()) {
    if (lower.find(id) != std::string::npos) out.insert(id);
  }
  return out;
}

std::set<std::string> Intersect(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const std::string& x : a) {
    if (b.count(x) > 0) out.insert(x);
  }
  return out;
}

// What listings and exports cover for a token: the subscriptions it may read that the store
// knows (so never X).
std::set<std::string> Readable(const ApiWorld& w, const std::string& token) {
  std::set<std::string> out;
  for (const std::string& id : w.VisibleTo(token)) {
    if (w.IsKnown(id)) out.insert(id);
  }
  return out;
}

TEST(IsolationMatrix, RateCardApi) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::string filter =
      "%24filter=OfferDurableId+eq+%27" + std::string(ApiWorld::kOffer) +
      "%27+and+Currency+eq+%27USD%27+and+Locale+eq+%27en-US%27+and+RegionInfo+eq+%27local%27";
  for (const std::string& token : w->TokenNames()) {
    const TokenModel& t = w->Model(token);
    for (const std::string& id : w->AllIds()) {
      // Every tenant subscription of a tenant token is on the offer, so a tenant reads it.
      const bool may = MayRead(*w, t, id);
      for (const std::string& form : PathForms(id)) {
        const std::string path = "/subscriptions/" + form + "/providers/Microsoft.Commerce/RateCard";
        m.Check("ratecard", Method::kGet, path + "?" + kApiVersion + "&" + filter, token, false,
                Gate(t, may, {200, ""}));
        m.Check("ratecard", Method::kGet, path + "?" + kApiVersion, token, false,
                Gate(t, may, {400, "InvalidFilter"}));
      }
    }
  }
  m.Report();
}

TEST(IsolationMatrix, PartnerCenterApi) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::set<std::string> with_usage = WithUsage(*w);
  const std::set<std::string> of_customer = {w->Id("P1"), w->Id("T1"), w->Id("T2"), w->Id("T3"),
                                             w->Id("U")};
  const std::string window =
      "start_time=2024-05-02T00:00:00Z&end_time=2024-05-02T01:00:00Z&granularity=hourly";
  for (const std::string& token : w->TokenNames()) {
    const TokenModel& t = w->Model(token);
    for (const std::string& id : w->AllIds()) {
      const bool may = MayRead(*w, t, id);
      const Expected want =
          Gate(t, may, of_customer.count(id) > 0 ? Expected{200, ""} : Expected{404, "NotFound"});
      for (const std::string& form : PathForms(id)) {
        for (const std::string& customer : PathForms(w->CustomerId())) {
          const std::string target = "/v1/customers/" + customer + "/subscriptions/" + form +
                                     "/utilizations/azure?" + window;
          std::optional<HttpResponse> r = m.Check("partner", Method::kGet, target, token, false,
                                                  want);
          if (r && r->status == 200) {
            EXPECT_EQ(Named(*w, r->body), with_usage.count(id) > 0 ? std::set<std::string>{id}
                                                                   : std::set<std::string>{})
                << target << " " << token;
          }
        }
      }
    }
  }
  m.Report();
}

TEST(IsolationMatrix, InvoicesAndExports) {
  ApiWorld* w = ApiWorld::Get();
  ASSERT_NE(w, nullptr);
  Matrix m(*w);
  const std::set<std::string> with_usage = WithUsage(*w);  // all usage is reported in May
  const std::string focus = "provider-name=Contoso&billing-account-id=acct-1";
  for (const std::string& token : w->TokenNames()) {
    const TokenModel& t = w->Model(token);
    const bool reporter = t.kind == TokenModel::Kind::kReporter;
    // Reporter keys are refused before any subscription is looked at: their own 403s.
    const auto family = [&](std::string_view kind) {
      return std::string(reporter ? "reporter/" : "") + std::string(kind);
    };
    const std::set<std::string> readable = Readable(*w, token);
    const Expected listing = Gate(t, !reporter, {200, ""});

    // The listings and exports of everything the token may read.
    if (auto r = m.Check(family("invoices"), Method::kGet, "/v1/invoices?period=2024-05", token,
                         false,
                         listing);
        r && r->status == 200) {
      EXPECT_EQ(Named(*w, r->body), Intersect(readable, w->Invoiced())) << token;
    }
    for (const char* format : {"jsonl", "usage-summary", "focus"}) {
      const std::string target = "/v1/exports/" + std::string(format) +
                                 "?period=2024-05&granularity=Hourly&" + focus;
      if (auto r = m.Check(family("exports"), Method::kGet, target, token, false, listing);
          r && r->status == 200) {
        EXPECT_EQ(Named(*w, r->body), Intersect(readable, std::string(format) == "focus"
                                                              ? w->Invoiced()
                                                              : with_usage))
            << target << " " << token;
      }
    }
    // Runs and finalizations: the Default Provider's operator only.
    for (const char* action : {"run", "finalize"}) {
      const bool may = t.kind == TokenModel::Kind::kOperator && t.acting_for == w->Id("P0");
      m.Check(std::string("runs/") + action, Method::kPost, std::string("/v1/invoices/") + action +
              "?period=2024-05", token, false, Gate(t, may, {200, ""}));
    }

    for (const std::string& id : w->AllIds()) {
      // One subscription, named in the query: only one the token may read and the store knows.
      const bool in_scope = readable.count(id) > 0;
      for (const std::string& form : PathForms(id)) {
        if (auto r = m.Check(family("invoices"), Method::kGet,
                             "/v1/invoices?subscriptionId=" + form, token, false, Gate(t, !reporter && in_scope, {200, ""}));
            r && r->status == 200) {
          EXPECT_EQ(Named(*w, r->body), Intersect({id}, w->Invoiced())) << token << " " << id;
        }
        const std::string export_target =
            "/v1/exports/jsonl?period=2024-05&subscriptionId=" + form;
        if (auto r = m.Check(family("exports"), Method::kGet, export_target, token, false,
                             Gate(t, !reporter && in_scope, {200, ""}));
            r && r->status == 200) {
          EXPECT_EQ(Named(*w, r->body), Intersect({id}, with_usage)) << token << " " << id;
        }
        // One invoice, named in the path: the rule of the tenant usage API.
        const bool may = MayRead(*w, t, id);
        for (const char* format : {"json", "csv", "html"}) {
          const std::string target = "/v1/subscriptions/" + form + "/invoices/2024-05?format=" +
                                     format;
          const Expected found = w->Invoiced().count(id) > 0 ? Expected{200, ""}
                                                              : Expected{404, "InvoiceNotFound"};
          if (auto r = m.Check("invoice", Method::kGet, target, token, false,
                               Gate(t, may, found));
              r && r->status == 200) {
            EXPECT_EQ(Named(*w, r->body), std::set<std::string>{id}) << target << " " << token;
          }
        }
      }
    }
  }
  m.Report();
}

}  // namespace
}  // namespace tally::api::testing
