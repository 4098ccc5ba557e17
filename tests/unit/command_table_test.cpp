#include "command_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace flyshard::detail {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kUnsupportedFile =
    std::string(FLYSHARD_FIXTURES_DIR) + "/dragonfly/dragonfly-unsupported-commands.txt";

// The fixture's entries ("CMD" or "CMD SUB"), comments and blank lines dropped.
std::set<std::string> unsupported_commands() {
  std::ifstream in(kUnsupportedFile);
  EXPECT_TRUE(in) << "cannot open " << kUnsupportedFile;
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    out.insert(line.substr(start));
  }
  return out;
}

std::vector<std::string_view> keys_of(std::vector<std::string_view> words) {
  return command_keys(words);
}

bool is_read(std::vector<std::string_view> words) {
  return is_read_command(words);
}

// ---- the table against Dragonfly's unsupported list ----------------------------------------

TEST(CommandTableTest, FixtureLoads) {
  const auto unsupported = unsupported_commands();
  // Sanity: the file has both kinds of entries, so a parse bug cannot pass silently.
  EXPECT_GT(unsupported.size(), 50u);
  EXPECT_TRUE(unsupported.count("LCS"));
  EXPECT_TRUE(unsupported.count("SCRIPT KILL"));
  EXPECT_TRUE(unsupported.count("OBJECT ENCODING"));
}

TEST(CommandTableTest, NoEntryIsUnsupportedByDragonfly) {
  const auto unsupported = unsupported_commands();
  ASSERT_FALSE(command_table().empty());
  for (const CommandInfo& c : command_table()) {
    EXPECT_EQ(unsupported.count(std::string(c.name)), 0u)
        << c.name << " is in the table but Dragonfly does not support it";
  }
}

TEST(CommandTableTest, CommandsTheLibrarySendsAreSupportedByDragonfly) {
  const auto unsupported = unsupported_commands();
  const char* sent[] = {"AUTH",    "SELECT",    "MULTI",       "EXEC",    "WATCH",       "UNWATCH",
                        "PING",    "ROLE",      "INFO",        "SCRIPT",  "SCRIPT LOAD", "EVAL",
                        "EVALSHA", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "MGET",        "MSET",
                        "DEL",     "EXISTS",    "UNLINK",      "TOUCH"};
  for (const char* cmd : sent) {
    EXPECT_EQ(unsupported.count(cmd), 0u) << cmd << " is sent by flyshard but unsupported";
  }
}

TEST(CommandTableTest, EntriesAreUpperCaseAndConsistent) {
  for (const CommandInfo& c : command_table()) {
    for (char ch : c.name) {
      EXPECT_FALSE(ch >= 'a' && ch <= 'z') << c.name;
    }
    EXPECT_EQ(find_command(c.name), &c) << c.name;
    if (c.keys == KeySpec::range) {
      EXPECT_GE(c.first, 1) << c.name;
      EXPECT_GE(c.step, 1) << c.name;
    }
    if ((c.flags & kNoKey) != 0) {
      EXPECT_EQ(c.keys, KeySpec::none) << c.name;
    }
  }
}

// ---- find_command ---------------------------------------------------------------------------

