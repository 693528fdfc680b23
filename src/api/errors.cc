#include "api/errors.h"

#include <string>

#include "common/json_writer.h"

namespace tally::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    // Damaged data or a bug: retrying will not help, so no 503 and no Retry-After (the Azure
    // clients retry any answer that carries one).
    case StatusCode::kDataLoss:
      return 500;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view DefaultErrorCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "Ok";
    case StatusCode::kInvalidArgument:
      return "InvalidRequest";
    case StatusCode::kUnauthenticated:
      return "AuthenticationFailed";
    case StatusCode::kPermissionDenied:
      return "AuthorizationFailed";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "Conflict";
    case StatusCode::kUnavailable:
      return "ServiceUnavailable";
    case StatusCode::kDataLoss:
      return "InternalError";
    case StatusCode::kInternal:
      return "InternalError";
  }
  return "InternalError";
}

std::string FormatErrorBody(std::string_view code, std::string_view message,
                            std::string_view details_json) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").String(code);
  w.Key("message").String(message);
  if (!details_json.empty()) w.Key("details").Raw(details_json);
  w.EndObject().EndObject();
  return out;
}

HttpResponse ErrorResponse(const Status& status, std::string_view code,
                           std::string_view details_json) {
  HttpResponse r;
  r.status = HttpStatusFor(status.code());
  if (r.status == 200) r.status = 500;  // an OK status is not an error: a caller bug
  r.error_code = std::string(code.empty() ? DefaultErrorCode(status.code()) : code);
  r.body = FormatErrorBody(r.error_code, status.message(), details_json);
  if (r.status == 401) r.AddHeader("WWW-Authenticate", "Bearer realm=\"tally\"");
  if (r.status == 503) r.AddHeader("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

HttpResponse ProtocolErrorResponse(ProtocolError error, std::string_view message) {
  HttpResponse r;
  std::string_view code;
  switch (error) {
    case ProtocolError::kMalformedRequest:
      r.status = 400;
      code = "BadRequest";
      break;
    case ProtocolError::kNotFound:
      r.status = 404;
      code = "NotFound";
      break;
    case ProtocolError::kMethodNotAllowed:
      r.status = 405;
      code = "MethodNotAllowed";
      break;
    case ProtocolError::kRequestTimeout:
      r.status = 408;
      code = "RequestTimeout";
      break;
    case ProtocolError::kPayloadTooLarge:
      r.status = 413;
      code = "PayloadTooLarge";
      break;
    case ProtocolError::kUnsupportedMediaType:
      r.status = 415;
      code = "UnsupportedMediaType";
      break;
    case ProtocolError::kInternal:
      r.status = 500;
      code = "InternalError";
      break;
  }
  r.error_code = std::string(code);
  r.body = FormatErrorBody(code, message);
  return r;
}

}  // namespace tally::api
