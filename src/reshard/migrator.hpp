#pragma once
// The migrator: moves a cluster from the layout its topology record holds (A) to a target
// layout (B) while clients keep serving, one phase at a time, every phase written to the
// record on every primary of A and B by compare-and-set before it starts (record_cas.hpp):
//
//   preparing  clients write moving keys through the guard (source + dirty set); wait until
//              every registered client shows the epoch (client_wait.hpp)
//   copying    SCAN each source, copy moving keys (copier.hpp), checkpoint per page
//   catchup    drain the dirty sets until a pass finds few keys
//   cutover    clients freeze moving keys; wait for them, drain to empty, WAIT for the
//              targets' replicas, verify a sample, then FLIP: layout = B, state cleanup
//   cleanup    wait for clients to follow the flip, unlink moved keys from the sources,
//              drop the migration's own keys, then stable(B)
//
// Everything it needs to resume is on the nodes (record, checkpoints, dirty and in-flight
// sets), so a migrator killed anywhere is simply started again with the same target. One
// migrator at a time (migration_lock.hpp). Abort: until the flip, on request or by itself
// after an error retrying cannot cure (MigrationUnrecoverable): the copies on the targets
// are deleted and the record returns to stable(A).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reshard/aimd_rate.hpp"
#include "reshard/key_copy.hpp"
#include "reshard/phase_plan.hpp"
#include "reshard/record_cas.hpp"
#include "reshard/shard_links.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

class MigrationLock;

/// A snapshot handed to MigrateOptions::on_progress.
struct MigrationProgress {
  std::string phase;             ///< a MigrationState name, or "abort"
  std::uint64_t epoch = 0;       ///< the record's epoch now
  std::uint64_t keys_done = 0;   ///< this phase: keys copied / drained / unlinked
  std::uint64_t keys_total = 0;  ///< this phase's estimate (0: unknown)
  std::uint64_t bytes_done = 0;  ///< this phase: bytes copied
  std::string message;           ///< non-empty: an event worth a line of its own
};

struct MigrateOptions {
  Fencing fencing = Fencing::lease;  ///< written to the record when a migration starts
  std::uint32_t lease_ms = 5000;     ///< ditto, ms
  double rate = 0;           ///< keys/s over all sources (copy, drains, cleanup); 0: no limit
  std::size_t batch = 1000;  ///< SCAN COUNT of the passes and keys per drain batch
  /// Pages of the copy in flight per source at once (scan_pass.hpp): one page's reads
  /// overlap another's writes and the next SCAN, which hides round trips on a network. On
  /// loopback here the copy is CPU-bound and 1, 4 and 8 measured alike. 1: one after the
  /// other. Default 2.
  std::size_t inflight = 2;
  /// Keys per pipelined copy (and cleanup) batch. A paced migration (`rate` or `adaptive`)
  /// sends each batch when the rate allows it, so a node serves its clients between batches
  /// and a request that arrives behind one waits for this many keys' commands at most: at
  /// 20,000 keys/s, 50-key batches cut the p99 of keys that do not move from 4.2-4.8x to
  /// 1.8-2.0x that of the same minutes with the copy held (migrate_bench --duty), at the
  /// same copy rate. 0 (default): 50 keys when paced, a page's moving keys per target at
  /// once when not (a migration as fast as it can go: round trips matter, not the tail).
  std::size_t copy_batch = 0;
  /// copy_batch's paced default.
  static constexpr std::size_t kPacedCopyBatch = 50;
  /// Adapt the rate to the nodes' load (latency_probe.hpp, aimd_rate.hpp): the copy and the
  /// cleanup go as fast as keeps the round trip other clients see within
  /// `adaptive_rate.tolerance` of its baseline; `rate` (when not 0) is the ceiling, and the
  /// rate of the catch-up drains, which must keep pace with the clients' writes. Default
  /// false: a migration then runs at `rate`, or as fast as it can (opt-in because it trades
  /// the migration's length for the clients' latency, which only the operator can weigh).
  bool adaptive = false;
  /// The adaptive rate's rule (its ceiling is taken from `rate`).
  AdaptiveRateOptions adaptive_rate;
  std::chrono::milliseconds lock_ttl{10000};  ///< the lock's TTL (renewed every third)
  /// Longest wait for registered clients to follow an epoch; 0 (default): 2 x lease + 5 s.
  std::chrono::milliseconds client_wait{0};
  std::size_t verify_per_source = 50;  ///< keys compared per source before the flip
  /// Catch-up stops repeating when a pass over every dirty set drains fewer keys. Default 100.
  std::uint64_t catchup_small = 100;
  LinkOptions links;
  CopyOptions copy;
  /// Test hook: stop (print "flyshard: paused after <phase>" to stderr and sleep until
  /// killed) at that point: "preparing" (its record written), "copying" (after the first
  /// checkpointed page), "catchup" (drained), "cutover" (verified, before the flip),
  /// "cleanup" (after the first unlinked page). Empty: never.
  std::string pause_after;
  /// Benchmark hook: while it answers false, no copy, drain or unlink batch starts (those
  /// under way finish); the cutover's final drain never waits for it. migrate_bench --duty
  /// turns the copy on and off with it to compare the clients' requests with and without the
  /// copy, interleaved. Empty: never held.
  std::function<bool()> copy_gate;
  /// Progress, from the migrator's threads (one call at a time).
  std::function<void(const MigrationProgress&)> on_progress;
  /// Describes this process in the lock (host, pid).
  std::string who;
};

