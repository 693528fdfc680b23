#include "api/access_log.h"

#include <optional>

#include "common/json_writer.h"
#include "common/strings.h"
#include "domain/api_key.h"

namespace tally::api {
namespace {

// The key ID of a well-formed bearer token, if any.
std::optional<std::string> KeyIdOf(const HttpRequest& request) {
  const std::string* auth = request.Header("Authorization");
  if (auth == nullptr) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  if (auth->size() <= kBearer.size() ||
      !EqualsIgnoreCase(std::string_view(*auth).substr(0, kBearer.size()), kBearer)) {
    return std::nullopt;
  }
  std::optional<domain::ParsedToken> token =
      domain::ParseToken(TrimSpace(std::string_view(*auth).substr(kBearer.size())));
  if (!token) return std::nullopt;
  return token->key_id;
}

}  // namespace

std::string FormatAccessLogLine(UtcTime now, const HttpRequest& request,
                                const HttpResponse& response, std::chrono::microseconds elapsed) {
  std::string line;
  JsonWriter w(line);
  w.BeginObject();
  w.Key("time").String(FormatUtcTime(now));
  w.Key("remote").String(request.remote_address);
  w.Key("method").String(MethodName(request.method));
  w.Key("path").String(request.Path());
  w.Key("query").String(request.RawQuery());
  w.Key("status").Int(response.status);
  w.Key("bytes").Int(static_cast<int64_t>(response.body.size()));
  const int64_t us = elapsed.count();
  std::string ms = std::to_string(us / 1000) + "." + std::to_string(1000 + us % 1000).substr(1);
  w.Key("ms").Raw(ms);
  if (std::optional<std::string> key = KeyIdOf(request)) w.Key("keyId").String(*key);
  if (!response.error_code.empty()) w.Key("error").String(response.error_code);
  w.EndObject();
  return line;
}

}  // namespace tally::api
