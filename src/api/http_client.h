// HttpClient: a minimal blocking HTTP/1.1 client over one keep-alive connection, for
// `tally simulate --server` (posting batches to a running Tally). Plain http only. Beast stays
// inside http_client.cc. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_message.h"
#include "common/status.h"

namespace tally::api {

struct ClientResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
};

class HttpClient {
 public:
  // `base_url` is "http://host:port" (a trailing path is ignored). InvalidArgument for
  // anything else (https is refused: not implemented yet).
  static Result<std::unique_ptr<HttpClient>> Make(
      std::string_view base_url, std::chrono::seconds timeout = std::chrono::seconds(120));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on the kept-alive connection (connecting, or reconnecting once when the
  // server closed it). Unavailable when the server cannot be reached or the exchange fails.
  Result<ClientResponse> Send(Method method, std::string_view target, const HeaderList& headers,
                              std::string_view body);

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tally::api
