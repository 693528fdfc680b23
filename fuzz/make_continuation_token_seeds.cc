// Writes the seed corpus of fuzz_continuation_token: valid tokens for every fixed binding
// (continuation_token_queries.h) and broken variants of them, one file each. Rerun it when
// the token format or the fixed bindings change, and commit the result:
//   cmake --build --preset fuzz --target make_continuation_token_seeds
//   build/fuzz/fuzz/make_continuation_token_seeds fuzz/corpus/continuation_token
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "api/continuation_token.h"
#include "continuation_token_queries.h"

namespace {

using tally::api::ContinuationToken;

std::string dir;

void Write(const std::string& name, std::string_view text) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}

ContinuationToken Token(std::string subscription_id, int64_t usage_start_hours,
                        std::string meter_key, uint64_t instance_id, uint64_t as_of_seq) {
  ContinuationToken t;
  t.after.subscription_id = std::move(subscription_id);
  t.after.usage_start_hours = usage_start_hours;
  t.after.meter_key = std::move(meter_key);
  t.after.instance_id = instance_id;
  t.as_of_seq = as_of_seq;
  return t;
}

// Decodes `text`, lets `edit` change the bytes, and encodes them again.
template <typename Edit>
std::string Reencode(const std::string& text, Edit edit) {
  std::string bytes = *tally::api::Base64UrlDecode(text);
  edit(bytes);
  return tally::api::Base64UrlEncode(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  dir = argv[1];

  for (const tally::fuzz::TokenBinding& b : tally::fuzz::FixedBindings()) {
    const std::string sub = b.query.subscription_ids.front();
    // 2024-05-01T00:00Z is hour 476256 since the epoch.
    const std::string text = tally::api::FormatContinuationToken(
        Token(sub, 476256, "F271A8A388C44D93956A063E1D2FA80B", 123456789, 987654321), b.query,
        b.scope);
    Write("valid_" + b.label, text);
  }

  const auto bindings = tally::fuzz::FixedBindings();
  const tally::fuzz::TokenBinding& b = bindings.front();
  auto format = [&](const ContinuationToken& t) {
    return tally::api::FormatContinuationToken(t, b.query, b.scope);
  };
  const std::string sub = tally::fuzz::kSubscriptionA;
  Write("valid_first_key", format(Token(sub, 0, "", 0, 1)));
  Write("valid_extreme_key",
        format(Token(sub, INT64_MIN, std::string(64, 'Z'), UINT64_MAX, UINT64_MAX)));
  Write("valid_storage_meter", format(Token(sub, 476300, "09F8879E-87E9-4305-A572-4B7BE209F857",
                                            0xfedcba9876543210ULL, 42)));
  Write("valid_custom_meter", format(Token(sub, 476257, "CONTOSO.GPU-HOURS_V2", 7, 1000)));

  // version, check, as_of_seq, start, instance, then the 36-byte subscription and its length.
  constexpr size_t kMeterLengthAt = 1 + 8 + 8 + 8 + 8 + 1 + 36;
  const std::string good = format(Token(sub, 476256, "F271A8A388C44D93956A063E1D2FA80B", 5, 9));
  Write("padded", good + "==");
  Write("padding_percent_encoded", good + "%3D%3D");
  Write("truncated", good.substr(0, good.size() - 4));
  Write("one_char_changed", std::string(good).replace(20, 1, good[20] == 'A' ? "B" : "A"));
  std::string standard = good;  // the '+' '/' alphabet, as a non-url base64 would write it
  for (char& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  Write("standard_alphabet", standard + "+/");
  Write("space_for_plus", "ab cd" + good.substr(5));
  Write("outside_subscription", format(Token(tally::fuzz::kSubscriptionB, 476256,
                                             "F271A8A388C44D93956A063E1D2FA80B", 5, 9)));
  Write("version_2", Reencode(good, [](std::string& bytes) { bytes[0] = 2; }));
  Write("trailing_byte", Reencode(good, [](std::string& bytes) { bytes.push_back('\0'); }));
  Write("long_meter_length",
        Reencode(good, [](std::string& bytes) { bytes[kMeterLengthAt] = '\xff'; }));
  Write("non_canonical_tail", good.substr(0, good.size() - 1) + "_");
  Write("header_only", Reencode(good, [](std::string& bytes) { bytes.resize(9); }));
  Write("empty", "");
  Write("too_long", std::string(1028, 'A'));
  Write("not_a_token", "not a token");
  // Azure's own token style: base64 of a small JSON, percent-encoded padding (contract §4).
  Write("azure_style", "eyJyIjoiMjAxNjEwMTAiLCJzIjoiMDJpaklwOD0ifQ%3d%3d");
  return 0;
}
