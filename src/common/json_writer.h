// JsonWriter: appends JSON text to a string, fast and without a DOM. Used for every response
// Tally writes (API bodies, JSON lines, instanceData). The caller is responsible for writing a
// well-formed sequence (Key before each object member, matching Begin/End). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/decimal.h"
#include "common/time.h"

namespace tally {

// Appends `s` as a JSON string literal (quotes included), escaping as RFC 8259 requires.
void AppendJsonString(std::string& out, std::string_view s);
// Appends the escaped characters of `s` without the quotes, to build one string literal from
// several pieces.
void AppendJsonEscaped(std::string& out, std::string_view s);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject() { Sep(); out_.push_back('{'); first_ = true; return *this; }
  JsonWriter& EndObject() { out_.push_back('}'); first_ = false; return *this; }
  JsonWriter& BeginArray() { Sep(); out_.push_back('['); first_ = true; return *this; }
  JsonWriter& EndArray() { out_.push_back(']'); first_ = false; return *this; }
  JsonWriter& Key(std::string_view k) {
    Sep();
    AppendJsonString(out_, k);
    out_.push_back(':');
    first_ = true;  // the value that follows needs no comma
    return *this;
  }
  JsonWriter& String(std::string_view s) { Sep(); AppendJsonString(out_, s); return *this; }
  JsonWriter& Int(int64_t v) { Sep(); out_.append(std::to_string(v)); return *this; }
  JsonWriter& Bool(bool v) { Sep(); out_.append(v ? "true" : "false"); return *this; }
  JsonWriter& Null() { Sep(); out_.append("null"); return *this; }
  // An exact decimal as a JSON number.
  JsonWriter& Number(Decimal d) { Sep(); d.AppendTo(out_); return *this; }
  JsonWriter& Time(UtcTime t, ZoneStyle style = ZoneStyle::kZ) {
    Sep();
    out_.push_back('"');
    AppendUtcTime(out_, t, style);
    out_.push_back('"');
    return *this;
  }
  // Inserts already-valid JSON text as a value.
  JsonWriter& Raw(std::string_view json) { Sep(); out_.append(json); return *this; }

 private:
  void Sep() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

}  // namespace tally
