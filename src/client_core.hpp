#pragma once
// What Client, AsyncClient, Pipeline and Transaction share: the topology, the nodes, the
// router, the engine, and the two ways to run a request (handed to the loop, or on the
// caller's thread over a pooled blocking connection).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "command_table.hpp"
#include "flyshard/client.hpp"
#include "health/checker.hpp"
#include "health/node_health.hpp"
#include "health/sentinel_watcher.hpp"
#include "io/engine.hpp"
#include "log.hpp"
#include "reshard/guard_script.hpp"
#include "reshard/reshard_view.hpp"
#include "routing/node.hpp"
#include "routing/router.hpp"

namespace flyshard::detail {

/// One node's share of a blocking batch.
struct BlockingJob {
  Node* node = nullptr;
  std::string payload;
  std::uint32_t replies = 0;
  std::vector<Reply> out;  // the replies, in order
  errc error{};            // set when the node failed; `out` is then incomplete
  std::string message;
  bool reuse = true;  // false: close the connection afterwards (see ClientCore::execute)
};

class ClientCore {
 public:
  /// The most shards a layout may have (the parked-write counters are sized once).
  static constexpr std::size_t kMaxShards = 4096;
  ClientCore(Topology topology, ClientOptions options);
  ~ClientCore();

  const Topology& topology() const noexcept { return topology_; }
  const ClientOptions& options() const noexcept { return options_; }
  const Router& router() const noexcept { return *router_; }
  Engine& engine() noexcept { return *engine_; }
  const Logger& log() const noexcept { return log_; }

  /// The shard of a command's keys inside a batch that has a shard of its own (MULTI/EXEC,
  /// write_and_wait, WATCH): nullopt for a keyless command. Throws before anything is sent:
  /// cross_shard when the keys span shards, unknown_command for a command the table does not
  /// know, config for one that changes the connection's state (WATCH aside, which
  /// Transaction::watch routes through here). During a migration (lease fencing, not the
  /// cutover) a write of moving keys passes: a caller that sends writes must record them with
  /// batch_record().
  std::optional<std::size_t> shard_of(std::span<const std::string_view> words) const;
  /// The node a command of command()/pipeline() goes to. Throws like shard_of, and config for
  /// a keyless command (PING, ECHO and TIME aside: the first shard). Throws shard_unavailable
  /// when no node of the shard may serve it (blocking writes first wait up to
  /// wait_for_promotion).
  Node& route(std::span<const std::string_view> words, std::optional<ReadFrom> read_from = {},
              bool may_wait = true) const {
    return *route_with_key(words, read_from, may_wait).node;
  }
  struct Route {
    Node* node = nullptr;
    std::size_t affinity = kAnyConnection;  // which of the node's connections
    bool read = false;                      // may be served by a replica / sent again
    /// Set for a command that blocks its connection: its own block time (0 = forever).
    std::optional<std::chrono::milliseconds> blocks;
    /// False for a command the table does not know (command_routed): its connection is not
    /// pooled afterwards.
    bool known = true;
    /// Set when the table routed by holds a topology record (online resharding).
    std::shared_ptr<const RoutingTable> table;
    std::vector<std::string_view> keys;  // the command's keys, when `table` is set
    bool script = false;                 // EVAL/EVALSHA, when `table` is set
  };
  Route route_with_key(std::span<const std::string_view> words,
                       std::optional<ReadFrom> read_from = {}, bool may_wait = false) const;
  /// route_with_key() whose wait for a primary ends at `wait_until` (a past or zero time:
  /// no wait): a batch (Pipeline, a multi-key call) computes one deadline for all its parts,
  /// so that it waits wait_for_promotion once, not once per command.
  Route route_until(std::span<const std::string_view> words, Clock::time_point wait_until,
                    std::optional<ReadFrom> read_from = {}) const;
  /// now + wait_for_promotion: the deadline of one call's wait for a primary.
  Clock::time_point promotion_deadline() const;
  /// A `wait_until` that means promotion_deadline() from the moment a wait begins: a call
  /// that finds its node at once (nearly every call) reads no clock for it.
  static constexpr Clock::time_point kWaitFromNow = Clock::time_point::max();
  /// command_routed: the shard of `routing_key`, for any command (an unknown one too: it is
  /// then a write). Every key the table knows must map to that shard (else cross_shard);
  /// connection-state commands are refused (config).
  Route route_by(std::string_view routing_key, std::span<const std::string_view> words,
                 std::optional<ReadFrom> read_from = {}, bool may_wait = false) const;
  /// command_on_shard / command_on_all: throws config for a command that would change the
  /// state of a pooled connection. Returns the command's entry; nullptr for one the table
  /// does not know, which passes (the caller chose the shard).
  const CommandInfo* check_for_shard(std::span<const std::string_view> words) const;
  /// The node for shard `shard` now; throws shard_unavailable like route().
  Node& node_for_shard(std::size_t shard, bool write, bool may_wait,
                       std::optional<ReadFrom> read_from = {}) const;
  /// The same, waiting for a primary until `wait_until` at most.
  Node& node_for_shard(std::size_t shard, bool write, Clock::time_point wait_until,
                       std::optional<ReadFrom> read_from = {}) const;
  /// The same on a routing table the caller already holds (one snapshot per request).
  Node& node_for_shard(const RoutingTable& table, std::size_t shard, bool write,
                       Clock::time_point wait_until, std::optional<ReadFrom> read_from = {}) const;

