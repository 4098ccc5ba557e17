#include <flyshard/distribution.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using flyshard::hash_tag;

TEST(HashTag, NoBracesHashesWholeKey) {
  EXPECT_EQ(hash_tag("product:42"), "product:42");
  EXPECT_EQ(hash_tag("a"), "a");
}

TEST(HashTag, EmptyKey) {
  EXPECT_EQ(hash_tag(""), "");
  EXPECT_EQ(hash_tag(std::string_view{}), "");
}

TEST(HashTag, ContentOfFirstBraces) {
  EXPECT_EQ(hash_tag("cart:{u42}"), "u42");
  EXPECT_EQ(hash_tag("orders:{u42}"), "u42");
  EXPECT_EQ(hash_tag("order:{u42}:7"), "u42");
  EXPECT_EQ(hash_tag("a{b}c"), "b");
  EXPECT_EQ(hash_tag("{a}"), "a");
  EXPECT_EQ(hash_tag("{a}{b}"), "a");
  EXPECT_EQ(hash_tag("x{ }y"), " ");
}

TEST(HashTag, EmptyBracesHashWholeKey) {
  EXPECT_EQ(hash_tag("{}"), "{}");
  EXPECT_EQ(hash_tag("a{}b"), "a{}b");
  // Only the first '{' counts: its content is empty, so a later tag is not looked at.
  EXPECT_EQ(hash_tag("a{}{b}"), "a{}{b}");
  EXPECT_EQ(hash_tag("{}{b}"), "{}{b}");
}

TEST(HashTag, UnbalancedBracesHashWholeKey) {
  EXPECT_EQ(hash_tag("{"), "{");
  EXPECT_EQ(hash_tag("}"), "}");
  EXPECT_EQ(hash_tag("}{"), "}{");
  EXPECT_EQ(hash_tag("a{b"), "a{b");
  EXPECT_EQ(hash_tag("a}b{"), "a}b{");
}

TEST(HashTag, NestedBracesUseFirstOpenAndFirstClose) {
  EXPECT_EQ(hash_tag("{{a}}"), "{a");
  EXPECT_EQ(hash_tag("{a{b}c}"), "a{b");
  EXPECT_EQ(hash_tag("}{a}"), "a");
  EXPECT_EQ(hash_tag("{{}}"), "{");
}

TEST(HashTag, ResultPointsIntoKey) {
  const std::string key = "user:{abc}:cart";
  const std::string_view tag = hash_tag(key);
  EXPECT_EQ(tag.data(), key.data() + 6);
  EXPECT_EQ(tag.size(), 3u);
}

TEST(HashTag, BinarySafe) {
  const std::string key("a\0{b\0c}d", 8);
  EXPECT_EQ(hash_tag(key), std::string_view("b\0c", 3));
}

}  // namespace
