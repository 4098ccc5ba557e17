#pragma once
// What the active checks have learned of one node, kept between rounds (loop thread only):
// whether a check is out, the last INFO replication answer, the replica's lag tracker, and
// the offset a promoted replica started from. The thread-safe verdicts that routing reads
// are in NodeHealth; this is the checker's working memory behind them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "health/replication.hpp"

namespace flyshard::detail {

struct CheckState {
  /// `host`/`port`: the node's own address (a replica finds itself in its primary's list).
  CheckState(std::string_view host, std::uint16_t port) : lag(std::string(host), port) {}

  bool in_flight = false;                    // an active check is out
  std::optional<ReplicationInfo> last_info;  // what the last check said
  ReplicaLagTracker lag;                     // replicas: is replication keeping up?
  /// A promoted replica's offset when it was promoted, until a replica re-pointed to it
  /// has caught up past it.
  std::optional<long long> promoted_from_offset;

  /// The node left the topology: what the checks knew of it is stale.
  void forget() {
    last_info.reset();
    promoted_from_offset.reset();
  }
};

}  // namespace flyshard::detail
