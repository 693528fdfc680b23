#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace tally::api {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

http::verb ToVerb(Method m) {
  switch (m) {
    case Method::kGet:
      return http::verb::get;
    case Method::kHead:
      return http::verb::head;
    case Method::kPost:
      return http::verb::post;
    case Method::kPut:
      return http::verb::put;
    case Method::kPatch:
      return http::verb::patch;
    case Method::kDelete:
      return http::verb::delete_;
    case Method::kOptions:
      return http::verb::options;
    case Method::kOther:
      return http::verb::unknown;
  }
  return http::verb::unknown;
}

}  // namespace

struct HttpClient::Impl {
  std::string host;
  std::string port;
  std::chrono::seconds timeout{120};
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Status Connect() {
    stream.reset();
    buffer.clear();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return Unavailable("cannot resolve " + host + ": " + ec.message());
    stream.emplace(ioc);
    stream->expires_after(timeout);
    stream->connect(endpoints, ec);
    if (ec) {
      stream.reset();
      return Unavailable("cannot connect to " + host + ":" + port + ": " + ec.message());
    }
    return Status::Ok();
  }

  // One exchange; `fresh` is false when the connection was reused (and may have been closed
  // by the server meanwhile).
  Result<ClientResponse> Exchange(const http::request<http::string_body>& request) {
    beast::error_code ec;
    stream->expires_after(timeout);
    http::write(*stream, request, ec);
    if (ec) return Unavailable("sending the request failed: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(size_t{1} << 30);
    http::read(*stream, buffer, parser, ec);
    if (ec) return Unavailable("reading the response failed: " + ec.message());
    auto& message = parser.get();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) stream.reset();
    return response;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Make(std::string_view base_url,
                                                     std::chrono::seconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument("server URL '" + std::string(base_url) +
                           "' must start with http:// (https is not implemented yet)");
  }
  std::string_view rest = base_url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  auto impl = std::make_unique<Impl>();
  impl->timeout = timeout;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument("bad server URL");
    impl->host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    impl->port = rest.size() > 1 && rest[0] == ':' ? std::string(rest.substr(1)) : "80";
  } else {
    const size_t colon = rest.rfind(':');
    impl->host = std::string(rest.substr(0, colon));
    impl->port = colon == std::string_view::npos ? "80" : std::string(rest.substr(colon + 1));
  }
  if (impl->host.empty() || impl->port.empty()) {
    return InvalidArgument("server URL '" + std::string(base_url) + "' names no host");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<ClientResponse> HttpClient::Send(Method method, std::string_view target,
                                        const HeaderList& headers, std::string_view body) {
  http::request<http::string_body> request(ToVerb(method), std::string(target), 11);
  request.set(http::field::host, impl_->host + ":" + impl_->port);
  request.set(http::field::user_agent, "tally");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  request.keep_alive(true);
  request.prepare_payload();

  const bool reused = impl_->stream.has_value();
  if (!reused) TALLY_RETURN_IF_ERROR(impl_->Connect());
  Result<ClientResponse> response = impl_->Exchange(request);
  if (!response.ok() && reused) {
    // The server may have closed the idle connection; a retry on a fresh one is safe for
    // Tally's idempotent batches.
    TALLY_RETURN_IF_ERROR(impl_->Connect());
    response = impl_->Exchange(request);
  }
  if (!response.ok()) impl_->stream.reset();
  return response;
}

}  // namespace tally::api
