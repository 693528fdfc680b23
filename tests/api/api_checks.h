// Checks every API answer must pass whatever the request (the invariants of docs/api.md),
// shared by the data-driven case runner and the isolation matrix. They report through gtest
// (ADD_FAILURE) and never stop the calling test. Stateless; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_message.h"
#include "tests/api/api_world.h"

namespace tally::api::testing {

// One aggregate of a usage page, as the client sees it.
struct SeenAggregate {
  std::string subscription_id;
  std::string meter_id;
  std::string usage_start;
  std::string usage_end;
  std::string instance_data;
  double quantity = 0;
};

struct SeenPage {
  std::vector<SeenAggregate> rows;
  std::optional<std::string> next_link;
};

// Whether `path` is one of the usage API routes (tenant, operator or legacy operator).
bool IsUsagePath(std::string_view path);

// Checks the invariants of `response` to `request`, sent with the fixture token
// `token_name`:
//   - Content-Type is application/json; charset=utf-8 (text/plain for /metrics; for a 200
//     download of an invoice or an export also CSV, HTML or NDJSON, with a
//     Content-Disposition), no BOM;
//   - WWW-Authenticate: Bearer … on every 401 and never otherwise;
//   - Retry-After on 503 and 429 only;
//   - an error answer is the ARM envelope {"error":{"code","message"[,"details"]}} whose code
//     is the response's error_code (Partner Center's {"code","description","source"} on
//     /v1/customers/...);
//   - the body names no fixture subscription other than those the request names and, for a
//     200, those the token may see (ApiWorld::VisibleTo);
//   - a 200 usage answer is {"value":[…][,"nextLink"]} of well-formed aggregates of the
//     right type, every subscriptionId visible to the token, every instanceData a JSON string
//     whose resourceUri lies in the aggregate's subscription, nextLink absolute on the
//     requested host and path.
// Returns the page of a 200 usage answer (nullopt otherwise, or when it is malformed).
std::optional<SeenPage> CheckInvariants(const ApiWorld& world, const HttpRequest& request,
                                        std::string_view token_name,
                                        const HttpResponse& response);

// The path and query of an absolute nextLink ("" when it has no path).
std::string NextLinkTarget(std::string_view next_link);

// The value of query parameter `name` in URL `url` (raw, not decoded), or "".
std::string QueryParam(std::string_view url, std::string_view name);

}  // namespace tally::api::testing
