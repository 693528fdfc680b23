#include "tls_page_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/strings.h"

namespace tally::bench {
namespace {

constexpr size_t kReadAhead = 256 * 1024;

std::string OpenSslError(std::string_view what) {
  char text[256] = {};
  ERR_error_string_n(ERR_get_error(), text, sizeof text);
  return std::string(what) + ": " + text;
}

}  // namespace

Result<std::unique_ptr<TlsPageClient>> TlsPageClient::Connect(int port,
                                                              const std::string& ca_file) {
  std::unique_ptr<TlsPageClient> c(new TlsPageClient());
  c->port_ = port;
  c->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd_ < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c->fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Unavailable(std::string("connect: ") + std::strerror(errno));
  }
  const int on = 1;
  (void)::setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) return Unavailable(OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(c->ctx_, ca_file.c_str(), nullptr) != 1) {
    return Unavailable(OpenSslError("loading " + ca_file));
  }
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_read_ahead(c->ctx_, 1);
  SSL_CTX_set_default_read_buffer_len(c->ctx_, kReadAhead);
  c->ssl_ = SSL_new(c->ctx_);
  if (c->ssl_ == nullptr) return Unavailable(OpenSslError("SSL_new"));
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), "127.0.0.1");
  SSL_set_fd(c->ssl_, c->fd_);
  if (SSL_connect(c->ssl_) != 1) return Unavailable(OpenSslError("TLS handshake"));
  return c;
}

TlsPageClient::~TlsPageClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

Status TlsPageClient::ReadMore() {
  const size_t had = buffer_.size();
  buffer_.resize(had + kReadAhead);
  size_t got = 0;
  const int ok = SSL_read_ex(ssl_, buffer_.data() + had, kReadAhead, &got);
  buffer_.resize(had + got);
  if (ok != 1 || got == 0) return Unavailable(OpenSslError("reading the answer"));
  return Status::Ok();
}

Result<PageResponse> TlsPageClient::Get(std::string_view target,
                                        const std::vector<std::string>& headers) {
  std::string request = "GET ";
  request.append(target);
  request += " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n";
  for (const std::string& h : headers) request += h + "\r\n";
  request += "\r\n";
  size_t written = 0;
  if (SSL_write_ex(ssl_, request.data(), request.size(), &written) != 1 ||
      written != request.size()) {
    return Unavailable(OpenSslError("sending the request"));
  }

  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    TALLY_RETURN_IF_ERROR(ReadMore());
  }
  const std::string_view head(buffer_.data(), header_end);
  PageResponse out;
  if (!head.starts_with("HTTP/1.1 ") || head.size() < 12 ||
      std::from_chars(head.data() + 9, head.data() + 12, out.status).ec != std::errc()) {
    return Unavailable("not an HTTP/1.1 status line");
  }
  size_t length = 0;
  bool has_length = false;
  for (size_t at = head.find("\r\n"); at != std::string_view::npos;) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string_view line = head.substr(at + 2, next == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : next - at - 2);
    constexpr std::string_view kLength = "content-length:";
    if (line.size() > kLength.size() &&
        EqualsIgnoreCase(line.substr(0, kLength.size()), kLength)) {
      const std::string_view value = TrimSpace(line.substr(kLength.size()));
      has_length = std::from_chars(value.data(), value.data() + value.size(), length).ec ==
                   std::errc();
    }
    at = next;
  }
  if (!has_length) return Unavailable("the answer has no Content-Length");

  const size_t body_start = header_end + 4;
  const size_t buffered = std::min(length, buffer_.size() - body_start);
  out.body.resize(length);
  std::memcpy(out.body.data(), buffer_.data() + body_start, buffered);
  buffer_.erase(0, body_start + buffered);
  // The rest straight into the body, one TLS record per call (read ahead from the socket).
  for (size_t filled = buffered; filled < length;) {
    size_t got = 0;
    if (SSL_read_ex(ssl_, out.body.data() + filled, length - filled, &got) != 1 || got == 0) {
      return Unavailable(OpenSslError("reading the body"));
    }
    filled += got;
  }
  return out;
}

}  // namespace tally::bench
