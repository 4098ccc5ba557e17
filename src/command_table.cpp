#include "command_table.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace flyshard::detail {
namespace {

constexpr std::uint16_t R = kRead;
constexpr std::uint16_t W = kWrite;

// Sorted by name (checked once at start-up by a static assertion below). Only commands that
// Dragonfly supports are listed; tests check this against Dragonfly's unsupported list.
constexpr CommandInfo kTable[] = {
    {"APPEND", W, KeySpec::range, 1, 1, 1},
    {"AUTH", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"BITCOUNT", R, KeySpec::range, 1, 1, 1},
    {"BLMOVE", W | kBlocking, KeySpec::range, 1, 2, 1},
    {"BLPOP", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BRPOP", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BZPOPMAX", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BZPOPMIN", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"DBSIZE", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"DECR", W, KeySpec::range, 1, 1, 1},
    {"DECRBY", W, KeySpec::range, 1, 1, 1},
    {"DEL", W | kMultiKey, KeySpec::range, 1, -1, 1},
    {"DISCARD", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"DUMP", R, KeySpec::range, 1, 1, 1},
    {"ECHO", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"EVAL", W, KeySpec::numkeys, 2, 0, 1},
    {"EVALSHA", W, KeySpec::numkeys, 2, 0, 1},
    {"EVALSHA_RO", R, KeySpec::numkeys, 2, 0, 1},
    {"EVAL_RO", R, KeySpec::numkeys, 2, 0, 1},
    {"EXEC", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"EXISTS", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"EXPIRE", W, KeySpec::range, 1, 1, 1},
    {"EXPIREAT", W, KeySpec::range, 1, 1, 1},
    {"EXPIRETIME", R, KeySpec::range, 1, 1, 1},
    {"FLUSHALL", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"FLUSHDB", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"GET", R, KeySpec::range, 1, 1, 1},
    {"GETBIT", R, KeySpec::range, 1, 1, 1},
    {"GETDEL", W, KeySpec::range, 1, 1, 1},
    {"GETEX", W, KeySpec::range, 1, 1, 1},
    {"GETRANGE", R, KeySpec::range, 1, 1, 1},
    {"GETSET", W, KeySpec::range, 1, 1, 1},
    {"HDEL", W, KeySpec::range, 1, 1, 1},
    {"HEXISTS", R, KeySpec::range, 1, 1, 1},
    {"HGET", R, KeySpec::range, 1, 1, 1},
    {"HGETALL", R, KeySpec::range, 1, 1, 1},
    {"HINCRBY", W, KeySpec::range, 1, 1, 1},
    {"HINCRBYFLOAT", W, KeySpec::range, 1, 1, 1},
    {"HKEYS", R, KeySpec::range, 1, 1, 1},
    {"HLEN", R, KeySpec::range, 1, 1, 1},
    {"HMGET", R, KeySpec::range, 1, 1, 1},
    {"HMSET", W, KeySpec::range, 1, 1, 1},
    {"HSCAN", R, KeySpec::range, 1, 1, 1},
    {"HSET", W, KeySpec::range, 1, 1, 1},
    {"HSETNX", W, KeySpec::range, 1, 1, 1},
    {"HSTRLEN", R, KeySpec::range, 1, 1, 1},
    {"HVALS", R, KeySpec::range, 1, 1, 1},
    {"INCR", W, KeySpec::range, 1, 1, 1},
    {"INCRBY", W, KeySpec::range, 1, 1, 1},
    {"INCRBYFLOAT", W, KeySpec::range, 1, 1, 1},
    {"INFO", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"LINDEX", R, KeySpec::range, 1, 1, 1},
    {"LINSERT", W, KeySpec::range, 1, 1, 1},
    {"LLEN", R, KeySpec::range, 1, 1, 1},
    {"LMOVE", W, KeySpec::range, 1, 2, 1},
    {"LPOP", W, KeySpec::range, 1, 1, 1},
    {"LPOS", R, KeySpec::range, 1, 1, 1},
    {"LPUSH", W, KeySpec::range, 1, 1, 1},
    {"LPUSHX", W, KeySpec::range, 1, 1, 1},
    {"LRANGE", R, KeySpec::range, 1, 1, 1},
    {"LREM", W, KeySpec::range, 1, 1, 1},
    {"LSET", W, KeySpec::range, 1, 1, 1},
    {"LTRIM", W, KeySpec::range, 1, 1, 1},
    {"MGET", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"MSET", W | kMultiKey, KeySpec::range, 1, -1, 2},
    {"MSETNX", W | kMultiKey, KeySpec::range, 1, -1, 2},
    {"MULTI", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"PERSIST", W, KeySpec::range, 1, 1, 1},
    {"PEXPIRE", W, KeySpec::range, 1, 1, 1},
    {"PEXPIREAT", W, KeySpec::range, 1, 1, 1},
    {"PFADD", W, KeySpec::range, 1, 1, 1},
    {"PFCOUNT", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"PING", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"PSETEX", W, KeySpec::range, 1, 1, 1},
    {"PSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"PTTL", R, KeySpec::range, 1, 1, 1},
    {"PUBLISH", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"PUNSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"RENAME", W | kMultiKey, KeySpec::range, 1, 2, 1},
    {"RESTORE", W, KeySpec::range, 1, 1, 1},
    {"ROLE", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"RPOP", W, KeySpec::range, 1, 1, 1},
    {"RPUSH", W, KeySpec::range, 1, 1, 1},
    {"RPUSHX", W, KeySpec::range, 1, 1, 1},
    {"SADD", W, KeySpec::range, 1, 1, 1},
    {"SCAN", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"SCARD", R, KeySpec::range, 1, 1, 1},
    {"SCRIPT", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SDIFF", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"SELECT", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"SET", W, KeySpec::range, 1, 1, 1},
    {"SETEX", W, KeySpec::range, 1, 1, 1},
    {"SETNX", W, KeySpec::range, 1, 1, 1},
    {"SETRANGE", W, KeySpec::range, 1, 1, 1},
    {"SINTER", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"SISMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SMEMBERS", R, KeySpec::range, 1, 1, 1},
    {"SMISMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SMOVE", W | kMultiKey, KeySpec::range, 1, 2, 1},
    {"SPOP", W, KeySpec::range, 1, 1, 1},
    {"SRANDMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SREM", W, KeySpec::range, 1, 1, 1},
    {"SSCAN", R, KeySpec::range, 1, 1, 1},
    {"STRLEN", R, KeySpec::range, 1, 1, 1},
    {"SUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"SUNION", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"TIME", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"TOUCH", R | kMultiKey, KeySpec::range, 1, -1, 1},
    {"TTL", R, KeySpec::range, 1, 1, 1},
    {"TYPE", R, KeySpec::range, 1, 1, 1},
    {"UNLINK", W | kMultiKey, KeySpec::range, 1, -1, 1},
    {"UNSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"UNWATCH", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"WATCH", kStateful | kMultiKey, KeySpec::range, 1, -1, 1},
    {"XACK", W, KeySpec::range, 1, 1, 1},
    {"XADD", W, KeySpec::range, 1, 1, 1},
    {"XAUTOCLAIM", W, KeySpec::range, 1, 1, 1},
    {"XCLAIM", W, KeySpec::range, 1, 1, 1},
    {"XDEL", W, KeySpec::range, 1, 1, 1},
    {"XGROUP", W, KeySpec::range, 2, 2, 1},
    {"XINFO", R, KeySpec::range, 2, 2, 1},
    {"XLEN", R, KeySpec::range, 1, 1, 1},
    {"XPENDING", R, KeySpec::range, 1, 1, 1},
    {"XRANGE", R, KeySpec::range, 1, 1, 1},
    {"XREAD", R | kBlocking | kMultiKey, KeySpec::streams, 0, 0, 0},
    {"XREADGROUP", W | kBlocking | kMultiKey, KeySpec::streams, 0, 0, 0},
    {"XREVRANGE", R, KeySpec::range, 1, 1, 1},
    {"XTRIM", W, KeySpec::range, 1, 1, 1},
    {"ZADD", W, KeySpec::range, 1, 1, 1},
    {"ZCARD", R, KeySpec::range, 1, 1, 1},
    {"ZCOUNT", R, KeySpec::range, 1, 1, 1},
    {"ZINCRBY", W, KeySpec::range, 1, 1, 1},
    {"ZLEXCOUNT", R, KeySpec::range, 1, 1, 1},
    {"ZMSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZPOPMAX", W, KeySpec::range, 1, 1, 1},
    {"ZPOPMIN", W, KeySpec::range, 1, 1, 1},
    {"ZRANGE", R, KeySpec::range, 1, 1, 1},
    {"ZRANGEBYLEX", R, KeySpec::range, 1, 1, 1},
    {"ZRANGEBYSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZRANK", R, KeySpec::range, 1, 1, 1},
    {"ZREM", W, KeySpec::range, 1, 1, 1},
    {"ZREMRANGEBYRANK", W, KeySpec::range, 1, 1, 1},
    {"ZREMRANGEBYSCORE", W, KeySpec::range, 1, 1, 1},
    {"ZREVRANGE", R, KeySpec::range, 1, 1, 1},
    {"ZREVRANGEBYSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZREVRANK", R, KeySpec::range, 1, 1, 1},
    {"ZSCAN", R, KeySpec::range, 1, 1, 1},
    {"ZSCORE", R, KeySpec::range, 1, 1, 1},
};

constexpr bool table_is_sorted() {
  for (std::size_t i = 1; i < std::size(kTable); ++i) {
    if (!(kTable[i - 1].name < kTable[i].name)) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "kTable must stay sorted by name");

}  // namespace

const CommandInfo* find_command(std::string_view name) noexcept {
  char upper[24];
  if (name.size() >= sizeof upper) return nullptr;
  for (std::size_t i = 0; i < name.size(); ++i) {
    // ASCII only (command names are): cheaper than the locale-aware std::toupper.
    const char c = name[i];
    upper[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  }
  std::string_view key(upper, name.size());
  const auto* end = std::end(kTable);
  const auto* it =
      std::lower_bound(std::begin(kTable), end, key,
                       [](const CommandInfo& c, std::string_view k) { return c.name < k; });
  return (it != end && it->name == key) ? it : nullptr;
}

std::span<const CommandInfo> command_table() noexcept {
  return kTable;
}

std::vector<std::string_view> command_keys(std::span<const std::string_view> words) {
  if (words.empty()) return {};
  return command_keys(words, find_command(words[0]));
}

std::vector<std::string_view> command_keys(std::span<const std::string_view> words,
                                           const CommandInfo* info) {
  std::vector<std::string_view> keys;
  if (words.empty()) return keys;
  if (info == nullptr) {
    // Unknown command: assume the Redis convention that the first argument is the key.
    if (words.size() > 1) keys.push_back(words[1]);
    return keys;
  }
  const auto n = static_cast<long>(words.size());
  switch (info->keys) {
    case KeySpec::none:
      break;
    case KeySpec::range: {
      long last = info->last >= 0 ? info->last : n + info->last;
      for (long i = info->first; i <= last && i < n; i += info->step) keys.push_back(words[i]);
      break;
    }
    case KeySpec::numkeys: {
      if (info->first >= n) break;
      long count = 0;
      for (char c : words[info->first]) {
        if (c < '0' || c > '9') return keys;
        count = count * 10 + (c - '0');
        if (count > n) return keys;
      }
      for (long i = info->first + 1; i <= info->first + count && i < n; ++i)
        keys.push_back(words[i]);
      break;
    }
    case KeySpec::streams: {
      long s = 1;
      while (s < n) {
        std::string_view w = words[s];
        if (w.size() == 7 && (w[0] == 'S' || w[0] == 's')) {
          std::string up(w);
          for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          if (up == "STREAMS") break;
        }
        ++s;
      }
      long rest = n - s - 1;
      for (long i = 0; i < rest / 2; ++i) keys.push_back(words[s + 1 + i]);
      break;
    }
  }
  return keys;
}

bool is_read_command(std::span<const std::string_view> words) noexcept {
  if (words.empty()) return false;
  return is_read_command(find_command(words[0]));
}

bool is_read_command(const CommandInfo* info) noexcept {
  return info != nullptr && (info->flags & kRead) != 0 && (info->flags & kWrite) == 0;
}

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// A non-negative decimal (seconds may have a fraction: BLPOP k 0.5), scaled to ms.
std::optional<std::chrono::milliseconds> parse_time(std::string_view s, double unit_ms) noexcept {
  if (s.empty()) return std::nullopt;
  double v = 0, scale = 0;
  for (char c : s) {
    if (c == '.' && scale == 0) {
      scale = 1;
    } else if (c >= '0' && c <= '9') {
      if (scale == 0) {
        v = v * 10 + (c - '0');
      } else {
        scale /= 10;
        v += (c - '0') * scale;
      }
    } else {
      return std::nullopt;
    }
  }
  return std::chrono::milliseconds(static_cast<long long>(v * unit_ms + 0.999));
}

}  // namespace

std::optional<std::chrono::milliseconds> blocking_time(std::span<const std::string_view> words,
                                                       const CommandInfo* info) noexcept {
  if (info == nullptr || (info->flags & kBlocking) == 0 || words.size() < 2) return std::nullopt;
  if (info->keys == KeySpec::streams) {
    // XREAD / XREADGROUP block only with BLOCK <ms> before STREAMS.
    for (std::size_t i = 1; i + 1 < words.size(); ++i) {
      if (iequals(words[i], "STREAMS")) break;
      if (iequals(words[i], "BLOCK")) return parse_time(words[i + 1], 1.0);
    }
    return std::nullopt;
  }
  // BLPOP/BRPOP/BZPOP*/BLMOVE: the timeout, in seconds, is the last argument.
  auto t = parse_time(words.back(), 1000.0);
  return t ? t : std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(0));
}

std::optional<std::string_view> single_key(std::span<const std::string_view> words,
                                           const CommandInfo* info) noexcept {
  if (info == nullptr) {
    if (words.size() > 1) return words[1];
    return std::nullopt;
  }
  if (info->keys == KeySpec::range && info->first == info->last && info->first > 0 &&
      static_cast<std::size_t>(info->first) < words.size()) {
    return words[static_cast<std::size_t>(info->first)];
  }
  return std::nullopt;
}

}  // namespace flyshard::detail