  /// Async: hands the request to the loop. `cb` runs once on the loop thread. Requests with
  /// the same affinity use the same connection of the node, so one caller's commands on one
  /// key stay in order even with several connections per node.
  void submit(Node& node, std::string payload, std::uint32_t replies, ReplyHandler cb,
              std::size_t affinity = kAnyConnection);
  /// submit() for a batch whose every reply the caller needs (write_and_wait): `cb` gets them
  /// all, in order, as one array, error replies as its elements. The deadline is
  /// request_timeout + `extra_wait` (WAIT's own timeout); requests queued behind it on the
  /// link may then time out up to `extra_wait` late (a sweep stops at the first live request),
  /// which costs them nothing: their replies come after the batch's anyway.
  void submit_all(Node& node, std::string payload, std::uint32_t replies,
                  std::chrono::milliseconds extra_wait, ReplyHandler cb);
  /// Async: routes and submits one command. A write to a shard with no usable primary waits
  /// (parked on the loop) up to wait_for_promotion, like a blocking write does.
  /// With `routing_key`, routed by it as route_by() does.
  void submit_command(std::span<const std::string_view> words, ReplyHandler cb,
                      std::optional<ReadFrom> read_from = {},
                      std::optional<std::string_view> routing_key = std::nullopt);
  /// Async: completes `cb` with an error on the loop thread (never inside this call).
  void submit_error(errc code, std::string message, ReplyHandler cb);

  /// Blocking, on the caller's thread: sends `payload`, returns its last reply (an error
  /// reply becomes errc::server_error).
  /// An idempotent request (a read) that fails on a reused pooled link the server had closed
  /// is sent once more on a fresh link.
  /// `extra_wait` lengthens the deadline for a command that blocks by design (BLPOP ...);
  /// nullopt ms-value 0 means no deadline at all (the caller asked to wait forever).
  /// `reuse` false closes the connection afterwards instead of pooling it: for a command the
  /// table does not know, which may have changed the connection's state or left replies.
  Result<Reply> execute(Node& node, std::string_view payload, std::uint32_t replies = 1,
                        bool idempotent = false,
                        std::optional<std::chrono::milliseconds> extra_wait = std::nullopt,
                        bool reuse = true);
  /// Blocking, several nodes at once (one job per node); each job gets all its replies.
  void execute_many(std::span<BlockingJob> jobs);

  /// A blocking connection to `node`, from the pool or newly opened.
  Result<std::unique_ptr<BlockingConnection>> lease(Node& node);
  /// Returns a leased connection; a failure (error set) drops it and the node's idle ones.
  void release(Node& node, std::unique_ptr<BlockingConnection> conn, errc error);

