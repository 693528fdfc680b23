#include "ingest_client.h"

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

}  // namespace

std::unique_ptr<IngestClient> MakeInProcessIngestClient(ingest::IngestService& service) {
  return std::make_unique<InProcessClient>(service);
}

}  // namespace tally::bench
