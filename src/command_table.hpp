#pragma once
// The command table: for every command Dragonfly supports (Redis 7.0's command set minus the
// ones Dragonfly rejects), whether it reads or writes, where its keys are, whether it blocks
// its connection, and whether it changes the state of the connection. Routing uses it for
// every generic command; a command it does not know is never routed by guessing.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace flyshard::detail {

enum CommandFlags : std::uint16_t {
  kRead = 1 << 0,          // may go to a replica under a read policy
  kWrite = 1 << 1,         // always to the primary
  kBlocking = 1 << 2,      // may block the connection (BLPOP, XREAD BLOCK, WAIT)
  kPubSub = 1 << 3,        // puts the connection in subscriber mode: refused, use subscribe()
  kStateful = 1 << 4,      // changes connection state (MULTI, WATCH, SELECT, AUTH, ...): refused
  kNoKey = 1 << 5,         // has no key: command_on_all / command_on_shard / command_routed
  kAnyShard = 1 << 6,      // keyless but the same on every node (PING, ECHO, TIME): command()
                           // sends it to the first shard
  kContainer = 1 << 7,     // has subcommands ("XINFO STREAM"): look at the second word
  kChannel = 1 << 8,       // word 1 is a channel, routed like a key (PUBLISH), not a key to Redis
  kNotDragonfly = 1 << 9,  // Redis has it, Dragonfly does not: listed only to refuse it by name
};

/// Where a command's keys are.
enum class KeySpec : std::uint8_t {
  none,           // no keys
  range,          // keys at first, first+step, ..., last (last < 0 counts from the end)
  numkeys,        // EVAL-like: word[first] is the key count, the keys follow it
  store_numkeys,  // ZUNIONSTORE-like: word[first] is a key, word[last] the count of the rest
  streams,        // XREAD/XREADGROUP: after the STREAMS keyword, half of the remaining words
  sort,           // SORT: word[first], and the word after STORE
  georadius,      // GEORADIUS*: word[first], and the words after STORE/STOREDIST, looked for
                  // from word[last] on
};

struct CommandInfo {
  std::string_view name;  // upper case; "CONTAINER SUB" for a subcommand
  std::uint16_t flags;
  KeySpec keys;
  std::int8_t first;  // index of the first key (range), or of numkeys (numkeys)
  std::int8_t last;   // index of the last key; -1 = the last word
  std::int8_t step;   // distance between keys
};

/// The entry for a command name (any case), or nullptr when it is not in the table. A
/// subcommand is found by its full name ("xinfo stream").
const CommandInfo* find_command(std::string_view name) noexcept;

/// The entry for a whole command: for a container (CLIENT, XINFO, CONFIG ...) the entry of
/// its subcommand, nullptr for an unknown subcommand; a container alone is its own entry.
const CommandInfo* lookup_command(std::span<const std::string_view> words) noexcept;

/// Every entry (for tests that check the table against Dragonfly and a live server).
std::span<const CommandInfo> command_table() noexcept;

/// The keys of a command, in order (empty for keyless and unknown commands).
std::vector<std::string_view> command_keys(std::span<const std::string_view> words);

/// The same with the command's entry already looked up (nullptr: not in the table).
std::vector<std::string_view> command_keys(std::span<const std::string_view> words,
                                           const CommandInfo* info);

/// True when a command may be served by a replica.
bool is_read_command(std::span<const std::string_view> words) noexcept;
bool is_read_command(const CommandInfo* info) noexcept;

/// For a command that may block its connection (BLPOP, XREAD ... BLOCK, ...): how long it may
/// block, by its own arguments; 0 ms means "forever". nullopt: it does not block.
std::optional<std::chrono::milliseconds> blocking_time(std::span<const std::string_view> words,
                                                       const CommandInfo* info) noexcept;

/// The key of a command that has exactly one (GET, HSET, ...), without building a list:
/// the fast path of routing. nullopt for keyless, unknown and multi-key commands.
std::optional<std::string_view> single_key(std::span<const std::string_view> words,
                                           const CommandInfo* info) noexcept;

/// For a command that changes its connection's state (kPubSub, kStateful): what to use
/// instead, as a sentence for the error message. Empty for other commands.
std::string_view state_hint(const CommandInfo& info) noexcept;

}  // namespace flyshard::detail
