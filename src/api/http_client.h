// HttpClient: a minimal blocking HTTP/1.1 client over one keep-alive connection, http or
// https (TLS 1.2+, the server's certificate verified against the system's trust store or a
// given CA file, and its name or IP address checked), for `tally simulate --server` and
// `tally usage --server`. Beast stays inside http_client.cc. Not thread-safe: one client per
// thread.
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

struct HttpClientOptions {
  std::chrono::seconds timeout{120};
  // PEM file of the certificate authority to trust for https ("" = the system's).
  std::string ca_file;
};

class HttpClient {
 public:
  // `base_url` is "http://host[:port]" or "https://host[:port]" (a trailing path is
  // ignored). InvalidArgument for anything else, or when the CA file cannot be loaded.
  static Result<std::unique_ptr<HttpClient>> Make(std::string_view base_url,
                                                  const HttpClientOptions& options = {});
  // "scheme://host:port" of this client, e.g. to tell whether a URL points at the same server.
  std::string Origin() const;
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
