#pragma once
// A node's replication state, read from `INFO replication` and `ROLE` in both the Redis 7 and
// the Dragonfly forms, and the judge that decides whether a replica is fresh enough to serve
// reads. Pure logic: no I/O, no clock of its own (the caller passes `now`).
//
// The two servers differ (see tests/fixtures/dragonfly/README.md and tests/fixtures/redis/):
// * Redis: `role:master|slave`; offsets are bytes of one replication stream, so a replica's
//   `slave_repl_offset` compares with its primary's `master_repl_offset`; `slaveN:` lines carry
//   `offset=` and `lag=` (seconds since the replica's last ACK). During a full sync a Redis
//   replica reports `master_link_status:down` and `master_sync_in_progress:1`; with the link
//   down `master_last_io_seconds_ago` is -1.
// * Dragonfly: `role:slave` (or `role:replica`); the primary has no `master_repl_offset` and no
//   `offset=` per replica, and its `lag=` counts journal records; the replica's
//   `slave_repl_offset` counts journal records executed and appears only once a full sync has
//   finished. ROLE on a replica has 4 elements with the port as a string.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/reply.hpp"

namespace flyshard::detail {

enum class NodeRole { unknown, primary, replica };

/// "unknown", "primary" or "replica", for logs.
std::string_view role_name(NodeRole role) noexcept;

/// One replica as its primary lists it (`slaveN:` line of INFO, or an entry of ROLE).
struct ReplicaEntry {
  std::string host;        // ip= (the address the primary sees, or the announced one)
  std::uint16_t port = 0;  // port= (the replica's listening port); 0 if absent or invalid
  std::string state;       // Redis: wait_bgsave, send_bulk, online, ...; Dragonfly: preparation,
                           // full_sync, online|stable_sync, cancelled; empty in Redis ROLE
  std::optional<long long> offset;  // Redis only: the replica's acknowledged byte offset
  std::optional<long long> lag;     // Redis: seconds since its last ACK; Dragonfly: journal
                                    // records behind (0 outside stable sync); absent in ROLE
};

/// `INFO replication` of one node.
struct ReplicationInfo {
  NodeRole role = NodeRole::unknown;

  // ---- replica side (role == replica) ----
  std::string master_host;        // as given to REPLICAOF (not resolved)
  std::uint16_t master_port = 0;  // 0 if absent or invalid
  bool link_up = false;           // master_link_status:up
  bool sync_in_progress = false;  // master_sync_in_progress:1
  /// Seconds since the last I/O with the primary; nullopt if absent or negative (Redis says -1
  /// while the link is down).
  std::optional<long long> last_io_seconds_ago;
  /// slave_repl_offset. Redis: bytes of the stream (present in every state, 0 before the first
  /// sync). Dragonfly: journal records executed, present only after a full sync finished.
  std::optional<long long> replica_offset;

  // ---- both sides ----
  /// master_replid: on a primary its own replication id; on a replica the id of the stream it
  /// follows (Redis: its own replid, which it takes from its primary; Dragonfly: the primary's
  /// id learned at the handshake, empty before the first one).
  std::string master_replid;

