#pragma once
// One server as the client sees it: the I/O layer's Endpoint (name, address, async links,
// counters) plus what routing and health know of it (shard, role slot, health, replication
// state, subscriptions) and its pool of blocking connections (shared by callers).

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "flyshard/topology.hpp"
#include "health/node_health.hpp"
#include "health/replication.hpp"
#include "io/blocking_connection.hpp"
#include "io/endpoint.hpp"

namespace flyshard {
class Subscription;
}

namespace flyshard::detail {

struct SubscriptionState;

struct Node : Endpoint {
  Node(NodeAddress addr, std::size_t shard_index, bool primary, std::size_t pool_size);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeAddress address;
  /// Its shard's index in the routing table (a layout change may renumber shards).
  std::atomic<std::size_t> shard;
  std::atomic<bool> is_primary;  // holds its shard's primary slot in the routing table now
  /// Left the topology (Sentinel no longer names it any shard's primary or replica): out of
  /// the routing table, not checked, not in stats, its async links parked (closed). The
  /// object stays alive (requests routed by an older table, leases and stats readers may
  /// still hold it) and comes back to life if Sentinel announces the address again.
  std::atomic<bool> retired{false};

  NodeHealth health;

  // Loop thread only.
  std::unordered_map<std::string, std::vector<std::shared_ptr<SubscriptionState>>> channels;
  bool check_in_flight = false;                   // an active health check is out
  std::optional<ReplicationInfo> last_info;       // what the last check said
  ReplicaLagTracker lag;                          // replicas: is replication keeping up?
  std::optional<long long> promoted_from_offset;  // promoted replica not yet re-pointed to

  BlockingPool pool;
};

}  // namespace flyshard::detail
