#pragma once
// Waiting for clients to follow an epoch. Every client registers on every primary of its
// layout: "flyshard:client:<id>" = the epoch it routes by, with a TTL of its lease, and its
// id in the registry set "flyshard:clients" (read instead of SCANning). Before a
// phase that changes what clients must do with moving keys can start (copying after
// preparing, the final drain after cutover, unlinking after the flip), every registered
// client must show the new epoch, or its key must have expired (a client that cannot renew
// stops writing when its lease runs out).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "reshard/shard_links.hpp"

namespace flyshard::detail {

struct Laggard {
  std::string client;  ///< the registration key
  std::string shard;   ///< where it was seen
  std::string epoch;   ///< the epoch it showed
};

/// Registered clients on `shards` whose epoch is below `epoch` (ids whose registration
/// expired leave the registry).
std::vector<Laggard> clients_behind(ShardLinks& links, const std::vector<std::string>& shards,
                                    std::uint64_t epoch);

/// Polls clients_behind every 5 ms until it is empty or `within` passed; returns what it
/// found last (empty: every client follows).
std::vector<Laggard> wait_for_clients(ShardLinks& links, const std::vector<std::string>& shards,
                                      std::uint64_t epoch, std::chrono::milliseconds within);

}  // namespace flyshard::detail
