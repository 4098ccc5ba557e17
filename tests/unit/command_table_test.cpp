#include "command_table.hpp"

#include "flyshard/error.hpp"
#include "flyshard/stats.hpp"

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
  ASSERT_GT(command_table().size(), 250u);
  for (const CommandInfo& c : command_table()) {
    const std::string name(c.name);
    const std::string container = name.substr(0, name.find(' '));
    const bool rejected = unsupported.count(name) + unsupported.count(container) > 0;
    if ((c.flags & kNotDragonfly) != 0) {
      // Listed only so that it is refused by name on every link.
      EXPECT_TRUE(rejected) << name << " is marked kNotDragonfly but Dragonfly supports it";
      EXPECT_NE(c.flags & (kStateful | kPubSub), 0) << name << " is listed but not refused";
    } else {
      EXPECT_FALSE(rejected) << name << " is in the table but Dragonfly does not support it";
    }
  }
}

TEST(CommandTableTest, EveryUnsupportedCommandIsUnknownOrRefused) {
  for (const std::string& name : unsupported_commands()) {
    const CommandInfo* c = find_command(name);
    if (c == nullptr) continue;
    EXPECT_NE(c->flags & kNotDragonfly, 0) << name;
    EXPECT_NE(c->flags & (kStateful | kPubSub), 0) << name;
  }
  // By the words a caller sends, too.
  EXPECT_EQ(lookup_command(std::vector<std::string_view>{"OBJECT", "ENCODING", "k"}), nullptr);
  EXPECT_EQ(lookup_command(std::vector<std::string_view>{"lcs", "a", "b"}), nullptr);
  EXPECT_EQ(lookup_command(std::vector<std::string_view>{"SCRIPT", "KILL"}), nullptr);
  EXPECT_EQ(lookup_command(std::vector<std::string_view>{"SWAPDB", "0", "1"}), nullptr);
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
    // Keyless exactly when no key spec; PING/ECHO/TIME are keyless too.
    EXPECT_EQ((c.flags & kNoKey) != 0, c.keys == KeySpec::none) << c.name;
    if ((c.flags & kAnyShard) != 0) {
      EXPECT_NE(c.flags & kNoKey, 0) << c.name;
    }
    // A command with keys is a read or a write, never both, unless it is refused anyway.
    if (c.keys != KeySpec::none && (c.flags & (kStateful | kPubSub)) == 0) {
      EXPECT_EQ(((c.flags & kRead) != 0) + ((c.flags & kWrite) != 0), 1) << c.name;
    }
    // A subcommand's container is in the table and marked as one.
    const auto space = c.name.find(' ');
    if (space != std::string_view::npos) {
      const CommandInfo* container = find_command(c.name.substr(0, space));
      ASSERT_NE(container, nullptr) << c.name;
      EXPECT_NE(container->flags & kContainer, 0) << c.name;
    } else if ((c.flags & kContainer) != 0) {
      EXPECT_EQ(c.keys, KeySpec::none) << c.name;
    }
  }
}

