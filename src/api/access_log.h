// The access log: one JSON object per answered request, for log shippers. It names the key
// that authenticated the request by its key ID (never the token or its secret) and carries
// the query string, which holds no secrets in Tally's APIs. Stateless; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "api/http_message.h"
#include "common/time.h"

namespace tally::api {

// {"time":"…Z","remote":"127.0.0.1","method":"GET","path":"/…","query":"…","status":200,
//  "bytes":1234,"ms":1.234[,"keyId":"…"][,"error":"InvalidProperty"]}
std::string FormatAccessLogLine(UtcTime now, const HttpRequest& request,
                                const HttpResponse& response, std::chrono::microseconds elapsed);

}  // namespace tally::api
