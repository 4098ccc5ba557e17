#include "io/resp.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

using namespace std::string_literals;

std::string encode(std::vector<std::string_view> words) {
  std::string out;
  append_command(out, words);
  return out;
}

std::string read_fixture(const std::string& name) {
  const std::string path = std::string(FLYSHARD_FIXTURES_DIR) + "/dragonfly/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Parses `bytes` fed at once; expects exactly one reply and nothing left over.
Reply parse_one(std::string_view bytes) {
  ReplyReader reader;
  reader.feed(bytes.data(), bytes.size());
  std::optional<Reply> r = reader.next();
  EXPECT_TRUE(r.has_value()) << "incomplete reply: " << bytes;
  EXPECT_FALSE(reader.next().has_value()) << "more than one reply in: " << bytes;
  return r.value_or(Reply::error("<no reply>"));
}

Reply str(std::string s) {
  return Reply::string(std::move(s));
}
Reply arr(std::vector<Reply> e) {
  return Reply::array(std::move(e));
}

// ---- append_command -------------------------------------------------------------------------

TEST(AppendCommandTest, EncodesAnArrayOfBulkStrings) {
  EXPECT_EQ(encode({"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(encode({"SET", "key", "value"}), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
  EXPECT_EQ(encode({"PING"}), "*1\r\n$4\r\nPING\r\n");
}

TEST(AppendCommandTest, EmptyStringsAndNoWords) {
  EXPECT_EQ(encode({"SET", "", ""}), "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
  EXPECT_EQ(encode({}), "*0\r\n");
}

TEST(AppendCommandTest, BinarySafe) {
  const std::string value = "a\r\nb\0c\r\n"s;
  ASSERT_EQ(value.size(), 8u);
  EXPECT_EQ(encode({"SET", std::string_view("k\0", 2), value}),
            "*3\r\n$3\r\nSET\r\n$2\r\nk\0\r\n$8\r\na\r\nb\0c\r\n\r\n"s);
  const std::string all_bytes = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
  }();
  EXPECT_EQ(encode({all_bytes}), "*1\r\n$256\r\n" + all_bytes + "\r\n");
}

TEST(AppendCommandTest, AppendsAfterExistingBytesAndTakesStrings) {
  std::string out = "*1\r\n$4\r\nPING\r\n";
  const std::vector<std::string> words = {"DEL", "a", "bc"};
  append_command(out, words);
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbc\r\n");
  const std::string big(100000, 'x');
  std::string out2;
  append_command(out2, std::vector<std::string>{"SET", "k", big});
  EXPECT_EQ(out2, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + big + "\r\n");
}

TEST(AppendCommandTest, RoundTripsThroughTheReader) {
  // A command is an array of bulk strings: the reader parses it back word for word.
  const std::string value = "x\r\ny\0z"s;
  EXPECT_EQ(parse_one(encode({"SET", "", value})), arr({str("SET"), str(""), str(value)}));
}

// ---- ReplyReader: one reply of each type ----------------------------------------------------

TEST(ReplyReaderTest, Status) {
  EXPECT_EQ(parse_one("+OK\r\n"), Reply::status("OK"));
}

TEST(ReplyReaderTest, Error) {
  const Reply r = parse_one("-ERR unknown command `OBJECT`\r\n");
  EXPECT_TRUE(r.is_error());
  EXPECT_EQ(r.str(), "ERR unknown command `OBJECT`");
}

TEST(ReplyReaderTest, Integer) {
  EXPECT_EQ(parse_one(":42\r\n"), Reply::integer(42));
  EXPECT_EQ(parse_one(":-7\r\n"), Reply::integer(-7));
  EXPECT_EQ(parse_one(":0\r\n"), Reply::integer(0));
  EXPECT_EQ(parse_one(":9223372036854775807\r\n"), Reply::integer(9223372036854775807LL));
}

TEST(ReplyReaderTest, Bulk) {
  EXPECT_EQ(parse_one("$5\r\nhello\r\n"), str("hello"));
  EXPECT_EQ(parse_one("$0\r\n\r\n"), str(""));
  const Reply bin = parse_one("$6\r\na\r\n\0b\n\r\n"s);
  EXPECT_EQ(bin, str("a\r\n\0b\n"s));
  EXPECT_EQ(bin.str().size(), 6u);
}

TEST(ReplyReaderTest, NilBulkAndNilArray) {
  EXPECT_TRUE(parse_one("$-1\r\n").is_nil());
  EXPECT_TRUE(parse_one("*-1\r\n").is_nil());
}

TEST(ReplyReaderTest, EmptyArray) {
  const Reply r = parse_one("*0\r\n");
  EXPECT_TRUE(r.is_array());
  EXPECT_TRUE(r.elements().empty());
}

TEST(ReplyReaderTest, MixedArray) {
  EXPECT_EQ(parse_one("*4\r\n$1\r\na\r\n$-1\r\n:3\r\n+OK\r\n"s),
            arr({str("a"), Reply::nil(), Reply::integer(3), Reply::status("OK")}));
}

TEST(ReplyReaderTest, NestedArraysThreeDeep) {
  const std::string bytes =
      "*3\r\n"
      ":1\r\n"
      "*2\r\n"
      "*2\r\n$1\r\na\r\n$-1\r\n"
      "*0\r\n"
      "*1\r\n*1\r\n-ERR deep\r\n";
  const Reply expected = arr({Reply::integer(1), arr({arr({str("a"), Reply::nil()}), arr({})}),
                              arr({arr({Reply::error("ERR deep")})})});
  EXPECT_EQ(parse_one(bytes), expected);
}

// ---- ReplyReader: stream handling -----------------------------------------------------------

TEST(ReplyReaderTest, ReplySplitByteByByte) {
  const std::string bytes = "*3\r\n$5\r\nhello\r\n*2\r\n:12\r\n$-1\r\n+done\r\n";
  const Reply expected =
      arr({str("hello"), arr({Reply::integer(12), Reply::nil()}), Reply::status("done")});
  ReplyReader reader;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    EXPECT_FALSE(reader.next().has_value()) << "reply complete before byte " << i;
    reader.feed(&bytes[i], 1);
  }
  std::optional<Reply> r = reader.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, expected);
  EXPECT_FALSE(reader.next().has_value());
}

TEST(ReplyReaderTest, SeveralRepliesInOneFeed) {
  const std::string bytes = "+OK\r\n:1\r\n$3\r\nabc\r\n*1\r\n$1\r\nx\r\n-ERR e\r\n$-1\r\n+QUEUED";
  ReplyReader reader;
  reader.feed(bytes.data(), bytes.size());
  std::vector<Reply> got;
  while (auto r = reader.next()) got.push_back(std::move(*r));
  EXPECT_EQ(got, (std::vector<Reply>{Reply::status("OK"), Reply::integer(1), str("abc"),
                                     arr({str("x")}), Reply::error("ERR e"), Reply::nil()}));
  // The partial last reply completes with the next feed.
  reader.feed("\r\n", 2);
  EXPECT_EQ(reader.next(), std::optional<Reply>(Reply::status("QUEUED")));
  EXPECT_FALSE(reader.next().has_value());
}

TEST(ReplyReaderTest, ResetDropsBufferedBytes) {
  ReplyReader reader;
  reader.feed("$10\r\nabc", 8);
  EXPECT_FALSE(reader.next().has_value());
  reader.reset();
  reader.feed(":5\r\n", 4);
  EXPECT_EQ(reader.next(), std::optional<Reply>(Reply::integer(5)));
}

TEST(ReplyReaderTest, BadTypeByteIsAProtocolError) {
  ReplyReader reader;
  reader.feed("?what\r\n", 7);
  try {
    (void)reader.next();
    ADD_FAILURE() << "no flyshard::Error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::protocol_error) << e.what();
  }
}

TEST(ReplyReaderTest, BadTypeByteAfterAGoodReply) {
  ReplyReader reader;
  const std::string bytes = ":1\r\n?oops\r\n";
  reader.feed(bytes.data(), bytes.size());
  EXPECT_EQ(reader.next(), std::optional<Reply>(Reply::integer(1)));
  EXPECT_THROW((void)reader.next(), Error);
}

// Whole replies at the head of a feed are read by the fast path (simple_reply.hpp), the same
// bytes trickled in one at a time by hiredis: both must give the same replies and the same
// verdict, for the forms the fast path takes and for the odd ones it leaves to hiredis.
struct Outcome {
  std::vector<Reply> replies;
  bool failed = false;
  bool operator==(const Outcome&) const = default;
};

Outcome read_all(std::string_view bytes, std::size_t step) {
  ReplyLimits limits;
  limits.max_bulk_length = 8;
  ReplyReader reader(limits);
  Outcome out;
  try {
    for (std::size_t at = 0; at < bytes.size(); at += step) {
      reader.feed(bytes.data() + at, std::min(step, bytes.size() - at));
      while (auto r = reader.next()) out.replies.push_back(std::move(*r));
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::protocol_error) << e.what();
    out.failed = true;
  }
  return out;
}

TEST(ReplyReaderTest, FastPathAndHiredisAgree) {
  const std::vector<std::string> cases = {
      "$3\r\nabc\r\n$0\r\n\r\n$-1\r\n:0\r\n:-42\r\n:123456789012345678\r\n+OK\r\n-ERR x\r\n",
      "+\r\n-\r\n+a\rb\r\n",  // empty lines; a lone CR inside a line
      "$03\r\nabc\r\n",
      ":01\r\n",                                // leading zeros
      "$3\r\nabcXY:1\r\n",                      // a body not ended by CRLF (hiredis skips 2 bytes)
      "$8\r\n12345678\r\n$9\r\n123456789\r\n",  // at and past max_bulk_length
      "$-2\r\n",
      "$-1x\r\n",
      "$+3\r\nabc\r\n",
      "$ 3\r\nabc\r\n",
      "$3\rX\r\nabc\r\n",
      ":\r\n",
      ":-0\r\n",  // found by resp_reply_fuzz: hiredis refuses it, so the fast path must too
      ":-\r\n",
      ":+1\r\n",
      ":1x\r\n",
      ":1234567890123456789\r\n",
      "$1234567890123456789\r\n",
      "*1\r\n$1\r\nx\r\n:5\r\n*-1\r\n+after\r\n",
      ":1\r\n?bad\r\n",
      "$2\r\nab\r\n$5\r\nab",
  };
  for (const std::string& bytes : cases) {
    const Outcome whole = read_all(bytes, bytes.size());
    EXPECT_EQ(whole, read_all(bytes, 1)) << bytes;
    EXPECT_EQ(whole, read_all(bytes, 3)) << bytes;
  }
  EXPECT_EQ(read_all(cases[0], cases[0].size()).replies,
            (std::vector<Reply>{str("abc"), str(""), Reply::nil(), Reply::integer(0),
                                Reply::integer(-42), Reply::integer(123456789012345678),
                                Reply::status("OK"), Reply::error("ERR x")}));
  EXPECT_TRUE(read_all("$9\r\n123456789\r\n", 100).failed);  // past max_bulk_length
}

// ---- Dragonfly ROLE fixtures ----------------------------------------------------------------

TEST(ReplyReaderTest, DragonflyRoleMaster) {
  const std::string bytes = read_fixture("dragonfly-role-master.resp");
  ASSERT_FALSE(bytes.empty());
  // array(2): "master", [ ["127.0.0.1", "7102", "online"] ]; the port is a bulk string.
  const Reply expected =
      arr({str("master"), arr({arr({str("127.0.0.1"), str("7102"), str("online")})})});
  EXPECT_EQ(parse_one(bytes), expected);
}

TEST(ReplyReaderTest, DragonflyRoleReplica) {
  const std::string bytes = read_fixture("dragonfly-role-replica.resp");
  ASSERT_FALSE(bytes.empty());
  // array(4) of bulk strings, no offset integer: "slave", host, port as a string, state.
  const Reply r = parse_one(bytes);
  EXPECT_EQ(r, arr({str("slave"), str("127.0.0.1"), str("7101"), str("online")}));
  ASSERT_EQ(r.elements().size(), 4u);
  EXPECT_TRUE(r.elements()[2].is_string());
}

TEST(ReplyReaderTest, DragonflyRoleSplitAcrossFeeds) {
  const std::string bytes =
      read_fixture("dragonfly-role-master.resp") + read_fixture("dragonfly-role-replica.resp");
  ReplyReader reader;
  std::vector<Reply> got;
  for (char c : bytes) {
    reader.feed(&c, 1);
    while (auto r = reader.next()) got.push_back(std::move(*r));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].elements().at(0), str("master"));
  EXPECT_EQ(got[1].elements().at(0), str("slave"));
}

}  // namespace
}  // namespace flyshard::detail
