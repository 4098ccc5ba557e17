#pragma once
// The Sentinel watcher: asks every sentinel where each shard's primary is at start, then
// follows their events on a subscriber link to each, and asks again when told to. It decides
// which answer to believe (the newest config epoch) and hands the verdicts to its owner,
// which re-points the routing table.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/topology.hpp"
#include "health/sentinel.hpp"
#include "io/request.hpp"
#include "io/tls_context.hpp"

namespace flyshard::detail {

class Engine;
class Logger;
struct Node;

class SentinelWatcher {
 public:
  struct Hooks {
    /// A sentinel with a newer config epoch names `address` the shard's primary.
    std::function<void(std::size_t shard, const NodeAddress& address, const char* why)> promote;
    /// A replica of the shard appeared (+slave, +convert-to-slave).
    std::function<void(std::size_t shard, const NodeAddress& address)> replica_added;
    /// A sentinel saw the node go down or come back (+sdown/-sdown): check it now.
    std::function<void(const NodeAddress& address)> hint;
    /// Every replica of the shard that the sentinels' latest answers (SENTINEL replicas)
    /// name, down ones included: the union over the sentinels that answered recently. A
    /// replica of the shard missing from it has left the topology.
    std::function<void(std::size_t shard, const std::vector<NodeAddress>& replicas)> replicas;
  };

  /// `shard_names[i]` is shard i's name (the master name is the prefix + it).
  /// `tls`: the context for the links to the sentinels (null: plain TCP).
  SentinelWatcher(const SentinelSpec& spec, std::vector<std::string> shard_names,
                  std::chrono::milliseconds request_timeout, const Logger& log, Hooks hooks,
                  std::shared_ptr<const TlsContext> tls = nullptr);
  ~SentinelWatcher();

  /// Asks every sentinel (blocking, the constructing thread): one view per shard, from the
  /// answer with the highest config epoch; the epochs are remembered.
  std::vector<SentinelView> ask(std::chrono::milliseconds timeout);
  /// Opens a question link and a subscriber link to every sentinel (before the engine starts).
  void start(Engine& engine);
  /// Asks every sentinel about every shard again (loop thread); rate-limited.
  void refresh();
  /// Asks every sentinel for every shard's replicas every `every` (0: never) from poll().
  /// Set before start().
  void set_replica_poll(std::chrono::milliseconds every) { replica_poll_ = every; }
  /// Loop thread, called often (every sweep): asks for the replicas when a poll is due.
  void poll(Clock::time_point now);

 private:
  void on_message(Node& sentinel, Reply& push);
  void ask_master(Node& sentinel, std::size_t shard, const char* why);
  void on_master_answer(std::size_t shard, const SentinelMaster& master, const char* why);
  void ask_replicas(std::size_t sentinel, std::size_t shard);
  std::size_t shard_of(const std::string& master_name) const;

  const SentinelSpec spec_;
  const std::vector<std::string> shard_names_;
  const std::chrono::milliseconds request_timeout_;
  const Logger& log_;
  Hooks hooks_;
  Engine* engine_ = nullptr;
  std::shared_ptr<const TlsContext> tls_;
  std::string handshake_;  // the sentinels' own AUTH (never the data nodes' password)
  std::uint32_t handshake_replies_ = 0;
  std::vector<std::unique_ptr<Node>> sentinels_;
  // Per shard: the highest config epoch followed (loop thread after start; nullopt while no
  // sentinel has answered).
  std::vector<std::optional<std::uint64_t>> epoch_;
  Clock::time_point last_refresh_{};
  // SENTINEL replicas: per shard, per sentinel, the last answer and when it came.
  struct ReplicaAnswer {
    Clock::time_point at{};
    std::vector<NodeAddress> replicas;
  };
  std::vector<std::vector<ReplicaAnswer>> replica_answers_;
  std::chrono::milliseconds replica_poll_{0};
  Clock::time_point last_poll_{};
};

}  // namespace flyshard::detail
