#include "common/thread_name.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace tally {
namespace {

TEST(NameCurrentThread, NamesOnlyTheCallingThread) {
  const std::string before = CurrentThreadName();
  std::string inside;
  std::thread t([&] {
    NameCurrentThread("tally-test");
    inside = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "tally-test");
  EXPECT_EQ(CurrentThreadName(), before);
}

TEST(NameCurrentThread, CutsNamesLinuxCannotHold) {
  std::string inside;
  std::thread t([&] {
    NameCurrentThread("tally-a-name-longer-than-fifteen");
    inside = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "tally-a-name-lo");
}

}  // namespace
}  // namespace tally
