#pragma once
// One server as the client sees it: its address, its counters, its async connections (owned
// by the loop thread) and its pool of blocking connections (shared by callers).

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "flyshard/topology.hpp"
#include "io/blocking_connection.hpp"
#include "health/node_health.hpp"
#include "health/replication.hpp"
#include "stats_recorder.hpp"

namespace flyshard {
class Subscription;
}

namespace flyshard::detail {

class Connection;
struct SubscriptionState;

struct Node {
  // Out of line: Connection is a complete type only there.
  Node(NodeAddress addr, std::size_t shard_index, bool primary, std::size_t pool_size);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeAddress address;
  const std::string name;  // "host:port", for messages and stats
  const SocketAddress socket;
  const std::size_t shard;
  std::atomic<bool> is_primary;  // holds its shard's primary slot in the routing table now

  NodeHealth health;

  NodeStatsRecorder stats;
  std::atomic<std::size_t> pending{0};  // async requests queued or in flight

  // Loop thread only.
  std::vector<std::unique_ptr<Connection>> connections;
  std::size_t next_connection = 0;
  std::unique_ptr<Connection> subscriber;  // Pub/Sub link, opened on first subscribe
  std::unordered_map<std::string, std::vector<std::shared_ptr<SubscriptionState>>> channels;
  bool check_in_flight = false;             // an active health check is out
  std::optional<ReplicationInfo> last_info; // what the last check said
  ReplicaLagTracker lag;                    // replicas: is replication keeping up?
  std::optional<long long> promoted_from_offset;  // promoted replica not yet re-pointed to

  BlockingPool pool;
};

}  // namespace flyshard::detail
