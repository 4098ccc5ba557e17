#pragma once
// Key -> shard (the Distribution) -> node (role, read policy, health), through one immutable
// routing table behind one atomic pointer. The table changes under failover (Sentinel
// re-points a shard) and, with the cache failure policy, when a shard goes down; readers on
// any thread see each change as a whole.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/distribution.hpp"
#include "flyshard/options.hpp"

namespace flyshard::detail {

struct Node;
struct ReshardView;

/// Where keys go while some shards are out (cache policy). A key keeps its shard unless that
/// shard is out; only then is it placed again, over the live shards. So the keys of live
/// shards never move, whatever the algorithm (rebuilding one distribution over the live
/// shards would move some of them too: a few with maglev, many with jump).
struct Placement {
  Distribution distribution;          // the full layout
  std::vector<bool> out;              // empty: every shard is in
  std::optional<Distribution> live;   // over the live shards, when some are out
  std::vector<std::size_t> to_shard;  // live index -> shard index
  std::size_t shard_for(std::string_view key) const noexcept {
    const std::size_t s = distribution.shard_for(key);
    if (out.empty() || !out[s] || !live) return s;
    return to_shard[live->shard_for(key)];
  }
};

/// One shard as the routing table sees it now.
struct ShardRoute {
  std::string name;
  std::uint32_t weight = 1;
  Node* primary = nullptr;
  std::vector<Node*> replicas;
};

/// The whole routing table: an immutable value. A change (failover, a replica added, a shard
/// out under the cache policy) builds a new table with the next epoch and swaps it in; a
/// request reads the table once and routes by that one snapshot, so it never mixes two
/// layouts (online resharding swaps the layout the same way, without touching the I/O).
struct RoutingTable {
  std::uint64_t epoch = 0;  // counts this client's table changes (not the topology epoch)
  std::shared_ptr<const Placement> placement;  // key -> shard
  std::vector<ShardRoute> shards;              // shard -> nodes
  /// The topology record this table routes by (its epoch, phase, target and fencing); null
  /// when no primary holds one (never initialised: route by the config file, epoch 0). The
  /// write path tests this one pointer: without a record it costs nothing more.
  std::shared_ptr<const ReshardView> reshard;
  std::size_t shard_for(std::string_view key) const noexcept { return placement->shard_for(key); }
};

class Router {
 public:
  struct ShardInit {
    std::string name;
    std::uint32_t weight;
    Node* primary;
    std::vector<Node*> replicas;
  };
  Router(Distribution distribution, std::vector<ShardInit> shards, ReadFrom read_from,
         FailurePolicy policy, DistributionOptions distribution_options = {});

  /// The routing table now (any thread): read it once per request.
  std::shared_ptr<const RoutingTable> table() const noexcept {
    return table_.load(std::memory_order_acquire);
  }
  /// The shard that owns `key` now (with the cache policy: among the live shards).
  std::size_t shard_for(std::string_view key) const noexcept { return table()->shard_for(key); }
  /// The placement now (cheap to hold; used to split many keys consistently).
  std::shared_ptr<const Placement> placement() const { return table()->placement; }
  /// Shards now (a layout change may add or remove some).
  std::size_t shard_count() const noexcept { return table()->shards.size(); }
  /// Shard i now (a copy of its entry in the current table).
  ShardRoute shard(std::size_t i) const { return table()->shards[i]; }
  /// Shard i's name now ("" past the end: a node of a shard a layout change removed).
  std::string shard_name(std::size_t i) const;
  ReadFrom read_from() const noexcept { return read_from_; }
  FailurePolicy failure_policy() const noexcept { return policy_; }

  /// The node that serves shard `i` of `table`: its primary for a write, else per
  /// `read_from`. nullptr when no node may (the primary is down or demoted, no replica is
  /// eligible).
  Node* pick(const RoutingTable& table, std::size_t shard, bool write,
             ReadFrom read_from) const noexcept;
  /// pick() on the current table.
  Node* pick(std::size_t shard, bool write, ReadFrom read_from) const noexcept {
    return pick(*table(), shard, write, read_from);
  }
  /// Why pick() found nothing, for the error message.
  std::string unavailable_reason(std::size_t shard, bool write) const;

  /// Every node in the routing table (primaries and replicas).
  std::vector<Node*> nodes() const;
  /// The shard whose Sentinel master name is `name`, or npos.
  std::size_t shard_by_name(std::string_view name) const noexcept;

  // Changes (loop thread). Each wakes writers waiting for a usable primary.
  /// Makes `node` the shard's primary; the old primary becomes a replica entry.
  void set_primary(std::size_t shard, Node* node);
  void add_replica(std::size_t shard, Node* node);
  /// Takes a replica out of the shard (it left the topology). False when it was not one.
  bool remove_replica(std::size_t shard, Node* node);
  /// A node's health changed: rebuilds the cache placement and wakes waiters (any thread).
  void on_health_change();
  /// A new topology record: routes by `shards` placed by `distribution` (its layout) from
  /// now on, with `reshard` describing the record. Wakes waiters.
  void set_layout(Distribution distribution, std::vector<ShardInit> shards,
                  std::shared_ptr<const ReshardView> reshard);
  /// The same record phase over the same layout (only the view changes).
  void set_reshard(std::shared_ptr<const ReshardView> reshard);

  /// Waits (caller's thread) until pick(shard, true, ...) finds a node or `until` passes.
  Node* wait_for_primary(std::size_t shard, std::chrono::steady_clock::time_point until) const;

 private:
  /// Builds the next table from the current one (mu_ held) and swaps it in.
  template <typename Change>
  void update(Change change);
  std::shared_ptr<const Placement> placement_for(const RoutingTable& t) const;

  DistributionOptions distribution_options_;  // for the live-shard distribution (cache)
  ReadFrom read_from_;
  FailurePolicy policy_;
  std::atomic<std::shared_ptr<const RoutingTable>> table_;
  mutable std::atomic<std::size_t> next_replica_{0};  // round-robin over replicas
  mutable std::mutex mu_;                             // serializes changes + waiting
  mutable std::condition_variable changed_;
};

/// May the node take writes? (up, and not known to be a replica)
bool usable_as_primary(const Node& node) noexcept;
/// May the node serve reads as a replica? (up, a replica, replication healthy)
bool usable_as_replica(const Node& node) noexcept;

}  // namespace flyshard::detail
