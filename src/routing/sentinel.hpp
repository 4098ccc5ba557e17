#pragma once
// Sentinel: where each shard's primary and replicas are. Asked once at start (blocking, on
// the constructing thread), then followed through `+switch-master` and friends on a
// subscriber connection to every sentinel, so a promotion re-points the shard within
// milliseconds; a sentinel that dies is simply one voice fewer.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::detail {

class Engine;
class Logger;
class Connection;
struct Node;

/// What the sentinels say about one shard.
struct SentinelView {
  std::optional<NodeAddress> primary;
  std::vector<NodeAddress> replicas;  // healthy ones (no s_down/o_down/disconnected flag)
};

/// Parses `SENTINEL get-master-addr-by-name` ([ip, port]); nullopt for nil or garbage.
std::optional<NodeAddress> parse_master_addr(const Reply& reply);
/// Parses `SENTINEL replicas <name>` (an array of flat field/value arrays).
std::vector<NodeAddress> parse_sentinel_replicas(const Reply& reply);

/// One Sentinel event, parsed from its Pub/Sub message.
struct SentinelEvent {
  enum class Kind { switch_master, replica_added, down, up, other } kind = Kind::other;
  std::string master_name;
  NodeAddress address;  // switch_master: the new primary; others: the instance
  bool is_master = false;  // down/up: the instance is a master
};
/// Parses a message of channel +switch-master, +slave, +convert-to-slave, +sdown or -sdown.
std::optional<SentinelEvent> parse_sentinel_event(std::string_view channel,
                                                  std::string_view message);

/// Asks the sentinels (in order, first that answers) about every master name; blocking.
/// Returns one view per name (empty views when no sentinel answered).
std::vector<SentinelView> ask_sentinels(const std::vector<NodeAddress>& sentinels,
                                        const std::vector<std::string>& master_names,
                                        std::chrono::milliseconds timeout, const Logger& log);

/// The channels the watcher subscribes to on every sentinel.
inline constexpr std::string_view kSentinelChannels[] = {"+switch-master", "+slave",
                                                         "+convert-to-slave", "+sdown", "-sdown"};

}  // namespace flyshard::detail
