#include <flyshard/distribution.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include <random>
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

// The rule written the plainest way, to check the vectorized scan against.
std::string_view reference_hash_tag(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

TEST(HashTag, MatchesReferenceAtEveryLengthAndPosition) {
  // The scan has separate paths for < 8, 8..15, 16..64 and > 64 bytes: put the braces at
  // every position of keys of every length up to 100.
  for (std::size_t len = 0; len <= 100; ++len) {
    for (std::size_t open = 0; open <= len; ++open) {
      for (std::size_t close = 0; close <= len; ++close) {
        std::string key(len, 'x');
        if (open < len) key[open] = '{';
        if (close < len && close != open) key[close] = '}';
        // Put the key at the end of its own allocation so a read past it would be seen by
        // the sanitizers.
        const std::unique_ptr<char[]> exact(new char[len == 0 ? 1 : len]);
        std::copy(key.begin(), key.end(), exact.get());
        const std::string_view view(exact.get(), len);
        const auto got = hash_tag(view);
        const auto want = reference_hash_tag(view);
        ASSERT_EQ(got.data(), want.data()) << key;
        ASSERT_EQ(got.size(), want.size()) << key;
      }
    }
  }
}

TEST(HashTag, MatchesReferenceOnRandomKeys) {
  std::mt19937 rng(42);
  const char alphabet[] = {'{', '}', 'a', '\0', '\xff'};
  std::uniform_int_distribution<int> pick(0, 4);
  std::uniform_int_distribution<std::size_t> length(0, 200);
  for (int i = 0; i < 50'000; ++i) {
    std::string key(length(rng), ' ');
    for (auto& c : key) c = alphabet[pick(rng)];
    ASSERT_EQ(hash_tag(key), reference_hash_tag(key)) << i;
  }
}

}  // namespace
