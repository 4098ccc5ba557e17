// The command table against a live server's own description of its commands: COMMAND for
// key positions, read/write and blocking flags, COMMAND GETKEYS for the commands whose keys
// move (EVAL, ZUNIONSTORE, XREAD, SORT ... STORE). Every command the server has and Dragonfly
// supports must be in the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "command_table.hpp"
#include "server_process.hpp"

namespace flyshard::detail {
namespace {

using flyshard::testing::ServerProcess;

std::set<std::string> unsupported_commands() {
  const std::string path =
      std::string(FLYSHARD_FIXTURES_DIR) + "/dragonfly/dragonfly-unsupported-commands.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    out.insert(line.substr(start));
  }
  return out;
}

// One entry of the COMMAND reply (Redis 7: name, arity, flags, first, last, step, ACL
// categories, tips, key specs, subcommands), subcommands flattened into "CONTAINER SUB".
struct ServerCommand {
  std::string name;
  std::set<std::string> flags;
  long long first = 0, last = 0, step = 0;
  bool container = false;
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::replace(s.begin(), s.end(), '|', ' ');
  return s;
}

void flatten(const Reply& entry, std::map<std::string, ServerCommand>& out) {
  const auto& e = entry.elements();
  ASSERT_GE(e.size(), 6u) << entry.to_string();
  ServerCommand c;
  c.name = upper(e[0].str());
  for (const Reply& f : e[2].elements()) c.flags.insert(f.str());
  c.first = e[3].integer();
  c.last = e[4].integer();
  c.step = e[5].integer();
  if (e.size() > 9 && e[9].is_array() && !e[9].elements().empty()) {
    c.container = true;
    for (const Reply& sub : e[9].elements()) flatten(sub, out);
  }
  out[c.name] = c;
}

class CommandTableLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->start();
    const Reply info = server_->command({"INFO", "server"});
    if (info.str().find("dragonfly_version") != std::string::npos) {
      dragonfly_ = true;  // Dragonfly's COMMAND differs in form: this compares with Redis 7
      return;
    }
    const Reply all = server_->command({"COMMAND"}, std::chrono::seconds(10));
    ASSERT_TRUE(all.is_array()) << all.to_string();
    for (const Reply& entry : all.elements()) flatten(entry, commands_);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (dragonfly_) GTEST_SKIP() << "the server is Dragonfly; this test compares with Redis 7";
    ASSERT_GT(commands_.size(), 200u);
  }

  // The keys the server names for `words` (COMMAND GETKEYS); empty when it finds none.
  static std::vector<std::string> server_keys(const std::vector<std::string>& words) {
    std::vector<std::string> args{"COMMAND", "GETKEYS"};
    args.insert(args.end(), words.begin(), words.end());
    const Reply r = server_->command(args);
    std::vector<std::string> keys;
    if (r.is_error()) return keys;  // "has no key arguments" / "Invalid arguments"
    for (const Reply& k : r.elements()) keys.push_back(k.str());
    return keys;
  }

  static std::vector<std::string> table_keys(const std::vector<std::string>& words) {
    std::vector<std::string_view> w(words.begin(), words.end());
    std::vector<std::string> out;
    for (auto k : command_keys(w)) out.emplace_back(k);
    return out;
  }

  static ServerProcess* server_;
  static bool dragonfly_;
  static std::map<std::string, ServerCommand> commands_;
};
ServerProcess* CommandTableLiveTest::server_ = nullptr;
bool CommandTableLiveTest::dragonfly_ = false;
std::map<std::string, ServerCommand> CommandTableLiveTest::commands_;

