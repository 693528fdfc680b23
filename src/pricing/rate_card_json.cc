// RateCard JSON with simdjson's On-Demand API, which gives each number's exact text
// (raw_json_token), so a price such as 0.1 reaches Decimal::Parse digit for digit. Only
// malformed JSON stops the parse; every other problem is recorded with its JSON path and
// reading goes on, so one error lists them all.
#include "pricing/rate_card_json.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>

#include "common/json_writer.h"
#include "common/strings.h"
#include "pricing/problems.h"

namespace tally::pricing {
namespace {

namespace od = simdjson::ondemand;
using internal::Problems;
using simdjson::error_code;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string Item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
std::string Keyed(const std::string& path, std::string_view key) {
  return path + "[\"" + std::string(key.substr(0, 64)) + "\"]";
}

std::string_view TrimJsonSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string JsonErrorMessage(error_code e) {
  switch (e) {
    case simdjson::TAPE_ERROR:
      return "unexpected character or structure (a missing or extra comma, colon, brace or "
             "bracket?)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "braces and brackets do not balance (truncated, or text after the end?)";
    case simdjson::UNCLOSED_STRING:
      return "a string is not closed";
    case simdjson::STRING_ERROR:
      return "a string has an invalid escape sequence";
    case simdjson::UNESCAPED_CHARS:
      return "a string contains an unescaped control character";
    case simdjson::UTF8_ERROR:
      return "the text is not valid UTF-8";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal (expected true, false or null)";
    case simdjson::NUMBER_ERROR:
      return "invalid number";
    case simdjson::DEPTH_ERROR:
      return "nested too deeply";
    case simdjson::TRAILING_CONTENT:
      return "unexpected content after the JSON value";
    default:
      return simdjson::error_message(e);
  }
}

// Reads the value's type; a JSON null is consumed and reported as json_type::null.
error_code TypeOf(od::value& v, od::json_type& type) {
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::null) {
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) return e;
    if (!is_null) return simdjson::N_ATOM_ERROR;
  }
  return simdjson::SUCCESS;
}

// Each reader returns a simdjson error only for malformed JSON; a wrong type or value is added
// to `p` (and its path blocked) and the target is left unchanged.