  ClientStats stats() const;

  // Online resharding (topology_follow.cpp, write_fence.cpp).
  /// The epoch of the topology record routed by; 0 when no primary holds a record.
  std::uint64_t topology_epoch() const noexcept;
  /// The layout routed by now: the record's, or the config file's without a record.
  Topology current_layout() const;
  std::optional<Topology> migration_target() const;
  /// Times the client swapped its routing to a newer record.
  std::uint64_t topology_changes() const noexcept { return topology_changes_.load(); }
  /// How a request on `keys` must go under `table`'s record. `plain` for everything when the
  /// table has no record.
  /// `record`: a write the guard cannot wrap (a script) of moving keys, or of any keys under
  /// strict fencing: sent checked and recorded, WATCH, the check, MULTI, the command, SADD of
  /// `moving` (when any) to the dirty set, EXEC (guard_script.hpp, append_recorded).
  enum class FenceKind : std::uint8_t { plain, guard, frozen, record };
  struct Fence {
    FenceKind kind = FenceKind::plain;
    std::vector<std::string_view> moving;  // guard, record: the keys that move (dirty set)
    std::vector<std::string_view> others;  // guard: the other keys
  };
  /// Throws cross_shard when the keys mix moving and staying keys, or moving keys bound for
  /// two target shards, during a migration.
  /// `script`: EVAL/EVALSHA, which the guard cannot wrap (a script may not call EVAL): a
  /// write on moving keys, or on any keys under strict fencing, is `record`ed.
  Fence fence_for(const RoutingTable& table, std::span<const std::string_view> keys, bool read,
                  bool script = false) const;
  /// Lease fencing: has the client read the record within its lease? (any thread; one clock
  /// read). Always true without a record or under strict fencing.
  bool lease_valid(const RoutingTable& table) const noexcept;
  /// Asks for a record read now and waits (caller's thread) until `done` holds after a read,
  /// or `until` passes. Returns done()'s last verdict.
  bool wait_for_record(Clock::time_point until, const std::function<bool()>& done);
  /// After a recorded write's check refused `epoch` (nothing ran): false once `until` has
  /// passed; else asks for a read and waits briefly for a newer epoch, then true (send it
  /// again). Not only until the epoch moves: the refusing primary's record may be the one
  /// behind (the migrator writes the primaries one after another).
  bool retry_after_refused_check(Clock::time_point until, std::uint64_t epoch);
  /// Asks the loop for a record read at its next sweep (any thread).
  void want_record() const noexcept { record_wanted_.store(true, std::memory_order_relaxed); }
  /// A pipelined command under a topology record: the guard's EVALSHA words for a guarded
  /// write, `words` otherwise. Throws errc::migrating where command() would wait.
  /// A recorded write (FenceKind::record) returns `words`, sets `recorded` and sets `record`
  /// to the SADD words (record_words; empty when no key moves) the caller sends with them via
  /// append_recorded(record_check(epoch)); `recorded` is false otherwise. The views point
  /// into `words` and `scratch`.
  std::vector<std::string_view> pipeline_words(const Route& route,
                                               std::span<const std::string_view> words,
                                               std::vector<std::string>& scratch,
                                               std::vector<std::string_view>& record,
                                               bool& recorded) const;
  /// The check a recorded write by this client under `epoch` makes (guard_script.hpp).
  RecordCheck record_check(std::uint64_t epoch) const noexcept { return {epoch, fence_key_}; }
  /// A batch with a shard of its own (MULTI/EXEC, write_and_wait) under a topology record:
  /// the check to send before its MULTI and the SADD of the moving keys its writes touch, to
  /// send inside MULTI/EXEC with them (checked and recorded like a script, guard_script.hpp).
  /// nullopt when none of its writes touches a moving key (or there is no migration) and
  /// fencing is lease; under strict fencing every writing batch is checked. Throws
  /// errc::migrating (retriable) where the batch would have to wait: an expired lease, frozen
  /// keys (cutover); cross_shard when the batch's keys mix moving and staying keys or move to
  /// two shards (once the flip is done they would span shards). Its EXEC answers nil when the
  /// check refuses (errc::migrating for a batch without WATCHed keys of its caller's).
  struct BatchRecord {
    RecordCheck check;
    std::string dirty_key;
    std::vector<std::string> moving;  ///< empty: a checked batch without SADD (strict)
    /// Appends the check (kRecordCheckReplies replies), to send before MULTI.
    std::uint32_t append_check(std::string& payload) const;
    /// Appends SADD dirty_key moving... (1 reply), to send before EXEC; nothing (0) when no key
    /// moves.
    std::uint32_t append_sadd(std::string& payload) const;
    bool sadd() const noexcept { return !moving.empty(); }
  };
  std::optional<BatchRecord> batch_record(
      const std::vector<std::vector<std::string>>& commands) const;
  /// Which keys of a multi-key call under `table` must go alone, each fenced as a single
  /// command (split_keys' `alone`; empty: none, the whole call goes by shard). None for a
  /// read: reads are never fenced, and until the flip the source holds every moving key. For
  /// a write: the keys that move while a migration runs (the others go by shard, as with no
  /// migration: their path and cost do not change), every key under strict fencing or with
  /// an expired lease.
  std::vector<bool> one_by_one(const RoutingTable& table, const std::vector<std::string>& keys,
                               bool write) const;
  std::vector<bool> one_by_one(const RoutingTable& table,
                               const std::vector<std::pair<std::string, std::string>>& pairs) const;
  /// Blocking: runs one command by `route`, through the guard or after waiting for the cutover
  /// as the record says. `words` are the caller's; `routed`: its route, when the caller
  /// has one already (routed again after a wait).
  Result<Reply> run_fenced(std::span<const std::string_view> words,
                           std::optional<ReadFrom> read_from,
                           std::optional<std::string_view> routing_key,
                           std::optional<Route> routed = std::nullopt);

