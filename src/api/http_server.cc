#include "api/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/errors.h"

namespace tally::api {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ErrorCode = boost::system::error_code;

Method FromVerb(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::kGet;
    case http::verb::head:
      return Method::kHead;
    case http::verb::post:
      return Method::kPost;
    case http::verb::put:
      return Method::kPut;
    case http::verb::patch:
      return Method::kPatch;
    case http::verb::delete_:
      return Method::kDelete;
    case http::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

std::string Authority(const tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

}  // namespace

class HttpSession;

struct HttpServer::Impl {
  HttpServerOptions options;
  RequestHandler handler;
  // Declared before the io_context and the pool: destroying them destroys queued handlers,
  // whose sessions unregister themselves under `mu`.
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<HttpSession*, std::weak_ptr<HttpSession>> sessions;  // guarded by mu
  net::io_context ioc;
  std::optional<net::thread_pool> handler_pool;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  std::optional<net::signal_set> signals;
  uint16_t port = 0;

  std::atomic<bool> stopping{false};
  bool stop_requested = false;  // guarded by mu
  int running_io_threads = 0;   // guarded by mu
  std::vector<std::thread> io_threads;
  bool joined = false;

  void Accept();
  void Stop();
};

// One connection: reads a request, hands it to the handler pool, writes the answer, repeats
// while keep-alive. Every step runs on the connection's strand.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {}

  void Start() {
    {
      std::lock_guard lock(server_.mu);
      server_.sessions.emplace(this, weak_from_this());
    }
    ErrorCode ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    const tcp::endpoint local = stream_.socket().local_endpoint(ec);
    if (!ec) local_authority_ = Authority(local);
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  ~HttpSession() {
    std::lock_guard lock(server_.mu);
    server_.sessions.erase(this);
  }

  // Called on Stop(): an idle connection (waiting for the next request) is closed now; a busy
  // one is closed after its answer is written.
  void CloseIfIdle() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->stream_.cancel();
    });
  }

  // Drain timeout expired: drop the connection whatever it is doing.
  void ForceClose() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      ErrorCode ec;
      self->stream_.socket().close(ec);
    });
  }

 private:
  void ReadHeader() {
    if (server_.stopping.load()) return Close();
    busy_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    stream_.expires_after(server_.options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](ErrorCode ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(ErrorCode ec) {
    // Beast checks an announced Content-Length against the limit while parsing the header.
    if (ec == http::error::body_limit) return Reply(TooLarge(), false, false);
    if (ec) {
      // A timeout, a closed or cancelled connection: nobody is waiting for an answer.
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::operation_aborted || ec == net::error::eof ||
          ec == net::error::connection_reset || buffer_.size() == 0) {
        return Close();
      }
      return Reply(ProtocolErrorResponse(ProtocolError::kMalformedRequest,
                                         "malformed HTTP request: " + ec.message()),
                   /*keep_alive=*/false, /*head=*/false);
    }
    busy_ = true;
    const auto& request = parser_->get();
    // Refuse an announced oversized body before reading any of it.
    if (const auto length = parser_->content_length();
        length && *length > server_.options.body_limit) {
      return Reply(TooLarge(), false, false);
    }
    if (beast::iequals(request[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      stream_.expires_after(server_.options.body_timeout);
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](ErrorCode e, size_t) {
        if (e) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(server_.options.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](ErrorCode ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(ErrorCode ec) {
    if (ec == http::error::body_limit) return Reply(TooLarge(), false, false);
    if (ec) return Close();

    http::request<http::string_body> message = parser_->release();
    HttpRequest request;
    request.method = FromVerb(message.method());
    request.target = std::string(message.target());
    request.headers.reserve(16);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.local_authority = local_authority_;
    const bool keep_alive = message.keep_alive();
    const bool head = request.method == Method::kHead;

    // Handlers may block on a durable commit, so they run off the I/O threads. The work guard
    // keeps the I/O threads alive until the answer is written, even while stopping.
    auto work = net::make_work_guard(stream_.get_executor());
    net::post(*server_.handler_pool, [self = shared_from_this(), work = std::move(work),
                                      request = std::move(request), keep_alive, head]() mutable {
      HttpResponse response = self->Run(request);
      net::post(self->stream_.get_executor(),
                [self, work = std::move(work), response = std::move(response), keep_alive,
                 head]() mutable { self->Reply(std::move(response), keep_alive, head); });
    });
  }

  HttpResponse Run(const HttpRequest& request) {
    // The handler root's one catch-all: no exception may end the server.
    try {
      HttpResponse response = server_.handler(request);
      if (response.status >= 500) {
        std::cerr << "tally: " << MethodName(request.method) << ' ' << request.Path() << " -> "
                  << response.status << '\n';
      }
      return response;
    } catch (const std::exception& e) {
      std::cerr << "tally: internal error in " << MethodName(request.method) << ' '
                << request.Path() << ": " << e.what() << '\n';
    } catch (...) {
      std::cerr << "tally: internal error in " << MethodName(request.method) << ' '
                << request.Path() << '\n';
    }
    return ProtocolErrorResponse(ProtocolError::kInternal, "internal error");
  }

  HttpResponse TooLarge() const {
    return ProtocolErrorResponse(
        ProtocolError::kPayloadTooLarge,
        "the request body is larger than " + std::to_string(server_.options.body_limit) + " bytes");
  }

  void Reply(HttpResponse response, bool keep_alive, bool head) {
    busy_ = true;
    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "tally");
    message->set(http::field::content_type, kJsonContentType);
    for (auto& [name, value] : response.headers) message->insert(name, value);
    message->body() = std::move(response.body);
    message->prepare_payload();
    if (head) message->body().clear();  // Content-Length stays that of the GET answer
    const bool again = keep_alive && !server_.stopping.load();
    message->keep_alive(again);
    stream_.expires_after(server_.options.body_timeout);
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message, again](ErrorCode ec, size_t) {
                        if (ec || !again) return self->Close();
                        self->ReadHeader();
                      });
  }

  void Close() {
    ErrorCode ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string local_authority_;
  bool busy_ = false;  // a request was received and is not yet answered
};

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](ErrorCode ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (!ec) {
      std::make_shared<HttpSession>(std::move(socket), *this)->Start();
    } else if (ec != net::error::operation_aborted) {
      // E.g. out of file descriptors: keep serving the connections we have.
      std::cerr << "tally: accept failed: " << ec.message() << '\n';
    }
    Accept();
  });
}

