// HttpServer: Tally's HTTP/1.1 server (Boost.Beast over Asio), kept behind this Beast-free
// header so that only http_server.cc pays Beast's compile time.
//
// One request path: listener -> (TLS handshake) -> parser -> handler -> reply. Connections
// are keep-alive; a small pool of I/O threads (hardware threads) parses and writes, and
// handlers run on a separate pool because they may block for a durable commit. Limits: request
// headers must arrive within header_timeout (then the connection is closed), bodies above
// body_limit get 413. Stop() stops accepting, closes idle connections and lets in-flight
// requests finish and be answered (with Connection: close) before Wait() returns. A response
// with a `stream` (http_message.h) is sent with chunked transfer encoding from the handler
// thread, one piece written before the next is produced; a failed stream closes the connection
// without the last chunk.
//
// Ownership: the caller owns the server; the handler must outlive it. Thread-safety: Stop()
// and port() may be called from any thread; the handler is called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "common/status.h"

namespace tally::api {

struct HttpServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal
  uint16_t port = 0;                  // 0 = any free port (see HttpServer::port())
  int io_threads = 0;                 // 0 = the hardware's threads
  int handler_threads = 0;            // 0 = 4 per I/O thread
  size_t body_limit = size_t{64} << 20;
  size_t header_limit = size_t{64} << 10;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(120)};  // body read, reply write
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};  // Stop() -> forced close
  // TLS: PEM files of the certificate chain and its private key. Both empty = plain http.
  // TLS 1.2 and 1.3 only.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Called once per answered request (on a handler thread): the access log. May be empty.
  std::function<void(const HttpRequest&, const HttpResponse&, std::chrono::microseconds)>
      on_answered;
};

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Sets glibc malloc's thresholds for a serving process, once, process-wide: blocks up to
// 16 MiB come from the heap (not a fresh mmap each), and up to 32 MiB of free heap top is kept
// rather than returned to the kernel at once. Every usage page is a body of about half a MiB
// that lives for one request; with glibc's defaults many of them were mapped, faulted in page by
// page and unmapped again, and under concurrent requests the page faults and unmaps of all
// threads serialised on the process's address space (16 clients read pages slower in total
// than one). `tally serve` and the server benchmarks call it before starting the server.
void TuneAllocatorForServing();

class HttpServer {
 public:
  // Binds, listens and starts serving. Unavailable when the address cannot be bound (in use,
  // not local, ...), InvalidArgument when it is not an IP address or the TLS certificate or
  // key cannot be loaded (the message says which file and why).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   RequestHandler handler);
  ~HttpServer();  // Stop() and Wait()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound.
  uint16_t port() const;
  bool tls() const;
  // Makes SIGINT and SIGTERM call Stop(). Call once, before the signals can arrive.
  void StopOnSignals();
  // Graceful stop; idempotent.
  void Stop();
  // Blocks until Stop() was called and every connection is finished (or drain_timeout passed
  // since Stop(), after which the remaining connections are dropped).
  void Wait();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace tally::api