TEST(CommandTableTest, SubcommandsDecide) {
  auto look = [](std::vector<std::string_view> w) { return lookup_command(w); };
  ASSERT_NE(look({"xinfo", "stream", "s"}), nullptr);
  EXPECT_EQ(look({"xinfo", "stream", "s"})->name, "XINFO STREAM");
  EXPECT_THAT(keys_of({"XINFO", "STREAM", "s", "FULL"}), ElementsAre("s"));
  EXPECT_THAT(keys_of({"XINFO", "CONSUMERS", "s", "g"}), ElementsAre("s"));
  EXPECT_THAT(keys_of({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), ElementsAre("s"));
  EXPECT_THAT(keys_of({"xgroup", "createconsumer", "s", "g", "c"}), ElementsAre("s"));
  EXPECT_THAT(keys_of({"MEMORY", "USAGE", "k", "SAMPLES", "5"}), ElementsAre("k"));
  EXPECT_TRUE(is_read({"XINFO", "STREAM", "s"}));
  EXPECT_FALSE(is_read({"XGROUP", "CREATE", "s", "g", "$"}));
  // CLIENT SETNAME and CLIENT REPLY change the connection; CLIENT ID and LIST do not.
  EXPECT_NE(look({"CLIENT", "SETNAME", "x"})->flags & kStateful, 0);
  EXPECT_NE(look({"client", "reply", "off"})->flags & kStateful, 0);
  EXPECT_EQ(look({"CLIENT", "ID"})->flags & kStateful, 0);
  EXPECT_EQ(look({"CLIENT", "LIST"})->flags & kStateful, 0);
  EXPECT_NE(look({"CLIENT", "ID"})->flags & kNoKey, 0);
  // Keyless subcommands; an unknown subcommand is an unknown command.
  EXPECT_NE(look({"CONFIG", "SET", "maxmemory", "1"})->flags & kNoKey, 0);
  EXPECT_NE(look({"SCRIPT", "LOAD", "return 1"})->flags & kNoKey, 0);
  EXPECT_EQ(look({"CONFIG", "NOSUCH"}), nullptr);
  EXPECT_EQ(look({"XINFO", std::string_view("STREAM\0", 7), "s"}), nullptr);
  EXPECT_EQ(look({"XINFO", std::string(100, 'S'), "s"}), nullptr);
  // A container alone is its own (keyless) entry: COMMAND is valid bare.
  ASSERT_NE(look({"COMMAND"}), nullptr);
  EXPECT_EQ(look({"COMMAND"})->name, "COMMAND");
  EXPECT_THAT(keys_of({"XINFO"}), IsEmpty());
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

TEST(CommandKeysTest, UnknownCommandHasNoGuessedKeys) {
  // Routing by the second word sent RPOPLPUSH a b to a's shard whatever b's was: an unknown
  // command's keys are unknown (the client refuses it unless the caller names a key).
  EXPECT_THAT(keys_of({"FOO.BAR", "k", "x", "y"}), IsEmpty());
  EXPECT_THAT(keys_of({"FOO.BAR"}), IsEmpty());
  EXPECT_EQ(single_key(std::vector<std::string_view>{"FOO.BAR", "k"}, nullptr), std::nullopt);
}

TEST(CommandKeysTest, EveryKeyOfTwoKeyCommands) {
  EXPECT_THAT(keys_of({"RPOPLPUSH", "a", "b"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"BRPOPLPUSH", "a", "b", "0"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"SMOVE", "a", "b", "m"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"RENAMENX", "a", "b"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"COPY", "a", "b", "REPLACE"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"LMOVE", "a", "b", "LEFT", "RIGHT"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZRANGESTORE", "d", "s", "0", "-1"}), ElementsAre("d", "s"));
  EXPECT_THAT(keys_of({"SUNIONSTORE", "d", "a", "b"}), ElementsAre("d", "a", "b"));
  EXPECT_THAT(keys_of({"SDIFFSTORE", "d", "a"}), ElementsAre("d", "a"));
  EXPECT_THAT(keys_of({"BITOP", "AND", "d", "a", "b"}), ElementsAre("d", "a", "b"));
  EXPECT_THAT(keys_of({"PFMERGE", "d", "a", "b"}), ElementsAre("d", "a", "b"));
  EXPECT_THAT(keys_of({"MSETNX", "a", "1", "b", "2"}), ElementsAre("a", "b"));
}

TEST(CommandKeysTest, NumkeysCommands) {
  EXPECT_THAT(keys_of({"LMPOP", "2", "a", "b", "LEFT", "COUNT", "2"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZMPOP", "1", "a", "MIN"}), ElementsAre("a"));
  EXPECT_THAT(keys_of({"BLMPOP", "0.5", "2", "a", "b", "LEFT"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"BZMPOP", "1", "1", "z", "MAX"}), ElementsAre("z"));
  EXPECT_THAT(keys_of({"SINTERCARD", "2", "a", "b", "LIMIT", "5"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZINTERCARD", "2", "a", "b"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZUNION", "2", "a", "b", "WEIGHTS", "1", "2"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZINTER", "1", "a", "WITHSCORES"}), ElementsAre("a"));
  EXPECT_THAT(keys_of({"ZDIFF", "2", "a", "b"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"ZUNIONSTORE", "d", "2", "a", "b", "AGGREGATE", "MAX"}),
              ElementsAre("d", "a", "b"));
  EXPECT_THAT(keys_of({"ZINTERSTORE", "d", "1", "a"}), ElementsAre("d", "a"));
  EXPECT_THAT(keys_of({"ZDIFFSTORE", "d", "2", "a", "b"}), ElementsAre("d", "a", "b"));
  EXPECT_THAT(keys_of({"ZUNIONSTORE", "d", "x", "a"}), ElementsAre("d"));  // bad count
  EXPECT_THAT(keys_of({"EVAL_RO", "return 1", "1", "k"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"EVALSHA_RO", "abc", "2", "k1", "k2", "a"}), ElementsAre("k1", "k2"));
}

TEST(CommandKeysTest, SortStore) {
  EXPECT_THAT(keys_of({"SORT", "k"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"SORT", "k", "LIMIT", "0", "10", "ALPHA", "STORE", "d"}),
              ElementsAre("k", "d"));
  EXPECT_THAT(keys_of({"sort", "k", "desc", "store", "d"}), ElementsAre("k", "d"));
  // A pattern named STORE is a pattern.
  EXPECT_THAT(keys_of({"SORT", "k", "BY", "STORE", "GET", "STORE"}), ElementsAre("k"));
  EXPECT_THAT(keys_of({"SORT_RO", "k", "ALPHA"}), ElementsAre("k"));
}

TEST(CommandKeysTest, GeoradiusStore) {
  EXPECT_THAT(keys_of({"GEORADIUS", "g", "15", "37", "200", "km"}), ElementsAre("g"));
  EXPECT_THAT(keys_of({"GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "3", "STORE", "d"}),
              ElementsAre("g", "d"));
  EXPECT_THAT(keys_of({"GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d"}),
              ElementsAre("g", "d"));
  // The member argument is not an option, even when it is called STORE.
  EXPECT_THAT(keys_of({"GEORADIUSBYMEMBER", "g", "STORE", "100", "km"}), ElementsAre("g"));
  EXPECT_THAT(keys_of({"GEORADIUSBYMEMBER", "g", "STORE", "100", "km", "STORE", "d"}),
              ElementsAre("g", "d"));
  EXPECT_THAT(keys_of({"GEORADIUS_RO", "g", "15", "37", "200", "km"}), ElementsAre("g"));
}

TEST(CommandKeysTest, PublishIsRoutedByItsChannel) {
  EXPECT_THAT(keys_of({"PUBLISH", "orders", "hello"}), ElementsAre("orders"));
  EXPECT_THAT(keys_of({"SPUBLISH", "orders", "hello"}), ElementsAre("orders"));
  EXPECT_FALSE(is_read({"PUBLISH", "orders", "hello"}));
}

TEST(CommandKeysTest, XreadgroupOptionsAreParsedAsTheServerDoes) {
  // A group or consumer named STREAMS is not the keyword.
  EXPECT_THAT(keys_of({"XREADGROUP", "GROUP", "streams", "STREAMS", "STREAMS", "s", ">"}),
              ElementsAre("s"));
  EXPECT_THAT(keys_of({"XREADGROUP", "GROUP", "g", "c", "NOACK", "COUNT", "5", "STREAMS", "a", "b",
                       ">", ">"}),
              ElementsAre("a", "b"));
  EXPECT_THAT(keys_of({"XREAD", "BOGUS", "STREAMS", "a", "0"}), IsEmpty());
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
  EXPECT_TRUE(is_read({"SINTERCARD", "1", "a"}));
  EXPECT_TRUE(is_read({"SORT_RO", "k"}));
  EXPECT_FALSE(is_read({"SORT", "k"}));
  EXPECT_FALSE(is_read({"RPOPLPUSH", "a", "b"}));
  EXPECT_FALSE(is_read({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}));
}

// ---- connection state -------------------------------------------------------------------------

TEST(CommandStateTest, StateChangingCommandsAreMarkedAndNameTheRightApi) {
  auto flags = [](std::vector<std::string_view> w) {
    const CommandInfo* c = lookup_command(w);
    EXPECT_NE(c, nullptr) << w[0];
    return c == nullptr ? 0 : c->flags;
  };
  for (auto w : std::vector<std::vector<std::string_view>>{{"SUBSCRIBE", "c"},
                                                           {"PSUBSCRIBE", "c*"},
                                                           {"SSUBSCRIBE", "c"},
                                                           {"UNSUBSCRIBE"},
                                                           {"PUNSUBSCRIBE"},
                                                           {"SUNSUBSCRIBE"}}) {
    EXPECT_NE(flags(w) & kPubSub, 0) << w[0];
  }
  for (auto w : std::vector<std::vector<std::string_view>>{{"MULTI"},
                                                           {"EXEC"},
                                                           {"DISCARD"},
                                                           {"WATCH", "k"},
                                                           {"UNWATCH"},
                                                           {"SELECT", "1"},
                                                           {"HELLO", "3"},
                                                           {"AUTH", "p"},
                                                           {"QUIT"},
                                                           {"RESET"},
                                                           {"MONITOR"},
                                                           {"READONLY"},
                                                           {"CLIENT", "REPLY", "OFF"},
                                                           {"CLIENT", "TRACKING", "ON"},
                                                           {"CLIENT", "SETNAME", "n"}}) {
    EXPECT_NE(flags(w) & kStateful, 0) << w[0];
  }
  auto hint = [](std::string_view name) { return std::string(state_hint(*find_command(name))); };
  EXPECT_NE(hint("SUBSCRIBE").find("subscribe()"), std::string::npos);
  EXPECT_NE(hint("MULTI").find("transaction()"), std::string::npos);
  EXPECT_NE(hint("WATCH").find("transaction()"), std::string::npos);
  EXPECT_NE(hint("SELECT").find("\"database\""), std::string::npos);
  EXPECT_NE(hint("HELLO").find("\"auth\""), std::string::npos);
  EXPECT_FALSE(hint("CLIENT REPLY").empty());
  EXPECT_TRUE(hint("GET").empty());
}

TEST(CommandStateTest, KeylessCommandsAreMarked) {
  for (const char* name : {"SCAN", "DBSIZE", "KEYS", "FLUSHDB", "FLUSHALL", "RANDOMKEY", "INFO",
                           "LASTSAVE", "WAIT", "ROLE", "DEBUG", "SHUTDOWN"}) {
    const CommandInfo* c = find_command(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_NE(c->flags & kNoKey, 0) << name;
    EXPECT_EQ(c->flags & kAnyShard, 0) << name;
  }
  for (const char* name : {"PING", "ECHO", "TIME"}) {
    EXPECT_NE(find_command(name)->flags & kAnyShard, 0) << name;
  }
}

// What the shop and the stream helpers send: known, with the keys they route by.
TEST(CommandTableTest, CommandsTheShopUsesAreKnown) {
  EXPECT_THAT(keys_of({"EVALSHA", "sha", "2", "stock:{p1}", "res:{p1}", "o1", "2"}),
              ElementsAre("stock:{p1}", "res:{p1}"));
  for (auto w : std::vector<std::vector<std::string_view>>{
           {"HSET", "k", "f", "v"},
           {"HGET", "k", "f"},
           {"HMGET", "k", "f"},
           {"HGETALL", "k"},
           {"HDEL", "k", "f"},
           {"HINCRBY", "k", "f", "1"},
           {"SET", "k", "v"},
           {"GET", "k"},
           {"INCR", "k"},
           {"SADD", "k", "m"},
           {"SISMEMBER", "k", "m"},
           {"SMEMBERS", "k"},
           {"ZADD", "k", "1", "m"},
           {"ZRANGE", "k", "0", "-1"},
           {"ZRANGEBYSCORE", "k", "0", "1"},
           {"ZREM", "k", "m"},
           {"LPUSH", "k", "v"},
           {"LRANGE", "k", "0", "-1"},
           {"XADD", "k", "*", "f", "v"},
           {"XACK", "k", "g", "1-0"},
           {"XAUTOCLAIM", "k", "g", "c", "0", "0-0"},
           {"XGROUP", "CREATE", "k", "g", "$"},
           {"XLEN", "k"},
           {"XRANGE", "k", "-", "+"},
           {"XPENDING", "k", "g"},
           {"DEL", "k"},
           {"EXISTS", "k"},
           {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"}}) {
    EXPECT_THAT(keys_of(w), ElementsAre("k")) << w[0];
  }
  EXPECT_NE(find_command("WAIT"), nullptr);
  EXPECT_NE(find_command("DBSIZE"), nullptr);
  EXPECT_NE(find_command("SCRIPT LOAD"), nullptr);
}

// ---- errc::unknown_command --------------------------------------------------------------------

TEST(UnknownCommandErrorTest, IsAnErrcOfItsOwn) {
  EXPECT_GT(errc_count, static_cast<std::size_t>(errc::unknown_command));
  EXPECT_GT(static_cast<int>(errc::unknown_command), static_cast<int>(errc::shutting_down));
  EXPECT_EQ(errc_name(errc::unknown_command), "unknown_command");
  EXPECT_FALSE(is_retriable(errc::unknown_command));
  EXPECT_FALSE(is_transport(errc::unknown_command));
  const std::string m = error_category().message(static_cast<int>(errc::unknown_command));
  EXPECT_EQ(m.find("unknown flyshard error"), std::string::npos) << m;
  EXPECT_NE(m, error_category().message(static_cast<int>(errc::config)));
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
  EXPECT_EQ(block_of({"BRPOPLPUSH", "a", "b", "3"}), milliseconds(3000));
  EXPECT_EQ(block_of({"BLMPOP", "1.5", "2", "a", "b", "LEFT"}), milliseconds(1500));
  EXPECT_EQ(block_of({"BZMPOP", "0", "1", "z", "MIN"}), milliseconds(0));
  EXPECT_EQ(block_of({"WAIT", "1", "250"}), milliseconds(250));
  // A group named BLOCK is not the option.
  EXPECT_FALSE(block_of({"XREADGROUP", "GROUP", "BLOCK", "c", "STREAMS", "s", ">"}).has_value());
}

}  // namespace
