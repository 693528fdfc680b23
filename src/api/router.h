// Router: maps (method, path) to a handler. Patterns are '/'-separated literal segments and
// "{name}" parameters, e.g. "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce/
// UsageAggregates". Literal segments may match case-insensitively (Azure clients disagree on
// "UsageAggregates" vs "usageAggregates"); parameters are percent-decoded. A path that matches
// no pattern is 404; one that matches only under other methods is 405 with an Allow header.
//
// Routes are added before serving starts; after that Dispatch is const and thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_message.h"

namespace tally::api {

class PathParams {
 public:
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  // The value of parameter `name`, or "" when the pattern has none.
  std::string_view Get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  enum class Case { kSensitive, kInsensitive };

  void Add(Method method, std::string_view pattern, RouteHandler handler,
           Case literal_case = Case::kSensitive);

  struct Match {
    const RouteHandler* handler = nullptr;  // null: no route for this method
    std::string_view pattern;               // the matched route's pattern, e.g. for metrics
    PathParams params;
    std::vector<Method> allowed;  // when handler is null: the methods the path has (for 405)
  };
  // Finds the route for `method` and the raw `path`. A HEAD request matches a GET route.
  Match Find(Method method, std::string_view path) const;

  // Runs the matching handler, or answers 404 / 405. `pattern`, when given, receives the
  // matched route's pattern ("" when none matched).
  HttpResponse Dispatch(const HttpRequest& request, std::string_view* pattern = nullptr) const;

 private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    Case literal_case;
    RouteHandler handler;
  };
  static bool MatchSegments(const Route& route, const std::vector<std::string_view>& segments,
                            PathParams* params);

  std::vector<Route> routes_;
};

}  // namespace tally::api
