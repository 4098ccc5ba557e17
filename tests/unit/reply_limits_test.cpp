// Bounds on replies: nothing a server sends may make the reader allocate without bound,
// throw anything but Error(protocol_error), or read a malformed header as something else.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "flyshard/error.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

using namespace std::string_literals;

// Feeds `bytes` one byte at a time when `trickle`, else at once; returns the replies parsed.
// A protocol error is returned as its errc (anything else thrown fails the test).
struct Outcome {
  std::vector<Reply> replies;
  errc error{};
  std::string message;
};

Outcome parse(std::string_view bytes, const ReplyLimits& limits = {}, bool trickle = false) {
  Outcome out;
  ReplyReader reader(limits);
  try {
    const std::size_t step = trickle ? 1 : bytes.size();
    for (std::size_t at = 0; at < bytes.size(); at += step) {
      reader.feed(bytes.data() + at, std::min(step, bytes.size() - at));
      while (auto r = reader.next()) out.replies.push_back(std::move(*r));
    }
  } catch (const Error& e) {
    out.error = e.value();
    out.message = e.what();
  }
  return out;
}

TEST(ReplyLimitsTest, HugeArrayHeaderFailsAtOnceWithoutAllocating) {
  // Before the bounds, this header made the reader size a vector of 2e9 replies and throw
  // std::bad_alloc through hiredis.
  Outcome o = parse("*2000000000\r\n");
  EXPECT_EQ(o.error, errc::protocol_error);
  EXPECT_NE(o.message.find("max_array_length"), std::string::npos) << o.message;
}

TEST(ReplyLimitsTest, AllowedHugeArrayReservesOnlyWhatArrives) {
  // With the cap lifted, the header alone must still cost nothing: elements are added as
  // they arrive, never reserved for the claimed count.
  ReplyLimits unlimited;
  unlimited.max_array_length = static_cast<std::size_t>(-1);
  Outcome o = parse("*2000000000\r\n:1\r\n$1\r\nx\r\n", unlimited);
  EXPECT_EQ(o.error, errc{}) << o.message;
  EXPECT_TRUE(o.replies.empty());
}

TEST(ReplyLimitsTest, ArrayCountCutToIntByHiredisIsRefused) {
  // 2^32 + 1: hiredis 0.14 casts the count to int (1); read as one element it would
  // desynchronise the stream.
  Outcome o = parse("*4294967297\r\n:1\r\n");
  EXPECT_EQ(o.error, errc::protocol_error);
  EXPECT_TRUE(o.replies.empty());
}

TEST(ReplyLimitsTest, HugeBulkHeaderFailsBeforeItsBodyArrives) {
  Outcome o = parse("$2000000000\r\nabc");
  EXPECT_EQ(o.error, errc::protocol_error);
  EXPECT_NE(o.message.find("max_bulk_length"), std::string::npos) << o.message;
  // Also when the header trickles in byte by byte.
  EXPECT_EQ(parse("$2000000000\r\nabc", {}, true).error, errc::protocol_error);
}

TEST(ReplyLimitsTest, ConfiguredCapsHoldExactly) {
  ReplyLimits small;
  small.max_array_length = 3;
  small.max_bulk_length = 5;
  small.max_depth = 2;
  EXPECT_EQ(parse("*3\r\n:1\r\n:2\r\n:3\r\n", small).replies.size(), 1u);
  EXPECT_EQ(parse("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", small).error, errc::protocol_error);
  EXPECT_EQ(parse("$5\r\nhello\r\n", small).replies.at(0).str(), "hello");
  EXPECT_EQ(parse("$6\r\nhello!\r\n", small).error, errc::protocol_error);
  EXPECT_EQ(parse("$6\r\nhello!\r\n", small, true).error, errc::protocol_error);
  // A bulk inside an array is held to the same cap.
  EXPECT_EQ(parse("*1\r\n$6\r\nhello!\r\n", small).error, errc::protocol_error);
  EXPECT_EQ(parse("*1\r\n*1\r\n:7\r\n", small).replies.size(), 1u);
  EXPECT_EQ(parse("*1\r\n*1\r\n*1\r\n:7\r\n", small).error, errc::protocol_error);
}

TEST(ReplyLimitsTest, DefaultDepthIsSevenAndDeeperNestingFails) {
  std::string seven, eight;
  for (int i = 0; i < 7; ++i) seven += "*1\r\n";
  seven += ":1\r\n";
  eight = "*1\r\n" + seven;
  Outcome ok = parse(seven);
  ASSERT_EQ(ok.error, errc{}) << ok.message;
  ASSERT_EQ(ok.replies.size(), 1u);
  const Reply* r = &ok.replies[0];
  for (int i = 0; i < 7; ++i) r = &r->elements().at(0);
  EXPECT_EQ(r->integer(), 1);
  EXPECT_EQ(parse(eight).error, errc::protocol_error);
  // Far deeper than hiredis can read at all: still an Error, never a crash.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "*1\r\n";
  EXPECT_EQ(parse(deep).error, errc::protocol_error);
}

