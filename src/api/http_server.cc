#include "api/http_server.h"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "common/current_thread.h"

namespace tally::api {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ErrorCode = boost::system::error_code;

// The handler pool's threads are Asio's own; each names itself when it runs its first handler.
void NameHandlerThread() {
  thread_local bool named = false;
  if (!named) {
    NameCurrentThread("tally-handler");
    named = true;
  }
}

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

class SessionBase;

struct HttpServer::Impl {
  HttpServerOptions options;
  RequestHandler handler;
  // Declared before the io_context and the pool: destroying them destroys queued handlers,
  // whose sessions unregister themselves under `mu`.
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;  // guarded by mu
  std::optional<net::ssl::context> tls;  // set when serving https
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

// What Stop() and the drain timeout need of a connection, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on Stop(): an idle connection (waiting for the next request) is closed now; a busy
  // one is closed after its answer is written.
  virtual void CloseIfIdle() = 0;
  // Drain timeout expired: drop the connection whatever it is doing.
  virtual void ForceClose() = 0;
};

// One connection over `Stream` (beast::tcp_stream, or an ssl_stream over one): handshakes
// (TLS), reads a request, hands it to the handler pool, writes the answer, repeats while
// keep-alive. Every step runs on the connection's strand.
template <class Stream>
class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  HttpSession(tcp::socket socket, HttpServer::Impl& server)
      : stream_(MakeStream(std::move(socket), server)), server_(server) {}

