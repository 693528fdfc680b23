#include "tests/api/api_checks.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "api/query_string.h"
#include "common/strings.h"

namespace tally::api::testing {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::optional<std::string> StringField(simdjson::dom::object o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
  return std::string(v);
}

void CheckErrorEnvelope(const HttpResponse& response) {
  simdjson::dom::parser parser;
  simdjson::padded_string body(response.body);
  simdjson::dom::object top;
  if (parser.parse(body).get_object().get(top) != simdjson::SUCCESS) {
    ADD_FAILURE() << "error answer is not a JSON object: " << response.body;
    return;
  }
  simdjson::dom::object error;
  if (top.size() != 1 || top["error"].get_object().get(error) != simdjson::SUCCESS) {
    ADD_FAILURE() << "error answer is not {\"error\":{…}}: " << response.body;
    return;
  }
  const std::optional<std::string> code = StringField(error, "code");
  const std::optional<std::string> message = StringField(error, "message");
  EXPECT_TRUE(code && !code->empty()) << response.body;
  EXPECT_TRUE(message && !message->empty()) << response.body;
  if (code) {
    EXPECT_EQ(*code, response.error_code) << response.body;
  }
  for (auto field : error) {
    const std::string_view k = field.key;
    EXPECT_TRUE(k == "code" || k == "message" || k == "details")
        << "unexpected error property " << k << ": " << response.body;
  }
}

// Partner Center's error body: {"code","description","source"}, code = the error code.
void CheckPartnerCenterError(const HttpResponse& response) {
  simdjson::dom::parser parser;
  simdjson::padded_string body(response.body);
  simdjson::dom::object top;
  if (parser.parse(body).get_object().get(top) != simdjson::SUCCESS) {
    ADD_FAILURE() << "error answer is not a JSON object: " << response.body;
    return;
  }
  EXPECT_EQ(StringField(top, "code").value_or(""), response.error_code) << response.body;
  EXPECT_FALSE(StringField(top, "description").value_or("").empty()) << response.body;
  EXPECT_EQ(StringField(top, "source").value_or(""), "Tally") << response.body;
  EXPECT_EQ(top.size(), 3u) << response.body;
}

std::optional<SeenPage> CheckUsagePage(const ApiWorld& world, const HttpRequest& request,
                                       std::string_view token_name,
                                       const HttpResponse& response) {
  simdjson::dom::parser parser;
  simdjson::padded_string body(response.body);
  simdjson::dom::object top;
  if (parser.parse(body).get_object().get(top) != simdjson::SUCCESS) {
    ADD_FAILURE() << "usage answer is not a JSON object: " << response.body.substr(0, 300);
    return std::nullopt;
  }
  simdjson::dom::array value;
  if (top["value"].get_array().get(value) != simdjson::SUCCESS) {
    ADD_FAILURE() << "usage answer has no value array: " << response.body.substr(0, 300);
    return std::nullopt;
  }
  for (auto field : top) {
    EXPECT_TRUE(field.key == "value" || field.key == "nextLink")
        << "unexpected top-level property " << field.key;
  }
  const bool admin = Contains(AsciiLower(request.Path()), "subscriberusageaggregates");
  const std::string ns = admin ? "Microsoft.Commerce.Admin" : "Microsoft.Commerce";
  const std::set<std::string> visible = world.VisibleTo(token_name);
  SeenPage page;
  for (simdjson::dom::element e : value) {
    simdjson::dom::object a, p;
    if (e.get_object().get(a) != simdjson::SUCCESS ||
        a["properties"].get_object().get(p) != simdjson::SUCCESS) {
      ADD_FAILURE() << "malformed aggregate in " << response.body.substr(0, 300);
      return std::nullopt;
    }
    SeenAggregate row;
    row.subscription_id = StringField(p, "subscriptionId").value_or("");
    row.meter_id = StringField(p, "meterId").value_or("");
    row.usage_start = StringField(p, "usageStartTime").value_or("");
    row.usage_end = StringField(p, "usageEndTime").value_or("");
    row.instance_data = StringField(p, "instanceData").value_or("");
    if (p["quantity"].get_double().get(row.quantity) != simdjson::SUCCESS) {
      ADD_FAILURE() << "quantity is not a JSON number";
    }
    EXPECT_TRUE(visible.count(row.subscription_id) > 0)
        << "token " << token_name << " was shown subscription " << row.subscription_id;
    EXPECT_EQ(StringField(a, "type").value_or(""), ns + "/UsageAggregate");
    const std::string name = StringField(a, "name").value_or("");
    EXPECT_EQ(StringField(a, "id").value_or(""),
              "/subscriptions/" + row.subscription_id + "/providers/" + ns + "/UsageAggregate/" +
                  name);
    EXPECT_FALSE(row.meter_id.empty());
    EXPECT_FALSE(row.usage_start.empty());
    EXPECT_FALSE(row.usage_end.empty());
    // instanceData is a JSON string whose resource lies in the aggregate's subscription.
    simdjson::dom::parser inner;
    simdjson::padded_string instance(row.instance_data);
    std::string_view uri;
    if (inner.parse(instance)["Microsoft.Resources"]["resourceUri"].get_string().get(uri) !=
        simdjson::SUCCESS) {
      ADD_FAILURE() << "instanceData is not the documented JSON string: " << row.instance_data;
    } else {
      EXPECT_TRUE(StartsWith(AsciiLower(uri), "/subscriptions/" + row.subscription_id + "/"))
          << uri;
    }
    page.rows.push_back(std::move(row));
  }
  simdjson::dom::element link;
  if (top["nextLink"].get(link) == simdjson::SUCCESS && !link.is_null()) {
    std::string_view text;
    if (link.get_string().get(text) != simdjson::SUCCESS) {
      ADD_FAILURE() << "nextLink is not a string";
    } else {
      page.next_link = std::string(text);
      // Absolute, on the requested path (the host is checked by the cases that set one).
      EXPECT_TRUE(StartsWith(*page.next_link, "http://")) << *page.next_link;
      EXPECT_EQ(NextLinkTarget(*page.next_link).substr(0, request.Path().size() + 1),
                std::string(request.Path()) + "?")
          << "nextLink " << *page.next_link << " is not on " << request.Path();
      EXPECT_FALSE(QueryParam(*page.next_link, "continuationToken").empty()) << *page.next_link;
      EXPECT_FALSE(page.rows.empty()) << "a nextLink on an empty page";
    }
  }
  return page;
}

}  // namespace

