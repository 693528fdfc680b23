// A lean HTTP/1.1-over-TLS client for the paging benchmark's load: one blocking socket and
// OpenSSL session per client thread, keep-alive, GET only, Content-Length bodies only.
//
// Why not api::HttpClient: that client (Beast over Asio's TLS stream) reads one 16 KiB TLS
// record per recv() through an event loop with a timer per operation, so with 16 client threads
// on the server's 2 cores the clients spent about as much CPU per page as the server. This
// client lets OpenSSL read ahead (up to 256 KiB per recv) and blocks in the kernel instead of
// in epoll, so the benchmark measures the server. It verifies the server's certificate and
// address like any client.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tally::bench {

struct PageResponse {
  int status = 0;
  std::string body;
};

class TlsPageClient {
 public:
  // Connects to 127.0.0.1:`port` and completes the TLS handshake, trusting `ca_file`.
  static Result<std::unique_ptr<TlsPageClient>> Connect(int port, const std::string& ca_file);
  ~TlsPageClient();
  TlsPageClient(const TlsPageClient&) = delete;
  TlsPageClient& operator=(const TlsPageClient&) = delete;

  // GET `target` with the given extra header lines ("Name: value"). Unavailable when the
  // connection fails or the answer is not a Content-Length HTTP/1.1 response.
  Result<PageResponse> Get(std::string_view target, const std::vector<std::string>& headers);

 private:
  TlsPageClient() = default;
  // Reads at least one more byte into buffer_; Unavailable at end of stream or on an error.
  Status ReadMore();

  int fd_ = -1;
  int port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;  // bytes read past the previous response
};

}  // namespace tally::bench
