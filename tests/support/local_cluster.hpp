#pragma once
/// \file local_cluster.hpp
/// LocalCluster: a whole sharded layout on loopback (primaries, their replicas, sentinels),
/// started in one call. The one launcher the integration tests, the `flyshard-cluster` tool,
/// the shop script and the benchmarks share.
///
/// Test support only: not part of the installed library.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flyshard/topology.hpp"
#include "server_process.hpp"

namespace flyshard::testing {

/// What LocalCluster starts.
struct ClusterOptions {
  /// Number of shards, >= 1. Default 3. Shards are named s1..sN.
  std::size_t shards = 3;
  /// Replicas per shard (each runs REPLICAOF its shard's primary). Default 0.
  std::size_t replicas = 0;
  /// Sentinels, each monitoring every shard. 0 (default): no Sentinel, and topology() has no
  /// sentinel section. Quorum is sentinels / 2 + 1.
  std::size_t sentinels = 0;
  /// Distribution name written to topology(): ketama | maglev | jump | rendezvous.
  std::string distribution = "ketama";
  /// Sentinel master name of a shard = master_prefix + shard name (e.g. "flyshard-s1"). Also
  /// written to topology()'s sentinel section.
  std::string master_prefix = "flyshard-";
  /// Sentinel's down-after-milliseconds for every master, in ms. Default 1000.
  int down_after_ms = 1000;
  /// Sentinel's failover-timeout for every master, in ms. Default 3000.
  int failover_timeout_ms = 3000;
  /// Speeds Sentinel's timers with `SENTINEL DEBUG` (Redis 7.0+; ignored when it fails): INFO
  /// to every node each 1000 ms instead of 10 s, hello messages each 250 ms instead of 2 s, so
  /// sentinels find each other and notice role changes quickly. Default true; false keeps
  /// Sentinel's defaults.
  bool fast_sentinel = true;
  /// Appended to every server's (not sentinel's) command line, e.g. {"--maxmemory", "64mb"}.
  std::vector<std::string> extra_server_args;
  /// Server executable. Empty (default): server_binary() ($FLYSHARD_SERVER, dragonfly,
  /// redis-server).
  std::string server_binary;
  /// TLS on every server and sentinel (see ServerTls): replication and Sentinel run over
  /// TLS, and topology() names the TLS ports and carries {"tls": {"ca_file": ...}}. nullopt
  /// (default): plain TCP.
  std::optional<ServerTls> tls;
  /// How long the constructor waits for replication links and for every sentinel to know every
  /// master, replica and (with several sentinels) each other. Default 15 s.
  std::chrono::milliseconds ready_timeout{15000};
};

/// A running local cluster. The constructor returns when it is fully wired: every replica is
/// in sync (see wait_replicas_up), every sentinel reports every shard's primary, sees that
/// shard's replicas as healthy and knows the other sentinels. It throws std::runtime_error
/// (with the log tail of the node at fault) otherwise, after ending what it started.
///
/// Indexes are 0-based: primary(0) is shard "s1". The destructor kills every process by its
/// PID (sentinels first, so none starts a failover while the cluster goes down).
///
/// Roles: primary(i) and replica(i, j) always return the process *started* in that role. After a
/// failover (or restart()) roles may differ; current_primary(i) finds today's primary.
class LocalCluster {
 public:
  explicit LocalCluster(ClusterOptions options = {});
  ~LocalCluster();
  LocalCluster(LocalCluster&&) noexcept;
  LocalCluster& operator=(LocalCluster&&) noexcept;
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  const ClusterOptions& options() const noexcept;
  /// Number of shards.
  std::size_t shards() const noexcept;
  /// Replicas per shard.
  std::size_t replicas() const noexcept;
  /// Number of sentinels.
  std::size_t sentinels() const noexcept;
  /// "s1".."sN" for i = 0..N-1.
  std::string shard_name(std::size_t i) const;
  /// The Sentinel master name of shard i: options().master_prefix + shard_name(i).
  std::string master_name(std::size_t i) const;

  /// The layout as started: shards s1..sN (weight 1) with the addresses of the processes
  /// started as primary and replicas, the sentinel section when there are sentinels, and
  /// options().distribution. Not updated after a failover (Sentinel tells clients that).
  flyshard::Topology topology() const;
  /// Writes topology().to_json() to `path` (through a temp file and a rename, so a reader never
  /// sees half a file). Throws std::runtime_error when it cannot.
  void write_topology(const std::filesystem::path& path) const;

  /// The process started as shard i's primary. Throws std::out_of_range.
  ServerProcess& primary(std::size_t i);
  /// The process started as shard i's replica j. Throws std::out_of_range.
  ServerProcess& replica(std::size_t i, std::size_t j);
  /// Sentinel k. Throws std::out_of_range.
  ServerProcess& sentinel(std::size_t k);
  /// Shard i's current primary. With sentinels: the address the first reachable sentinel
  /// reports (`SENTINEL get-master-addr-by-name`). Without: the running, not stopped node of
  /// the shard whose ROLE says master (the original primary first). Throws std::runtime_error
  /// when there is none.
  ServerProcess& current_primary(std::size_t i);
  /// Shard i's processes: the primary, then its replicas.
  std::vector<ServerProcess*> shard_nodes(std::size_t i);
  /// Every process: primaries, then replicas (shard by shard), then sentinels.
  std::vector<ServerProcess*> all();

  /// FLUSHALL on every shard's current primary. Throws std::runtime_error on failure.
  void flush_all();
  /// Waits until every running, not stopped replica started in shard i is in sync: it reports
  /// `master_link_status:up` and no sync in progress, and its primary lists it as
  /// `state=online` (e.g. after replica(i, j).restart() and REPLICAOF). The constructor waits
  /// the same way. Throws std::runtime_error after `timeout`.
  void wait_replicas_up(std::size_t i,
                        std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// One line per process: "<shard|sentinel> <role> <host:port> pid <pid>", e.g.
  /// "s1 primary 127.0.0.1:40123 pid 4242". Roles are the roles as started.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flyshard::testing