  void Start() {
    {
      std::lock_guard lock(server_.mu);
      server_.sessions.emplace(this, this->weak_from_this());
    }
    ErrorCode ec;
    Socket().set_option(tcp::no_delay(true), ec);
    const tcp::endpoint local = Socket().local_endpoint(ec);
    if (!ec) local_authority_ = Authority(local);
    const tcp::endpoint remote = Socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Handshake(); });
  }

  ~HttpSession() override {
    std::lock_guard lock(server_.mu);
    server_.sessions.erase(this);
  }

  void CloseIfIdle() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) beast::get_lowest_layer(self->stream_).cancel();
    });
  }

  void ForceClose() override {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      ErrorCode ec;
      self->Socket().close(ec);
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, HttpServer::Impl& server) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }
  void ExpiresAfter(std::chrono::milliseconds t) {
    beast::get_lowest_layer(stream_).expires_after(t);
  }

  void Handshake() {
    if constexpr (kTls) {
      // The handshake counts against the header timeout: a client that connects and says
      // nothing is dropped.
      ExpiresAfter(server_.options.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](ErrorCode ec) {
                                if (ec) return self->CloseSocket();
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

  void ReadHeader() {
    if (server_.stopping.load()) return Close();
    busy_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_limit));
    parser_->body_limit(server_.options.body_limit);
    ExpiresAfter(server_.options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](ErrorCode ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(ErrorCode ec) {
    // Beast checks an announced Content-Length against the limit while parsing the header.
    if (ec == http::error::body_limit) return Reply(TooLarge(), false, false);
    if (ec) {
      // A timeout, a closed or cancelled connection: nobody is waiting for an answer.
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::operation_aborted || ec == net::error::eof ||
          ec == net::error::connection_reset || ec == net::ssl::error::stream_truncated ||
          buffer_.size() == 0) {
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
      ExpiresAfter(server_.options.body_timeout);
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](ErrorCode e, size_t) {
                          if (e) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // Beast reads at most the buffer's free capacity at a time, which after a header is about
    // 1 KiB: a 450 KiB ingest body took ~450 reads, each with its own epoll registration, timer
    // and strand hand-off (8 ms of CPU a body). Room for 64 KiB reads makes it ~8. The room is
    // given back once the body is read, so idle keep-alive connections stay small.
    if (const auto length = parser_->content_length(); !length || *length > kLargeBody) {
      buffer_.reserve(kBodyReadBytes);
    }
    ExpiresAfter(server_.options.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](ErrorCode ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(ErrorCode ec) {
    if (ec == http::error::body_limit) return Reply(TooLarge(), false, false);
    if (ec) return Close();
    if (buffer_.capacity() > kLargeBody) buffer_.shrink_to_fit();

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
    request.remote_address = remote_address_;
    request.tls = kTls;
    const bool keep_alive = message.keep_alive();
    const bool head = request.method == Method::kHead;

    // Handlers may block on a durable commit, so they run off the I/O threads. The work guard
    // keeps the I/O threads alive until the answer is written, even while stopping.
    auto work = net::make_work_guard(stream_.get_executor());
    net::post(*server_.handler_pool, [self = this->shared_from_this(), work = std::move(work),
                                      request = std::move(request), keep_alive, head]() mutable {
      NameHandlerThread();
      HttpResponse response = self->Run(request);
      if (response.stream) {
        // Streamed on this handler thread; the work guard lives until the last chunk.
        self->StreamReply(std::move(response), keep_alive, head);
        return;
      }
      net::post(self->stream_.get_executor(),
                [self, work = std::move(work), response = std::move(response), keep_alive,
                 head]() mutable { self->Reply(std::move(response), keep_alive, head); });
    });
  }

  HttpResponse Run(const HttpRequest& request) {
    const auto started = std::chrono::steady_clock::now();
    HttpResponse response = Answer(request);
    if (server_.options.on_answered) {
      server_.options.on_answered(request, response,
                                  std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::steady_clock::now() - started));
    }
    return response;
  }

  HttpResponse Answer(const HttpRequest& request) {
    // The handler root's one catch-all: no exception may end the server.
    try {
      return server_.handler(request);
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
    message->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) message->insert(name, value);
    message->body() = std::move(response.body);
    message->prepare_payload();
    if (head) message->body().clear();  // Content-Length stays that of the GET answer
    const bool again = keep_alive && !server_.stopping.load();
    message->keep_alive(again);
    ExpiresAfter(server_.options.body_timeout);
    const bool corked = Cork(message->body().size());
    http::async_write(stream_, *message, [self = this->shared_from_this(), message, again,
                                          corked](ErrorCode ec, size_t) {
      if (corked) self->Uncork();
      if (ec || !again) return self->Close();
      self->ReadHeader();
    });
  }

  // TLS writes a large answer one 16 KiB record (one send) at a time, and each send wakes the
  // client. Corking the socket lets the kernel send full segments instead, waking the client a
  // few times per answer. Uncorking sends what is left at once.
  bool Cork(size_t body_size) {
    if constexpr (!kTls) {
      return false;
    } else {
      if (body_size < kCorkAbove) return false;
      const int on = 1;
      return ::setsockopt(Socket().native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0;
    }
  }
  void Uncork() {
    const int off = 0;
    (void)::setsockopt(Socket().native_handle(), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  }
  static constexpr size_t kCorkAbove = 64 * 1024;
  static constexpr size_t kLargeBody = 16 * 1024;
  static constexpr size_t kBodyReadBytes = 64 * 1024;

  using Finish = std::function<void(ErrorCode)>;

  // Runs one asynchronous write, started by `start` on the connection's strand, and waits for
  // it on the calling (handler) thread. False when it failed (including the body timeout: a
  // client that stops reading) or when the I/O threads were stopped before it ended (the drain
  // timeout of a shutdown), so a producer is never left waiting forever.
  template <class Start>
  bool Await(Start start) {
    struct Done {
      std::mutex mu;
      std::condition_variable cv;
      bool finished = false;
      ErrorCode ec;
    };
    auto done = std::make_shared<Done>();
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), start = std::move(start), done]() mutable {
                self->ExpiresAfter(self->server_.options.body_timeout);
                start(Finish([done](ErrorCode ec) {
                  std::lock_guard lock(done->mu);
                  done->finished = true;
                  done->ec = ec;
                  done->cv.notify_all();
                }));
              });
    std::unique_lock lock(done->mu);
    while (!done->cv.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return done->finished; })) {
      if (server_.ioc.stopped()) return false;
    }
    return !done->ec;
  }

  // Sends a streamed answer from a handler thread: the header with chunked transfer encoding,
  // then each piece the producer gives as one chunk, each written before the producer may go
  // on (backpressure), then the last chunk. A producer failure ends the connection without
  // the last chunk, so the client cannot take a truncated body for a complete one.
  void StreamReply(HttpResponse response, bool keep_alive, bool head) {
    const bool again = keep_alive && !server_.stopping.load();
    auto header = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(response.status), 11);
    header->set(http::field::server, "tally");
    header->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) header->insert(name, value);
    header->keep_alive(again);
    header->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    bool ok = Await([this, header, serializer](Finish finish) {
      http::async_write_header(stream_, *serializer,
                               [header, serializer, finish](ErrorCode ec, size_t) { finish(ec); });
    });
    Status produced;
    if (ok && !head) {
      const BodySink sink = [&](std::string_view piece) {
        if (!ok) return false;
        if (piece.empty()) return true;
        ok = Await([this, piece](Finish finish) {
          auto chunk = std::make_shared<http::chunk_body<net::const_buffer>>(
              http::make_chunk(net::const_buffer(piece.data(), piece.size())));
          net::async_write(stream_, *chunk,
                           [chunk, finish](ErrorCode ec, size_t) { finish(ec); });
        });
        return ok;
      };
      try {
        produced = response.stream(sink);
      } catch (const std::exception& e) {
        produced = Internal(e.what());
      } catch (...) {
        produced = Internal("an unknown exception");
      }
      if (!produced.ok() && ok) {
        std::cerr << "tally: a streamed answer failed after it began; the connection is "
                     "closed: "
                  << produced.message() << '\n';
      }
      if (ok && produced.ok()) {
        ok = Await([this](Finish finish) {
          auto last = std::make_shared<decltype(http::make_chunk_last())>(http::make_chunk_last());
          net::async_write(stream_, *last, [last, finish](ErrorCode ec, size_t) { finish(ec); });
        });
      }
    }
    const bool complete = ok && produced.ok();
    net::post(stream_.get_executor(), [self = this->shared_from_this(), complete, again] {
      if (!complete || !again) return self->Close();
      self->ReadHeader();
    });
  }

  // Ends the connection: a TLS close_notify first (bounded by a short timeout), then the socket.
  void Close() {
    if constexpr (kTls) {
      if (!closing_) {
        closing_ = true;
        ExpiresAfter(std::chrono::seconds(2));
        stream_.async_shutdown(
            [self = this->shared_from_this()](ErrorCode) { self->CloseSocket(); });
        return;
      }
    }
    CloseSocket();
  }

  void CloseSocket() {
    ErrorCode ec;
    Socket().shutdown(tcp::socket::shutdown_send, ec);
    Socket().close(ec);
  }

  Stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string local_authority_;
  std::string remote_address_;
  bool busy_ = false;     // a request was received and is not yet answered
  bool closing_ = false;  // the TLS shutdown has started
};

