// JSON and NDJSON record reading with simdjson's On-Demand API.
//
// On-Demand lets us take a number's exact text (raw_json_token) instead of a double, so a
// quantity such as 0.1 reaches Decimal::Parse digit for digit. Only malformed JSON stops the
// parse; every type problem is recorded and reading goes on, so a batch reports all of them.
#include <algorithm>
#include <array>
#include <cstring>

#include "common/strings.h"
#include "ingest/record_parser.h"
#include "ingest/wire_fields.h"

namespace tally::ingest {
namespace internal {

namespace od = simdjson::ondemand;
using domain::FieldError;
using domain::UsageRecordFields;

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING, "kJsonPadding must match simdjson's padding");

namespace {

// Views, so that matching a key compares lengths before bytes (no strlen a comparison).
constexpr std::array<std::string_view, kPropertyCount> kNames = {
    "recordId",   "subscriptionId", "meterId",  "resourceUri",    "location",    "usageStartTime",
    "usageEndTime", "quantity",     "tags",     "additionalInfo", "reportedTime",
};

std::string_view TrimJsonSpace(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Where `error` happened as "line L, column C (byte B)", from the iterator's position.
template <typename Doc>
std::string JsonLocation(Doc& doc, const char* data, size_t len) {
  const char* at = nullptr;
  size_t offset = len;
  if (!doc.current_location().get(at) && at >= data && at <= data + len) {
    offset = static_cast<size_t>(at - data);
  }
  size_t line = 1 + CountByte(std::string_view(data, offset), '\n');
  size_t line_start = offset;
  while (line_start > 0 && data[line_start - 1] != '\n') --line_start;
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1) +
         " (byte " + std::to_string(offset) + ")";
}

}  // namespace

const char* PropertyName(Property p) {
  // The names are literals, so their views end in a terminator.
  return p == Property::kUnknown ? "" : kNames[static_cast<size_t>(p)].data();
}

Property PropertyFromName(std::string_view name) {
  for (size_t i = 0; i < kPropertyCount; ++i) {
    if (name == kNames[i]) return static_cast<Property>(i);
  }
  return Property::kUnknown;
}

Property PropertyFromNameIgnoreCase(std::string_view name) {
  for (size_t i = 0; i < kPropertyCount; ++i) {
    if (EqualsIgnoreCase(name, kNames[i])) return static_cast<Property>(i);
  }
  return Property::kUnknown;
}

std::optional<std::string>* TextField(UsageRecordFields& f, Property p) {
  switch (p) {
    case Property::kRecordId: return &f.record_id;
    case Property::kSubscriptionId: return &f.subscription_id;
    case Property::kMeterId: return &f.meter_id;
    case Property::kResourceUri: return &f.resource_uri;
    case Property::kLocation: return &f.location;
    case Property::kUsageStartTime: return &f.usage_start_time;
    case Property::kUsageEndTime: return &f.usage_end_time;
    case Property::kQuantity: return &f.quantity;
    case Property::kReportedTime: return &f.reported_time;
    case Property::kTags:
    case Property::kAdditionalInfo:
    case Property::kUnknown: return nullptr;
  }
  return nullptr;
}

domain::OptionalProperties* PropertiesField(UsageRecordFields& f, Property p) {
  if (p == Property::kTags) return &f.tags;
  if (p == Property::kAdditionalInfo) return &f.additional_info;
  return nullptr;
}

std::string JsonErrorMessage(simdjson::error_code error) {
  switch (error) {
    case simdjson::TAPE_ERROR:
      return "unexpected character or structure (a missing or extra comma, colon, brace or "
             "bracket?)";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "braces and brackets do not balance (truncated, or text after the end?)";
    case simdjson::UNCLOSED_STRING: return "a string is not closed";
    case simdjson::STRING_ERROR: return "a string has an invalid escape sequence";
    case simdjson::UNESCAPED_CHARS: return "a string contains an unescaped control character";
    case simdjson::UTF8_ERROR: return "the text is not valid UTF-8";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid literal (expected true, false or null)";
    case simdjson::NUMBER_ERROR: return "invalid number";
    case simdjson::DEPTH_ERROR: return "nested too deeply";
    case simdjson::TRAILING_CONTENT: return "unexpected content after the JSON value";
    case simdjson::EMPTY: return "no JSON value";
    default: return simdjson::error_message(error);
  }
}

simdjson::error_code ReadProperties(od::object object, domain::Properties& out,
                                    std::string& type_error) {
  for (auto field_result : object) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    od::value value = field.value();
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    if (type != od::json_type::string) {
      if (type_error.empty()) {
        type_error = "the value of '" + std::string(key.substr(0, 64)) + "' must be a JSON string";
      }
      continue;
    }
    std::string_view text;
    if (auto e = value.get_string().get(text)) return e;
    out.emplace_back(key, text);
  }
  return simdjson::SUCCESS;
}

