// Fuzzes tally::api::QueryString::Parse (and PercentDecode / PercentEncode under it) on
// arbitrary bytes, checked against a small reference parser written here. Properties:
//   - Parse succeeds exactly when every '%' is followed by two hex digits;
//   - params() are the non-empty '&' pieces in order, each split at its first '=', raw kept
//     verbatim, name and value decoded with '+' as a space;
//   - Find and IsRepeated match names ASCII-case-insensitively, and Find returns the first;
//   - RawWithout(name) re-parses to exactly the other parameters, in order, so the name is
//     gone; the nextLink the API builds from it carries the new token and every other
//     parameter unchanged;
//   - PercentEncode emits only unreserved characters and %XX, and decodes back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/query_string.h"

namespace {

using tally::api::QueryString;

void Check(bool ok) {
  if (!ok) std::abort();
}

// The reference model, kept independent of src/common/strings.h on purpose.
int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (s.size() - i < 3 || Hex(s[i + 1]) < 0 || Hex(s[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

char Fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string FoldAll(std::string_view s, bool upper) {
  std::string out(s);
  for (char& c : out) {
    c = Fold(c);
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Fold(a[i]) != Fold(b[i])) return false;
  }
  return true;
}

struct RefParam {
  std::string raw, name, value;
};

// nullopt when some escape is malformed.
std::optional<std::vector<RefParam>> ReferenceParse(std::string_view raw) {
  std::vector<RefParam> out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('&', start);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view piece = raw.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    std::optional<std::string> name = Decode(piece.substr(0, eq));
    std::optional<std::string> value =
        Decode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.push_back(RefParam{std::string(piece), std::move(*name), std::move(*value)});
  }
  return out;
}

void CheckSameParams(const QueryString& q, const std::vector<RefParam>& expected) {
  Check(q.params().size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    Check(q.params()[i].raw == expected[i].raw);
    Check(q.params()[i].name == expected[i].name);
    Check(q.params()[i].value == expected[i].value);
  }
}

void CheckLookups(const QueryString& q, const std::vector<RefParam>& params,
                  std::string_view name) {
  std::optional<std::string> first;
  int count = 0;
  for (const RefParam& p : params) {
    if (!SameName(p.name, name)) continue;
    if (count++ == 0) first = p.value;
  }
  Check(q.Find(name) == first);
  Check(q.Find(FoldAll(name, false)) == first);
  Check(q.Find(FoldAll(name, true)) == first);
  Check(q.IsRepeated(name) == (count > 1));

  tally::Result<QueryString> rest = QueryString::Parse(q.RawWithout(name));
  Check(rest.ok());
  std::vector<RefParam> others;
  for (const RefParam& p : params) {
    if (!SameName(p.name, name)) others.push_back(p);
  }
  CheckSameParams(*rest, others);
  Check(!rest->Find(name).has_value());
}

// As AnswerUsagePage builds the nextLink's query: the old token dropped, the new one appended.
void CheckNextLink(const QueryString& q, const std::vector<RefParam>& params) {
  static constexpr std::string_view kToken = "AXy3-_0aZ9";
  std::string link = q.RawWithout("continuationToken");
  if (!link.empty()) link.push_back('&');
  link.append("continuationToken=").append(kToken);
  tally::Result<QueryString> next = QueryString::Parse(link);
  Check(next.ok());
  Check(next->Find("continuationToken") == std::string(kToken));
  Check(!next->IsRepeated("ContinuationToken"));
  std::vector<RefParam> expected;
  for (const RefParam& p : params) {
    if (!SameName(p.name, "continuationToken")) expected.push_back(p);
  }
  expected.push_back(RefParam{"continuationToken=" + std::string(kToken), "continuationToken",
                              std::string(kToken)});
  CheckSameParams(*next, expected);
}

bool IsUpperHex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

void CheckEncode(std::string_view text) {
  const std::string encoded = tally::api::PercentEncode(text);
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) continue;
    Check(c == '%' && i + 2 < encoded.size());
    Check(IsUpperHex(encoded[i + 1]) && IsUpperHex(encoded[i + 2]));
    i += 2;
  }
  for (bool plus_is_space : {true, false}) {
    tally::Result<std::string> back = tally::api::PercentDecode(encoded, plus_is_space);
    Check(back.ok() && *back == text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  tally::Result<QueryString> q = QueryString::Parse(raw);
  const std::optional<std::vector<RefParam>> expected = ReferenceParse(raw);
  Check(q.ok() == expected.has_value());
  // Decoding the whole query fails exactly when some piece fails: hex digits are never '&'/'='.
  Check(tally::api::PercentDecode(raw, true).ok() == q.ok());
  CheckEncode(raw);
  if (!q.ok()) {
    Check(!q.status().message().empty());
    return 0;
  }
  CheckSameParams(*q, *expected);

  // Bounded so that a query of thousands of tiny parameters stays linear per input.
  size_t looked_up = 0;
  for (const RefParam& p : *expected) {
    if (++looked_up > 16) break;
    CheckLookups(*q, *expected, p.name);
    CheckEncode(p.value);
  }
  for (std::string_view name : {"continuationToken", "api-version", "reportedStartTime", ""}) {
    CheckLookups(*q, *expected, name);
  }
  CheckNextLink(*q, *expected);
  return 0;
}
