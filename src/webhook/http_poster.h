// HttpPoster: the Poster that sends webhook requests over the network with api::HttpClient
// (http or https, the certificate checked against the system's trust store or a given CA),
// one connection per request. Thread-compatible: one thread per poster.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"
#include "webhook/deliverer.h"

namespace tally::webhook {

// Checks an endpoint URL: http:// or https://, a host, an optional port and path; no
// user:password part. InvalidArgument saying what is wrong.
Status ValidateEndpointUrl(std::string_view url);

struct HttpPosterOptions {
  std::chrono::seconds timeout{10};  // for connecting, sending and the answer
  std::string ca_file;               // PEM CA to trust for https ("" = the system's)
};

class HttpPoster final : public Poster {
 public:
  explicit HttpPoster(HttpPosterOptions options) : options_(std::move(options)) {}
  PostResult Post(const std::string& url, const api::HeaderList& headers,
                  std::string_view body) override;

 private:
  HttpPosterOptions options_;
};

}  // namespace tally::webhook