void HttpServer::Impl::Stop() {
  if (stopping.exchange(true)) return;
  net::dispatch(acceptor.get_executor(), [this] {
    ErrorCode ec;
    acceptor.close(ec);
  });
  if (signals) {
    net::post(ioc, [this] {
      ErrorCode ec;
      signals->cancel(ec);
    });
  }
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard lock(mu);
    stop_requested = true;
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  cv.notify_all();
  for (auto& s : live) s->CloseIfIdle();
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      RequestHandler handler) {
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);

  ErrorCode ec;
  const net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) return InvalidArgument("'" + options.address + "' is not an IP address");
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = Authority(endpoint);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint(ec).port();

  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int io_threads = options.io_threads > 0 ? options.io_threads : hw;
  // Handlers mostly wait for group commits; more waiting callers share more of each commit.
  const int handler_threads =
      options.handler_threads > 0 ? options.handler_threads : 4 * io_threads;
  impl->handler_pool.emplace(static_cast<size_t>(handler_threads));

  impl->Accept();
  Impl* raw = impl.get();
  {
    std::lock_guard lock(impl->mu);
    impl->running_io_threads = io_threads;
  }
  for (int i = 0; i < io_threads; ++i) {
    impl->io_threads.emplace_back([raw] {
      raw->ioc.run();
      {
        std::lock_guard lock(raw->mu);
        --raw->running_io_threads;
      }
      raw->cv.notify_all();
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::StopOnSignals() {
  Impl* impl = impl_.get();
  impl->signals.emplace(impl->ioc, SIGINT, SIGTERM);
  impl->signals->async_wait([impl](ErrorCode ec, int) {
    if (!ec) impl->Stop();
  });
}

void HttpServer::Stop() { impl_->Stop(); }

void HttpServer::Wait() {
  Impl& impl = *impl_;
  if (impl.joined) return;
  {
    std::unique_lock lock(impl.mu);
    impl.cv.wait(lock, [&] { return impl.stop_requested; });
    if (!impl.cv.wait_for(lock, impl.options.drain_timeout,
                          [&] { return impl.running_io_threads == 0; })) {
      std::vector<std::shared_ptr<HttpSession>> live;
      for (auto& [ptr, weak] : impl.sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
      lock.unlock();
      std::cerr << "tally: " << live.size()
                << " connections still busy after the drain timeout; closing them\n";
      for (auto& s : live) s->ForceClose();
      impl.ioc.stop();
    }
  }
  for (std::thread& t : impl.io_threads) t.join();
  impl.handler_pool->join();
  impl.joined = true;
}

}  // namespace tally::api
