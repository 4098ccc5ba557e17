#pragma once
// What the sentinels of a topology say about each shard: its primary (each sentinel's
// answer, so a disagreement shows) and the replicas the first answering sentinel knows.
// Used by status (to show it) and by plan, which must scan each shard's primary as of now,
// not as configured (a failover moves it).

#include <optional>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::cli {

struct SentinelAnswer {
  std::string sentinel;                ///< the sentinel's address
  std::optional<std::string> primary;  ///< "host:port"; nullopt when it failed or knows none
  std::string error;                   ///< why there is no answer; empty when it answered
};

struct SentinelReplica {
  std::string address;  ///< "host:port"
  std::string flags;    ///< Sentinel's flags, e.g. "slave" or "s_down,slave,disconnected"
};

struct ShardSentinelView {
  std::string master_name;                ///< master_prefix + shard name
  std::vector<SentinelAnswer> answers;    ///< one per sentinel, in the topology's order
  std::vector<SentinelReplica> replicas;  ///< from the first sentinel that answered
  /// The primary most sentinels name (ties: the first answer's); nullopt when none answered.
  std::optional<std::string> primary() const;
};

/// Asks every sentinel about every shard, the sentinels in parallel. Empty when the topology
/// has no sentinel section. Never throws for an unreachable sentinel (its answer says why).
std::vector<ShardSentinelView> ask_sentinels(const Topology& t, const CommonOptions& o);

/// The address of shard i's primary now: the sentinels' answer when there is one, else the
/// configured primary.
NodeAddress current_primary(const Topology& t, const std::vector<ShardSentinelView>& views,
                            std::size_t i);

}  // namespace flyshard::cli