struct MigrationOutcome {
  Decision decision = Decision::nothing_to_do;
  std::string message;
  std::uint64_t epoch = 0;        ///< the record's epoch at the end
  bool aborted = false;           ///< rolled back (asked, or after an unrecoverable error)
  std::string abort_reason;       ///< why it aborted by itself
  std::uint64_t keys_copied = 0;  ///< copy phase, this run (resumed runs count from the checkpoint)
  std::uint64_t bytes_copied = 0;
  std::uint64_t keys_drained = 0;  ///< catch-up and cutover
  std::uint64_t keys_unlinked = 0;
  std::uint64_t big_keys = 0;  ///< keys copied in chunks (copy and drains)
  /// The slowest single command of a chunked copy, on either node: how long a big key
  /// blocked a node at most.
  std::chrono::microseconds longest_chunk{0};
  std::chrono::milliseconds copy_time{0};
  /// From the cutover record to the flip: the longest a moving key could not be written.
  std::chrono::milliseconds cutover_time{0};
  std::chrono::milliseconds total_time{0};
};

class Migrator {
 public:
  /// `seed`: the caller's cluster file (addresses to find the record; its credentials).
  Migrator(Topology seed, MigrateOptions options);
  ~Migrator();

  /// Starts or resumes the migration to `target`. Throws MigrationRefused (nothing changed),
  /// Error (a node failed: run again to resume).
  MigrationOutcome migrate(const Topology& target);
  /// Rolls back the running migration (before its flip).
  MigrationOutcome abort();
  /// Writes the first record (epoch 1, stable, layout = seed) on the seed's primaries.
  MigrationOutcome init();

 private:
  struct Run;
  StoredRecords read_all(const Topology* extra);
  TopologyRecord locked_newest(Run& run, const Topology* extra);
  std::unique_ptr<MigrationLock> lock_home(const TopologyRecord& r);
  void run_phases(Run& run, TopologyRecord r, MigrationOutcome& out);
  TopologyRecord step(Run& run, const TopologyRecord& from, const TopologyRecord& to);
  void copy_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out);
  /// Drains the dirty sets (to empty: the cutover's final drain); `taken` (optional) gets
  /// per source the first verify_per_source keys drained.
  void drain_phase(Run& run, const TopologyRecord& r, bool to_empty, MigrationOutcome& out,
                   std::map<std::string, std::vector<std::string>>* taken = nullptr);
  /// The targets' replicas (one write + WAIT per target, all at once), then a comparison of
  /// moving keys: before the freeze (`drained` null, `frozen` false) a sample, keys written
  /// meanwhile excepted; in it the keys the final drain copied (`drained`), or the sample
  /// again when this run did not check before the freeze (`drained` null). Throws
  /// MigrationUnrecoverable on a difference.
  void cutover_checks(Run& run, const TopologyRecord& r, bool frozen,
                      const std::map<std::string, std::vector<std::string>>* drained);
  void wait_replicas(const TopologyRecord& r);
  void cleanup_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out);
  void rollback_phase(Run& run, const TopologyRecord& r, MigrationOutcome& out);
  /// UNLINKs, on each of `shards`, the keys `drop` selects (resumable pass `pass`), then
  /// deletes the migration's own keys everywhere; returns the keys unlinked.
  std::uint64_t sweep(
      Run& run, const TopologyRecord& r, const std::vector<std::string>& shards,
      const std::string& pass,
      const std::function<bool(const std::string& shard, const std::string& key)>& drop);
  void wait_clients(const TopologyRecord& r, const std::vector<std::string>& shards);
  void report(MigrationProgress p);
  void pause_point(const std::string& phase);

  Topology seed_;
  MigrateOptions options_;
  ShardLinks links_;
  std::mutex progress_mu_;
};

}  // namespace flyshard::detail
