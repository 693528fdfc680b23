#include "store/text_set.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tally::store {
namespace {

TEST(TextSet, HoldsWhatWasInsertedOnce) {
  TextSet set;
  EXPECT_FALSE(set.Contains("a"));
  EXPECT_TRUE(set.Insert("a"));
  EXPECT_FALSE(set.Insert("a"));
  EXPECT_TRUE(set.Contains("a"));
  EXPECT_FALSE(set.Contains("A"));
  EXPECT_FALSE(set.Contains("ab"));
  EXPECT_EQ(set.size(), 1u);
}

TEST(TextSet, TheEmptyTextIsAMemberLikeAnyOther) {
  TextSet set;
  EXPECT_FALSE(set.Contains(""));
  EXPECT_TRUE(set.Insert(""));
  EXPECT_TRUE(set.Contains(""));
  EXPECT_FALSE(set.Insert(""));
}

TEST(TextSet, KeepsItsOwnCopies) {
  TextSet set;
  std::string id = "8e8f1a6e-5c3d-4d5e-9f00-000000000001";
  set.Insert(id);
  id.assign(id.size(), 'x');
  EXPECT_TRUE(set.Contains("8e8f1a6e-5c3d-4d5e-9f00-000000000001"));
  EXPECT_FALSE(set.Contains(id));
}

TEST(TextSet, AgreesWithStdSetThroughGrowth) {
  TextSet set;
  std::set<std::string> reference;
  for (int i = 0; i < 5000; ++i) {
    std::string text = "subscription-" + std::to_string((i * 7919) % 3001);
    EXPECT_EQ(set.Insert(text), reference.insert(text).second) << text;
  }
  EXPECT_EQ(set.size(), reference.size());
  for (int i = 0; i < 4000; ++i) {
    std::string text = "subscription-" + std::to_string(i);
    EXPECT_EQ(set.Contains(text), reference.count(text) == 1) << text;
  }
}

}  // namespace
}  // namespace tally::store
