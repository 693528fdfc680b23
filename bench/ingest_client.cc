#include "ingest_client.h"

#include <cstdlib>

#include "api/http_client.h"

namespace tally::bench {
namespace {

class InProcessClient final : public IngestClient {
 public:
  explicit InProcessClient(ingest::IngestService& service) : service_(service) {}
  IngestAck Send(std::string_view json_body) override {
    ingest::IngestOutcome out =
        service_.Ingest(json_body, ingest::BodyFormat::kJson, ingest::Sender::kReporter);
    return {out.status, out.accepted, out.duplicates};
  }

 private:
  ingest::IngestService& service_;
};

class HttpIngestClient final : public IngestClient {
 public:
  HttpIngestClient(std::unique_ptr<api::HttpClient> client, std::string token)
      : client_(std::move(client)),
        headers_{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}} {}

  IngestAck Send(std::string_view json_body) override {
    // A real reporter sends a body it has just written, from memory its CPU has in cache. The
    // bench's bodies were built a minute or more before the load, and on the measuring machine
    // memory left alone that long is slow to read again (docs/benchmarks.md, section
    // (a''''''''''')). Sent from there, the kernel's copy into the socket took the client
    // threads 3.9 times the CPU they take copying the body into a buffer of their own first
    // (a paced 2 M run), which is what they send. (Bodies are now unpacked into a warm buffer
    // unless TALLY_BENCH_BODIES=plain; the copy then costs ~30 µs a batch.)
    body_.assign(json_body);
    auto reply = client_->Send(api::Method::kPost, "/v1/usage/records", headers_, body_);
    IngestAck ack;
    if (!reply.ok()) {
      ack.status = reply.status();
      return ack;
    }
    if (reply->status != 200) {
      ack.status = Unavailable("HTTP " + std::to_string(reply->status) + ": " +
                               reply->body.substr(0, 300));
      return ack;
    }
    ack.accepted = NumberAfter(reply->body, "\"accepted\":");
    ack.duplicates = NumberAfter(reply->body, "\"duplicates\":");
    return ack;
  }

 private:
  // The answer is {"accepted":N,"duplicates":M}: read the two counts without a JSON parser.
  static size_t NumberAfter(const std::string& body, std::string_view key) {
    size_t p = body.find(key);
    return p == std::string::npos ? 0 : std::strtoull(body.c_str() + p + key.size(), nullptr, 10);
  }

  std::unique_ptr<api::HttpClient> client_;
  api::HeaderList headers_;
  std::string body_;  // the body being sent (its memory reused from batch to batch)
};

}  // namespace

Result<std::unique_ptr<IngestClient>> MakeHttpIngestClient(const std::string& base_url,
                                                           const std::string& token) {
  auto client = api::HttpClient::Make(base_url);
  if (!client.ok()) return client.status();
  return std::unique_ptr<IngestClient>(
      std::make_unique<HttpIngestClient>(std::move(client).value(), token));
}

std::unique_ptr<IngestClient> MakeInProcessIngestClient(ingest::IngestService& service) {
  return std::make_unique<InProcessClient>(service);
}

}  // namespace tally::bench