simdjson::error_code ReadRecordObject(od::object object, size_t index, UsageRecordFields& fields,
                                      std::vector<FieldError>& errors) {
  uint32_t seen = 0;
  for (auto field_result : object) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    od::value value = field.value();
    const Property p = PropertyFromName(key);
    if (p == Property::kUnknown) {
      // Refused rather than ignored: a misspelt property would otherwise lose data silently.
      errors.push_back({index, std::string(key.substr(0, 128)), "is not a known property"});
      continue;
    }
    const char* name = PropertyName(p);
    const uint32_t bit = 1u << static_cast<unsigned>(p);
    if (seen & bit) {
      errors.push_back({index, name, "appears more than once"});
      continue;
    }
    seen |= bit;
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    if (type == od::json_type::null) {
      // Serializers commonly write unset optional properties as null: treat as absent.
      bool is_null = false;
      if (auto e = value.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      continue;
    }
    if (p == Property::kQuantity) {
      if (type != od::json_type::number) {
        errors.push_back({index, name, "must be a JSON number"});
        continue;
      }
      // The token's exact text (Decimal::Parse checks the number grammar); never a double.
      fields.quantity.emplace(TrimJsonSpace(value.raw_json_token()));
    } else if (domain::OptionalProperties* props = PropertiesField(fields, p)) {
      if (type != od::json_type::object) {
        errors.push_back({index, name, "must be a JSON object of strings"});
        continue;
      }
      od::object object_value;
      if (auto e = value.get_object().get(object_value)) return e;
      domain::Properties read;
      std::string type_error;
      if (auto e = ReadProperties(object_value, read, type_error)) return e;
      if (!type_error.empty()) {
        errors.push_back({index, name, std::move(type_error)});
        continue;
      }
      *props = std::move(read);
    } else {
      if (type != od::json_type::string) {
        errors.push_back({index, name, "must be a JSON string"});
        continue;
      }
      std::string_view text;
      if (auto e = value.get_string().get(text)) return e;
      TextField(fields, p)->emplace(text);
    }
  }
  return simdjson::SUCCESS;
}

namespace {

// simdjson's parser sizes its buffers (about five times the text) on first use; a fresh parser
// per body meant fresh, zeroed pages for every batch. Each thread keeps one, unless a body larger
// than this (a 1,000-record batch is ~0.5 MB) made it grow: then it is freed, so that the
// server's handler threads hold at most ~5 MB each.
constexpr size_t kRetainedParserCapacity = size_t{1} << 20;

Status ParseJsonTextWith(od::parser& parser, const char* data, size_t len, size_t capacity,
                         const ParseOptions& options, ParsedRecords& out);

}  // namespace

Status ParseJsonText(const char* data, size_t len, size_t capacity, const ParseOptions& options,
                     ParsedRecords& out) {
  thread_local od::parser parser;
  Status s = ParseJsonTextWith(parser, data, len, capacity, options, out);
  if (parser.capacity() > kRetainedParserCapacity) parser = od::parser();
  return s;
}