TEST(ReplyLimitsTest, MalformedHeadersAreErrorsNotNil) {
  // hiredis reads a header it cannot parse as -1 (nil); a server never sends these.
  for (std::string bad : {"*1x\r\n:1\r\n"s, "$abc\r\nxyz\r\n"s, "*-5\r\n"s, "$-2\r\n"s,
                          "*\r\n"s, "$\r\n\r\n"s, "**1\r\n:1\r\n"s, "*+1\r\n:1\r\n"s,
                          "$99999999999999999999\r\n"s}) {
    EXPECT_EQ(parse(bad).error, errc::protocol_error) << bad;
  }
  EXPECT_TRUE(parse("*-1\r\n").replies.at(0).is_nil());
  EXPECT_TRUE(parse("$-1\r\n").replies.at(0).is_nil());
  EXPECT_TRUE(parse("*0\r\n").replies.at(0).is_array());
}

TEST(ReplyLimitsTest, EndlessLinesAreCut) {
  // A status line or a length header that never ends would be buffered (and rescanned by
  // hiredis) forever.
  EXPECT_EQ(parse("+" + std::string(kMaxReplyLine + 16, 'a')).error, errc::protocol_error);
  EXPECT_EQ(parse("*" + std::string(40, '1')).error, errc::protocol_error);
  EXPECT_EQ(parse("$" + std::string(40, '1')).error, errc::protocol_error);
  EXPECT_EQ(parse(":" + std::string(kMaxReplyLine + 16, '1')).error, errc::protocol_error);
  // A long but complete status line under the cap is fine.
  EXPECT_EQ(parse("+" + std::string(1000, 'a') + "\r\n").replies.at(0).str().size(), 1000u);
}

TEST(ReplyLimitsTest, ArrayHeaderSplitWhereTheReaderDropsConsumedBytes) {
  // Found by fuzz/resp_reply_fuzz: hiredis takes the '*' of a header whose line is not
  // complete yet, then drops the bytes it consumed (once past 1 KiB), '*' included. The
  // header, read again when the line completes, starts at the buffer's first byte.
  ReplyReader reader;
  std::string head;
  for (int i = 0; i < 300; ++i) head += ":" + std::to_string(i) + "\r\n";
  head += "*";
  reader.feed(head.data(), head.size());
  int n = 0;
  while (reader.next()) ++n;
  ASSERT_EQ(n, 300);
  const std::string rest = "2\r\n$2\r\nv1\r\n$2\r\nv2\r\n";
  reader.feed(rest.data(), rest.size());
  auto r = reader.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->elements().size(), 2u);
  EXPECT_EQ(r->elements()[1].str(), "v2");
}

TEST(ReplyLimitsTest, StaysFailedUntilResetThenParsesAgain) {
  ReplyReader reader;
  reader.feed("*2000000000\r\n", 13);
  EXPECT_THROW(reader.next(), Error);
  EXPECT_THROW(
      {
        reader.feed(":1\r\n", 4);
        reader.next();
      },
      Error);
  reader.reset();
  reader.feed(":1\r\n", 4);
  auto r = reader.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->integer(), 1);
}

TEST(ReplyLimitsTest, NestedRepliesStillBuildInPlaceWhenTrickled) {
  // Elements are appended as they arrive (no up-front sizing): a nested reply fed one byte
  // at a time must come out whole, with every value in its place.
  const std::string bytes =
      "*3\r\n*2\r\n$2\r\nk1\r\n$2\r\nv1\r\n:42\r\n*3\r\n$-1\r\n*0\r\n+OK\r\n";
  Outcome o = parse(bytes, {}, true);
  ASSERT_EQ(o.error, errc{}) << o.message;
  ASSERT_EQ(o.replies.size(), 1u);
  const auto& e = o.replies[0].elements();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].elements().at(0).str(), "k1");
  EXPECT_EQ(e[0].elements().at(1).str(), "v1");
  EXPECT_EQ(e[1].integer(), 42);
  EXPECT_TRUE(e[2].elements().at(0).is_nil());
  EXPECT_TRUE(e[2].elements().at(1).is_array());
  EXPECT_EQ(e[2].elements().at(2).str(), "OK");
  // 1000 elements: more than the reader reserves ahead.
  std::string many = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) many += ":" + std::to_string(i) + "\r\n";
  Outcome m = parse(many);
  ASSERT_EQ(m.replies.size(), 1u);
  ASSERT_EQ(m.replies[0].elements().size(), 1000u);
  EXPECT_EQ(m.replies[0].elements()[999].integer(), 999);
}

}  // namespace
}  // namespace flyshard::detail
