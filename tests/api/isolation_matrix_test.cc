// The isolation matrix: every route of the API (api_service.cc) × every fixture token × every
// fixture subscription (in the path and, for the operator API, as subscriberId) × request
// variants, each answer compared with what the isolation rules (docs/api.md, modelled in
// ApiWorld independently of src/api) allow, and every answer checked for the invariants of
// api_checks.h (no 200 body names a subscription the token may not see; no error body names
// one the request did not). Also: a 403 is byte-for-byte the same whatever the subscription
// (existing, deleted, unknown) and whoever asks, and a 401 is the same for one token
// whatever it asks for.
#include <gtest/gtest.h>

#include <map>
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
  void Check(std::string_view family, Method method, const std::string& target,
             const std::string& token, bool throttled, const Expected& want,
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
      return;
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
      bool allowed = false;
      switch (t.kind) {
        case TokenModel::Kind::kTenant:
          allowed = std::find(t.subscriptions.begin(), t.subscriptions.end(), id) !=
                    t.subscriptions.end();
          break;
        case TokenModel::Kind::kOperator:
          allowed = id == t.acting_for || w->IsDirectTenant(id, t.acting_for);
          break;
        case TokenModel::Kind::kReporter:
        case TokenModel::Kind::kNone:
          break;
      }
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

}  // namespace
}  // namespace tally::api::testing
