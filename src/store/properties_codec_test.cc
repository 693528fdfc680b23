#include "store/properties_codec.h"

#include <gtest/gtest.h>

namespace tally::store {
namespace {

TEST(PropertiesCodec, RoundTripsAwkwardText) {
  domain::Properties p = {{"", "empty key"},
                          {"quote\"back\\slash", "ctl\x01\x1f\ttab\nnl"},
                          {"utf8 \xc3\xa9", "invalid utf8 \xff\xfe"},
                          {"v", ""}};
  std::string text;
  AppendPropertiesText(text, p);
  auto back = ParsePropertiesText(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
}

TEST(PropertiesCodec, EmptyObject) {
  std::string text;
  AppendPropertiesText(text, {});
  EXPECT_EQ(text, "{}");
  auto back = ParsePropertiesText(text);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(PropertiesCodec, ReadsStandardEscapes) {
  auto p = ParsePropertiesText(R"( { "a\/b" : "\u00e9\ud83d\ude00" } )");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].first, "a/b");
  EXPECT_EQ((*p)[0].second, "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(PropertiesCodec, DamagedTextIsDataLoss) {
  for (const char* bad : {"", "{", "{\"a\":1}", "[]", "{\"a\":\"b\"} x", "{\"a\" \"b\"}"}) {
    auto p = ParsePropertiesText(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace tally::store
