#include "webhook/http_poster.h"

#include "api/http_client.h"

namespace tally::webhook {
namespace {

// The request target of `url` (its path and query, "/" when it has none).
std::string TargetOf(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t path = url.find('/', scheme_end == std::string_view::npos ? 0 : scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return std::string(url.substr(path));
}

}  // namespace

Status ValidateEndpointUrl(std::string_view url) {
  const bool http = url.starts_with("http://");
  const bool https = url.starts_with("https://");
  if (!http && !https) {
    return InvalidArgument("webhook URL '" + std::string(url) +
                           "' must start with http:// or https://");
  }
  const std::string_view rest = url.substr(http ? 7 : 8);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return InvalidArgument("webhook URL '" + std::string(url) + "' has no host");
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("webhook URL must not carry a user or password");
  }
  if (authority.size() < rest.size() && rest[authority.size()] != '/') {
    return InvalidArgument("webhook URL '" + std::string(url) +
                           "' needs a path (at least /) after its host");
  }
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.back() != ']') {
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      return InvalidArgument("webhook URL '" + std::string(url) + "' has a bad port");
    }
  }
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) {
    return InvalidArgument("webhook URL must not contain white space");
  }
  if (url.find('#') != std::string_view::npos) {
    return InvalidArgument("webhook URL must not have a #fragment");
  }
  auto client = api::HttpClient::Make(url);
  if (!client.ok()) return client.status();
  return Status::Ok();
}

PostResult HttpPoster::Post(const std::string& url, const api::HeaderList& headers,
                            std::string_view body) {
  api::HttpClientOptions options;
  options.timeout = options_.timeout;
  options.ca_file = options_.ca_file;
  auto client = api::HttpClient::Make(url, options);
  if (!client.ok()) return PostResult{0, client.status().message()};
  auto answer = (*client)->Send(api::Method::kPost, TargetOf(url), headers, body);
  if (!answer.ok()) return PostResult{0, answer.status().message()};
  return PostResult{answer->status, ""};
}

}  // namespace tally::webhook