  // ---- primary side ----
  /// master_repl_offset: Redis only (a Redis replica reports one too: its own stream offset,
  /// which it serves to sub-replicas). Dragonfly has none.
  std::optional<long long> primary_offset;
  /// slaveN: lines, in N order. Redis: ip,port,state,offset,lag; Dragonfly: ip,port,state,lag.
  std::vector<ReplicaEntry> replicas;
  /// True when this node reports byte offsets of a Redis-style stream (it has
  /// master_repl_offset), so a replica's slave_repl_offset can be compared with this node's
  /// primary_offset. False for Dragonfly.
  bool offsets_comparable = false;
};

/// Parses the text of `INFO replication` (or of a larger INFO that contains that section).
/// Tolerant: unknown lines and section headers are ignored, CRLF or LF line ends, bad numbers
/// are left unset. `role:master` -> primary, `role:slave` / `role:replica` -> replica. With
/// Dragonfly multi-source replication (ADDREPLICAOF) the replica block repeats; only the first
/// block (the REPLICAOF source) is read.
ReplicationInfo parse_info_replication(std::string_view text);

/// `ROLE` of one node.
struct RoleInfo {
  NodeRole role = NodeRole::unknown;
  // replica side
  std::string master_host;
  std::uint16_t master_port = 0;
  /// Redis: none, connect, connecting, handshake, sync, connected. Dragonfly: connecting,
  /// preparation, full_sync, online (stable_sync with valkey compatibility off).
  std::string state;
  /// Redis: a primary's stream offset, or a replica's offset (nullopt when Redis says -1, not
  /// connected). Dragonfly: always nullopt.
  std::optional<long long> offset;
  // primary side: Redis entries carry host, port, offset; Dragonfly entries host, port, state
  std::vector<ReplicaEntry> replicas;
};

/// Parses a ROLE reply. Redis: `[master, offset, [[ip, port, offset]...]]` and
/// `[slave, host, port(int), state, offset]`; Dragonfly: `[master, [[ip, port, state]...]]` and
/// `[slave|replica, host, port(string), state]` (plus 3 elements per extra ADDREPLICAOF source,
/// ignored). Numbers are accepted as integers or strings. nullopt for anything else (an error
/// reply, a sentinel's ROLE, a malformed array).
std::optional<RoleInfo> parse_role(const Reply& reply);

/// Whether a replica may serve reads, and why (for logs): "link down", "full sync in
/// progress", "not a replica", "lag 3.2 s > 1 s", ...
struct ReplicaVerdict {
  bool eligible = false;
  std::string reason;
};

/// Judges one replica node's freshness from successive health checks. One per replica node;
/// not thread-safe (the owner serialises calls).
///
/// Rules, in order:
/// 1. not a replica, full sync in progress, link down -> ineligible;
/// 2. when offsets are comparable (the primary's INFO is known, reports master_repl_offset and
///    follows the same replid, and the replica reports slave_repl_offset -- Redis): time-based
///    lag from offsets; eligible iff lag <= max_lag (see update());
/// 3. otherwise (Dragonfly, or primary unknown): no slave_repl_offset yet -> ineligible (a
///    Dragonfly replica before its full sync finished); master_last_io_seconds_ago * 1 s must be
///    <= max(max_lag, 2 s); and, for Dragonfly with the primary's INFO known, the primary's
///    `lag=` for this replica must be <= max_lag_records.
class ReplicaLagTracker {
 public:
  /// Default bound on Dragonfly's per-replica `lag=` (journal records not yet acknowledged, per
  /// shard thread, the largest over threads). Dragonfly replicas acknowledge once a second, so
  /// a healthy replica shows up to about one second of one thread's writes; 100000 records is
  /// one second at 100k writes/s per thread, well above what a healthy replica shows on small
  /// machines, and small enough to catch a replica that stopped applying while its link stays
  /// up (which master_last_io_seconds_ago cannot see). It is a count, not a time: lower it for
  /// light write loads if a tighter bound matters.
  static constexpr long long kDefaultMaxLagRecords = 100000;

  /// A tracker that cannot find its replica in the primary's `slaveN:` lines (the Dragonfly
  /// `lag=` rule is skipped).
  ReplicaLagTracker() = default;
  /// `host`/`port`: the replica's address as the topology names it, used to find its line in
  /// the primary's INFO: an entry with this ip and port, else the only entry with this port
  /// (the primary shows an IP where the topology may use a name).
  ReplicaLagTracker(std::string host, std::uint16_t port,
                    long long max_lag_records = kDefaultMaxLagRecords);

  /// Called after each health check of the replica (`replica` is its INFO replication), with
  /// the latest INFO of its primary if known (nullopt if unknown), and now. `max_lag` is the
  /// most staleness reads accept.
  ///
  /// Offset rule: the replica is "caught up" at this check if its offset is at least the
  /// primary offset observed at the previous check (at the first check, the current one); the
  /// lag is now minus the time of the last caught-up check. So lag 0 means "within about one
  /// check interval of the primary", and its resolution is the check interval.
  ReplicaVerdict update(const ReplicationInfo& replica,
                        const std::optional<ReplicationInfo>& primary,
                        std::chrono::steady_clock::time_point now,
                        std::chrono::milliseconds max_lag);

  /// Forgets all history (as a new tracker).
  void reset() noexcept;

  /// The lag computed by the last update that used the offset rule; nullopt when the last
  /// update did not use it or the replica has not been caught up yet.
  std::optional<std::chrono::milliseconds> offset_lag() const noexcept { return offset_lag_; }

 private:
  ReplicaVerdict offset_rule(const ReplicationInfo& replica, const ReplicationInfo& primary,
                             std::chrono::steady_clock::time_point now,
                             std::chrono::milliseconds max_lag);
  ReplicaVerdict io_rule(const ReplicationInfo& replica,
                         const std::optional<ReplicationInfo>& primary,
                         std::chrono::milliseconds max_lag) const;
  const ReplicaEntry* find_self(const ReplicationInfo& primary) const;
  void clear_offsets() noexcept;

  std::string host_;
  std::uint16_t port_ = 0;
  long long max_lag_records_ = kDefaultMaxLagRecords;

  // The primary the replica follows (master_host:master_port); history is dropped when it
  // changes.
  std::string followed_host_;
  std::uint16_t followed_port_ = 0;
  // The primary's offset (and replid) seen at the previous check, if that check had one.
  std::optional<long long> baseline_offset_;
  std::string baseline_replid_;
  std::optional<std::chrono::steady_clock::time_point> last_caught_up_;
  std::optional<std::chrono::milliseconds> offset_lag_;
};

}  // namespace flyshard::detail