TEST(CommandTableTest, FindCommandIgnoresCase) {
  const CommandInfo* get = find_command("GET");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->name, "GET");
  EXPECT_EQ(find_command("get"), get);
  EXPECT_EQ(find_command("GeT"), get);
  EXPECT_EQ(find_command("NOSUCHCOMMAND"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
  EXPECT_EQ(find_command(std::string(200, 'G')), nullptr);
}

// ---- command_keys ---------------------------------------------------------------------------

TEST(CommandKeysTest, SingleKey) {
  EXPECT_THAT(keys_of({"GET", "k"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"get", "k"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"SET", "k", "v", "EX", "10"}), ElementsAre("k"));
}

TEST(CommandKeysTest, MsetTakesEveryOtherWord) {
  EXPECT_THAT(keys_of({"MSET", "a", "1", "b", "2", "c", "3"}), ElementsAre("a", "b", "c"));
  EXPECT_THAT(keys_of({"MSET", "a", "1"}), ElementsAre("a"));
}

TEST(CommandKeysTest, MultiKeyRanges) {
  EXPECT_THAT(keys_of({"MGET", "a", "b", "c"}), ElementsAre("a", "b", "c"));
  EXPECT_THAT(keys_of({"DEL", "a"}), ElementsAre("a"));
  EXPECT_THAT(keys_of({"RENAME", "from", "to"}), ElementsAre("from", "to"));
}

TEST(CommandKeysTest, BlpopStopsBeforeTheTimeout) {
  EXPECT_THAT(keys_of({"BLPOP", "k1", "k2", "0"}), ElementsAre("k1", "k2"));
  EXPECT_THAT(keys_of({"BLPOP", "k1", "0"}), ElementsAre("k1"));
}

TEST(CommandKeysTest, EvalNumkeys) {
  EXPECT_THAT(keys_of({"EVAL", "return 1", "0"}), IsEmpty());
  EXPECT_THAT(keys_of({"EVAL", "return 1", "0", "arg1", "arg2"}), IsEmpty());
  EXPECT_THAT(keys_of({"EVAL", "return 1", "2", "k1", "k2", "arg1"}), ElementsAre("k1", "k2"));
  EXPECT_THAT(keys_of({"EVALSHA", "abc", "1", "k1", "arg1"}), ElementsAre("k1"));
  // Malformed key counts give no keys rather than garbage.
  EXPECT_THAT(keys_of({"EVAL", "return 1", "x", "k1"}), IsEmpty());
  EXPECT_THAT(keys_of({"EVAL", "return 1", "-1", "k1"}), IsEmpty());
  EXPECT_THAT(keys_of({"EVAL", "return 1", "99999999999999999999", "k1"}), IsEmpty());
  EXPECT_THAT(keys_of({"EVAL", "return 1"}), IsEmpty());
  // More keys announced than given: only the words that are there.
  EXPECT_THAT(keys_of({"EVAL", "return 1", "3", "k1", "k2"}), ElementsAre("k1", "k2"));
}

TEST(CommandKeysTest, XreadStreams) {
  EXPECT_THAT(keys_of({"XREAD", "STREAMS", "a", "b", "0", "0"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"XREAD", "COUNT", "10", "BLOCK", "5", "streams", "a", "b", "0", "0"}),
              ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}), ElementsAre("s"));
  EXPECT_THAT(keys_of({"XREAD", "COUNT", "10"}), IsEmpty());
}

TEST(CommandKeysTest, UnknownCommandUsesTheFirstArgument) {
  EXPECT_THAT(keys_of({"FOO.BAR", "k", "x", "y"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"FOO.BAR"}), IsEmpty());
}

TEST(CommandKeysTest, KeylessCommands) {
  EXPECT_THAT(keys_of({"PING"}), IsEmpty());
  EXPECT_THAT(keys_of({"PING", "hello"}), IsEmpty());
  EXPECT_THAT(keys_of({"INFO", "replication"}), IsEmpty());
  EXPECT_THAT(keys_of({}), IsEmpty());
}

// ---- is_read_command ------------------------------------------------------------------------

TEST(IsReadCommandTest, ReadsWritesAndUnknown) {
  EXPECT_TRUE(is_read({"GET", "k"}));
  EXPECT_TRUE(is_read({"get", "k"}));
  EXPECT_TRUE(is_read({"MGET", "a", "b"}));
  EXPECT_FALSE(is_read({"SET", "k", "v"}));
  EXPECT_FALSE(is_read({"EVAL", "return 1", "0"}));
  EXPECT_FALSE(is_read({"FOO.BAR", "k"}));
  EXPECT_FALSE(is_read({}));
}

}  // namespace
}  // namespace flyshard::detail

namespace {

std::optional<std::chrono::milliseconds> block_of(std::vector<std::string_view> w) {
  return flyshard::detail::blocking_time(w, flyshard::detail::find_command(w[0]));
}

TEST(CommandTableBlocking, BlockTimesComeFromTheCommandsOwnArguments) {
  using std::chrono::milliseconds;
  EXPECT_EQ(block_of({"BLPOP", "a", "b", "2"}), milliseconds(2000));
  EXPECT_EQ(block_of({"brpop", "a", "0.5"}), milliseconds(500));
  EXPECT_EQ(block_of({"BLPOP", "a", "0"}), milliseconds(0));  // forever
  EXPECT_EQ(block_of({"BLMOVE", "a", "b", "LEFT", "RIGHT", "1"}), milliseconds(1000));
  EXPECT_EQ(block_of({"XREAD", "BLOCK", "250", "STREAMS", "s", "0"}), milliseconds(250));
  EXPECT_EQ(block_of({"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"}),
            milliseconds(0));
  EXPECT_FALSE(block_of({"XREAD", "COUNT", "1", "STREAMS", "s", "0"}).has_value());
  EXPECT_FALSE(block_of({"GET", "k"}).has_value());
  EXPECT_FALSE(block_of({"LPOP", "k"}).has_value());
}

}  // namespace
