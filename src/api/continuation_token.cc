#include "api/continuation_token.h"

#include <algorithm>
#include <vector>

#include "common/hash.h"

namespace tally::api {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kCheckOffset = 1;
constexpr size_t kPayloadOffset = kCheckOffset + 8;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutShortString(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size()));
  out.append(s);
}

// Reads fields front to back, failing once on the first short read.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool U8(uint8_t& v) {
    if (rest_.empty()) return false;
    v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t& v) {
    if (rest_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(rest_[i])} << (8 * i);
    rest_.remove_prefix(8);
    return true;
  }
  bool ShortString(std::string& s) {
    uint8_t n = 0;
    if (!U8(n) || rest_.size() < n) return false;
    s.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::string BindingText(const query::UsageQuery& q, std::string_view scope) {
  std::string text = "tally-ct-1|";
  if (!scope.empty()) {
    text.append("scope:").append(scope);
  } else {
    std::vector<std::string> subs = q.subscription_ids;
    std::sort(subs.begin(), subs.end());
    for (size_t i = 0; i < subs.size(); ++i) {
      if (i > 0) text.push_back(',');
      text.append(subs[i]);
    }
  }
  text.append("|" + std::to_string(q.reported_start.micros) + "|" +
              std::to_string(q.reported_end.micros) + "|");
  text.append(domain::GranularityName(q.granularity));
  return text;
}

uint64_t Check(const query::UsageQuery& q, std::string_view scope, std::string_view payload) {
  std::string text = BindingText(q, scope);
  text.append(payload);
  return Hash64(text);
}

Status Invalid() {
  return InvalidArgument(
      "continuationToken is not valid for this query; follow the nextLink of the previous "
      "page, or start again without continuationToken");
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return InvalidArgument("truncated base64url text");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64Value(c);
    if (v < 0) return InvalidArgument("not base64url text");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical encodings leave the unused low bits zero; anything else is not ours.
  if ((acc & ((1u << bits) - 1)) != 0) return InvalidArgument("not canonical base64url text");
  return out;
}

std::string FormatContinuationToken(const ContinuationToken& token, const query::UsageQuery& query,
                                    std::string_view scope) {
  std::string payload;
  PutU64(payload, token.as_of_seq);
  PutU64(payload, static_cast<uint64_t>(token.after.usage_start_hours));
  PutU64(payload, token.after.instance_id);
  PutShortString(payload, token.after.subscription_id.substr(0, 255));
  PutShortString(payload, token.after.meter_key.substr(0, 255));

  std::string bytes;
  bytes.push_back(static_cast<char>(kVersion));
  PutU64(bytes, Check(query, scope, payload));
  bytes.append(payload);
  return Base64UrlEncode(bytes);
}

Result<ContinuationToken> ParseContinuationToken(std::string_view text,
                                                 const query::UsageQuery& query,
                                                 std::string_view scope) {
  // Tokens are ~140 characters; refuse anything far longer before decoding it.
  if (text.empty() || text.size() > 1024) return Invalid();
  Result<std::string> bytes = Base64UrlDecode(text);
  if (!bytes.ok() || bytes->size() < kPayloadOffset) return Invalid();
  Reader reader(*bytes);
  uint8_t version = 0;
  uint64_t check = 0;
  if (!reader.U8(version) || version != kVersion || !reader.U64(check)) return Invalid();
  if (check != Check(query, scope, std::string_view(*bytes).substr(kPayloadOffset))) {
    return Invalid();
  }

  ContinuationToken token;
  uint64_t start = 0;
  if (!reader.U64(token.as_of_seq) || !reader.U64(start) || !reader.U64(token.after.instance_id) ||
      !reader.ShortString(token.after.subscription_id) ||
      !reader.ShortString(token.after.meter_key) || !reader.AtEnd()) {
    return Invalid();
  }
  token.after.usage_start_hours = static_cast<int64_t>(start);
  // A token bound to explicit subscriptions resumes inside one of them. A scoped token's
  // subscription set may change between pages (a tenant first seen in usage joins it), and
  // its key is only a position in the key order.
  const auto& subs = query.subscription_ids;
  if (scope.empty() &&
      std::find(subs.begin(), subs.end(), token.after.subscription_id) == subs.end()) {
    return Invalid();
  }
  return token;
}

}  // namespace tally::api
