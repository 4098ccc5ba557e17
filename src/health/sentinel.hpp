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
#include "io/tls_context.hpp"

namespace flyshard::detail {

class Engine;
class Logger;
class Connection;
struct Node;

/// What the sentinels say about one shard.
struct SentinelView {
  std::optional<NodeAddress> primary;
  std::vector<NodeAddress> replicas;  // healthy ones (no s_down/o_down/disconnected flag)
  /// The master's config epoch as the answering sentinel knows it: it grows with every
  /// successful failover, so of two answers the one with the higher epoch is the newer view.
  std::uint64_t config_epoch = 0;
};

/// Parses `SENTINEL get-master-addr-by-name` ([ip, port]); nullopt for nil or garbage.
std::optional<NodeAddress> parse_master_addr(const Reply& reply);

/// A master as `SENTINEL MASTER <name>` describes it (a flat field/value array).
struct SentinelMaster {
  NodeAddress address;
  std::uint64_t config_epoch = 0;
  /// The answering sentinel leads a failover of this master right now: it already reports
  /// the new epoch with the old address, so the answer orders nothing.
  bool failover_in_progress = false;
};
/// Parses `SENTINEL MASTER <name>`; nullopt for an error, nil or garbage.
std::optional<SentinelMaster> parse_sentinel_master(const Reply& reply);
/// Parses `SENTINEL replicas <name>` (an array of flat field/value arrays): the healthy ones
/// (no s_down/o_down/disconnected flag), or every one listed with `include_down`.
std::vector<NodeAddress> parse_sentinel_replicas(const Reply& reply, bool include_down = false);

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

/// Asks every sentinel about every master name; blocking. Per name, the answer with the
/// highest config epoch wins (a sentinel that missed a failover still names the old primary,
/// with the old epoch). `handshake` holds the sentinels' own AUTH, never the data nodes';
/// `tls` is the sentinels' TLS context (null: plain TCP).
/// Returns one view per name (empty views when no sentinel answered).
std::vector<SentinelView> ask_sentinels(const std::vector<NodeAddress>& sentinels,
                                        const std::vector<std::string>& master_names,
                                        std::chrono::milliseconds timeout, const Logger& log,
                                        std::string_view handshake = {},
                                        std::uint32_t handshake_replies = 0,
                                        const std::shared_ptr<const TlsContext>& tls = nullptr);

/// The channels the watcher subscribes to on every sentinel.
inline constexpr std::string_view kSentinelChannels[] = {"+switch-master", "+slave",
                                                         "+convert-to-slave", "+sdown", "-sdown"};

}  // namespace flyshard::detail
