#pragma once
// One server as the client sees it, put together from the layers' own parts: the I/O
// layer's Endpoint (address, async links, counters), its place in the layout (shard, primary
// slot, retired), health's verdicts (NodeHealth) and working memory (CheckState), the
// subscriptions its subscriber link serves, and its pool of blocking connections. Each part
// is defined, and changed, in its own layer; Node only holds them together.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "flyshard/topology.hpp"
#include "health/check_state.hpp"
#include "health/node_health.hpp"
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
  const std::size_t shard;
  std::atomic<bool> is_primary;  // holds its shard's primary slot in the routing table now
  /// Left the topology (Sentinel no longer names it any shard's primary or replica): out of
  /// the routing table, not checked, not in stats, its async links parked (closed). The
  /// object stays alive (requests routed by an older table, leases and stats readers may
  /// still hold it) and comes back to life if Sentinel announces the address again.
  std::atomic<bool> retired{false};

  NodeHealth health;

  CheckState checks;  // loop thread only

  // Pub/Sub (loop thread only): the subscriptions per channel served by this node's
  // subscriber link (Endpoint::subscriber).
  std::unordered_map<std::string, std::vector<std::shared_ptr<SubscriptionState>>> channels;

  BlockingPool pool;
};

}  // namespace flyshard::detail
