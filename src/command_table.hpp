#pragma once
// The command table: whether a command reads or writes, where its keys are, and whether it
// needs a connection of its own. Routing uses it for every generic command().

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace flyshard::detail {

enum CommandFlags : std::uint16_t {
  kRead = 1 << 0,        // may go to a replica under a read policy
  kWrite = 1 << 1,       // always to the primary
  kBlocking = 1 << 2,    // may block the connection (BLPOP, XREAD BLOCK, WAIT)
  kPubSub = 1 << 3,      // puts the connection in subscriber mode
  kStateful = 1 << 4,    // changes connection state (MULTI, WATCH, SELECT, AUTH, CLIENT ...)
  kMultiKey = 1 << 5,    // keys may span shards only through the split helpers
  kNoKey = 1 << 6,       // has no key: runs on a shard the caller names (or the first)
};

/// Where a command's keys are.
enum class KeySpec : std::uint8_t {
  none,        // no keys
  range,       // keys at first, first+step, ..., last (last < 0 counts from the end)
  numkeys,     // EVAL-like: word[first] is the key count, keys follow it
  streams,     // XREAD/XREADGROUP: keys after STREAMS, half of the remaining words
};

struct CommandInfo {
  std::string_view name;  // upper case
  std::uint16_t flags;
  KeySpec keys;
  std::int8_t first;  // index of the first key (range), or of numkeys (numkeys)
  std::int8_t last;   // index of the last key; -1 = the last word
  std::int8_t step;   // distance between keys
};

/// The entry for a command name (any case), or nullptr when it is not in the table (such a
/// command is treated as a write whose first argument is its key).
const CommandInfo* find_command(std::string_view name) noexcept;

/// Every entry (for tests that check the table against Dragonfly's unsupported list).
std::span<const CommandInfo> command_table() noexcept;

/// The keys of a command, in order (empty for keyless commands).
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
/// the fast path of routing. nullopt for keyless and multi-key commands.
std::optional<std::string_view> single_key(std::span<const std::string_view> words,
                                           const CommandInfo* info) noexcept;

}  // namespace flyshard::detail