error_code ReadString(od::value v, const std::string& path, std::string& out, Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  if (type != od::json_type::string) {
    p.Add(path, "must be a JSON string");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  std::string_view s;
  if (auto e = v.get_string().get(s)) return e;
  out = std::string(s);
  return simdjson::SUCCESS;
}

error_code ReadDecimal(od::value v, const std::string& path, std::optional<Decimal>& out,
                       Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  if (type != od::json_type::number) {
    p.Add(path, "must be a JSON number");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  auto d = Decimal::Parse(TrimJsonSpace(v.raw_json_token()));
  if (!d.ok()) {
    p.Add(path, d.status().message());
    p.Block(path);
    return simdjson::SUCCESS;
  }
  out = *d;
  return simdjson::SUCCESS;
}

error_code ReadTime(od::value v, const std::string& path, std::optional<UtcTime>& out,
                    Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  if (type != od::json_type::string) {
    p.Add(path, "must be a date-time string such as \"2026-10-01T00:00:00Z\"");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  std::string_view s;
  if (auto e = v.get_string().get(s)) return e;
  auto t = ParseUtcTime(s);
  if (!t.ok()) {
    p.Add(path, t.status().message());
    p.Block(path);
    return simdjson::SUCCESS;
  }
  out = *t;
  return simdjson::SUCCESS;
}

error_code ReadStringArray(od::value v, const std::string& path, std::vector<std::string>& out,
                           Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  if (type != od::json_type::array) {
    p.Add(path, "must be a JSON array of strings");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  od::array array;
  if (auto e = v.get_array().get(array)) return e;
  size_t i = 0;
  for (auto element : array) {
    od::value item;
    if (auto e = element.get(item)) return e;
    std::string s;
    if (auto e = ReadString(item, Item(path, i), s, p)) return e;
    out.push_back(std::move(s));
    ++i;
  }
  return simdjson::SUCCESS;
}

// Reads {"<decimal>": <decimal>, ...} (MeterRates, TieredDiscount) into pairs sorted by key.
error_code ReadDecimalMap(od::value v, const std::string& path, std::string_view key_name,
                          std::string_view value_name,
                          std::vector<std::pair<Decimal, Decimal>>& out, Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type != od::json_type::object) {
    p.Add(path, "must be a JSON object such as {\"0\": 1.5}");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  od::object object;
  if (auto e = v.get_object().get(object)) return e;
  bool bad = false;
  for (auto field_result : object) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    const std::string at = Keyed(path, key);
    auto k = Decimal::Parse(key);
    if (!k.ok()) {
      p.Add(at, "the " + std::string(key_name) + " must be a number written as a string");
      bad = true;
      continue;
    }
    std::optional<Decimal> value;
    od::value value_json = field.value();
    od::json_type value_type;
    if (auto e = value_json.type().get(value_type)) return e;
    if (value_type != od::json_type::number) {
      p.Add(at, "the " + std::string(value_name) + " must be a JSON number");
      bad = true;
      continue;
    }
    auto d = Decimal::Parse(TrimJsonSpace(value_json.raw_json_token()));
    if (!d.ok()) {
      p.Add(at, "the " + std::string(value_name) + " " + d.status().message());
      bad = true;
      continue;
    }
    out.emplace_back(*k, *d);
  }
  // Block only now, so that every bad entry of the object is reported.
  if (bad) p.Block(path);
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return simdjson::SUCCESS;
}

// Iterates an object's fields, refusing unknown and repeated names. `read(index, value)` is
// called with the index of the name in `known`; `present` says which names were seen.
template <size_t N, typename Read>
error_code ReadFields(od::object object, const std::string& path,
                      const std::array<std::string_view, N>& known, std::array<bool, N>& present,
                      Problems& p, Read&& read) {
  for (auto field_result : object) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    auto it = std::find(known.begin(), known.end(), key);
    if (it == known.end()) {
      auto similar = std::find_if(known.begin(), known.end(),
                                  [&](std::string_view k) { return EqualsIgnoreCase(k, key); });
      std::string why = "is not a known property";
      if (similar != known.end())
        why += " (names are case-sensitive: " + std::string(*similar) + ")";
      p.Add(Child(path, key.substr(0, 64)), why);
      continue;
    }
    const size_t index = static_cast<size_t>(it - known.begin());
    if (present[index]) {
      p.Add(Child(path, key), "appears more than once");
      continue;
    }
    present[index] = true;
    if (auto e = read(index, field.value())) return e;
  }
  return simdjson::SUCCESS;
}

template <size_t N>
void RequireFields(const std::string& path, const std::array<std::string_view, N>& known,
                   const std::array<bool, N>& present, std::initializer_list<size_t> required,
                   Problems& p) {
  for (size_t i : required) {
    if (!present[i]) {
      p.Add(Child(path, known[i]), "is required");
      p.Block(Child(path, known[i]));
    }
  }
}

error_code ReadMeter(od::value v, const std::string& path, RateCardMeter& m, Problems& p) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type != od::json_type::object) {
    p.Add(path, "must be a JSON object");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  od::object object;
  if (auto e = v.get_object().get(object)) return e;
  enum : size_t {
    kId,
    kName,
    kCategory,
    kSub,
    kUnit,
    kTags,
    kRegion,
    kRates,
    kDate,
    kIncluded,
    kStatus
  };
  static constexpr std::array<std::string_view, 11> kKnown = {
      "MeterId",     "MeterName",  "MeterCategory", "MeterSubCategory", "Unit",       "MeterTags",
      "MeterRegion", "MeterRates", "EffectiveDate", "IncludedQuantity", "MeterStatus"};
  std::array<bool, 11> present{};
  auto read = [&](size_t i, od::value value) -> error_code {
    const std::string at = Child(path, kKnown[i]);
    switch (i) {
      case kId:
        return ReadString(value, at, m.meter_id, p);
      case kName:
        return ReadString(value, at, m.meter_name, p);
      case kCategory:
        return ReadString(value, at, m.meter_category, p);
      case kSub:
        return ReadString(value, at, m.meter_sub_category, p);
      case kUnit:
        return ReadString(value, at, m.unit, p);
      case kTags:
        return ReadStringArray(value, at, m.meter_tags, p);
      case kRegion:
        return ReadString(value, at, m.meter_region, p);
      case kStatus:
        return ReadString(value, at, m.meter_status, p);
      case kRates: {
        std::vector<std::pair<Decimal, Decimal>> rates;
        if (auto e = ReadDecimalMap(value, at, "quantity", "price", rates, p)) return e;
        for (const auto& [threshold, price] : rates) m.meter_rates.push_back({threshold, price});
        return simdjson::SUCCESS;
      }
      case kDate: {
        std::optional<UtcTime> t;
        if (auto e = ReadTime(value, at, t, p)) return e;
        if (t) m.effective_date = *t;
        return simdjson::SUCCESS;
      }
      case kIncluded: {
        std::optional<Decimal> d;
        if (auto e = ReadDecimal(value, at, d, p)) return e;
        if (d) m.included_quantity = *d;
        return simdjson::SUCCESS;
      }
    }
    return simdjson::SUCCESS;
  };
  if (auto e = ReadFields(object, path, kKnown, present, p, read)) return e;
  RequireFields(path, kKnown, present, {kId, kRates, kDate}, p);
  return simdjson::SUCCESS;
}

// Offer terms are polymorphic on Name, which may come after the other properties: every
// property any term may have is read first, then checked against the Name.
error_code ReadTerm(od::value v, const std::string& path, std::vector<OfferTerm>& terms,
                    Problems& p) {
  terms.emplace_back();  // a placeholder keeps OfferTerms[i] at index i for validation
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type != od::json_type::object) {
    p.Add(path, "must be a JSON object");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  od::object object;
  if (auto e = v.get_object().get(object)) return e;
  enum : size_t { kName, kDate, kCredit, kTiers, kExcluded, kCharge };
  static constexpr std::array<std::string_view, 6> kKnown = {
      "Name", "EffectiveDate", "Credit", "TieredDiscount", "ExcludedMeterIds", "RecurringCharge"};
  std::array<bool, 6> present{};
  std::string name;
  std::optional<UtcTime> date;
  std::optional<Decimal> credit;
  std::optional<Decimal> charge;
  std::vector<std::pair<Decimal, Decimal>> tiers;
  std::vector<std::string> excluded;
  auto read = [&](size_t i, od::value value) -> error_code {
    const std::string at = Child(path, kKnown[i]);
    switch (i) {
      case kName:
        return ReadString(value, at, name, p);
      case kDate:
        return ReadTime(value, at, date, p);
      case kCredit:
        return ReadDecimal(value, at, credit, p);
      case kCharge:
        return ReadDecimal(value, at, charge, p);
      case kTiers:
        return ReadDecimalMap(value, at, "commitment", "discount percentage", tiers, p);
      case kExcluded:
        return ReadStringArray(value, at, excluded, p);
    }
    return simdjson::SUCCESS;
  };
  if (auto e = ReadFields(object, path, kKnown, present, p, read)) return e;
  RequireFields(path, kKnown, present, {kName, kDate}, p);
  if (!present[kName]) {
    p.Block(path);
    return simdjson::SUCCESS;
  }

  std::vector<size_t> allowed;
  size_t amount = kCredit;
  if (name == "Monetary Credit") {
    allowed = {kName, kDate, kCredit, kExcluded};
    amount = kCredit;
    terms.back() = MonetaryCredit{credit.value_or(Decimal()), excluded, date.value_or(UtcTime())};
  } else if (name == "Monetary Commitment") {
    allowed = {kName, kDate, kTiers, kExcluded};
    amount = kTiers;
    MonetaryCommitment c{{}, excluded, date.value_or(UtcTime())};
    for (const auto& [level, percent] : tiers) c.tiered_discount.push_back({level, percent});
    terms.back() = std::move(c);
  } else if (name == "Recurring Charge") {
    allowed = {kName, kDate, kCharge};
    amount = kCharge;
    terms.back() = RecurringCharge{charge.value_or(Decimal()), date.value_or(UtcTime())};
  } else {
    p.Add(Child(path, "Name"),
          "must be \"Monetary Credit\", \"Monetary Commitment\" or \"Recurring Charge\"");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  for (size_t i = 0; i < kKnown.size(); ++i) {
    if (present[i] && std::find(allowed.begin(), allowed.end(), i) == allowed.end()) {
      p.Add(Child(path, kKnown[i]), "is not a property of a " + name + " term");
    }
  }
  if (!present[amount]) {
    p.Add(Child(path, kKnown[amount]), "is required for a " + name + " term");
    p.Block(Child(path, kKnown[amount]));
  }
  return simdjson::SUCCESS;
}

template <typename ReadItem>
error_code ReadArray(od::value v, const std::string& path, Problems& p, ReadItem&& read_item) {
  od::json_type type;
  if (auto e = TypeOf(v, type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  if (type != od::json_type::array) {
    p.Add(path, "must be a JSON array");
    p.Block(path);
    return simdjson::SUCCESS;
  }
  od::array array;
  if (auto e = v.get_array().get(array)) return e;
  size_t i = 0;
  for (auto element : array) {
    od::value item;
    if (auto e = element.get(item)) return e;
    if (auto e = read_item(item, Item(path, i))) return e;
    ++i;
  }
  return simdjson::SUCCESS;
}

std::string JsonLocation(od::document& doc, const char* data, size_t len) {
  const char* at = nullptr;
  size_t offset = len;
  if (!doc.current_location().get(at) && at >= data && at <= data + len) {
    offset = static_cast<size_t>(at - data);
  }
  const size_t line = 1 + static_cast<size_t>(std::count(data, data + offset, '\n'));
  size_t line_start = offset;
  while (line_start > 0 && data[line_start - 1] != '\n') --line_start;
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

}  // namespace

Result<RateCard> ParseRateCardJson(std::string_view json, std::string offer_durable_id,
                                   std::string region) {
  if (json.starts_with(kUtf8Bom)) json.remove_prefix(kUtf8Bom.size());
  if (TrimSpace(json).empty()) {
    return InvalidArgument(
        "the rate card is empty; expected a JSON object with Meters and "
        "Currency");
  }
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  bool iterating = false;  // doc has a position only once iterate() succeeded
  auto malformed = [&](error_code e) {
    // simdjson finds unbalanced nesting before iterating, so it has no useful position then.
    if (!iterating || e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT) {
      return InvalidArgument("malformed JSON in the rate card: " + JsonErrorMessage(e));
    }
    return InvalidArgument("malformed JSON in the rate card at " +
                           JsonLocation(doc, padded.data(), padded.size()) + ": " +
                           JsonErrorMessage(e));
  };
  if (auto e = parser.iterate(padded).get(doc)) return malformed(e);
  iterating = true;
  od::json_type type;
  if (auto e = doc.type().get(type)) return malformed(e);
  if (type != od::json_type::object) {
    return InvalidArgument("the rate card must be a JSON object with Meters and Currency");
  }
  od::object object;
  if (auto e = doc.get_object().get(object)) return malformed(e);

  RateCard card;
  card.offer_durable_id = std::move(offer_durable_id);
  card.region = std::move(region);
  Problems p;
  enum : size_t { kTerms, kMeters, kCurrency, kLocale, kTax };
  static constexpr std::array<std::string_view, 5> kKnown = {"OfferTerms", "Meters", "Currency",
                                                             "Locale", "IsTaxIncluded"};
  std::array<bool, 5> present{};
  auto read = [&](size_t i, od::value value) -> error_code {
    const std::string at(kKnown[i]);
    switch (i) {
      case kTerms:
        return ReadArray(value, at, p, [&](od::value item, const std::string& item_path) {
          return ReadTerm(item, item_path, card.offer_terms, p);
        });
      case kMeters:
        return ReadArray(value, at, p, [&](od::value item, const std::string& item_path) {
          return ReadMeter(item, item_path, card.meters.emplace_back(), p);
        });
      case kCurrency: {
        std::string code;
        if (auto e = ReadString(value, at, code, p)) return e;
        auto currency = Currency::Find(code);
        if (!currency.ok()) {
          p.Add(at, currency.status().message());
        } else {
          card.currency = *currency;
        }
        return simdjson::SUCCESS;
      }
      case kLocale:
        return ReadString(value, at, card.locale, p);
      case kTax: {
        od::json_type t;
        if (auto e = TypeOf(value, t)) return e;
        if (t == od::json_type::null) return simdjson::SUCCESS;
        if (t != od::json_type::boolean) {
          p.Add(at, "must be true or false");
          return simdjson::SUCCESS;
        }
        return value.get_bool().get(card.is_tax_included);
      }
    }
    return simdjson::SUCCESS;
  };
  if (auto e = ReadFields(object, "", kKnown, present, p, read)) return malformed(e);
  const char* at_end = nullptr;
  if (doc.current_location().get(at_end) == simdjson::SUCCESS) {
    return malformed(simdjson::TRAILING_CONTENT);
  }
  RequireFields("", kKnown, present, {kMeters, kCurrency}, p);
  if (card.locale.empty()) card.locale = "en-US";
  internal::ValidateRateCardInto(card, p);
  TALLY_RETURN_IF_ERROR(p.ToStatus("invalid rate card"));
  return card;
}

std::string FormatRateCardJson(const RateCard& card) {
  std::string out;
  JsonWriter w(out);
  auto strings = [&](std::string_view key, const std::vector<std::string>& values) {
    w.Key(key).BeginArray();
    for (const std::string& s : values) w.String(s);
    w.EndArray();
  };
  w.BeginObject().Key("OfferTerms").BeginArray();
  for (const OfferTerm& term : card.offer_terms) {
    w.BeginObject();
    if (const auto* c = std::get_if<MonetaryCredit>(&term)) {
      w.Key("Credit").Number(c->credit);
      w.Key("EffectiveDate").Time(c->effective_date);
      strings("ExcludedMeterIds", c->excluded_meter_ids);
    } else if (const auto* m = std::get_if<MonetaryCommitment>(&term)) {
      w.Key("EffectiveDate").Time(m->effective_date);
      strings("ExcludedMeterIds", m->excluded_meter_ids);
    } else if (const auto* r = std::get_if<RecurringCharge>(&term)) {
      w.Key("EffectiveDate").Time(r->effective_date);
    }
    w.Key("Name").String(OfferTermName(term));
    if (const auto* r = std::get_if<RecurringCharge>(&term)) {
      w.Key("RecurringCharge").Number(r->recurring_charge);
    } else if (const auto* m = std::get_if<MonetaryCommitment>(&term)) {
      w.Key("TieredDiscount").BeginObject();
      for (const DiscountTier& t : m->tiered_discount)
        w.Key(t.commitment.ToString()).Number(t.percent);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray().Key("Meters").BeginArray();
  for (const RateCardMeter& m : card.meters) {
    w.BeginObject();
    w.Key("EffectiveDate").Time(m.effective_date);
    w.Key("IncludedQuantity").Number(m.included_quantity);
    w.Key("MeterCategory").String(m.meter_category);
    w.Key("MeterId").String(m.meter_id);
    w.Key("MeterName").String(m.meter_name);
    w.Key("MeterRates").BeginObject();
    for (const MeterRate& r : m.meter_rates) w.Key(r.threshold.ToString()).Number(r.unit_price);
    w.EndObject();
    w.Key("MeterRegion").String(m.meter_region);
    if (!m.meter_status.empty()) w.Key("MeterStatus").String(m.meter_status);
    w.Key("MeterSubCategory").String(m.meter_sub_category);
    strings("MeterTags", m.meter_tags);
    w.Key("Unit").String(m.unit);
    w.EndObject();
  }
  w.EndArray();
  w.Key("Currency").String(card.currency.code());
  w.Key("Locale").String(card.locale);
  w.Key("IsTaxIncluded").Bool(card.is_tax_included);
  w.EndObject();
  return out;
}

}  // namespace tally::pricing
