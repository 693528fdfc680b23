#include "api/rate_card_filter.h"

#include <array>

#include "common/strings.h"

namespace tally::api {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}
  void SkipSpace() {
    while (!rest_.empty() && IsSpace(rest_.front())) rest_.remove_prefix(1);
  }
  bool AtEnd() {
    SkipSpace();
    return rest_.empty();
  }
  // A run of letters (a name or a keyword).
  std::string_view Word() {
    SkipSpace();
    size_t n = 0;
    while (n < rest_.size() &&
           ((rest_[n] >= 'a' && rest_[n] <= 'z') || (rest_[n] >= 'A' && rest_[n] <= 'Z'))) {
      ++n;
    }
    std::string_view w = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return w;
  }
  // 'value' with '' as an escaped quote.
  Result<std::string> Quoted(std::string_view name) {
    SkipSpace();
    if (rest_.empty() || rest_.front() != '\'') {
      return InvalidArgument("the value of " + std::string(name) + " must be in single quotes");
    }
    rest_.remove_prefix(1);
    std::string value;
    while (!rest_.empty()) {
      const char c = rest_.front();
      rest_.remove_prefix(1);
      if (c != '\'') {
        value.push_back(c);
        continue;
      }
      if (!rest_.empty() && rest_.front() == '\'') {
        value.push_back('\'');
        rest_.remove_prefix(1);
        continue;
      }
      return value;
    }
    return InvalidArgument("the value of " + std::string(name) + " has no closing quote");
  }

 private:
  std::string_view rest_;
};

}  // namespace

Result<RateCardFilter> ParseRateCardFilter(std::string_view text) {
  RateCardFilter filter;
  constexpr std::array<std::string_view, 4> kNames = {"OfferDurableId", "Currency", "Locale",
                                                      "RegionInfo"};
  std::array<std::string*, 4> fields = {&filter.offer_durable_id, &filter.currency, &filter.locale,
                                        &filter.region_info};
  std::array<bool, 4> seen = {false, false, false, false};
  Cursor in(text);
  if (in.AtEnd()) return InvalidArgument("$filter is empty");
  while (true) {
    const std::string_view name = in.Word();
    size_t which = kNames.size();
    for (size_t i = 0; i < kNames.size(); ++i) {
      if (EqualsIgnoreCase(name, kNames[i])) which = i;
    }
    if (which == kNames.size()) {
      return InvalidArgument(
          name.empty() ? std::string("expected a property name")
                       : "unknown property '" + std::string(name) +
                             "' (expected OfferDurableId, Currency, Locale or RegionInfo)");
    }
    if (seen[which]) return InvalidArgument(std::string(kNames[which]) + " is given twice");
    seen[which] = true;
    if (!EqualsIgnoreCase(in.Word(), "eq")) {
      return InvalidArgument("only 'eq' is supported, after " + std::string(kNames[which]));
    }
    TALLY_ASSIGN_OR_RETURN(*fields[which], in.Quoted(kNames[which]));
    if (TrimSpace(*fields[which]).empty()) {
      return InvalidArgument(std::string(kNames[which]) + " must not be empty");
    }
    if (in.AtEnd()) break;
    if (!EqualsIgnoreCase(in.Word(), "and")) {
      return InvalidArgument("only 'and' may join the conditions");
    }
  }
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (!seen[i]) return InvalidArgument(std::string(kNames[i]) + " is required");
  }
  return filter;
}

}  // namespace tally::api
