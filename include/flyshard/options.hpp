#pragma once
/// \file options.hpp
/// ClientOptions: every knob of a Client, each with its unit and default.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace flyshard {

/// Where reads go (names after Lettuce).
enum class ReadFrom {
  primary,            ///< always the primary
  primary_preferred,  ///< the primary; an eligible replica when the primary is down
  replica,            ///< an eligible replica only (error when none is)
  replica_preferred,  ///< an eligible replica; the primary when none is
  nearest,            ///< the node with the lowest measured latency
};

/// What happens to a shard whose primary is down.
enum class FailurePolicy {
  /// The shard keeps its keys (default): reads go to eligible replicas when the read policy
  /// allows, writes fail fast with errc::shard_unavailable until the primary is back or
  /// Sentinel promotes a replica (see wait_for_promotion).
  store,
  /// The shard leaves the distribution while it is down and its keys rehash to the others
  /// (twemproxy's auto_eject_hosts): right for caches, wrong for data of record.
  cache,
};

/// Severity of a log message.
enum class LogLevel { debug, info, warning, error };

/// Receives the library's log messages. Called from the loop thread or a caller's thread;
/// it must be thread-safe and must not call back into the Client.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

/// Caps on what one reply from a server may claim. A reply past a cap fails the request it
/// answers with errc::protocol_error and closes that link (the bytes after it cannot be
/// trusted); memory is reserved as elements arrive, never for what a header announces.
struct ReplyLimits {
  /// Most elements in one array (at any level). Default 16,777,216 (2^24).
  std::size_t max_array_length = std::size_t{1} << 24;
  /// Longest bulk string. Default 512 MiB (Redis' proto-max-bulk-len: no server stores a
  /// longer value). Simple strings, errors and integers are capped at 1 MiB besides.
  std::size_t max_bulk_length = std::size_t{512} << 20;
  /// Deepest nesting of arrays (a flat array is depth 1). Default 7; at most 8, the deepest
  /// the protocol parser (hiredis 0.14) reads.
  unsigned max_depth = 7;
};

/// Options of a Client. A default-constructed value is a sound production setting.
struct ClientOptions {
  /// Longest wait for a connect: resolving a host name, the TCP or Unix-socket connect and
  /// the handshake (AUTH, CLIENT SETNAME, SELECT). Default 1000 ms.
  std::chrono::milliseconds connect_timeout{1000};
  /// Deadline of one request, from the call until its reply. Past it the request completes
  /// with errc::timeout and its late reply is dropped. Default 1000 ms.
  std::chrono::milliseconds request_timeout{1000};
  /// A link whose oldest unanswered request is older than this is closed and reopened
  /// (its requests fail with errc::connection_lost). 0 means 2 x request_timeout. Default 0.
  std::chrono::milliseconds stuck_timeout{0};
  /// Multiplexed async connections per node; requests are spread round-robin. Default 1.
  unsigned connections_per_node = 1;
  /// Bound on queued + in-flight async requests per node; past it a request fails at once
  /// with errc::overloaded. Default 100000.
  std::size_t max_pending_per_node = 100000;
  /// First reconnect delay after a link fails; it doubles per failure (with +-25 % jitter)
  /// up to reconnect_max. Default 50 ms.
  std::chrono::milliseconds reconnect_min{50};
  /// Largest reconnect delay. Default 2000 ms.
  std::chrono::milliseconds reconnect_max{2000};
  /// Idle blocking connections kept per node for the blocking API (one is in use per
  /// calling thread at a time; more are opened on demand). Default 8.
  std::size_t blocking_pool_size = 8;
  /// Where reads go. Default ReadFrom::primary.
  ReadFrom read_from = ReadFrom::primary;
  /// Every node is checked this often: ROLE on primaries, INFO replication on replicas.
  /// 0 disables active checks (transport errors still count). Default 1000 ms.
  /// (The topology record has its own interval: topology_poll_interval.)
  std::chrono::milliseconds health_interval{1000};
  /// Consecutive failed checks or transport errors that mark a node down; one successful
  /// check marks it up again. Default 3.
  unsigned failure_limit = 3;
  /// store (default) or cache; a "failure_policy" in the topology JSON wins over this.
  FailurePolicy failure_policy = FailurePolicy::store;
  /// A replica whose replication is behind by more than this (or whose link to its primary
  /// is down, or that is still syncing) serves no reads. Default 5000 ms.
  std::chrono::milliseconds max_replica_lag{5000};
  /// A write to a shard whose primary is down waits up to this long for the primary to come
  /// back or for Sentinel to promote a replica, then fails with errc::shard_unavailable.
  /// 0 (default): fail at once.
  std::chrono::milliseconds wait_for_promotion{0};
  /// Bounds on replies (array length, bulk length, nesting); see ReplyLimits.
  ReplyLimits reply_limits;
  /// Receives log messages of at least log_level. Empty (default): warnings and errors go
  /// to stderr.
  LogHandler log;
  /// Least severity passed to `log`. Default LogLevel::warning.
  LogLevel log_level = LogLevel::warning;
  /// Sent with CLIENT SETNAME on every connection the client opens (async links, pooled
  /// blocking connections, Pub/Sub links, Sentinel links), in the same write as the rest of
  /// the handshake, so that operators find the client in CLIENT LIST. Printable ASCII without
  /// spaces (the server's rule). Empty: no CLIENT SETNAME (for a server or proxy that refuses
  /// CLIENT). Default "flyshard".
  std::string client_name = "flyshard";
  /// Follow the topology record on the primaries (online resharding: read at start, then
  /// every topology_poll_interval and at once on a primary's pub/sub hint; route by the
  /// newest epoch). false: route by the given topology only, as a tool that talks to one
  /// shard on purpose must (the migrator's per-shard links). Default true.
  bool follow_topology_record = true;
  /// How often the topology record is read from every primary (and this client's epoch
  /// registered there, with the record's lease). Independent of health_interval: a client
  /// without health checks must still follow a migration, or it would route moving keys by an
  /// old layout. 0: no periodic read — the record is still read at start, on a hint, and
  /// whenever a request needs a fresher one (a lease-fenced write after the lease ran out).
  /// Default 1000 ms; keep it well below the record's lease (default 5 s).
  std::chrono::milliseconds topology_poll_interval{1000};
};

}  // namespace flyshard
