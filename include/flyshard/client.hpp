#pragma once
/// \file client.hpp
/// Client (blocking, thread-safe) and AsyncClient (callbacks on the loop thread).

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flyshard/args.hpp"
#include "flyshard/durability.hpp"
#include "flyshard/error.hpp"
#include "flyshard/options.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"
#include "flyshard/scan.hpp"
#include "flyshard/stats.hpp"
#include "flyshard/streams.hpp"
#include "flyshard/topology.hpp"

namespace flyshard {

namespace detail {
class ClientCore;
class BlockingLease;
}  // namespace detail

/// A multi-key command split over shards and merged back.
struct MultiKeyReply {
  /// Merged reply: MGET an array in the caller's key order (nil where the key's shard
  /// failed); DEL/EXISTS/UNLINK/TOUCH the sum of the shards that answered; MSET "OK".
  Reply reply;
  /// Per key, in the caller's order: the error of the key's shard, or nullopt when it
  /// answered.
  std::vector<std::optional<errc>> key_errors;
  /// The first failure's message; empty when every shard answered.
  std::string error_message;
  /// True when every shard answered.
  bool ok() const noexcept { return error_message.empty(); }
};

/// Options of SET.
struct SetOptions {
  std::chrono::milliseconds ttl{0};  ///< expiry; 0 (default) means none
  bool only_if_absent = false;       ///< NX
  bool only_if_present = false;      ///< XX
};

/// Callback of an async request: runs exactly once, on the loop thread, never inside the
/// call that made the request. It must not block; exceptions it throws are logged and
/// dropped.
template <typename T>
using Callback = std::function<void(Result<T>)>;

/// Receives a published message: (channel, message). Runs on the loop thread.
using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;

/// A live subscription; unsubscribes when destroyed or by unsubscribe(). Movable. It may
/// outlive its Client: delivery then has stopped, and unsubscribe() does nothing.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&&) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  ~Subscription();
  /// Stops delivery; after it returns, the handler is never called again.
  void unsubscribe();
  bool active() const noexcept { return static_cast<bool>(state_); }

  struct State;  ///< implementation detail