namespace {

Status ParseJsonTextWith(od::parser& parser, const char* data, size_t len, size_t capacity,
                         const ParseOptions& options, ParsedRecords& out) {
  od::document doc;
  auto malformed = [&](simdjson::error_code e) {
    // simdjson finds unbalanced nesting before iterating, so it has no useful position then.
    if (e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT) {
      return InvalidArgument("malformed JSON: " + JsonErrorMessage(e));
    }
    return InvalidArgument("malformed JSON at " + JsonLocation(doc, data, len) + ": " +
                           JsonErrorMessage(e));
  };
  if (auto e = parser.iterate(data, len, capacity).get(doc)) {
    return InvalidArgument("malformed JSON: " + JsonErrorMessage(e));
  }

  size_t line = 1;
  const char* line_counted_to = data;
  auto read_records = [&](od::array records) -> Status {
    for (auto element : records) {
      od::value value;
      if (auto e = element.get(value)) return malformed(e);
      if (out.fields.size() >= options.max_records) return TooManyRecords(options.max_records);
      const size_t index = out.first_index + out.fields.size();
      if (options.track_lines) {
        const char* at = nullptr;
        if (!value.current_location().get(at) && at >= line_counted_to) {
          const auto span = static_cast<size_t>(at - line_counted_to);
          line += CountByte(std::string_view(line_counted_to, span), '\n');
          line_counted_to = at;
        }
        out.lines.push_back(line);
      }
      UsageRecordFields& fields = out.fields.emplace_back();
      od::object object;
      auto e = value.get_object().get(object);
      if (e == simdjson::INCORRECT_TYPE) {
        out.errors.push_back({index, "", "must be a JSON object"});
        continue;
      }
      if (e) return malformed(e);
      if ((e = ReadRecordObject(object, index, fields, out.errors))) return malformed(e);
    }
    return Status::Ok();
  };

  od::json_type type;
  if (auto e = doc.type().get(type)) return malformed(e);
  if (type == od::json_type::array) {
    od::array records;
    if (auto e = doc.get_array().get(records)) return malformed(e);
    TALLY_RETURN_IF_ERROR(read_records(records));
  } else if (type == od::json_type::object) {
    od::object body;
    if (auto e = doc.get_object().get(body)) return malformed(e);
    bool saw_records = false;
    for (auto field_result : body) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return malformed(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return malformed(e);
      if (key != "records") {
        return InvalidArgument("the body has an unknown property '" +
                               std::string(key.substr(0, 64)) +
                               "'; expected {\"records\":[...]}");
      }
      if (saw_records) return InvalidArgument("the body has \"records\" twice");
      saw_records = true;
      od::array records;
      auto e = field.value().get_array().get(records);
      if (e == simdjson::INCORRECT_TYPE) {
        return InvalidArgument("\"records\" must be a JSON array of record objects");
      }
      if (e) return malformed(e);
      TALLY_RETURN_IF_ERROR(read_records(records));
    }
    if (!saw_records) {
      return InvalidArgument("the body has no \"records\" array; expected {\"records\":[...]}");
    }
  } else {
    return InvalidArgument(
        "the body must be a JSON object {\"records\":[...]} or a JSON array of records");
  }
  if (!AtEnd(doc)) return malformed(simdjson::TRAILING_CONTENT);
  return Status::Ok();
}

}  // namespace
}  // namespace internal

struct JsonLineParser::Impl {
  simdjson::ondemand::parser parser;
};

JsonLineParser::JsonLineParser() : impl_(std::make_unique<Impl>()) {}
JsonLineParser::~JsonLineParser() = default;

void JsonLineParser::ParseLine(const char* data, size_t len, size_t capacity, size_t line,
                               ParsedRecords& out) {
  namespace od = simdjson::ondemand;
  const size_t index = out.first_index + out.fields.size();
  out.lines.push_back(line);
  domain::UsageRecordFields& fields = out.fields.emplace_back();
  const size_t errors_before = out.errors.size();

  od::document doc;
  auto e = impl_->parser.iterate(data, len, capacity).get(doc);
  const bool iterated = !e;
  if (!e) {
    od::json_type type;
    e = doc.type().get(type);
    if (!e && type != od::json_type::object) {
      out.errors.push_back({index, "", "must be a JSON object"});
      return;
    }
    od::object object;
    if (!e) e = doc.get_object().get(object);
    if (!e) e = internal::ReadRecordObject(object, index, fields, out.errors);
    if (!e && !internal::AtEnd(doc)) e = simdjson::TRAILING_CONTENT;
  }
  if (e) {
    // A broken line says nothing reliable about its properties: one error for the record.
    out.errors.resize(errors_before);
    fields = {};
    std::string where;
    const char* at = nullptr;
    if (iterated && e != simdjson::INCOMPLETE_ARRAY_OR_OBJECT &&
        !doc.current_location().get(at) && at >= data && at <= data + len) {
      where = " at column " + std::to_string(at - data + 1);
    }
    out.errors.push_back({index, "", "is not valid JSON" + where + ": " +
                                         internal::JsonErrorMessage(e)});
  }
}

}  // namespace tally::ingest