  /// The outcome of a request to `node` (any thread): passive health.
  /// `message`: the server's error text for errc::server_error (READONLY, LOADING and
  /// MASTERDOWN ask for a role check of the node now).
  void on_result(Node& node, errc code, std::string_view message = {});
  /// A connect to `node` failed (any thread).
  void on_connect_failure(Node& node);

 private:
  // Where a command came from: command()/pipeline()/async (keyless commands refused), a
  // batch with a shard of its own (keyless ones go along; WATCH allowed), or command_routed
  // (the caller's key decides the shard).
  enum class Use { command, batch, routed };
  struct Routing {
    std::shared_ptr<const RoutingTable> table;  // the snapshot the request is routed by
    const CommandInfo* info = nullptr;          // nullptr: unknown (routed)
    std::optional<std::size_t> shard;           // nullopt: keyless (batch)
    std::size_t affinity = kAnyConnection;
    bool read = false;
    std::optional<std::chrono::milliseconds> blocks;
    std::vector<std::string_view> keys;  // filled only when `table` holds a topology record
    bool script = false;                 // EVAL/EVALSHA (the same)
  };
  Routing classify(std::span<const std::string_view> words, Use use,
                   std::string_view routing_key = {}) const;
  Routing classify_keys(std::span<const std::string_view> words, Use use,
                        std::string_view routing_key) const;
  /// classify() for the async face: a refusal completes `cb` with its error and returns a
  /// Routing without table.
  Routing classify_or_fail(std::span<const std::string_view> words,
                           std::optional<std::string_view> routing_key, ReplyHandler& cb);
  struct Parked {
    std::uint64_t table_epoch;  // the routing table's: a layout change fails it (retriable)
    std::size_t shard;
    std::size_t affinity;
    std::string payload;
    std::uint32_t replies = 1;  // the payload's (a recorded script: recorded_replies())
    ReplyHandler cb;
    Clock::time_point until;
  };
  void retry_parked(Clock::time_point now);
  /// submit_command() under a topology record: guarded, recorded or refused as it says.
  void submit_fenced(const Routing& c, std::span<const std::string_view> words, ReplyHandler&& cb,
                     std::optional<ReadFrom> read_from);
  /// The rest of submit_command(): to the node `c` routes to now, or parked until its shard
  /// has a primary. `payload` null: the engine encodes `words` (one reply).
  void send_or_park(const Routing& c, std::span<const std::string_view> words, std::string* payload,
                    std::uint32_t replies, ReplyHandler&& cb, std::optional<ReadFrom> read_from);
  /// A request to `node` with its deadline and the pending bound checked (no payload yet).
  Request make_request(Node& node, std::uint32_t replies, ReplyHandler&& cb, std::size_t affinity);
  void on_switch_master(std::size_t shard, const NodeAddress& address, const char* why);
  /// The node at `address` (as Sentinel announces it), created (or brought back from
  /// retirement) if need be.
  Node* node_at(const NodeAddress& address, std::size_t shard);
  /// An address Sentinel announced for `shard`, with the credentials, database and TLS flag
  /// of the shard's configured primary (Sentinel announces only ip and port).
  NodeAddress as_configured(std::size_t shard, const NodeAddress& announced) const;
  /// Sets the node's handshake: AUTH, CLIENT SETNAME, SELECT (see append_handshake).
  void prepare_handshake(Node& node) const;
  /// Sentinel's latest answers name `replicas` as the shard's replicas (loop thread): adds
  /// the new ones, retires those that left.
  void sync_replicas(std::size_t shard, const std::vector<NodeAddress>& replicas);
  /// Takes a replica that left the topology out of routing, checks, stats; parks its links.
  void retire(std::size_t shard, Node& node);
  /// retire()'s second half: the node left routing (a replica Sentinel dropped, or a shard
  /// a new layout dropped).
  void retire_node(Node& node);
  static std::string random_client_id();
  /// Undoes retire() for a node announced again (loop thread); the caller routes it.
  void revive(Node& node);
  void on_check(Node& node, std::optional<ReplicationInfo> info, std::chrono::nanoseconds rtt);
  void on_state_change(Node& node, bool up);
  // Online resharding (topology_follow.cpp).
  /// The newest record on the configured primaries (constructor, blocking); nullopt: none.
  std::optional<TopologyRecord> read_record_at_start();
  /// Sweep: starts a record read when the health round or a caller asks for one.
  void record_tick(Clock::time_point now);
  /// Routes by `record` from now on (loop thread).
  void apply_record(const TopologyRecord& record);
  /// Appends this client's registration at `view`'s epoch (SET with the lease, SADD to the
  /// registry); returns the number of replies.
  std::uint32_t append_registration(std::string& out, const ReshardView& view) const;
  /// Registers the epoch routed by now on every primary of the layout (loop thread).
  void register_epoch();
  /// The library's own requests on `node` (the record's reads, this client's registration;
  /// loop thread): sent like submit()'s, but kept out of the node's stats and pending bound,
  /// as the health checks are, so that ClientStats count what the program asked for (a poll
  /// round every second added one request per primary to them).
  void submit_internal(Node& node, std::string_view payload, std::uint32_t replies, ReplyHandler cb,
                       std::size_t affinity);
  /// Router entries for `layout`'s shards, nodes found or created (loop thread or ctor).
  std::vector<Router::ShardInit> shard_inits(const Topology& layout);