 private:
  friend class AsyncClient;
  explicit Subscription(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

/// The async face of a Client: the same engine, router and stats. A copy shares the
/// client's engine and keeps it running after the Client is destroyed, until the last copy
/// (and every Pipeline, Transaction made from the client) is gone.
class AsyncClient {
 public:
  /// Any command the command table knows, routed by its keys (every key: keys that span
  /// shards fail with errc::cross_shard before sending; use the split helpers below).
  /// Refused before sending: a command the table does not know (errc::unknown_command: use
  /// command_routed), a keyless one (errc::config: use Client::command_on_all /
  /// command_on_shard or command_routed; PING, ECHO and TIME go to the first shard), one that
  /// would change the shared connection's state (SUBSCRIBE, MULTI, WATCH, SELECT, HELLO,
  /// AUTH, QUIT, RESET, MONITOR ...: errc::config naming the API to use) and one that blocks
  /// (BLPOP, XREAD BLOCK ...: errc::config; use the blocking Client). PUBLISH is routed by
  /// its channel, as publish() and subscribe() are.
  void command(Args args, Callback<Reply> cb);
  /// The same with a read policy for this call (a write still goes to the primary).
  void command(Args args, ReadFrom read_from, Callback<Reply> cb);
  /// The same, as a future; get() throws flyshard::Error.
  std::future<Reply> command(Args args);
  /// Any command (one the table does not know too) on the shard of `routing_key`, which is
  /// not sent. Keys the table knows must map to that shard (else errc::cross_shard); a
  /// command the table does not know counts as a write. Connection-state and blocking
  /// commands are refused as by command(). An unknown command travels on the shared link, so
  /// it must answer once and leave the connection as it found it (the blocking
  /// Client::command_routed closes its connection afterwards instead).
  void command_routed(std::string_view routing_key, Args args, Callback<Reply> cb);
  /// The same, as a future.
  std::future<Reply> command_routed(std::string_view routing_key, Args args);

  void get(std::string_view key, Callback<std::optional<std::string>> cb);
  void set(std::string_view key, std::string_view value, Callback<bool> cb,
           const SetOptions& options = {});

  /// command() with the reply converted by Reply::as<T>() (e.g. long long, std::string,
  /// std::vector<std::string>, std::map<std::string, std::string>): an error reply completes
  /// with errc::server_error, a reply of another shape with errc::protocol_error.
  template <typename T>
  void command_as(Args args, Callback<T> cb) {
    command(args, [cb = std::move(cb)](Result<Reply> r) {
      std::optional<Result<T>> out;
      if (!r.ok()) {
        out.emplace(r.error(), r.message());
      } else {
        try {
          out.emplace(r.value().template as<T>());
        } catch (const Error& e) {
          out.emplace(e.value(), e.what());
        }
      }
      cb(std::move(*out));  // outside the try: an exception of cb's own is not a reply's
    });
  }

  // Typed helpers, as on the blocking Client (callbacks as for command()).
  void incr(std::string_view key, long long by, Callback<long long> cb);
  void hget(std::string_view key, std::string_view field, Callback<std::optional<std::string>> cb);
  void hset(std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
            Callback<long long> cb);
  void hgetall(std::string_view key, Callback<std::vector<std::pair<std::string, std::string>>> cb);
  void hincrby(std::string_view key, std::string_view field, long long by, Callback<long long> cb);
  /// PUBLISH on the shard the channel hashes to; the receiver count there.
  void publish(std::string_view channel, std::string_view message, Callback<long long> cb);
  /// EVAL on the shard of `keys` (all on one shard, else errc::cross_shard before sending).
  void eval(std::string_view script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, Callback<Reply> cb);
  /// EVALSHA, routed as eval(); NOSCRIPT completes with errc::server_error (see Script for
  /// the EVALSHA-then-EVAL helper).
  void evalsha(std::string_view sha1, const std::vector<std::string>& keys,
               const std::vector<std::string>& args, Callback<Reply> cb);
  /// SCRIPT LOAD on every shard's primary; the SHA1.
  void script_load(std::string_view script, Callback<std::string> cb);

  // Strings and expiry.
  void decr(std::string_view key, long long by, Callback<long long> cb);
  void incrbyfloat(std::string_view key, double by, Callback<double> cb);
  void append(std::string_view key, std::string_view value, Callback<long long> cb);
  void strlen(std::string_view key, Callback<long long> cb);
  void getdel(std::string_view key, Callback<std::optional<std::string>> cb);
  void expire(std::string_view key, std::chrono::seconds ttl, Callback<bool> cb);
  void pexpire(std::string_view key, std::chrono::milliseconds ttl, Callback<bool> cb);
  /// The remaining TTL; nullopt when the key has none or does not exist.
  void pttl(std::string_view key, Callback<std::optional<std::chrono::milliseconds>> cb);
  void persist(std::string_view key, Callback<bool> cb);
  // Hashes.
  void hdel(std::string_view key, const std::vector<std::string>& fields, Callback<long long> cb);
  void hlen(std::string_view key, Callback<long long> cb);
  // Lists.
  void lpush(std::string_view key, const std::vector<std::string>& values, Callback<long long> cb);
  void rpush(std::string_view key, const std::vector<std::string>& values, Callback<long long> cb);
  void lpop(std::string_view key, Callback<std::optional<std::string>> cb);
  void rpop(std::string_view key, Callback<std::optional<std::string>> cb);
  void lrange(std::string_view key, long long start, long long stop,
              Callback<std::vector<std::string>> cb);
  void llen(std::string_view key, Callback<long long> cb);
  // Sets.
  void sadd(std::string_view key, const std::vector<std::string>& members, Callback<long long> cb);
  void srem(std::string_view key, const std::vector<std::string>& members, Callback<long long> cb);
  void sismember(std::string_view key, std::string_view member, Callback<bool> cb);
  void smembers(std::string_view key, Callback<std::vector<std::string>> cb);
  void scard(std::string_view key, Callback<long long> cb);
  // Sorted sets.
  void zadd(std::string_view key, const std::vector<std::pair<double, std::string>>& members,
            Callback<long long> cb);
  void zscore(std::string_view key, std::string_view member, Callback<std::optional<double>> cb);
  void zrange(std::string_view key, long long start, long long stop,
              Callback<std::vector<std::string>> cb);
  void zrem(std::string_view key, const std::vector<std::string>& members, Callback<long long> cb);
  void zincrby(std::string_view key, double by, std::string_view member, Callback<double> cb);
  void zcard(std::string_view key, Callback<long long> cb);

  // Streams: the blocking Client's words and reply conversions (see flyshard/streams.hpp).
  /// XADD key [MAXLEN ~ max_len] id field value ...; the new entry's ID. `max_len` 0 means no
  /// trimming; `id` "*" lets the server choose.
  void xadd(std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
            Callback<std::string> cb, std::string_view id = "*", std::size_t max_len = 0);
  /// XGROUP CREATE key group start_id [MKSTREAM]; false when the group already exists
  /// (BUSYGROUP), true when it was created.
  void xgroup_create(std::string_view key, std::string_view group, Callback<bool> cb,
                     std::string_view start_id = "$", bool mkstream = true);
  /// XREADGROUP GROUP group consumer [COUNT count] STREAMS key id, never with BLOCK: a BLOCK
  /// would stall every other caller of the node's shared link (Client::xreadgroup with a
  /// block time waits on a connection of its own). `id` ">" reads new entries, "0" this
  /// consumer's pending ones; `count` 0 means no COUNT. Empty when nothing is there.
  void xreadgroup(std::string_view group, std::string_view consumer, std::string_view key,
                  Callback<std::vector<StreamEntry>> cb, std::string_view id = ">",
                  std::size_t count = 100);
  /// XACK key group id...; how many were acknowledged (0 at once for no IDs).
  void xack(std::string_view key, std::string_view group, const std::vector<std::string>& ids,
            Callback<long long> cb);
  /// XAUTOCLAIM key group consumer min_idle start [COUNT count]: takes over entries pending
  /// longer than `min_idle` (ms).
  void xautoclaim(std::string_view key, std::string_view group, std::string_view consumer,
                  std::chrono::milliseconds min_idle, Callback<AutoClaimed> cb,
                  std::string_view start = "0-0", std::size_t count = 100);
  void xlen(std::string_view key, Callback<long long> cb);
  /// XRANGE key start end [COUNT count]; `count` 0 means all.
  void xrange(std::string_view key, Callback<std::vector<StreamEntry>> cb,
              std::string_view start = "-", std::string_view end = "+", std::size_t count = 0);

  // Confirmed writes (flyshard/durability.hpp). The batch and WAIT leave as one contiguous
  // batch on the shard's shared link, so WAIT counts the replicas that acknowledged at least
  // these writes; while WAIT waits (up to ack.timeout, when replicas lag) the other callers
  // of that link wait behind it. The deadline is request_timeout + ack.timeout.
  /// Client::write_and_wait: `commands` (all keys on one shard, else errc::cross_shard before
  /// sending; a command that blocks: errc::config) then WAIT. Error replies are kept in
  /// `replies`; a transport error fails the call (the writes may have been applied).
  void write_and_wait(const std::vector<std::vector<std::string>>& commands, const ReplicaAck& ack,
                      Callback<AckedReplies> cb);
  /// MULTI, `commands`, EXEC, WAIT as one batch (Transaction::exec_and_wait without WATCH):
  /// EXEC's replies and WAIT's count. An aborted EXEC (EXECABORT) completes with
  /// errc::server_error; keys that span shards with errc::cross_shard before sending.
  void transaction_and_wait(const std::vector<std::vector<std::string>>& commands,
                            const ReplicaAck& ack, Callback<AckedReplies> cb);

  /// MGET over any keys (split per shard, merged in order). Any shard's failure fails the
  /// call (multi_key() gives the partial result instead).
  void mget(const std::vector<std::string>& keys,
            Callback<std::vector<std::optional<std::string>>> cb);
  /// DEL / EXISTS / UNLINK / TOUCH over any keys: the sum; any shard's failure fails the call.
  /// An empty list completes with 0, as on the blocking Client.
  void del(const std::vector<std::string>& keys, Callback<long long> cb);
  void exists(const std::vector<std::string>& keys, Callback<long long> cb);
  void unlink(const std::vector<std::string>& keys, Callback<long long> cb);
  void touch(const std::vector<std::string>& keys, Callback<long long> cb);

  /// A command on shard `shard`'s primary (index into Client::layout().shards; out of range:
  /// errc::config). Refused like Client::command_on_shard (connection-state commands) and,
  /// on the shared link, a command that blocks (errc::config).
  void command_on_shard(std::size_t shard, Args args, Callback<Reply> cb);
  /// A command on every shard's primary, in parallel; the replies in shard order. Any
  /// shard's failure fails the call with that shard's error.
  void command_on_all(Args args, Callback<std::vector<Reply>> cb);

  /// MGET/DEL/EXISTS/UNLINK/TOUCH over any keys: split per shard, sent in parallel, merged
  /// in the caller's order. `name` is the command name.
  void multi_key(std::string_view name, const std::vector<std::string>& keys,
                 Callback<MultiKeyReply> cb);
  /// MSET over any keys: pairs split per shard.
  void mset(const std::vector<std::pair<std::string, std::string>>& pairs,
            Callback<MultiKeyReply> cb);

  /// Commands for any keys; each shard's part leaves at once; replies in order.
  void pipeline(const std::vector<std::vector<std::string>>& commands,
                Callback<std::vector<Result<Reply>>> cb);
  /// MULTI + commands + EXEC written as one batch to one shard; errc::cross_shard before
  /// sending when the keys span shards. The result is EXEC's array.
  void transaction(const std::vector<std::vector<std::string>>& commands, Callback<Reply> cb);

  /// Subscribes to channels (each on the shard its name hashes to). Subscriptions are
  /// restored after a reconnect. The handler runs on the loop thread.
  Subscription subscribe(const std::vector<std::string>& channels, MessageHandler handler);

  /// Runs `fn` on the loop thread soon, never inside this call (any thread may call it). It
  /// must not block. Dropped once the client is shutting down. (Coroutines resume through it.)
  void post(std::function<void()> fn);

  /// SCAN over every shard as an AsyncScan (the keys batch by batch through next(cb)),
  /// shard after shard, each from cursor 0 on the node the read policy picks and its later
  /// batches on that same node, as Client::scan. Nothing is sent before the first next().
  AsyncKeyScan scan(const ScanOptions& options = {});
  /// HSCAN / SSCAN / ZSCAN of one key, on the key's primary (see Client::hscan).
  AsyncFieldScan hscan(std::string_view key, const ScanOptions& options = {});
  AsyncKeyScan sscan(std::string_view key, const ScanOptions& options = {});
  AsyncScoredScan zscan(std::string_view key, const ScanOptions& options = {});

 private:
  friend class Client;
  explicit AsyncClient(std::shared_ptr<detail::ClientCore> core) : core_(std::move(core)) {}
  std::shared_ptr<detail::ClientCore> core_;
};

class Client;

/// Commands collected for any keys and sent together (Client::pipeline()). Shares its
/// client's engine: it stays usable after the Client is destroyed.
class Pipeline {
 public:
  /// Adds a command; returns *this for chaining.
  Pipeline& command(Args args);
  std::size_t size() const noexcept { return commands_.size(); }
  /// Sends every shard's part at once; replies in the order the commands were added. The
  /// pipeline is empty afterwards.
  std::vector<Result<Reply>> execute();

 private:
  friend class Client;
  explicit Pipeline(std::shared_ptr<detail::ClientCore> core) : core_(std::move(core)) {}
  std::shared_ptr<detail::ClientCore> core_;
  std::vector<std::vector<std::string>> commands_;
};

/// MULTI/EXEC on one shard, optionally with WATCH (Client::transaction()). It holds a
/// dedicated connection from the time of watch() until exec()/discard()/destruction.
class Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  /// WATCHes keys now (they must map to the transaction's shard); throws Error.
  void watch(const std::vector<std::string>& keys);
  /// Runs a command now, outside the transaction (e.g. a read after WATCH).
  Reply read(Args args);
  /// Queues a command for EXEC; returns *this.
  Transaction& command(Args args);
  /// Sends MULTI, the queued commands and EXEC. Returns EXEC's replies, or nullopt when a
  /// WATCHed key changed. Throws errc::cross_shard (nothing sent) when keys span shards.
  std::optional<std::vector<Reply>> exec();
  /// exec(), then WAIT on the same connection in the same batch: EXEC's replies and how many
  /// replicas acknowledged them. nullopt when a WATCHed key changed.
  std::optional<AckedReplies> exec_and_wait(const ReplicaAck& ack);
  /// Drops the queued commands and UNWATCHes.
  void discard();

 private:
  friend class Client;
  explicit Transaction(std::shared_ptr<detail::ClientCore> core);
  std::shared_ptr<detail::ClientCore> core_;
  std::vector<std::vector<std::string>> commands_;
  std::vector<std::string> watched_;
  std::unique_ptr<detail::BlockingLease> lease_;
  std::optional<std::size_t> shard_;
};

/// The blocking client: thread-safe, every call may come from any thread. Errors are thrown
/// as flyshard::Error. Destruction completes every pending request with
/// errc::shutting_down, then returns.
///
/// Lifetimes: the engine (loop thread, connections) is shared by the Client, copies of its
/// AsyncClient, and its Pipelines and Transactions; it stops when the last of them is gone
/// (a Subscription does not keep it). A Client may be destroyed from inside one of its own
/// callbacks (on the loop thread): the destructor then returns at once, and the engine stops
/// on a thread of its own once that callback has returned, completing what is still pending
/// with errc::shutting_down.
class Client {
 public:
  /// Validates the topology (throws errc::config), starts the loop thread and opens
  /// connections in the background; the first calls wait for them.
  explicit Client(Topology topology, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// The async face of this client (same connections, router and stats).
  AsyncClient& async() noexcept { return async_; }

  /// Any command the command table knows, routed by its keys; refused before sending as
  /// AsyncClient::command says, except that blocking commands (BLPOP, XREAD BLOCK ...) run
  /// here, on a pooled connection of their own.
  Reply command(Args args);
  /// The same with a read policy for this call instead of ClientOptions::read_from.
  Reply command(Args args, ReadFrom read_from);
  /// Any command (one the table does not know too) on the shard of `routing_key` (see
  /// AsyncClient::command_routed); blocking commands run as with command().
  Reply command_routed(std::string_view routing_key, Args args);
  /// A keyless command (PING, DBSIZE, FLUSHDB, SCRIPT LOAD, ...) on every shard's primary;
  /// replies in shard order. Connection-state commands are refused (errc::config).
  std::vector<Reply> command_on_all(Args args);
  /// Any command on the primary of shard `shard` (index into layout().shards: the record's
  /// layout, or topology().shards without a record); its keys are not checked: the caller
  /// chose the shard. Connection-state commands are refused (errc::config); a blocking
  /// command may wait its own timeout, as with command().
  Reply command_on_shard(std::size_t shard, Args args);

  // Strings and counters.
  std::optional<std::string> get(std::string_view key);
  /// GET with a read policy for this call.
  std::optional<std::string> get(std::string_view key, ReadFrom read_from);
  /// SET; false when NX/XX prevented the write.
  bool set(std::string_view key, std::string_view value, const SetOptions& options = {});
  long long incr(std::string_view key, long long by = 1);
  long long decr(std::string_view key, long long by = 1);
  double incrbyfloat(std::string_view key, double by);
  long long append(std::string_view key, std::string_view value);
  long long strlen(std::string_view key);
  std::optional<std::string> getdel(std::string_view key);

  // Expiry.
  bool expire(std::string_view key, std::chrono::seconds ttl);
  bool pexpire(std::string_view key, std::chrono::milliseconds ttl);
  /// Remaining time to live; nullopt when the key has no expiry or does not exist.
  std::optional<std::chrono::milliseconds> pttl(std::string_view key);
  bool persist(std::string_view key);

  // Hashes.
  long long hset(std::string_view key,
                 const std::vector<std::pair<std::string, std::string>>& fields);
  std::optional<std::string> hget(std::string_view key, std::string_view field);
  std::vector<std::pair<std::string, std::string>> hgetall(std::string_view key);
  long long hdel(std::string_view key, const std::vector<std::string>& fields);
  long long hincrby(std::string_view key, std::string_view field, long long by);
  long long hlen(std::string_view key);

  // Lists.
  long long lpush(std::string_view key, const std::vector<std::string>& values);
  long long rpush(std::string_view key, const std::vector<std::string>& values);
  std::optional<std::string> lpop(std::string_view key);
  std::optional<std::string> rpop(std::string_view key);
  std::vector<std::string> lrange(std::string_view key, long long start, long long stop);
  long long llen(std::string_view key);

  // Sets.
  long long sadd(std::string_view key, const std::vector<std::string>& members);
  long long srem(std::string_view key, const std::vector<std::string>& members);
  bool sismember(std::string_view key, std::string_view member);
  std::vector<std::string> smembers(std::string_view key);
  long long scard(std::string_view key);

  // Sorted sets.
  long long zadd(std::string_view key, const std::vector<std::pair<double, std::string>>& members);
  std::optional<double> zscore(std::string_view key, std::string_view member);
  std::vector<std::string> zrange(std::string_view key, long long start, long long stop);
  long long zrem(std::string_view key, const std::vector<std::string>& members);
  double zincrby(std::string_view key, double by, std::string_view member);
  long long zcard(std::string_view key);

  // Multi-key commands, split per shard and merged in the caller's order. These throw the
  // first shard's error; the *_partial forms report per-key errors instead.
  std::vector<std::optional<std::string>> mget(const std::vector<std::string>& keys);
  void mset(const std::vector<std::pair<std::string, std::string>>& pairs);
  long long del(const std::vector<std::string>& keys);
  long long exists(const std::vector<std::string>& keys);
  long long unlink(const std::vector<std::string>& keys);
  long long touch(const std::vector<std::string>& keys);
  /// MGET/DEL/EXISTS/UNLINK/TOUCH (by `name`) with per-key errors; never throws for a
  /// failed shard.
  MultiKeyReply multi_key_partial(std::string_view name, const std::vector<std::string>& keys);
  /// MSET with per-key errors.
  MultiKeyReply mset_partial(const std::vector<std::pair<std::string, std::string>>& pairs);

  // Scripts: every key must map to one shard, else errc::cross_shard before sending.
  Reply eval(std::string_view script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args = {});
  Reply evalsha(std::string_view sha1, const std::vector<std::string>& keys,
                const std::vector<std::string>& args = {});
  /// SCRIPT LOAD on every shard; returns the SHA1.
  std::string script_load(std::string_view script);

  /// Sends `commands` (all their keys on one shard, else errc::cross_shard before anything is
  /// sent; keyless commands go to the first shard) to that shard's primary and then WAIT
  /// `ack.replicas` `ack.timeout`, as one batch on one connection, so that WAIT covers exactly
  /// these writes. Transport errors throw; error replies are returned in `replies`.
  AckedReplies write_and_wait(const std::vector<std::vector<std::string>>& commands,
                              const ReplicaAck& ack);

  // Streams (single key each; see flyshard/streams.hpp).
  /// XADD key [MAXLEN ~ max_len] id field value ...; returns the new entry's ID. `max_len`
  /// 0 (default) means no trimming; `id` "*" (default) lets the server choose.
  std::string xadd(std::string_view key,
                   const std::vector<std::pair<std::string, std::string>>& fields,
                   std::string_view id = "*", std::size_t max_len = 0);
  /// XGROUP CREATE key group start_id [MKSTREAM]; false when the group already exists
  /// (BUSYGROUP), true when it was created.
  bool xgroup_create(std::string_view key, std::string_view group, std::string_view start_id = "$",
                     bool mkstream = true);
  /// XREADGROUP GROUP group consumer [COUNT count] [BLOCK block] STREAMS key id. `id` ">"
  /// (default) reads new entries; "0" re-reads this consumer's pending ones. `block` 0
  /// (default) does not block; otherwise the call waits up to `block` for an entry (on its
  /// own pooled connection, past request_timeout by `block`). Empty when nothing came.
  std::vector<StreamEntry> xreadgroup(
      std::string_view group, std::string_view consumer, std::string_view key,
      std::string_view id = ">", std::size_t count = 100,
      std::chrono::milliseconds block = std::chrono::milliseconds(0));
  /// XACK key group id...; returns how many were acknowledged.
  long long xack(std::string_view key, std::string_view group, const std::vector<std::string>& ids);
  /// XAUTOCLAIM key group consumer min_idle start COUNT count: takes over entries pending
  /// longer than `min_idle` (left by a consumer that died).
  AutoClaimed xautoclaim(std::string_view key, std::string_view group, std::string_view consumer,
                         std::chrono::milliseconds min_idle, std::string_view start = "0-0",
                         std::size_t count = 100);
  /// XLEN key.
  long long xlen(std::string_view key);
  /// XRANGE key start end [COUNT count]; `count` 0 (default) means all.
  std::vector<StreamEntry> xrange(std::string_view key, std::string_view start = "-",
                                  std::string_view end = "+", std::size_t count = 0);

  /// PUBLISH on the shard the channel hashes to; returns the receiver count there.
  long long publish(std::string_view channel, std::string_view message);
  /// See AsyncClient::subscribe.
  Subscription subscribe(const std::vector<std::string>& channels, MessageHandler handler);

  /// A pipeline over this client.
  Pipeline pipeline() { return Pipeline(core_); }
  /// A transaction over this client.
  Transaction transaction() { return Transaction(core_); }
  /// An optimistic transaction, as go-redis Watch: WATCHes `keys`, calls `fn` (on this
  /// thread) to read with tx.read() and queue writes with tx.command(), then EXECs; when a
  /// WATCHed key changed before EXEC, it starts again with a fresh Transaction, up to
  /// `max_attempts` times in all, with a short random pause (0.1 ms doubling, at most 10 ms)
  /// before each retry. Returns EXEC's replies. After the last attempt it throws
  /// errc::watch_conflict. An exception from `fn` discards the transaction (UNWATCH) and
  /// propagates; nothing is retried then. Every key read or written must map to the shard of
  /// `keys` (errc::cross_shard otherwise). `max_attempts` below 1 counts as 1.
  std::vector<Reply> watch_transaction(const std::vector<std::string>& keys,
                                       const std::function<void(Transaction&)>& fn,
                                       int max_attempts = 16);

  /// SCAN over every shard in turn (shard order, each from cursor 0), as a range of keys:
  /// `for (const std::string& k : client.scan({.match = "user:*", .count = 1000}))`. One
  /// SCAN per batch, on the node ClientOptions::read_from picks for the shard when its cursor
  /// starts (a replica under replica / replica_preferred when one is eligible, else the
  /// primary); the shard's later batches stay on that node, since a cursor belongs to the
  /// node that issued it. A key may come more than once (see ScanRange); a replica's view may
  /// lag its primary by up to max_replica_lag; keys of a shard that fails throw from the
  /// iteration. The range must not outlive the Client.
  KeyRange scan(const ScanOptions& options = {});
  /// HSCAN key: (field, value) pairs, from the key's primary (see scan()).
  FieldRange hscan(std::string_view key, const ScanOptions& options = {});
  /// SSCAN key: members, from the key's primary.
  KeyRange sscan(std::string_view key, const ScanOptions& options = {});
  /// ZSCAN key: (member, score) pairs, from the key's primary.
  ScoredRange zscan(std::string_view key, const ScanOptions& options = {});

  /// The shard index (into layout().shards) that owns `key`.
  std::size_t shard_for(std::string_view key) const;
  /// The address that would serve `key` now (a write: the shard's primary).
  NodeAddress node_for(std::string_view key, bool write = true) const;
  /// The topology the client was built with (its config file).
  const Topology& topology() const noexcept;
  /// The epoch of the topology record the client routes by (online resharding: the newest
  /// it has read from the primaries); 0 when no primary holds a record, so the client routes
  /// by topology(). Any thread.
  std::uint64_t epoch() const noexcept;
  /// The layout the client routes by now: the record's (shards, distribution) or, without
  /// a record, topology(). A copy; any thread.
  Topology layout() const;
  /// While a migration moves keys (from its prepare phase to the flip): the layout it moves
  /// them to; nullopt otherwise. Keys that must stay on one shard in a transaction (no hash
  /// tag in common) must share a shard in both layout() and this one. A copy; any thread.
  std::optional<Topology> migration_target() const;
  /// A snapshot of every node's counters.
  ClientStats stats() const;

 private:
  std::shared_ptr<detail::ClientCore> core_;
  AsyncClient async_;
};

}  // namespace flyshard