// The server's TLS context: TLS 1.2 and newer, the given certificate chain and key.
Result<net::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                               const std::string& key_file) {
  net::ssl::context ctx(net::ssl::context::tls_server);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ErrorCode ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return InvalidArgument("cannot load the TLS certificate chain from '" + cert_file +
                           "': " + ec.message());
  }
  ctx.use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec) {
    return InvalidArgument("cannot load the TLS private key from '" + key_file +
                           "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return InvalidArgument("the TLS private key '" + key_file +
                           "' does not match the certificate '" + cert_file + "'");
  }
  return ctx;
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](ErrorCode ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (!ec) {
      if (tls) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket),
                                                                             *this)
            ->Start();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), *this)->Start();
      }
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
  std::vector<std::shared_ptr<SessionBase>> live;
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
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgument("TLS needs both a certificate and a private key");
  }
  if (!options.tls_cert_file.empty()) {
    Result<net::ssl::context> tls =
        MakeServerTlsContext(options.tls_cert_file, options.tls_key_file);
    if (!tls.ok()) return tls.status();
    impl->tls.emplace(std::move(*tls));
  }

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
      NameCurrentThread("tally-http-io");
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

bool HttpServer::tls() const { return impl_->tls.has_value(); }

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
      std::vector<std::shared_ptr<SessionBase>> live;
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

void TuneAllocatorForServing() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Both calls fail only for out-of-range values; the defaults then stay, which is slower
    // but correct, so a failure is not worth stopping the server for.
    (void)mallopt(M_MMAP_THRESHOLD, 16 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 32 << 20);
  });
}

}  // namespace tally::api
