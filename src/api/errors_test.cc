#include "api/errors.h"

#include <gtest/gtest.h>

namespace tally::api {
namespace {

const std::string* FindHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

TEST(Errors, MapsEveryStatusCode) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDataLoss), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
}

TEST(Errors, WritesTheArmEnvelope) {
  const HttpResponse r = ErrorResponse(InvalidArgument("bad \"x\""), "InvalidProperty");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":{"code":"InvalidProperty","message":"bad \"x\""}})");
}

TEST(Errors, UnauthenticatedCarriesTheChallenge) {
  const HttpResponse r = ErrorResponse(Unauthenticated("no"));
  ASSERT_NE(FindHeader(r, "WWW-Authenticate"), nullptr);
  EXPECT_EQ(*FindHeader(r, "WWW-Authenticate"), "Bearer realm=\"tally\"");
}

TEST(Errors, OnlyUnavailableCarriesRetryAfter) {
  EXPECT_NE(FindHeader(ErrorResponse(Unavailable("busy")), "Retry-After"), nullptr);
  EXPECT_EQ(FindHeader(ErrorResponse(DataLoss("bad")), "Retry-After"), nullptr);
  EXPECT_EQ(FindHeader(ErrorResponse(InvalidArgument("bad")), "Retry-After"), nullptr);
}

TEST(Errors, AddsDetails) {
  const HttpResponse r = ErrorResponse(AlreadyExists("c"), "RecordConflict", R"([{"index":0}])");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, R"({"error":{"code":"RecordConflict","message":"c","details":[{"index":0}]}})");
}

TEST(Errors, ProtocolErrors) {
  EXPECT_EQ(ProtocolErrorResponse(ProtocolError::kPayloadTooLarge, "big").status, 413);
  EXPECT_EQ(ProtocolErrorResponse(ProtocolError::kUnsupportedMediaType, "t").status, 415);
  EXPECT_EQ(ProtocolErrorResponse(ProtocolError::kMethodNotAllowed, "m").status, 405);
}

}  // namespace
}  // namespace tally::api
