// The data-driven API cases: every tests/data/api/*.json file is one test that sends each of
// its cases to an in-process ApiService over the fixed ApiWorld and checks the answer against
// the case's expectations and against the invariants every answer must keep
// (api_checks.h). The case format is described in tests/data/api/README.md.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/api/api_checks.h"
#include "tests/api/api_world.h"

namespace tally::api::testing {
namespace {

namespace dom = simdjson::dom;

std::vector<std::string> CaseFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(TALLY_API_CASES_DIR, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Reports every key of `o` that is not in `known`, so that a misspelt expectation fails
// instead of being ignored.
void CheckKeys(dom::object o, std::initializer_list<std::string_view> known,
               std::string_view what) {
  for (auto field : o) {
    EXPECT_TRUE(std::find(known.begin(), known.end(), field.key) != known.end())
        << "unknown key '" << field.key << "' in " << what;
  }
}

std::string Str(dom::object o, std::string_view key, std::string fallback = {}) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) return fallback;
  return std::string(v);
}

bool Has(dom::object o, std::string_view key) {
  dom::element e;
  return o[key].get(e) == simdjson::SUCCESS;
}

std::vector<std::string> Strings(dom::object o, std::string_view key) {
  std::vector<std::string> out;
  dom::array a;
  if (o[key].get_array().get(a) != simdjson::SUCCESS) return out;
  for (dom::element e : a) {
    std::string_view v;
    if (e.get_string().get(v) == simdjson::SUCCESS) {
      out.emplace_back(v);
    } else {
      ADD_FAILURE() << key << " must be an array of strings";
    }
  }
  return out;
}

Method ParseMethod(std::string_view m) {
  if (m == "GET") return Method::kGet;
  if (m == "HEAD") return Method::kHead;
  if (m == "POST") return Method::kPost;
  if (m == "PUT") return Method::kPut;
  if (m == "PATCH") return Method::kPatch;
  if (m == "DELETE") return Method::kDelete;
  if (m == "OPTIONS") return Method::kOptions;
  ADD_FAILURE() << "unknown method " << m;
  return Method::kOther;
}

struct Built {
  HttpRequest request;
  std::string token = "none";
  bool throttled = false;
};

// Builds the request of a case's "request" object; `extra` substitutions apply after the
// fixture placeholders.
Built BuildRequest(const ApiWorld& world, dom::object r,
                   const std::map<std::string, std::string>& extra) {
  CheckKeys(r, {"method", "path", "query", "token", "headers", "body", "service",
                "continuation_from"},
            "request");
  auto sub = [&](std::string text) {
    text = world.Substitute(text);
    for (const auto& [k, v] : extra) text = ReplaceAll(text, k, v);
    return text;
  };
  Built b;
  b.request.method = ParseMethod(Str(r, "method", "GET"));
  b.request.target = sub(Str(r, "path"));
  if (Has(r, "query")) b.request.target += "?" + sub(Str(r, "query"));
  b.token = Str(r, "token", "none");
  const std::string service = Str(r, "service", "default");
  EXPECT_TRUE(service == "default" || service == "throttled") << "service " << service;
  b.throttled = service == "throttled";
  dom::object headers;
  bool has_auth = false;
  if (r["headers"].get_object().get(headers) == simdjson::SUCCESS) {
    for (auto h : headers) {
      std::string_view v;
      EXPECT_EQ(h.value.get_string().get(v), simdjson::SUCCESS) << "header values are strings";
      b.request.headers.emplace_back(std::string(h.key), sub(std::string(v)));
      if (EqualsIgnoreCase(h.key, "Authorization")) has_auth = true;
    }
  }
  if (!has_auth) {
    if (std::optional<std::string> auth = world.Authorization(b.token)) {
      b.request.headers.emplace_back("Authorization", *auth);
    }
  }
  b.request.body = sub(Str(r, "body"));
  return b;
}

// Follows `page`'s nextLink to the end; returns every row of every page and the page count.
std::pair<std::vector<SeenAggregate>, int> Follow(const ApiWorld& world, const Built& first,
                                                  SeenPage page) {
  std::vector<SeenAggregate> all = page.rows;
  int pages = 1;
  while (page.next_link && pages < 100) {
    Built next = first;
    next.request.target = NextLinkTarget(*page.next_link);
    const HttpResponse r = world.Send(next.request, next.throttled);
    EXPECT_EQ(r.status, 200) << "page " << pages + 1 << ": " << r.body.substr(0, 300);
    std::optional<SeenPage> seen = CheckInvariants(world, next.request, next.token, r);
    if (!seen) break;
    page = std::move(*seen);
    all.insert(all.end(), page.rows.begin(), page.rows.end());
    ++pages;
  }
  return {std::move(all), pages};
}

void CheckRows(const ApiWorld& world, const std::vector<SeenAggregate>& rows, dom::object e,
               std::string_view what) {
  int64_t count = 0;
  if (e["value_count"].get_int64().get(count) == simdjson::SUCCESS) {
    EXPECT_EQ(static_cast<int64_t>(rows.size()), count) << what << " value_count";
  }
  if (Has(e, "subscriptions")) {
    std::set<std::string> want, seen;
    for (const std::string& s : Strings(e, "subscriptions")) want.insert(world.Substitute(s));
    for (const SeenAggregate& a : rows) seen.insert(a.subscription_id);
    EXPECT_EQ(seen, want) << what << " subscriptions";
  }
  double total = 0;
  if (e["total_quantity"].get_double().get(total) == simdjson::SUCCESS) {
    double sum = 0;
    for (const SeenAggregate& a : rows) sum += a.quantity;
    EXPECT_NEAR(sum, total, 1e-9) << what << " total_quantity";
  }
  // Every row appears once: (subscription, meter, usage start, instance) is unique.
  std::set<std::string> keys;
  for (const SeenAggregate& a : rows) {
    EXPECT_TRUE(keys.insert(a.subscription_id + "|" + a.meter_id + "|" + a.usage_start + "|" +
                            a.instance_data)
                    .second)
        << what << ": a repeated aggregate " << a.subscription_id << " " << a.usage_start;
  }
  dom::array wanted;
  if (e["aggregates"].get_array().get(wanted) != simdjson::SUCCESS) return;
  for (dom::element w : wanted) {
    dom::object o;
    if (w.get_object().get(o) != simdjson::SUCCESS) {
      ADD_FAILURE() << "aggregates holds objects";
      continue;
    }
    CheckKeys(o, {"subscriptionId", "meterId", "usageStartTime", "usageEndTime", "quantity"},
              "aggregates");
    double q = 0;
    const bool has_q = o["quantity"].get_double().get(q) == simdjson::SUCCESS;
    const bool found = std::any_of(rows.begin(), rows.end(), [&](const SeenAggregate& a) {
      auto eq = [&](std::string_view key, const std::string& seen) {
        return !Has(o, key) || world.Substitute(Str(o, key)) == seen;
      };
      return eq("subscriptionId", a.subscription_id) && eq("meterId", a.meter_id) &&
             eq("usageStartTime", a.usage_start) && eq("usageEndTime", a.usage_end) &&
             (!has_q || std::fabs(a.quantity - q) < 1e-9);
    });
    EXPECT_TRUE(found) << what << ": no aggregate matches " << simdjson::minify(w);
  }
}

void RunCase(const ApiWorld& world, dom::object c, std::set<std::string>& names) {
  CheckKeys(c, {"name", "why", "request", "expect"}, "case");
  const std::string name = Str(c, "name");
  SCOPED_TRACE("case " + name);
  EXPECT_FALSE(name.empty()) << "every case has a name";
  EXPECT_TRUE(names.insert(name).second) << "duplicate case name " << name;
  dom::object r, e;
  if (c["request"].get_object().get(r) != simdjson::SUCCESS ||
      c["expect"].get_object().get(e) != simdjson::SUCCESS) {
    ADD_FAILURE() << "a case has a request and an expect object";
    return;
  }
  CheckKeys(e, {"status", "code", "message_contains", "body", "headers", "headers_absent",
                "value_count", "next_link", "next_link_prefix", "next_link_contains",
                "subscriptions", "total_quantity", "aggregates", "follow"},
            "expect");

  // A continuation token produced by another request of the same world.
  std::map<std::string, std::string> extra;
  dom::object from;
  if (r["continuation_from"].get_object().get(from) == simdjson::SUCCESS) {
    const Built pre = BuildRequest(world, from, {});
    const HttpResponse first = world.Send(pre.request, pre.throttled);
    ASSERT_EQ(first.status, 200) << "continuation_from: " << first.body.substr(0, 300);
    std::optional<SeenPage> page = CheckInvariants(world, pre.request, pre.token, first);
    ASSERT_TRUE(page && page->next_link) << "continuation_from gave no nextLink";
    std::string token = QueryParam(*page->next_link, "continuationToken");
    ASSERT_GT(token.size(), 20u);
    extra["{CONTINUATION}"] = token;
    std::string damaged = token;
    char& middle = damaged[damaged.size() / 2];
    middle = middle == 'A' ? 'B' : 'A';
    extra["{CONTINUATION_DAMAGED}"] = damaged;
    extra["{CONTINUATION_TRUNCATED}"] = token.substr(0, token.size() / 2);
  }

  const Built b = BuildRequest(world, r, extra);
  const HttpResponse resp = world.Send(b.request, b.throttled);
  SCOPED_TRACE(std::string(MethodName(b.request.method)) + " " + b.request.target + " -> " +
               std::to_string(resp.status) + " " + resp.body.substr(0, 400));
  const std::optional<SeenPage> page = CheckInvariants(world, b.request, b.token, resp);

  int64_t status = 0;
  EXPECT_EQ(e["status"].get_int64().get(status), simdjson::SUCCESS) << "expect.status is required";
  EXPECT_EQ(resp.status, status);
  if (status != 200) {
    EXPECT_TRUE(Has(e, "code")) << "an error case names its code";
  }
  if (Has(e, "code")) {
    EXPECT_EQ(resp.error_code, Str(e, "code"));
  }
  for (const std::string& m : Strings(e, "message_contains")) {
    EXPECT_NE(resp.body.find(world.Substitute(m)), std::string::npos) << "message lacks " << m;
  }
  if (Has(e, "body")) {
    EXPECT_EQ(resp.body, world.Substitute(Str(e, "body")));
  }
  dom::object headers;
  if (e["headers"].get_object().get(headers) == simdjson::SUCCESS) {
    for (auto h : headers) {
      std::string_view want;
      EXPECT_EQ(h.value.get_string().get(want), simdjson::SUCCESS);
      if (EqualsIgnoreCase(h.key, "Content-Type")) {
        EXPECT_EQ(resp.content_type, want);
        continue;
      }
      const std::string* got = FindHeader(resp, h.key);
      EXPECT_NE(got, nullptr) << "missing header " << h.key;
      if (got != nullptr && want != "*") {
        EXPECT_EQ(*got, want) << h.key;
      }
    }
  }
  for (const std::string& h : Strings(e, "headers_absent")) {
    EXPECT_EQ(FindHeader(resp, h), nullptr) << "unexpected header " << h;
  }

  const bool wants_page = Has(e, "value_count") || Has(e, "next_link") ||
                          Has(e, "subscriptions") || Has(e, "aggregates") || Has(e, "follow") ||
                          Has(e, "total_quantity") || Has(e, "next_link_prefix");
  if (!wants_page) return;
  ASSERT_TRUE(page) << "the case expects a usage page";
  CheckRows(world, page->rows, e, "page");
  bool next = false;
  if (e["next_link"].get_bool().get(next) == simdjson::SUCCESS) {
    EXPECT_EQ(page->next_link.has_value(), next) << "nextLink " << page->next_link.value_or("");
  }
  if (Has(e, "next_link_prefix")) {
    EXPECT_EQ(page->next_link.value_or("").rfind(world.Substitute(Str(e, "next_link_prefix")), 0),
              0u)
        << page->next_link.value_or("(none)");
  }
  for (const std::string& part : Strings(e, "next_link_contains")) {
    EXPECT_NE(page->next_link.value_or("").find(world.Substitute(part)), std::string::npos)
        << page->next_link.value_or("(none)") << " lacks " << part;
  }
  dom::object follow;
  if (e["follow"].get_object().get(follow) == simdjson::SUCCESS) {
    CheckKeys(follow, {"pages", "value_count", "subscriptions", "total_quantity", "aggregates"},
              "follow");
    auto [rows, pages] = Follow(world, b, *page);
    int64_t want_pages = 0;
    if (follow["pages"].get_int64().get(want_pages) == simdjson::SUCCESS) {
      EXPECT_EQ(pages, want_pages) << "pages";
    }
    CheckRows(world, rows, follow, "all pages");
  }
}

class ApiCasesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ApiCasesTest, EveryCaseAnswersAsExpected) {
  ApiWorld* world = ApiWorld::Get();
  ASSERT_NE(world, nullptr);
  dom::parser parser;
  dom::object file;
  ASSERT_EQ(parser.load(GetParam()).get_object().get(file), simdjson::SUCCESS)
      << GetParam() << " is not a JSON object";
  CheckKeys(file, {"description", "cases"}, GetParam());
  EXPECT_FALSE(Str(file, "description").empty()) << "a case file says what it covers";
  dom::array cases;
  ASSERT_EQ(file["cases"].get_array().get(cases), simdjson::SUCCESS);
  EXPECT_GT(cases.size(), 0u);
  std::set<std::string> names;
  for (dom::element c : cases) {
    dom::object o;
    ASSERT_EQ(c.get_object().get(o), simdjson::SUCCESS);
    RunCase(*world, o, names);
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, ApiCasesTest, ::testing::ValuesIn(CaseFiles()), TestName);

// The corpus as a whole: every error code the API documents (contract §3, docs/api.md) is
// exercised with its HTTP status by at least one case.
TEST(ApiCaseCorpus, CoversEveryDocumentedCodeWithItsStatus) {
  const std::map<std::string, int64_t> documented = {
      {"NoApiVersion", 400},
      {"InvalidProperty", 400},
      {"RequestEndTimeIsInFuture", 400},
      {"SubscriberIdIsNotDirectTenant", 400},
      {"SubscriptionIdMissingInRequest", 400},
      {"InvalidAggregationGranularity", 400},
      {"InvalidApiVersionParameter", 400},
      {"ServiceUnavailable", 503},
      {"AuthenticationFailed", 401},
      {"AuthorizationFailed", 403},
      {"NotFound", 404},
      {"MethodNotAllowed", 405},
  };
  std::set<std::string> covered;
  size_t total = 0;
  const std::vector<std::string> files = CaseFiles();
  ASSERT_FALSE(files.empty()) << "no case files in " << TALLY_API_CASES_DIR;
  for (const std::string& path : files) {
    dom::parser parser;
    dom::array cases;
    ASSERT_EQ(parser.load(path)["cases"].get_array().get(cases), simdjson::SUCCESS) << path;
    for (dom::element c : cases) {
      ++total;
      std::string_view code;
      int64_t status = 0;
      if (c["expect"]["code"].get_string().get(code) != simdjson::SUCCESS) continue;
      if (c["expect"]["status"].get_int64().get(status) != simdjson::SUCCESS) continue;
      auto it = documented.find(std::string(code));
      if (it != documented.end() && it->second == status) covered.insert(it->first);
    }
  }
  for (const auto& [code, status] : documented) {
    EXPECT_TRUE(covered.count(code) > 0) << "no case answers " << status << " " << code;
  }
  std::printf("%zu cases in %zu files\n", total, files.size());
}

}  // namespace
}  // namespace tally::api::testing
