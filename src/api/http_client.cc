#include "api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace tally::api {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ErrorCode = boost::system::error_code;
// The request body is the caller's bytes, sent in place: no copy of a (450 KiB) ingest batch
// into the message for each request.
using OutgoingRequest = http::request<http::span_body<const char>>;

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

constexpr size_t kReadBufferBytes = 64 * 1024;

struct HttpClient::Impl {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  std::chrono::seconds timeout{120};
  net::io_context ioc;
  std::optional<net::ssl::context> tls;  // set for https
  std::optional<beast::tcp_stream> stream;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;

  bool connected() const { return stream.has_value() || tls_stream.has_value(); }
  void Disconnect() {
    stream.reset();
    tls_stream.reset();
  }

  Status Connect() {
    Disconnect();
    buffer.clear();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return Unavailable("cannot resolve " + host + ": " + ec.message());
    beast::tcp_stream tcp(ioc);
    tcp.expires_after(timeout);
    tcp.connect(endpoints, ec);
    if (ec) return Unavailable("cannot connect to " + host + ":" + port + ": " + ec.message());
    if (!tls) {
      stream.emplace(std::move(tcp));
      return Status::Ok();
    }
    tls_stream.emplace(std::move(tcp), *tls);
    SSL* ssl = tls_stream->native_handle();
    // Check the certificate against the name or address we dialled, and send SNI for names.
    ErrorCode ip_ec;
    net::ip::make_address(host, ip_ec);
    if (ip_ec) {
      SSL_set_tlsext_host_name(ssl, host.c_str());
      SSL_set1_host(ssl, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    }
    beast::get_lowest_layer(*tls_stream).expires_after(timeout);
    tls_stream->handshake(net::ssl::stream_base::client, ec);
    if (ec) {
      tls_stream.reset();
      return Unavailable("TLS handshake with " + host + ":" + port + " failed: " + ec.message());
    }
    return Status::Ok();
  }

  template <class Stream>
  Result<ClientResponse> ExchangeOn(Stream& s, const OutgoingRequest& request) {
    beast::error_code ec;
    beast::get_lowest_layer(s).expires_after(timeout);
    http::write(s, request, ec);
    if (ec) return Unavailable("sending the request failed: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(size_t{1} << 30);
    // Beast reads at most the buffer's free capacity at a time (512 bytes at first): give it
    // room for 64 KiB reads, or a large answer takes a thousand reads.
    buffer.reserve(kReadBufferBytes);
    http::read(s, buffer, parser, ec);
    if (ec) return Unavailable("reading the response failed: " + ec.message());
    auto& message = parser.get();
    ClientResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) Disconnect();
    return response;
  }

  // One exchange on the current connection.
  Result<ClientResponse> Exchange(const OutgoingRequest& request) {
    if (tls_stream) return ExchangeOn(*tls_stream, request);
    return ExchangeOn(*stream, request);
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Make(std::string_view base_url,
                                                     const HttpClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  std::string_view rest;
  if (base_url.substr(0, 7) == "http://") {
    impl->scheme = "http";
    rest = base_url.substr(7);
  } else if (base_url.substr(0, 8) == "https://") {
    impl->scheme = "https";
    rest = base_url.substr(8);
  } else {
    return InvalidArgument("server URL '" + std::string(base_url) +
                           "' must start with http:// or https://");
  }
  const std::string default_port = impl->scheme == "https" ? "443" : "80";
  rest = rest.substr(0, rest.find('/'));
  impl->timeout = options.timeout;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument("bad server URL");
    impl->host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    impl->port = rest.size() > 1 && rest[0] == ':' ? std::string(rest.substr(1)) : default_port;
  } else {
    const size_t colon = rest.rfind(':');
    impl->host = std::string(rest.substr(0, colon));
    impl->port =
        colon == std::string_view::npos ? default_port : std::string(rest.substr(colon + 1));
  }
  if (impl->host.empty() || impl->port.empty()) {
    return InvalidArgument("server URL '" + std::string(base_url) + "' names no host");
  }
  if (impl->scheme == "https") {
    net::ssl::context ctx(net::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(net::ssl::verify_peer);
    ErrorCode ec;
    if (options.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return InvalidArgument("cannot load the trusted certificates" +
                             (options.ca_file.empty() ? std::string()
                                                      : " from '" + options.ca_file + "'") +
                             ": " + ec.message());
    }
    impl->tls.emplace(std::move(ctx));
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

std::string HttpClient::Origin() const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return impl_->scheme + "://" + (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" + impl_->port;
}

Result<ClientResponse> HttpClient::Send(Method method, std::string_view target,
                                        const HeaderList& headers, std::string_view body) {
  OutgoingRequest request(ToVerb(method), std::string(target), 11);
  request.set(http::field::host, impl_->host + ":" + impl_->port);
  request.set(http::field::user_agent, "tally");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = {body.data(), body.size()};
  request.keep_alive(true);
  request.prepare_payload();

  const bool reused = impl_->connected();
  if (!reused) TALLY_RETURN_IF_ERROR(impl_->Connect());
  Result<ClientResponse> response = impl_->Exchange(request);
  if (!response.ok() && reused) {
    // The server may have closed the idle connection; a retry on a fresh one is safe for
    // Tally's idempotent batches and reads.
    TALLY_RETURN_IF_ERROR(impl_->Connect());
    response = impl_->Exchange(request);
  }
  if (!response.ok()) impl_->Disconnect();
  return response;
}

}  // namespace tally::api
