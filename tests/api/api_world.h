// ApiWorld: the one fixed world the data-driven API cases (tests/data/api/*.json) and the
// isolation matrix run in: a real SQLite store in a temporary directory, the services and an
// ApiService over it, a FakeClock at 2024-06-01T12:30:00Z, a set of provider and tenant
// subscriptions with known usage, a rate card, final invoices of 2024-05, a Partner Center
// customer, and one API key of every kind. tests/data/api/README.md
// describes the world and the case format; keep the two in step.
//
// Built once per test process on first use and never changed afterwards (no test writes
// usage that any query can see), so the order of tests does not matter. Removed at exit by a
// gtest environment. Thread-compatible: tests use it from the main thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_service.h"
#include "api/http_message.h"
#include "common/clock.h"
#include "ingest/ingest_service.h"
#include "query/usage_query.h"
#include "store/usage_store.h"

namespace tally::api::testing {

// The Host header every request carries unless a case sends its own: nextLinks start with
// "http://" + kTestHost.
inline constexpr std::string_view kTestHost = "tally.example:8443";

// What a token may read, by the isolation rules (docs/api.md), independent of src/api.
struct TokenModel {
  enum class Kind { kNone, kOperator, kTenant, kReporter };
  Kind kind = Kind::kNone;  // kNone: no, a malformed, an unknown, a wrong or a revoked token
  std::string acting_for;   // operator: the provider it acts for (an ID)
  std::vector<std::string> subscriptions;  // tenant: the subscriptions it lists (IDs)
};

class ApiWorld {
 public:
  // The world, built on first call. Fails the calling test (and returns nullptr) if it
  // cannot be built.
  static ApiWorld* Get();
  // Removes the world and its directory (called by the gtest environment at exit).
  static void Destroy();

  ~ApiWorld();

  // The offer T1, T2 and T3 are on; its one rate card (USD, en-US, no region) prices both
  // fixture meters.
  static constexpr std::string_view kOffer = "MS-AZR-0003P";
  // The subscriptions with a (final) invoice of 2024-05: T1, T2, T3.
  const std::set<std::string>& Invoiced() const { return invoiced_; }
  // The Partner Center customer of P1, T1, T2, T3 and U.
  std::string CustomerId() const;

  // Subscription placeholders: "P0" (the Default Provider Subscription), "P1" (delegated,
  // under P0), "T1" (tenant of P0, no explicit provider), "T2" (under P1), "T3" (deleted,
  // explicitly under P0), "U" (first seen in usage), "X" (never seen anywhere). IDs are
  // lower-case GUIDs.
  const std::map<std::string, std::string>& ids() const { return ids_; }
  std::string Id(std::string_view name) const;
  // Every fixture subscription ID (including X).
  std::vector<std::string> AllIds() const;

  // Token names: none, operator, operator-p1, tenant-t1, tenant-t2, tenant-multi, reporter,
  // revoked-operator, revoked-tenant, wrong-secret, unknown-key, malformed, basic,
  // bearer-empty, lowercase-scheme. The Authorization header value (nullopt for "none");
  // an unknown name fails the test.
  std::optional<std::string> Authorization(std::string_view token_name) const;
  std::vector<std::string> TokenNames() const;
  const TokenModel& Model(std::string_view token_name) const;
  // The subscriptions whose IDs a 200 answer to this token may carry: a tenant's own; for an
  // operator its provider, the provider's direct tenants and (for the Default Provider) any
  // subscription the store does not know yet; nothing for the others.
  std::set<std::string> VisibleTo(std::string_view token_name) const;
  // Whether `id` is a direct tenant of `provider` in the fixture (unknown IDs count as
  // tenants of P0, as first-seen subscriptions are).
  bool IsDirectTenant(std::string_view id, std::string_view provider) const;
  bool IsKnown(std::string_view id) const;

  // Replaces "{NAME}" and "{NAME:upper}" for every subscription placeholder, and the
  // "{TOKEN:name}" secrets (only for building Authorization headers in cases).
  std::string Substitute(std::string_view text) const;

  // Sends a request with the given Authorization (none when nullopt) and the default Host
  // header. `throttled` uses a service that admits no usage query (503 for every one).
  HttpResponse Send(HttpRequest request, bool throttled = false) const;
  HttpResponse Get(std::string_view target, std::string_view token_name) const;

  const std::string& dir() const { return dir_; }

 private:
  ApiWorld() = default;
  bool Build();
  std::string MakeKey(domain::Role role, std::vector<std::string> subscriptions,
                      std::string label, domain::ApiKey* saved = nullptr);

  FakeClockForTesting clock_{UtcTime{0}};
  std::string dir_;
  std::unique_ptr<store::UsageStore> store_;
  std::unique_ptr<ingest::IngestService> ingest_;
  std::unique_ptr<query::UsageQueryService> query_;
  std::unique_ptr<ApiService> api_;
  std::unique_ptr<ApiService> throttled_api_;
  std::map<std::string, std::string> ids_;
  std::map<std::string, std::string> parents_;
  std::set<std::string> invoiced_;  // subscription ID -> provider ID
  std::map<std::string, std::string, std::less<>> authorization_;  // token name -> header
  std::map<std::string, TokenModel, std::less<>> models_;
};

// `text` with every `from` replaced by `to`.
std::string ReplaceAll(std::string text, std::string_view from, std::string_view to);

// Finds a response header by name, case-insensitively; nullptr when absent.
const std::string* FindHeader(const HttpResponse& r, std::string_view name);

}  // namespace tally::api::testing
