#include "api/query_string.h"

#include "common/strings.h"

namespace tally::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return InvalidArgument("a '%' is not followed by two hex digits");
      const int h = HexValue(text[i + 1]);
      const int l = HexValue(text[i + 2]);
      if (h < 0 || l < 0) return InvalidArgument("a '%' is not followed by two hex digits");
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<QueryString> QueryString::Parse(std::string_view raw) {
  QueryString q;
  for (std::string_view piece : Split(raw, '&')) {
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    const std::string_view raw_name = piece.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    Result<std::string> name = PercentDecode(raw_name, true);
    if (!name.ok()) {
      return InvalidArgument("the query string is malformed: " + name.status().message());
    }
    Result<std::string> value = PercentDecode(raw_value, true);
    if (!value.ok()) {
      return InvalidArgument("the query parameter '" + *name +
                             "' is malformed: " + value.status().message());
    }
    q.params_.push_back(Param{std::string(piece), std::move(*name), std::move(*value)});
  }
  return q;
}

std::optional<std::string> QueryString::Find(std::string_view name) const {
  for (const Param& p : params_) {
    if (EqualsIgnoreCase(p.name, name)) return p.value;
  }
  return std::nullopt;
}

bool QueryString::IsRepeated(std::string_view name) const {
  int n = 0;
  for (const Param& p : params_) {
    if (EqualsIgnoreCase(p.name, name)) ++n;
  }
  return n > 1;
}

std::string QueryString::RawWithout(std::string_view name) const {
  std::string out;
  for (const Param& p : params_) {
    if (EqualsIgnoreCase(p.name, name)) continue;
    if (!out.empty()) out.push_back('&');
    out.append(p.raw);
  }
  return out;
}

Result<UtcTime> RequiredTimeParameter(const QueryString& query, std::string_view name) {
  std::optional<std::string> text = query.Find(name);
  if (!text || TrimSpace(*text).empty()) {
    return InvalidArgument("the query parameter " + std::string(name) + " is required");
  }
  Result<UtcTime> t = ParseUtcTime(TrimSpace(*text));
  if (!t.ok()) {
    return InvalidArgument("the query parameter " + std::string(name) + " '" + *text +
                           "' is not a valid date-time: " + t.status().message());
  }
  return t;
}

}  // namespace tally::api