// Sample invocations of every command whose keys the server finds by parsing (movablekeys),
// and of the commands whose several keys must all be routed.
const std::map<std::string, std::vector<std::vector<std::string>>> kSamples = {
    {"BLMPOP", {{"BLMPOP", "1", "2", "a", "b", "LEFT"}}},
    {"BZMPOP", {{"BZMPOP", "1", "2", "a", "b", "MIN"}}},
    {"EVAL", {{"EVAL", "return 1", "2", "a", "b", "x"}, {"EVAL", "return 1", "1", "a"}}},
    {"EVALSHA", {{"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1", "a", "x"}}},
    {"EVAL_RO", {{"EVAL_RO", "return 1", "2", "a", "b"}}},
    {"EVALSHA_RO", {{"EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1", "a"}}},
    {"GEORADIUS",
     {{"GEORADIUS", "g", "15", "37", "200", "km"},
      {"GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "3", "STORE", "d"},
      {"GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "STOREDIST", "d"}}},
    {"GEORADIUSBYMEMBER",
     {{"GEORADIUSBYMEMBER", "g", "m", "100", "km", "STORE", "d"},
      {"GEORADIUSBYMEMBER", "g", "STORE", "100", "km"}}},
    {"LMPOP", {{"LMPOP", "2", "a", "b", "LEFT", "COUNT", "2"}}},
    {"SINTERCARD", {{"SINTERCARD", "2", "a", "b", "LIMIT", "1"}}},
    {"SORT",
     {{"SORT", "k"},
      {"SORT", "k", "BY", "w*", "LIMIT", "0", "5", "GET", "o*", "ALPHA", "STORE", "d"}}},
    {"SORT_RO", {{"SORT_RO", "k", "BY", "w*", "ALPHA"}}},
    {"XREAD", {{"XREAD", "COUNT", "2", "BLOCK", "10", "STREAMS", "a", "b", "0", "0"}}},
    {"XREADGROUP", {{"XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", ">"}}},
    {"ZDIFF", {{"ZDIFF", "2", "a", "b"}}},
    {"ZDIFFSTORE", {{"ZDIFFSTORE", "d", "2", "a", "b"}}},
    {"ZINTER", {{"ZINTER", "2", "a", "b", "WITHSCORES"}}},
    {"ZINTERCARD", {{"ZINTERCARD", "2", "a", "b"}}},
    {"ZINTERSTORE", {{"ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}}},
    {"ZMPOP", {{"ZMPOP", "2", "a", "b", "MIN"}}},
    {"ZUNION", {{"ZUNION", "2", "a", "b"}}},
    {"ZUNIONSTORE", {{"ZUNIONSTORE", "d", "3", "a", "b", "c", "AGGREGATE", "MAX"}}},
    // Fixed positions, several keys: all must be routed.
    {"RPOPLPUSH", {{"RPOPLPUSH", "a", "b"}}},
    {"SMOVE", {{"SMOVE", "a", "b", "m"}}},
    {"COPY", {{"COPY", "a", "b"}}},
    {"BITOP", {{"BITOP", "AND", "d", "a", "b"}}},
    {"PFMERGE", {{"PFMERGE", "d", "a", "b"}}},
    {"MSETNX", {{"MSETNX", "a", "1", "b", "2"}}},
    {"BLPOP", {{"BLPOP", "a", "b", "0"}}},
    {"XGROUP CREATE", {{"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}}},
    {"XINFO STREAM", {{"XINFO", "STREAM", "s", "FULL"}}},
    {"MEMORY USAGE", {{"MEMORY", "USAGE", "k"}}},
};

TEST_F(CommandTableLiveTest, EveryCommandTheServerHasAndDragonflySupportsIsInTheTable) {
  const auto unsupported = unsupported_commands();
  std::vector<std::string> lacking_unsupported;
  for (const auto& [name, c] : commands_) {
    if (c.container) continue;  // its subcommands are checked one by one
    const std::string container = name.substr(0, name.find(' '));
    const bool supported = unsupported.count(name) + unsupported.count(container) == 0;
    if (find_command(name) != nullptr) continue;
    if (supported) {
      ADD_FAILURE() << name << ": the server has it, Dragonfly supports it, the table lacks it";
    } else {
      lacking_unsupported.push_back(name);
    }
  }
  std::string listed;
  for (const auto& n : lacking_unsupported) listed += " " + n;
  std::cout << "not in the table (Dragonfly does not support them):" << listed << "\n";
}

TEST_F(CommandTableLiveTest, EveryTableEntryIsACommandOfTheServer) {
  for (const CommandInfo& c : command_table()) {
    EXPECT_EQ(commands_.count(std::string(c.name)), 1u) << c.name << " is unknown to the server";
  }
}

TEST_F(CommandTableLiveTest, KeyPositionsMatchTheServer) {
  for (const auto& [name, s] : commands_) {
    const CommandInfo* c = find_command(name);
    if (c == nullptr || (c->flags & kNotDragonfly) != 0) continue;
    if (s.flags.count("movablekeys")) {
      // Positions the server can only tell by parsing: compared below, by samples.
      EXPECT_EQ(kSamples.count(name), 1u) << name << " has movable keys but no sample here";
      continue;
    }
    if ((c->flags & kChannel) != 0) {
      // A channel is no key to the server; flyshard routes it like one (as publish() does).
      EXPECT_EQ(s.first, 0) << name;
      EXPECT_EQ(c->keys, KeySpec::range) << name;
      continue;
    }
    if (s.first == 0) {
      EXPECT_EQ(c->keys, KeySpec::none) << name << ": the server names no key position";
      continue;
    }
    ASSERT_EQ(c->keys, KeySpec::range) << name;
    EXPECT_EQ(c->first, s.first) << name;
    EXPECT_EQ(c->last, s.last) << name;
    EXPECT_EQ(c->step, s.step) << name;
  }
}

TEST_F(CommandTableLiveTest, KeysOfSampleCommandsMatchCommandGetkeys) {
  for (const auto& [name, samples] : kSamples) {
    ASSERT_NE(find_command(name), nullptr) << name;
    for (const auto& words : samples) {
      std::string shown;
      for (const auto& w : words) shown += w + " ";
      const auto expected = server_keys(words);
      EXPECT_FALSE(expected.empty()) << "the server finds no key in: " << shown;
      EXPECT_EQ(table_keys(words), expected) << shown;
    }
  }
}

TEST_F(CommandTableLiveTest, ReadWriteAndBlockingFlagsMatchTheServer) {
  for (const auto& [name, s] : commands_) {
    const CommandInfo* c = find_command(name);
    if (c == nullptr || (c->flags & kNotDragonfly) != 0 || s.container) continue;
    if (s.flags.count("write")) {
      EXPECT_FALSE(is_read_command(c)) << name << ": the server says it writes";
      EXPECT_NE(c->flags & kWrite, 0) << name;
    } else if (s.flags.count("readonly")) {
      EXPECT_TRUE(is_read_command(c)) << name << ": the server says it only reads";
    }
    // WAIT blocks its connection but the server does not flag it so.
    if (name != "WAIT") {
      EXPECT_EQ(s.flags.count("blocking") == 1, (c->flags & kBlocking) != 0) << name;
    }
  }
}

}  // namespace
}  // namespace flyshard::detail
