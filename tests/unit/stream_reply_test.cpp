// Stream reply parsers (XREADGROUP, XRANGE, XAUTOCLAIM in Redis 6.2/Dragonfly and Redis 7
// shapes) and WAIT's reply, without a server.
#include <gtest/gtest.h>

#include "flyshard/error.hpp"
#include "stream_reply.hpp"
#include "wait_batch.hpp"

using namespace flyshard;
using namespace flyshard::detail;

namespace {

Reply s(const char* t) { return Reply::string(t); }
Reply arr(std::vector<Reply> v) { return Reply::array(std::move(v)); }
Reply entry(const char* id, std::vector<Reply> fields) { return arr({s(id), arr(std::move(fields))}); }

TEST(StreamReplyTest, EntriesKeepFieldOrderAndDeletedEntriesHaveNoFields) {
  Reply r = arr({entry("1-0", {s("a"), s("1"), s("b"), s("2")}),
                 arr({s("2-0"), Reply::nil()}),  // deleted while pending
                 Reply::nil(),                   // a nil entry: skipped
                 entry("3-0", {})});
  auto e = parse_stream_entries(r);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].id, "1-0");
  EXPECT_EQ(e[0].fields, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(e[1].id, "2-0");
  EXPECT_TRUE(e[1].fields.empty());
  EXPECT_EQ(e[2].id, "3-0");
  EXPECT_TRUE(parse_stream_entries(Reply::nil()).empty());
  EXPECT_THROW(parse_stream_entries(s("x")), Error);
  EXPECT_THROW(parse_stream_entries(arr({arr({s("1-0")})})), Error);
}

TEST(StreamReplyTest, ReadReply) {
  EXPECT_TRUE(parse_read_reply(Reply::nil()).empty());  // BLOCK timed out
  EXPECT_TRUE(parse_read_reply(arr({})).empty());
  Reply r = arr({arr({s("stream"), arr({entry("5-1", {s("k"), s("v")}), arr({s("5-2"), Reply::nil()})})})});
  auto e = parse_read_reply(r);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].id, "5-1");
  EXPECT_EQ(e[1].id, "5-2");
  EXPECT_TRUE(e[1].fields.empty());
  // A stream with no pending entries: [[key, []]].
  EXPECT_TRUE(parse_read_reply(arr({arr({s("stream"), arr({})})})).empty());
  EXPECT_THROW(parse_read_reply(Reply::integer(3)), Error);
}

TEST(StreamReplyTest, AutoclaimRedis7AndRedis62Shapes) {
  // Redis 7: [next, entries, deleted ids].
  AutoClaimed a = parse_autoclaim(arr({s("0-0"), arr({entry("1-0", {s("f"), s("v")})}), arr({s("2-0")})}));
  EXPECT_EQ(a.next_id, "0-0");
  ASSERT_EQ(a.entries.size(), 1u);
  EXPECT_EQ(a.entries[0].fields.at(0).second, "v");
  EXPECT_EQ(a.deleted, std::vector<std::string>{"2-0"});
  // Redis 6.2 / Dragonfly: [next, entries]; deleted entries may come as nil.
  AutoClaimed b = parse_autoclaim(arr({s("7-3"), arr({entry("1-0", {}), Reply::nil(), arr({s("2-0"), Reply::nil()})})}));
  EXPECT_EQ(b.next_id, "7-3");
  ASSERT_EQ(b.entries.size(), 2u);
  EXPECT_EQ(b.entries[1].id, "2-0");
  EXPECT_TRUE(b.deleted.empty());
  EXPECT_THROW(parse_autoclaim(arr({s("0-0")})), Error);
  EXPECT_THROW(parse_autoclaim(Reply::nil()), Error);
}

TEST(WaitReplyTest, IntegerIsTheCountAnErrorIsNoCount) {
  ReplicaAck ack{2, std::chrono::milliseconds(100)};
  AckedReplies a;
  take_wait_reply(a, Reply::integer(2), ack);
  EXPECT_EQ(a.acked, 2);
  EXPECT_TRUE(a.confirmed);
  take_wait_reply(a, Reply::integer(1), ack);
  EXPECT_EQ(a.acked, 1);
  EXPECT_FALSE(a.confirmed);
  take_wait_reply(a, Reply::error("ERR unknown command 'WAIT'"), ack);
  EXPECT_FALSE(a.acked.has_value());
  EXPECT_FALSE(a.confirmed);
  EXPECT_EQ(wait_timeout(ReplicaAck{1, std::chrono::milliseconds(0)}).count(), 1);
  std::string payload;
  EXPECT_EQ(append_wait(payload, ReplicaAck{0, std::chrono::milliseconds(5)}), 0u);
  EXPECT_TRUE(payload.empty());
  EXPECT_EQ(append_wait(payload, ReplicaAck{1, std::chrono::milliseconds(0)}), 1u);
  EXPECT_EQ(payload, "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n1\r\n");
}

}  // namespace
