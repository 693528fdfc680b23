// IngestClient: how a load run delivers one batch (a JSON body) to Tally and waits for its
// durable acknowledgement. The in-process client calls ingest::IngestService directly (the
// store/service level); an HTTP client (POST /v1/usage/records with a bearer token, e.g. over
// Boost.Beast with one keep-alive connection per thread) plugs in behind the same interface
// once the server lands, so the load run and its figures stay comparable.
// Implementations: Send() may be called from several threads at once, each thread using its
// own client from MakeIngestClient (clients may hold a connection).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ingest/ingest_service.h"

namespace tally::bench {

struct IngestAck {
  Status status;
  size_t accepted = 0;
  size_t duplicates = 0;
};

class IngestClient {
 public:
  virtual ~IngestClient() = default;
  // Sends one JSON body ({"records":[...]}) as a reporter and returns its acknowledgement.
  virtual IngestAck Send(std::string_view json_body) = 0;
};

// A client for the service in this process.
std::unique_ptr<IngestClient> MakeInProcessIngestClient(ingest::IngestService& service);

// A client posting to `POST /v1/usage/records` of a running server over one keep-alive HTTP
// connection, with a reporter bearer token. `base_url` like "http://127.0.0.1:8080".
Result<std::unique_ptr<IngestClient>> MakeHttpIngestClient(const std::string& base_url,
                                                           const std::string& token);

}  // namespace tally::bench
