// HttpRequest / HttpResponse: the plain, Beast-free view of one HTTP exchange that the router
// and the handlers work on, so that routing and handlers can be unit-tested without sockets and
// only http_server.cc and http_client.cc compile Boost.Beast.
// Values only; thread-compatible.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tally::api {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };
std::string_view MethodName(Method m);  // "GET", "POST", ... ("OTHER" for kOther)

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  Method method = Method::kGet;
  std::string target;  // as received: path, then '?' and the raw query string if any
  HeaderList headers;  // names as received; look them up with Header()
  std::string body;
  // host:port of the socket the request arrived on, for when the client sent no usable Host.
  std::string local_authority;
  std::string remote_address;  // the client's IP address, for the access log
  bool tls = false;            // arrived over TLS (nextLink then says https)

  // The raw path (before '?') and the raw query string (after '?', without it).
  std::string_view Path() const;
  std::string_view RawQuery() const;
  // The first header of that name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

inline constexpr std::string_view kJsonContentType = "application/json; charset=utf-8";

// Takes the next piece of a streamed body and returns once it is sent (so a producer never
// runs ahead of the client: backpressure); false when the body can no longer be delivered
// (the client went away, a write timed out, the server is shutting down), after which the
// producer should stop. Empty pieces are ignored.
using BodySink = std::function<bool(std::string_view piece)>;
// Writes a whole body through the sink, on the server's handler thread, after the status and
// headers were sent. A non-OK Status after the first piece cannot become an error answer any
// more: the server ends the connection without the final chunk, so the client sees a
// truncated transfer rather than a short but complete-looking body.
using BodyProducer = std::function<Status(const BodySink& sink)>;

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // beyond Content-Type
  std::string body;    // JSON text unless content_type says otherwise
  // When set, the body is produced by this call instead (and `body` is ignored): sent with
  // chunked transfer encoding, piece by piece, in constant memory. Errors found before the
  // answer starts are ordinary (string-bodied) answers, never streams.
  BodyProducer stream;
  std::string content_type = std::string(kJsonContentType);
  // The API error code of an error answer ("InvalidProperty", ...), for metrics and the log.
  std::string error_code;

  HttpResponse& AddHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

}  // namespace tally::api