std::string NextLinkTarget(std::string_view next_link) {
  const size_t scheme = next_link.find("://");
  if (scheme == std::string_view::npos) return std::string(next_link);
  const size_t path = next_link.find('/', scheme + 3);
  return path == std::string_view::npos ? std::string() : std::string(next_link.substr(path));
}

bool IsUsagePath(std::string_view path) {
  return Contains(AsciiLower(path), "usageaggregates");
}

std::string QueryParam(std::string_view url, std::string_view name) {
  const size_t q = url.find('?');
  if (q == std::string_view::npos) return {};
  for (std::string_view piece : Split(url.substr(q + 1), '&')) {
    const size_t eq = piece.find('=');
    if (EqualsIgnoreCase(piece.substr(0, eq), name)) {
      return eq == std::string_view::npos ? std::string() : std::string(piece.substr(eq + 1));
    }
  }
  return {};
}

std::optional<SeenPage> CheckInvariants(const ApiWorld& world, const HttpRequest& request,
                                        std::string_view token_name,
                                        const HttpResponse& response) {
  const bool metrics = request.Path() == "/metrics";
  const std::string path = AsciiLower(request.Path());
  const bool download = StartsWith(path, "/v1/exports/") ||
                        (StartsWith(path, "/v1/subscriptions/") && Contains(path, "/invoices/"));
  if (metrics && response.status == 200) {
    EXPECT_TRUE(StartsWith(response.content_type, "text/plain")) << response.content_type;
  } else if (download && response.status == 200) {
    EXPECT_TRUE(response.content_type == kJsonContentType ||
                response.content_type == "text/csv; charset=utf-8" ||
                response.content_type == "text/html; charset=utf-8" ||
                response.content_type == "application/x-ndjson")
        << response.content_type;
    EXPECT_NE(FindHeader(response, "Content-Disposition"), nullptr);
  } else {
    EXPECT_EQ(response.content_type, kJsonContentType);
  }
  EXPECT_FALSE(StartsWith(response.body, "\xEF\xBB\xBF")) << "a BOM";

  const std::string* www = FindHeader(response, "WWW-Authenticate");
  if (response.status == 401) {
    EXPECT_TRUE(www != nullptr && StartsWith(*www, "Bearer"))
        << "401 without WWW-Authenticate: Bearer";
  } else {
    EXPECT_EQ(www, nullptr) << "WWW-Authenticate on a " << response.status;
  }
  const std::string* retry = FindHeader(response, "Retry-After");
  if (response.status == 503 || response.status == 429) {
    EXPECT_NE(retry, nullptr) << response.status << " without Retry-After";
  } else {
    EXPECT_EQ(retry, nullptr) << "Retry-After on a " << response.status;
  }
  if (response.status != 200) {
    EXPECT_GE(response.status, 400);
    if (StartsWith(path, "/v1/customers/")) {
      CheckPartnerCenterError(response);
    } else {
      CheckErrorEnvelope(response);
    }
  } else {
    EXPECT_TRUE(response.error_code.empty()) << response.error_code;
  }

  // The token never comes back.
  if (const std::string* auth = request.Header("Authorization")) {
    const size_t space = auth->find(' ');
    const std::string secret = space == std::string::npos ? *auth : auth->substr(space + 1);
    if (secret.size() > 8) {
      EXPECT_FALSE(Contains(response.body, secret)) << "the answer echoes the token";
    }
  }

  // No subscription ID the caller did not name, and may not see, appears anywhere.
  Result<std::string> target = PercentDecode(request.target, /*plus_is_space=*/false);
  const std::string asked =
      AsciiLower((target.ok() ? *target : request.target) + " " + request.body);
  std::set<std::string> allowed;
  if (response.status == 200) allowed = world.VisibleTo(token_name);
  const std::string body = AsciiLower(response.body);
  for (const std::string& id : world.AllIds()) {
    if (allowed.count(id) > 0 || Contains(asked, id)) continue;
    EXPECT_FALSE(Contains(body, id))
        << "the " << response.status << " answer to " << request.target << " with token "
        << token_name << " names subscription " << id << ": " << response.body.substr(0, 500);
  }

  if (response.status == 200 && IsUsagePath(request.Path())) {
    return CheckUsagePage(world, request, token_name, response);
  }
  return std::nullopt;
}

}  // namespace tally::api::testing
