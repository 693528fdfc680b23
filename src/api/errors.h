// The one place where Tally's Status codes, protocol failures and the API's error codes become
// HTTP statuses and JSON error bodies ({"error":{"code","message"[,"details"]}}, the ARM error
// envelope). Handlers choose the API error code (e.g. "InvalidRecords", "NoApiVersion"); the
// HTTP status always follows from the Status code here, so no handler writes a status number.
// Stateless; thread-safe.
#pragma once

#include <string_view>

#include "api/http_message.h"
#include "common/status.h"

namespace tally::api {

// Seconds a client should wait before retrying a 503.
inline constexpr int kRetryAfterSeconds = 5;

// The HTTP status for a non-OK Status: InvalidArgument 400, Unauthenticated 401,
// PermissionDenied 403, NotFound 404, AlreadyExists 409, Unavailable 503, DataLoss and
// Internal 500.
int HttpStatusFor(StatusCode code);

// The API error code used when a handler names none: "InvalidRequest", "AuthenticationFailed",
// "AuthorizationFailed", "NotFound", "Conflict", "ServiceUnavailable", "InternalError".
std::string_view DefaultErrorCode(StatusCode code);

// An error response for `status` (which must not be OK). `code` overrides DefaultErrorCode;
// `details_json`, when not empty, is the already-valid JSON array text of error.details.
// Adds `WWW-Authenticate: Bearer realm="tally"` to 401s and `Retry-After` to 503s.
HttpResponse ErrorResponse(const Status& status, std::string_view code = {},
                           std::string_view details_json = {});

// Failures found by the HTTP layer itself, before any handler runs.
enum class ProtocolError {
  kMalformedRequest,      // 400 BadRequest: unparseable HTTP
  kNotFound,              // 404 NotFound: no route
  kMethodNotAllowed,      // 405 MethodNotAllowed (the caller adds Allow)
  kRequestTimeout,        // 408 RequestTimeout: headers not received in time
  kPayloadTooLarge,       // 413 PayloadTooLarge: body over the limit
  kUnsupportedMediaType,  // 415 UnsupportedMediaType: Content-Type not understood
  kInternal,              // 500 InternalError: a handler threw (a bug)
};
HttpResponse ProtocolErrorResponse(ProtocolError error, std::string_view message);

// {"error":{"code":…,"message":…[,"details":…]}}
std::string FormatErrorBody(std::string_view code, std::string_view message,
                            std::string_view details_json = {});

}  // namespace tally::api
