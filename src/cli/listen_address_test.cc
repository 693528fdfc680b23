#include "cli/listen_address.h"

#include <gtest/gtest.h>

namespace tally::cli {
namespace {

TEST(ListenAddress, ParsesLoopbackV4) {
  auto a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  EXPECT_TRUE(a->loopback);
  EXPECT_TRUE(ParseListenAddress("127.1.2.3:1")->loopback);
}

TEST(ListenAddress, ParsesV6InBrackets) {
  auto a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  EXPECT_TRUE(a->loopback);
  EXPECT_FALSE(ParseListenAddress("[::]:80")->loopback);
}

TEST(ListenAddress, LocalhostIsLoopback) {
  auto a = ParseListenAddress("localhost:9000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_TRUE(a->loopback);
}

TEST(ListenAddress, OtherAddressesAreNotLoopback) {
  EXPECT_FALSE(ParseListenAddress("0.0.0.0:8080")->loopback);
  EXPECT_FALSE(ParseListenAddress("10.0.0.1:8080")->loopback);
}

TEST(ListenAddress, RefusesMalformedValues) {
  EXPECT_FALSE(ParseListenAddress("8080").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:70000").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:80x").ok());
  EXPECT_FALSE(ParseListenAddress("example.com:80").ok());
  EXPECT_FALSE(ParseListenAddress("::1:80").ok());
  EXPECT_FALSE(ParseListenAddress("[::1]80").ok());
}

}  // namespace
}  // namespace tally::cli
