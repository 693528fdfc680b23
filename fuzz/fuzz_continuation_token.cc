// Fuzzes the continuation tokens of the usage API (api/continuation_token.h). Each input is
// used twice:
//   1. As token text, parsed against every fixed binding (continuation_token_queries.h): it
//      must never crash, and a token is accepted by at most one binding, only in its canonical
//      form (FormatContinuationToken of what was parsed; trailing '=' padding aside), and, when
//      bound to a subscription list, only for one of those subscriptions.
//   2. As the fields of a token (FuzzedDataProvider): the formatted text is URL-safe (base64url
//      without padding, so no '+', '/', '=' or anything needing percent-encoding) and within
//      the parser's length limit; it parses back to the same key and as_of_seq for its own
//      binding (a subscription-bound token only for a subscription of the query), and is
//      refused by every other binding and after any one-character change or truncation.
// Key text is at most 255 bytes: the format stores one length byte, and what reaches a token
// is shorter (subscription GUIDs, meter IDs of at most 64 characters).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/continuation_token.h"
#include "continuation_token_queries.h"

namespace {

using tally::api::ContinuationToken;
using tally::api::FormatContinuationToken;
using tally::api::ParseContinuationToken;
using tally::fuzz::TokenBinding;

void Check(bool ok) {
  if (!ok) std::abort();
}

const std::vector<TokenBinding>& Bindings() {
  static const std::vector<TokenBinding> bindings = tally::fuzz::FixedBindings();
  return bindings;
}

bool InQuery(const TokenBinding& b, const std::string& subscription_id) {
  const auto& subs = b.query.subscription_ids;
  return std::find(subs.begin(), subs.end(), subscription_id) != subs.end();
}

bool AcceptedBy(std::string_view text, const TokenBinding& b) {
  return ParseContinuationToken(text, b.query, b.scope).ok();
}

void CheckArbitraryText(std::string_view text) {
  std::string_view unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  int accepted = 0;
  for (const TokenBinding& b : Bindings()) {
    tally::Result<ContinuationToken> token = ParseContinuationToken(text, b.query, b.scope);
    if (!token.ok()) {
      Check(!token.status().message().empty());
      continue;
    }
    ++accepted;
    Check(FormatContinuationToken(*token, b.query, b.scope) == unpadded);
    Check(!b.scope.empty() || InQuery(b, token->after.subscription_id));
  }
  Check(accepted <= 1);
}

bool IsUrlSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void CheckRoundTrip(FuzzedDataProvider& in) {
  const std::vector<TokenBinding>& bindings = Bindings();
  const size_t own = in.ConsumeIntegralInRange<size_t>(0, bindings.size() - 1);
  const TokenBinding& binding = bindings[own];

  ContinuationToken token;
  token.as_of_seq = in.ConsumeIntegral<uint64_t>();
  token.after.usage_start_hours = in.ConsumeIntegral<int64_t>();
  token.after.instance_id = in.ConsumeIntegral<uint64_t>();
  const auto& subs = binding.query.subscription_ids;
  if (in.ConsumeBool() && !subs.empty()) {
    token.after.subscription_id = subs[in.ConsumeIntegralInRange<size_t>(0, subs.size() - 1)];
  } else {
    token.after.subscription_id = in.ConsumeRandomLengthString(255);
  }
  token.after.meter_key = in.ConsumeRandomLengthString(255);
  const size_t change_at = in.ConsumeIntegral<size_t>();
  const char change_to = static_cast<char>(in.ConsumeIntegral<uint8_t>());
  const size_t cut = in.ConsumeIntegral<size_t>();

  const std::string text = FormatContinuationToken(token, binding.query, binding.scope);
  Check(!text.empty() && text.size() <= 1024);
  Check(std::all_of(text.begin(), text.end(), IsUrlSafe));

  tally::Result<ContinuationToken> back =
      ParseContinuationToken(text, binding.query, binding.scope);
  const bool expect_ok = !binding.scope.empty() || InQuery(binding, token.after.subscription_id);
  Check(back.ok() == expect_ok);
  if (back.ok()) {
    Check(back->after == token.after);
    Check(back->as_of_seq == token.as_of_seq);
    Check(AcceptedBy(text + "==", binding));  // padding is tolerated
  }
  for (size_t i = 0; i < bindings.size(); ++i) {
    if (i != own) Check(!AcceptedBy(text, bindings[i]));
  }

  std::string damaged = text;
  damaged[change_at % text.size()] = change_to;
  if (damaged != text) Check(!AcceptedBy(damaged, binding));
  Check(!AcceptedBy(std::string_view(text).substr(0, cut % text.size()), binding));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckArbitraryText(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider in(data, size);
  CheckRoundTrip(in);
  return 0;
}
