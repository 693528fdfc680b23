#include "api/router.h"

#include <gtest/gtest.h>

#include "api/errors.h"

namespace tally::api {
namespace {

HttpResponse Echo(std::string text) {
  HttpResponse r;
  r.body = std::move(text);
  return r;
}

Router MakeRouter() {
  Router router;
  router.Add(Method::kGet, "/healthz",
             [](const HttpRequest&, const PathParams&) { return Echo("health"); });
  router.Add(Method::kPost, "/v1/usage/records",
             [](const HttpRequest&, const PathParams&) { return Echo("ingest"); });
  router.Add(
      Method::kGet, "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates",
      [](const HttpRequest&, const PathParams& p) {
        return Echo(std::string(p.Get("subscriptionId")));
      },
      Router::Case::kInsensitive);
  return router;
}

HttpRequest Request(Method m, std::string target) {
  HttpRequest r;
  r.method = m;
  r.target = std::move(target);
  return r;
}

TEST(Router, DispatchesByMethodAndPath) {
  const Router router = MakeRouter();
  EXPECT_EQ(router.Dispatch(Request(Method::kGet, "/healthz")).body, "health");
  EXPECT_EQ(router.Dispatch(Request(Method::kPost, "/v1/usage/records")).body, "ingest");
}

TEST(Router, IgnoresTheQueryStringAndATrailingSlash) {
  const Router router = MakeRouter();
  EXPECT_EQ(router.Dispatch(Request(Method::kGet, "/healthz/?x=1")).body, "health");
}

TEST(Router, CapturesAndDecodesParameters) {
  const Router router = MakeRouter();
  const HttpResponse r = router.Dispatch(
      Request(Method::kGet, "/subscriptions/ab%2Dcd/providers/Microsoft.Commerce/UsageAggregates"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ab-cd");
}

TEST(Router, MatchesLiteralSegmentsCaseInsensitivelyWhenAsked) {
  const Router router = MakeRouter();
  EXPECT_EQ(router
                .Dispatch(Request(Method::kGet,
                                  "/SUBSCRIPTIONS/x/Providers/microsoft.commerce/usageAggregates"))
                .body,
            "x");
  EXPECT_EQ(router.Dispatch(Request(Method::kGet, "/HEALTHZ")).status, 404);
}

TEST(Router, UnknownPathIs404WithJsonError) {
  const Router router = MakeRouter();
  const HttpResponse r = router.Dispatch(Request(Method::kGet, "/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find(R"("code":"NotFound")"), std::string::npos);
}

TEST(Router, EmptyParameterDoesNotMatch) {
  const Router router = MakeRouter();
  EXPECT_EQ(router
                .Dispatch(Request(Method::kGet,
                                  "/subscriptions//providers/Microsoft.Commerce/UsageAggregates"))
                .status,
            404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  const Router router = MakeRouter();
  const HttpResponse r = router.Dispatch(Request(Method::kGet, "/v1/usage/records"));
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "POST");
  EXPECT_NE(r.body.find(R"("code":"MethodNotAllowed")"), std::string::npos);
}

TEST(Router, HeadMatchesGetRoutes) {
  const Router router = MakeRouter();
  EXPECT_EQ(router.Dispatch(Request(Method::kHead, "/healthz")).body, "health");
}

}  // namespace
}  // namespace tally::api
