#include "command_table.hpp"

#include <algorithm>
#include <array>

namespace flyshard::detail {
namespace {

constexpr std::uint16_t R = kRead;
constexpr std::uint16_t W = kWrite;

// Every command and subcommand of Redis 7.0's COMMAND reply that Dragonfly supports (the
// ones it rejects are in tests/fixtures/dragonfly/dragonfly-unsupported-commands.txt), plus
// the few kNotDragonfly ones that are listed only so that they are refused by name. Key
// positions are Redis' own (the integration test command_table_live_test compares them with
// a live server's COMMAND and COMMAND GETKEYS); commands whose keys move (EVAL, ZUNIONSTORE,
// XREAD, SORT ... STORE) have their own KeySpec. Sorted by name (a static assertion checks).
constexpr CommandInfo kTable[] = {
    {"ACL", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL CAT", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL DELUSER", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL DRYRUN", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL GENPASS", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL GETUSER", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL LIST", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL LOAD", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL LOG", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL SAVE", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL SETUSER", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL USERS", kNoKey, KeySpec::none, 0, 0, 0},
    {"ACL WHOAMI", kNoKey, KeySpec::none, 0, 0, 0},
    {"APPEND", W, KeySpec::range, 1, 1, 1},
    {"AUTH", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"BGSAVE", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"BITCOUNT", R, KeySpec::range, 1, 1, 1},
    {"BITFIELD", W, KeySpec::range, 1, 1, 1},
    {"BITFIELD_RO", R, KeySpec::range, 1, 1, 1},
    {"BITOP", W, KeySpec::range, 2, -1, 1},
    {"BITPOS", R, KeySpec::range, 1, 1, 1},
    {"BLMOVE", W | kBlocking, KeySpec::range, 1, 2, 1},
    {"BLMPOP", W | kBlocking, KeySpec::numkeys, 2, 0, 1},
    {"BLPOP", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BRPOP", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BRPOPLPUSH", W | kBlocking, KeySpec::range, 1, 2, 1},
    {"BZMPOP", W | kBlocking, KeySpec::numkeys, 2, 0, 1},
    {"BZPOPMAX", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"BZPOPMIN", W | kBlocking, KeySpec::range, 1, -2, 1},
    {"CLIENT", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT CACHING", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT GETNAME", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT ID", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT INFO", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT KILL", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT LIST", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT NO-EVICT", kStateful | kNotDragonfly | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT PAUSE", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT REPLY", kStateful | kNotDragonfly | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT SETNAME", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT TRACKING", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLIENT UNPAUSE", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER INFO", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER KEYSLOT", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER MYID", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER NODES", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER SHARDS", kNoKey, KeySpec::none, 0, 0, 0},
    {"CLUSTER SLOTS", kNoKey, KeySpec::none, 0, 0, 0},
    {"COMMAND", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"COMMAND COUNT", kNoKey, KeySpec::none, 0, 0, 0},
    {"COMMAND HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"COMMAND INFO", kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG GET", kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG RESETSTAT", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG REWRITE", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"CONFIG SET", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"COPY", W, KeySpec::range, 1, 2, 1},
    {"DBSIZE", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"DEBUG", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"DECR", W, KeySpec::range, 1, 1, 1},
    {"DECRBY", W, KeySpec::range, 1, 1, 1},
    {"DEL", W, KeySpec::range, 1, -1, 1},
    {"DISCARD", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"DUMP", R, KeySpec::range, 1, 1, 1},
    {"ECHO", R | kAnyShard | kNoKey, KeySpec::none, 0, 0, 0},
    {"EVAL", W, KeySpec::numkeys, 2, 0, 1},
    {"EVALSHA", W, KeySpec::numkeys, 2, 0, 1},
    {"EVALSHA_RO", R, KeySpec::numkeys, 2, 0, 1},
    {"EVAL_RO", R, KeySpec::numkeys, 2, 0, 1},
    {"EXEC", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"EXISTS", R, KeySpec::range, 1, -1, 1},
    {"EXPIRE", W, KeySpec::range, 1, 1, 1},
    {"EXPIREAT", W, KeySpec::range, 1, 1, 1},
    {"EXPIRETIME", R, KeySpec::range, 1, 1, 1},
    {"FLUSHALL", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"FLUSHDB", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"FUNCTION", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"FUNCTION FLUSH", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"GEOADD", W, KeySpec::range, 1, 1, 1},
    {"GEODIST", R, KeySpec::range, 1, 1, 1},
    {"GEOHASH", R, KeySpec::range, 1, 1, 1},
    {"GEOPOS", R, KeySpec::range, 1, 1, 1},
    {"GEORADIUS", W, KeySpec::georadius, 1, 6, 1},
    {"GEORADIUSBYMEMBER", W, KeySpec::georadius, 1, 5, 1},
    {"GEORADIUSBYMEMBER_RO", R, KeySpec::range, 1, 1, 1},
    {"GEORADIUS_RO", R, KeySpec::range, 1, 1, 1},
    {"GEOSEARCH", R, KeySpec::range, 1, 1, 1},
    {"GET", R, KeySpec::range, 1, 1, 1},
    {"GETBIT", R, KeySpec::range, 1, 1, 1},
    {"GETDEL", W, KeySpec::range, 1, 1, 1},
    {"GETEX", W, KeySpec::range, 1, 1, 1},
    {"GETRANGE", R, KeySpec::range, 1, 1, 1},
    {"GETSET", W, KeySpec::range, 1, 1, 1},
    {"HDEL", W, KeySpec::range, 1, 1, 1},
    {"HELLO", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"HEXISTS", R, KeySpec::range, 1, 1, 1},
    {"HGET", R, KeySpec::range, 1, 1, 1},
    {"HGETALL", R, KeySpec::range, 1, 1, 1},
    {"HINCRBY", W, KeySpec::range, 1, 1, 1},
    {"HINCRBYFLOAT", W, KeySpec::range, 1, 1, 1},
    {"HKEYS", R, KeySpec::range, 1, 1, 1},
    {"HLEN", R, KeySpec::range, 1, 1, 1},
    {"HMGET", R, KeySpec::range, 1, 1, 1},
    {"HMSET", W, KeySpec::range, 1, 1, 1},
    {"HRANDFIELD", R, KeySpec::range, 1, 1, 1},
    {"HSCAN", R, KeySpec::range, 1, 1, 1},
    {"HSET", W, KeySpec::range, 1, 1, 1},
    {"HSETNX", W, KeySpec::range, 1, 1, 1},
    {"HSTRLEN", R, KeySpec::range, 1, 1, 1},
    {"HVALS", R, KeySpec::range, 1, 1, 1},
    {"INCR", W, KeySpec::range, 1, 1, 1},
    {"INCRBY", W, KeySpec::range, 1, 1, 1},
    {"INCRBYFLOAT", W, KeySpec::range, 1, 1, 1},
    {"INFO", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"KEYS", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"LASTSAVE", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"LATENCY", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"LATENCY HISTOGRAM", kNoKey, KeySpec::none, 0, 0, 0},
    {"LATENCY LATEST", kNoKey, KeySpec::none, 0, 0, 0},
    {"LINDEX", R, KeySpec::range, 1, 1, 1},
    {"LINSERT", W, KeySpec::range, 1, 1, 1},
    {"LLEN", R, KeySpec::range, 1, 1, 1},
    {"LMOVE", W, KeySpec::range, 1, 2, 1},
    {"LMPOP", W, KeySpec::numkeys, 1, 0, 1},
    {"LPOP", W, KeySpec::range, 1, 1, 1},
    {"LPOS", R, KeySpec::range, 1, 1, 1},
    {"LPUSH", W, KeySpec::range, 1, 1, 1},
    {"LPUSHX", W, KeySpec::range, 1, 1, 1},
    {"LRANGE", R, KeySpec::range, 1, 1, 1},
    {"LREM", W, KeySpec::range, 1, 1, 1},
    {"LSET", W, KeySpec::range, 1, 1, 1},
    {"LTRIM", W, KeySpec::range, 1, 1, 1},
    {"MEMORY", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"MEMORY HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"MEMORY MALLOC-STATS", kNoKey, KeySpec::none, 0, 0, 0},
    {"MEMORY STATS", kNoKey, KeySpec::none, 0, 0, 0},
    {"MEMORY USAGE", R, KeySpec::range, 2, 2, 1},
    {"MGET", R, KeySpec::range, 1, -1, 1},
    {"MODULE", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"MODULE LIST", kNoKey, KeySpec::none, 0, 0, 0},
    {"MONITOR", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"MOVE", W, KeySpec::range, 1, 1, 1},
    {"MSET", W, KeySpec::range, 1, -1, 2},
    {"MSETNX", W, KeySpec::range, 1, -1, 2},
    {"MULTI", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"PERSIST", W, KeySpec::range, 1, 1, 1},
    {"PEXPIRE", W, KeySpec::range, 1, 1, 1},
    {"PEXPIREAT", W, KeySpec::range, 1, 1, 1},
    {"PEXPIRETIME", R, KeySpec::range, 1, 1, 1},
    {"PFADD", W, KeySpec::range, 1, 1, 1},
    {"PFCOUNT", R, KeySpec::range, 1, -1, 1},
    {"PFMERGE", W, KeySpec::range, 1, -1, 1},
    {"PING", R | kAnyShard | kNoKey, KeySpec::none, 0, 0, 0},
    {"PSETEX", W, KeySpec::range, 1, 1, 1},
    {"PSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"PSYNC", kStateful | kNotDragonfly | kNoKey, KeySpec::none, 0, 0, 0},
    {"PTTL", R, KeySpec::range, 1, 1, 1},
    {"PUBLISH", W | kChannel, KeySpec::range, 1, 1, 1},
    {"PUBSUB", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB CHANNELS", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB NUMPAT", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB NUMSUB", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB SHARDCHANNELS", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUBSUB SHARDNUMSUB", kNoKey, KeySpec::none, 0, 0, 0},
    {"PUNSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"QUIT", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"RANDOMKEY", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"READONLY", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"READWRITE", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"RENAME", W, KeySpec::range, 1, 2, 1},
    {"RENAMENX", W, KeySpec::range, 1, 2, 1},
    {"REPLCONF", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"REPLICAOF", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"RESET", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"RESTORE", W, KeySpec::range, 1, 1, 1},
    {"ROLE", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"RPOP", W, KeySpec::range, 1, 1, 1},
    {"RPOPLPUSH", W, KeySpec::range, 1, 2, 1},
    {"RPUSH", W, KeySpec::range, 1, 1, 1},
    {"RPUSHX", W, KeySpec::range, 1, 1, 1},
    {"SADD", W, KeySpec::range, 1, 1, 1},
    {"SAVE", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SCAN", R | kNoKey, KeySpec::none, 0, 0, 0},
    {"SCARD", R, KeySpec::range, 1, 1, 1},
    {"SCRIPT", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"SCRIPT EXISTS", kNoKey, KeySpec::none, 0, 0, 0},
    {"SCRIPT FLUSH", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SCRIPT HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"SCRIPT LOAD", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SDIFF", R, KeySpec::range, 1, -1, 1},
    {"SDIFFSTORE", W, KeySpec::range, 1, -1, 1},
    {"SELECT", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"SET", W, KeySpec::range, 1, 1, 1},
    {"SETBIT", W, KeySpec::range, 1, 1, 1},
    {"SETEX", W, KeySpec::range, 1, 1, 1},
    {"SETNX", W, KeySpec::range, 1, 1, 1},
    {"SETRANGE", W, KeySpec::range, 1, 1, 1},
    {"SHUTDOWN", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SINTER", R, KeySpec::range, 1, -1, 1},
    {"SINTERCARD", R, KeySpec::numkeys, 1, 0, 1},
    {"SINTERSTORE", W, KeySpec::range, 1, -1, 1},
    {"SISMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SLAVEOF", W | kNoKey, KeySpec::none, 0, 0, 0},
    {"SLOWLOG", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"SLOWLOG GET", kNoKey, KeySpec::none, 0, 0, 0},
    {"SLOWLOG HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"SLOWLOG LEN", kNoKey, KeySpec::none, 0, 0, 0},
    {"SLOWLOG RESET", kNoKey, KeySpec::none, 0, 0, 0},
    {"SMEMBERS", R, KeySpec::range, 1, 1, 1},
    {"SMISMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SMOVE", W, KeySpec::range, 1, 2, 1},
    {"SORT", W, KeySpec::sort, 1, 2, 1},
    {"SORT_RO", R, KeySpec::sort, 1, 2, 1},
    {"SPOP", W, KeySpec::range, 1, 1, 1},
    {"SPUBLISH", W, KeySpec::range, 1, 1, 1},
    {"SRANDMEMBER", R, KeySpec::range, 1, 1, 1},
    {"SREM", W, KeySpec::range, 1, 1, 1},
    {"SSCAN", R, KeySpec::range, 1, 1, 1},
    {"SSUBSCRIBE", kPubSub, KeySpec::range, 1, -1, 1},
    {"STRLEN", R, KeySpec::range, 1, 1, 1},
    {"SUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"SUBSTR", R, KeySpec::range, 1, 1, 1},
    {"SUNION", R, KeySpec::range, 1, -1, 1},
    {"SUNIONSTORE", W, KeySpec::range, 1, -1, 1},
    {"SUNSUBSCRIBE", kPubSub, KeySpec::range, 1, -1, 1},
    {"SYNC", kStateful | kNotDragonfly | kNoKey, KeySpec::none, 0, 0, 0},
    {"TIME", R | kAnyShard | kNoKey, KeySpec::none, 0, 0, 0},
    {"TOUCH", R, KeySpec::range, 1, -1, 1},
    {"TTL", R, KeySpec::range, 1, 1, 1},
    {"TYPE", R, KeySpec::range, 1, 1, 1},
    {"UNLINK", W, KeySpec::range, 1, -1, 1},
    {"UNSUBSCRIBE", kPubSub | kNoKey, KeySpec::none, 0, 0, 0},
    {"UNWATCH", kStateful | kNoKey, KeySpec::none, 0, 0, 0},
    {"WAIT", kBlocking | kNoKey, KeySpec::none, 0, 0, 0},
    {"WATCH", kStateful, KeySpec::range, 1, -1, 1},
    {"XACK", W, KeySpec::range, 1, 1, 1},
    {"XADD", W, KeySpec::range, 1, 1, 1},
    {"XAUTOCLAIM", W, KeySpec::range, 1, 1, 1},
    {"XCLAIM", W, KeySpec::range, 1, 1, 1},
    {"XDEL", W, KeySpec::range, 1, 1, 1},
    {"XGROUP", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"XGROUP CREATE", W, KeySpec::range, 2, 2, 1},
    {"XGROUP CREATECONSUMER", W, KeySpec::range, 2, 2, 1},
    {"XGROUP DELCONSUMER", W, KeySpec::range, 2, 2, 1},
    {"XGROUP DESTROY", W, KeySpec::range, 2, 2, 1},
    {"XGROUP HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"XGROUP SETID", W, KeySpec::range, 2, 2, 1},
    {"XINFO", kContainer | kNoKey, KeySpec::none, 0, 0, 0},
    {"XINFO CONSUMERS", R, KeySpec::range, 2, 2, 1},
    {"XINFO GROUPS", R, KeySpec::range, 2, 2, 1},
    {"XINFO HELP", kNoKey, KeySpec::none, 0, 0, 0},
    {"XINFO STREAM", R, KeySpec::range, 2, 2, 1},
    {"XLEN", R, KeySpec::range, 1, 1, 1},
    {"XPENDING", R, KeySpec::range, 1, 1, 1},
    {"XRANGE", R, KeySpec::range, 1, 1, 1},
    {"XREAD", R | kBlocking, KeySpec::streams, 0, 0, 0},
    {"XREADGROUP", W | kBlocking, KeySpec::streams, 0, 0, 0},
    {"XREVRANGE", R, KeySpec::range, 1, 1, 1},
    {"XSETID", W, KeySpec::range, 1, 1, 1},
    {"XTRIM", W, KeySpec::range, 1, 1, 1},
    {"ZADD", W, KeySpec::range, 1, 1, 1},
    {"ZCARD", R, KeySpec::range, 1, 1, 1},
    {"ZCOUNT", R, KeySpec::range, 1, 1, 1},
    {"ZDIFF", R, KeySpec::numkeys, 1, 0, 1},
    {"ZDIFFSTORE", W, KeySpec::store_numkeys, 1, 2, 1},
    {"ZINCRBY", W, KeySpec::range, 1, 1, 1},
    {"ZINTER", R, KeySpec::numkeys, 1, 0, 1},
    {"ZINTERCARD", R, KeySpec::numkeys, 1, 0, 1},
    {"ZINTERSTORE", W, KeySpec::store_numkeys, 1, 2, 1},
    {"ZLEXCOUNT", R, KeySpec::range, 1, 1, 1},
    {"ZMPOP", W, KeySpec::numkeys, 1, 0, 1},
    {"ZMSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZPOPMAX", W, KeySpec::range, 1, 1, 1},
    {"ZPOPMIN", W, KeySpec::range, 1, 1, 1},
    {"ZRANDMEMBER", R, KeySpec::range, 1, 1, 1},
    {"ZRANGE", R, KeySpec::range, 1, 1, 1},
    {"ZRANGEBYLEX", R, KeySpec::range, 1, 1, 1},
    {"ZRANGEBYSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZRANGESTORE", W, KeySpec::range, 1, 2, 1},
    {"ZRANK", R, KeySpec::range, 1, 1, 1},
    {"ZREM", W, KeySpec::range, 1, 1, 1},
    {"ZREMRANGEBYLEX", W, KeySpec::range, 1, 1, 1},
    {"ZREMRANGEBYRANK", W, KeySpec::range, 1, 1, 1},
    {"ZREMRANGEBYSCORE", W, KeySpec::range, 1, 1, 1},
    {"ZREVRANGE", R, KeySpec::range, 1, 1, 1},
    {"ZREVRANGEBYLEX", R, KeySpec::range, 1, 1, 1},
    {"ZREVRANGEBYSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZREVRANK", R, KeySpec::range, 1, 1, 1},
    {"ZSCAN", R, KeySpec::range, 1, 1, 1},
    {"ZSCORE", R, KeySpec::range, 1, 1, 1},
    {"ZUNION", R, KeySpec::numkeys, 1, 0, 1},
    {"ZUNIONSTORE", W, KeySpec::store_numkeys, 1, 2, 1},
};

constexpr bool table_is_sorted() {
  for (std::size_t i = 1; i < std::size(kTable); ++i) {
    if (!(kTable[i - 1].name < kTable[i].name)) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "kTable must stay sorted by name");

// Longest name in the table, plus room: longer words cannot be commands.
constexpr std::size_t kMaxName = 32;

char upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

// An open-addressing hash index over kTable, built at compile time: a lookup hashes the name
// once and compares it with one entry or two, where a binary search over the ~400 sorted names
// made nine string comparisons (the largest single cost of routing a GET).
constexpr std::uint32_t kHashBasis = 2166136261u;  // FNV-1a
constexpr std::uint32_t hash_step(std::uint32_t h, char c) noexcept {
  return (h ^ static_cast<unsigned char>(c)) * 16777619u;
}
constexpr std::uint32_t name_hash(std::string_view s) noexcept {
  std::uint32_t h = kHashBasis;
  for (char c : s) h = hash_step(h, c);
  return h;
}

constexpr std::size_t kIndexSize = 1024;  // a power of two, over twice the table: short probes
constexpr std::uint16_t kNoEntry = 0xffff;
static_assert(std::size(kTable) < kIndexSize / 2, "grow kIndexSize with the table");

constexpr std::array<std::uint16_t, kIndexSize> build_index() {
  std::array<std::uint16_t, kIndexSize> index{};
  for (auto& slot : index) slot = kNoEntry;
  for (std::size_t i = 0; i < std::size(kTable); ++i) {
    std::size_t h = name_hash(kTable[i].name) & (kIndexSize - 1);
    while (index[h] != kNoEntry) h = (h + 1) & (kIndexSize - 1);
    index[h] = static_cast<std::uint16_t>(i);
  }
  return index;
}
constexpr auto kIndex = build_index();

// Names are short: a byte loop beats a call to memcmp.
bool same_name(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// `hash` is name_hash(key).
const CommandInfo* find_hashed(std::string_view key, std::uint32_t hash) noexcept {
  for (std::size_t h = hash & (kIndexSize - 1);; h = (h + 1) & (kIndexSize - 1)) {
    const std::uint16_t i = kIndex[h];
    if (i == kNoEntry) return nullptr;
    if (same_name(kTable[i].name, key)) return &kTable[i];
  }
}

const CommandInfo* find_upper(std::string_view key) noexcept {
  return find_hashed(key, name_hash(key));
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) return false;
  }
  return true;
}

// A key count as the server reads it: decimal digits only, at most `limit`; nullopt otherwise.
std::optional<long> parse_count(std::string_view s, long limit) noexcept {
  if (s.empty()) return std::nullopt;
  long count = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    count = count * 10 + (c - '0');
    if (count > limit) return std::nullopt;
  }
  return count;
}

// XREAD / XREADGROUP options, parsed as the server parses them (so that a group or consumer
// named "STREAMS" or "BLOCK" is not mistaken for the keyword): the index of STREAMS (0 when
// absent or after an unknown option) and the BLOCK argument's index (0 when absent).
struct StreamOptions {
  std::size_t streams = 0;
  std::size_t block = 0;
};

StreamOptions stream_options(std::span<const std::string_view> words) noexcept {
  StreamOptions o;
  for (std::size_t i = 1; i < words.size(); ++i) {
    std::string_view w = words[i];
    if (iequals(w, "STREAMS")) {
      o.streams = i;
      return o;
    }
    if (iequals(w, "BLOCK")) {
      o.block = ++i;
    } else if (iequals(w, "COUNT")) {
      ++i;
    } else if (iequals(w, "GROUP")) {
      i += 2;
    } else if (!iequals(w, "NOACK")) {
      break;  // the server rejects it; no keys
    }
  }
  o.streams = 0;
  return o;
}

}  // namespace

const CommandInfo* find_command(std::string_view name) noexcept {
  char buf[kMaxName];
  if (name.size() >= sizeof buf) return nullptr;
  // ASCII only (command names are): cheaper than the locale-aware std::toupper. Hashed on the
  // way, in the same pass.
  std::uint32_t hash = kHashBasis;
  for (std::size_t i = 0; i < name.size(); ++i) {
    buf[i] = upper(name[i]);
    hash = hash_step(hash, buf[i]);
  }
  return find_hashed(std::string_view(buf, name.size()), hash);
}

const CommandInfo* lookup_command(std::span<const std::string_view> words) noexcept {
  if (words.empty()) return nullptr;
  const CommandInfo* info = find_command(words[0]);
  if (info == nullptr || (info->flags & kContainer) == 0 || words.size() < 2) return info;
  // "CONTAINER SUB": the subcommand decides keys, read/write and connection state.
  char buf[kMaxName];
  const std::string_view sub = words[1];
  const std::size_t n = info->name.size() + 1 + sub.size();
  if (n >= sizeof buf) return nullptr;
  std::copy(info->name.begin(), info->name.end(), buf);
  buf[info->name.size()] = ' ';
  for (std::size_t i = 0; i < sub.size(); ++i) buf[info->name.size() + 1 + i] = upper(sub[i]);
  return find_upper(std::string_view(buf, n));
}

std::span<const CommandInfo> command_table() noexcept {
  return kTable;
}

std::vector<std::string_view> command_keys(std::span<const std::string_view> words) {
  return command_keys(words, lookup_command(words));
}

std::vector<std::string_view> command_keys(std::span<const std::string_view> words,
                                           const CommandInfo* info) {
  std::vector<std::string_view> keys;
  // An unknown command has unknown keys: nothing is guessed (the caller refuses it).
  if (words.empty() || info == nullptr) return keys;
  const auto n = static_cast<long>(words.size());
  auto at = [&](long i) { return words[static_cast<std::size_t>(i)]; };
  switch (info->keys) {
    case KeySpec::none:
      break;
    case KeySpec::range: {
      const long last = info->last >= 0 ? info->last : n + info->last;
      for (long i = info->first; i <= last && i < n; i += info->step) keys.push_back(at(i));
      break;
    }
    case KeySpec::store_numkeys:
      if (info->first < n) keys.push_back(at(info->first));
      [[fallthrough]];
    case KeySpec::numkeys: {
      const long counted = info->keys == KeySpec::numkeys ? info->first : info->last;
      if (counted >= n) break;
      // A malformed count gives no keys from it (the server rejects the command); more keys
      // announced than given: only the words that are there.
      const long count = parse_count(at(counted), n).value_or(0);
      for (long i = counted + 1; i <= counted + count && i < n; ++i) keys.push_back(at(i));
      break;
    }
    case KeySpec::streams: {
      const std::size_t s = stream_options(words).streams;
      if (s == 0) break;
      const std::size_t rest = words.size() - s - 1;
      for (std::size_t i = 0; i < rest / 2; ++i) keys.push_back(words[s + 1 + i]);
      break;
    }
    case KeySpec::sort: {
      if (info->first >= n) break;
      keys.push_back(at(info->first));
      // SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
      // [STORE destination]: skip the options' arguments so a pattern named STORE is not
      // taken for the keyword.
      for (long i = info->last; i < n; ++i) {
        std::string_view w = at(i);
        if (iequals(w, "LIMIT")) {
          i += 2;
        } else if (iequals(w, "BY") || iequals(w, "GET")) {
          ++i;
        } else if (iequals(w, "STORE") && i + 1 < n) {
          keys.push_back(at(++i));
        }
      }
      break;
    }
    case KeySpec::georadius: {
      if (info->first >= n) break;
      keys.push_back(at(info->first));
      // The options after the positional arguments take numbers or nothing, so a word STORE
      // or STOREDIST there is the keyword.
      for (long i = info->last; i + 1 < n; ++i) {
        if (iequals(at(i), "STORE") || iequals(at(i), "STOREDIST")) keys.push_back(at(++i));
      }
      break;
    }
  }
  return keys;
}

bool is_read_command(std::span<const std::string_view> words) noexcept {
  return is_read_command(lookup_command(words));
}

bool is_read_command(const CommandInfo* info) noexcept {
  return info != nullptr && (info->flags & kRead) != 0 && (info->flags & kWrite) == 0;
}

namespace {

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

// A block time that does not parse: the server rejects the command, but until it answers the
// connection is treated as blocked for as long as the caller may wait.
std::chrono::milliseconds or_forever(std::optional<std::chrono::milliseconds> t) noexcept {
  return t.value_or(std::chrono::milliseconds(0));
}

}  // namespace

std::optional<std::chrono::milliseconds> blocking_time(std::span<const std::string_view> words,
                                                       const CommandInfo* info) noexcept {
  if (info == nullptr || (info->flags & kBlocking) == 0 || words.size() < 2) return std::nullopt;
  switch (info->keys) {
    case KeySpec::streams: {
      // XREAD / XREADGROUP block only with BLOCK <ms> before STREAMS.
      const StreamOptions o = stream_options(words);
      if (o.block == 0) return std::nullopt;
      if (o.block >= words.size()) return std::chrono::milliseconds(0);
      return or_forever(parse_time(words[o.block], 1.0));
    }
    case KeySpec::numkeys:
      // BLMPOP / BZMPOP timeout numkeys key ...: seconds, before the keys.
      return or_forever(parse_time(words[1], 1000.0));
    case KeySpec::none:
      // WAIT numreplicas timeout: milliseconds.
      if (words.size() < 3) return std::chrono::milliseconds(0);
      return or_forever(parse_time(words[2], 1.0));
    default:
      // BLPOP/BRPOP/BZPOP*/BLMOVE/BRPOPLPUSH: the timeout, in seconds, is the last argument.
      return or_forever(parse_time(words.back(), 1000.0));
  }
}

std::optional<std::string_view> single_key(std::span<const std::string_view> words,
                                           const CommandInfo* info) noexcept {
  if (info != nullptr && info->keys == KeySpec::range && info->first == info->last &&
      info->first > 0 && static_cast<std::size_t>(info->first) < words.size()) {
    return words[static_cast<std::size_t>(info->first)];
  }
  return std::nullopt;
}

std::string_view state_hint(const CommandInfo& info) noexcept {
  const std::string_view n = info.name;
  if ((info.flags & kPubSub) != 0) {
    return "it would put a connection other callers share into subscriber mode; use "
           "Client::subscribe() or AsyncClient::subscribe(), which give subscriptions a "
           "connection of their own";
  }
  if ((info.flags & kStateful) == 0) return {};
  if (n == "MULTI" || n == "EXEC" || n == "DISCARD" || n == "WATCH" || n == "UNWATCH") {
    return "a transaction sent command by command would capture other callers' commands; use "
           "Client::transaction() (watch(), command(), exec()) or AsyncClient::transaction()";
  }
  if (n == "SELECT") {
    return "it would switch the database of a connection other callers share; set the "
           "topology's \"database\" field (every connection SELECTs it when it opens)";
  }
  if (n == "AUTH" || n == "HELLO") {
    return "connections authenticate when they open; set the topology's \"auth\" field "
           "(flyshard speaks RESP2)";
  }
  if (n == "QUIT" || n == "RESET") {
    return "it would close or reset a connection other callers share; destroy the Client to "
           "close its connections";
  }
  return "it would change the state of a connection other callers share, and flyshard has "
         "no API for it";
}

}  // namespace flyshard::detail