  /// A node at `a` with the data nodes' TLS settings.
  std::unique_ptr<Node> make_node(const NodeAddress& a, std::size_t shard, bool primary) const;

  Topology topology_;
  ClientOptions options_;
  Logger log_;
  mutable std::mutex nodes_mu_;               // nodes_ grows on the loop thread (Sentinel)
  std::vector<std::unique_ptr<Node>> nodes_;  // before engine_: outlives it
  std::vector<Parked> parked_;                // loop thread: async writes waiting for a primary
  // Per shard: async writes parked or on their way to parked_ (any thread reads it: a write
  // to a shard with parked writes parks behind them).
  std::unique_ptr<std::atomic<std::size_t>[]> parked_count_;  // kMaxShards entries
  std::unique_ptr<Router> router_;
  std::shared_ptr<const TlsContext> tls_;  // the data nodes' TLS; null: plain TCP
  // Per shard name, the primary as the topology file gave it.
  std::unordered_map<std::string, NodeAddress> configured_primaries_;
  // Before engine_: its sentinel nodes own connections the engine runs.
  std::unique_ptr<SentinelWatcher> sentinel_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HealthChecker> health_;

  // Following the topology record.
  std::string fence_key_;                        // kFenceKeyPrefix + client_id_ (the check's)
  std::string client_id_;                        // "flyshard:client:<id>" registration key's id
  std::atomic<std::int64_t> record_read_ns_{0};  // steady clock, start of the last good read
  mutable std::atomic<bool> record_wanted_{false};
  std::atomic<std::uint64_t> topology_changes_{0};
  bool record_round_out_ = false;          // loop thread
  Clock::time_point next_record_round_{};  // loop thread
  std::mutex record_mu_;                   // with record_cv_: a read finished
  std::condition_variable record_cv_;
  std::uint64_t record_rounds_ = 0;          // guarded by record_mu_
  std::uint64_t layout_since_ = 0;           // loop thread: table epoch of the last layout change
  std::shared_ptr<SubscriptionState> hint_;  // "flyshard:topology" on every primary
};

/// A core shared by the faces (Client, AsyncClient copies, Pipeline, Transaction). Its
/// deleter stops the engine: from any thread at once, and when the last owner goes on the
/// loop thread (a callback destroying its Client), on a thread of its own, since the loop
/// thread cannot join itself nor free the loop it is running.
std::shared_ptr<ClientCore> make_core(Topology topology, ClientOptions options);

/// Pub/Sub: moves `from`'s channel subscriptions to `to` after a failover (loop thread).
void move_subscriptions(Engine& engine, Node& from, Node& to);

/// Pub/Sub: moves one channel's subscribers from `from` to `to` (loop thread): the channel's
/// shard changed with a new layout.
void move_channel(Engine& engine, Node& from, Node& to, const std::string& channel);
/// A subscription of the library's own (no Subscription handle): `handler` runs on the loop.
std::shared_ptr<SubscriptionState> make_internal_subscription(
    std::function<void(std::string_view, std::string_view)> handler);
/// Subscribes `state` to `channel` on `node` itself, whatever shard the channel hashes to
/// (loop thread); nothing when it already is.
void subscribe_node(Engine& engine, Node& node, const std::string& channel,
                    const std::shared_ptr<SubscriptionState>& state);

/// The words of SET key value [PX ms] [NX|XX]; `ms` holds the TTL's text.
std::vector<std::string_view> set_words(std::string_view key, std::string_view value,
                                        const SetOptions& options, std::string& ms);

/// An error reply that says the node is not what the routing table thinks (READONLY,
/// LOADING, MASTERDOWN): its role is checked at once.
bool says_role_changed(std::string_view message);

/// Throws flyshard::Error for a failed result; returns the reply otherwise.
Reply value_or_throw(Result<Reply> r);

}  // namespace flyshard::detail

namespace flyshard::detail {

/// A blocking connection held by one Transaction between WATCH and EXEC.
class BlockingLease {
 public:
  BlockingLease(ClientCore& core, Node& node, std::unique_ptr<BlockingConnection> conn)
      : core_(core), node_(node), conn_(std::move(conn)) {}
  ~BlockingLease() { core_.release(node_, std::move(conn_), broken_ ? errc::timeout : errc{}); }
  Node& node() const noexcept { return node_; }
  /// Sends `payload`, returns all `replies` replies; on failure the lease is broken and the
  /// connection is dropped when the lease ends. The deadline is request_timeout +
  /// `extra_wait` (exec_and_wait: WAIT's own timeout).
  Result<std::vector<Reply>> exchange(std::string_view payload, std::uint32_t replies,
                                      std::chrono::milliseconds extra_wait = {});

 private:
  ClientCore& core_;
  Node& node_;
  std::unique_ptr<BlockingConnection> conn_;
  bool broken_ = false;
};

}  // namespace flyshard::detail
