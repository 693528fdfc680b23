#include "api/router.h"

#include <algorithm>

#include "api/errors.h"
#include "api/query_string.h"
#include "common/strings.h"

namespace tally::api {
namespace {

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// "/a/b/" and "/a/b" are the same resource; empty segments from "//" are kept so that they
// never match a parameter.
std::vector<std::string_view> PathSegments(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return {};
  return Split(path, '/');
}

}  // namespace

std::string_view PathParams::Get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return v;
  }
  return {};
}

void Router::Add(Method method, std::string_view pattern, RouteHandler handler, Case literal_case) {
  Route route{method, std::string(pattern), {}, literal_case, std::move(handler)};
  for (std::string_view s : PathSegments(pattern)) route.segments.emplace_back(s);
  routes_.push_back(std::move(route));
}

bool Router::MatchSegments(const Route& route, const std::vector<std::string_view>& segments,
                           PathParams* params) {
  if (route.segments.size() != segments.size()) return false;
  PathParams found;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsParam(want)) {
      // A parameter never matches an empty or undecodable segment.
      Result<std::string> value = PercentDecode(segments[i], /*plus_is_space=*/false);
      if (!value.ok() || value->empty()) return false;
      found.Add(want.substr(1, want.size() - 2), std::move(*value));
    } else if (route.literal_case == Case::kInsensitive ? !EqualsIgnoreCase(want, segments[i])
                                                        : want != segments[i]) {
      return false;
    }
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

Router::Match Router::Find(Method method, std::string_view path) const {
  const std::vector<std::string_view> segments = PathSegments(path);
  const Method lookup = method == Method::kHead ? Method::kGet : method;
  Match match;
  for (const Route& route : routes_) {
    if (route.method == lookup) {
      if (MatchSegments(route, segments, &match.params)) {
        match.handler = &route.handler;
        match.pattern = route.pattern;
        match.allowed.clear();
        return match;
      }
    } else if (MatchSegments(route, segments, nullptr) &&
               std::find(match.allowed.begin(), match.allowed.end(), route.method) ==
                   match.allowed.end()) {
      match.allowed.push_back(route.method);
    }
  }
  return match;
}

HttpResponse Router::Dispatch(const HttpRequest& request, std::string_view* pattern) const {
  Match match = Find(request.method, request.Path());
  if (pattern != nullptr) *pattern = match.pattern;
  if (match.handler != nullptr) return (*match.handler)(request, match.params);
  if (match.allowed.empty()) {
    return ProtocolErrorResponse(ProtocolError::kNotFound,
                                 "no resource at " + std::string(request.Path()));
  }
  std::string allow;
  for (Method m : match.allowed) {
    if (!allow.empty()) allow.append(", ");
    allow.append(MethodName(m));
    if (m == Method::kGet) allow.append(", HEAD");
  }
  HttpResponse r = ProtocolErrorResponse(
      ProtocolError::kMethodNotAllowed,
      std::string(MethodName(request.method)) + " is not allowed here; allowed: " + allow);
  r.AddHeader("Allow", allow);
  return r;
}

}  // namespace tally::api
