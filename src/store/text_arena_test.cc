#include "store/text_arena.h"

#include <gtest/gtest.h>

#include <string>

namespace tally::store {
namespace {

TEST(TextArena, ViewsStayValidWhileMoreTextIsAdded) {
  TextArena arena;
  std::vector<std::string> texts;
  std::vector<std::string_view> views;
  // Enough text to fill several chunks, with some texts larger than a chunk's quarter.
  for (int i = 0; i < 20000; ++i) {
    std::string t = "text-" + std::to_string(i) + std::string(static_cast<size_t>(i % 300), 'x');
    if (i % 5000 == 1) t.assign(size_t{400} << 10, static_cast<char>('a' + i % 26));
    texts.push_back(t);
    views.push_back(arena.Add(t));
  }
  for (size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(views[i], texts[i]) << i;
  EXPECT_GE(arena.bytes(), size_t{4} * (400 << 10));
}

TEST(TextArena, EmptyTextIsAnEmptyView) {
  TextArena arena;
  EXPECT_TRUE(arena.Add("").empty());
  EXPECT_EQ(arena.bytes(), 0u);
}

}  // namespace
}  // namespace tally::store
