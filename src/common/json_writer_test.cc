#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(JsonWriter, WritesNestedValuesWithCommas) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().String("x").Null().Bool(true).EndArray();
  w.Key("q").Number(*Decimal::Parse("2.50")).EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":["x",null,true],"q":2.5})");
}

TEST(JsonWriter, EscapesControlCharactersAndQuotes) {
  std::string out;
  AppendJsonString(out, std::string_view("a\"b\\c\nd\x01", 8));
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

}  // namespace
}  // namespace tally
