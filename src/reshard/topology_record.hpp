#pragma once
// The topology record: the one piece of state every client and the migrator agree on. Every
// primary of the current layout (and, during a migration, of the target layout) holds the
// same record in one hash. It changes only by compare-and-set on the stored epoch, one phase
// at a time, on every primary, before the next phase starts; a client routes by the record
// with the highest epoch it has seen and never by an older one.
//
// The client side (reshard-client branch) keeps these rules, which the migrator relies on:
// - A shard is its name: a key moves iff the target's shard for it has another *name* than
//   the layout's (reshard/layout_pair.hpp); the two lists may differ in order and length.
// - Guarded writes (reshard/guard_script.hpp) SADD only the command's keys that move to
//   "flyshard:dirty:<migration id>" on the source primary; the guard's call is
//   KEYS = [record, dirty set, moving keys..., other keys...],
//   ARGV = [client epoch, "strict"|"lease", number of moving keys, command words...]
//   (one ARGV more than first agreed: the count, so that a strict-mode write of keys that do
//   not move is guarded without making them dirty). Strict refusal: "FLYSHARDSTALE <epoch>";
//   lease mode refuses the same way a write of moving keys whose epoch is not the stored one
//   once the stored state is past catchup (a guarded write still in flight at the cutover).
// - A client's lease counts from the *start* of its last record read that at least one
//   primary answered; "flyshard:client:<id>" = that epoch, PX lease_ms, set each health round
//   and right after a newer record was applied, on every primary of the client's *layout*
//   (not the target's: the migrator finds every client on the source primaries), each time
//   with SADD "flyshard:clients" <id> (the registry the migrator reads instead of SCANning).
// - Clients read the record from the primaries of the layout they route by (not the
//   target's): the flip to B must be written on every primary of A too (A and B), and a
//   record after the flip on every primary of B. Each round also SCRIPT LOADs the guard on
//   those primaries (pipelines send EVALSHA without the EVAL fallback).
// - What clients do not guard (yet): transactions (MULTI/EXEC) and scripts (EVAL/EVALSHA)
//   that touch moving keys are refused with errc::migrating from preparing to the flip, so
//   no such write reaches a source unrecorded; under strict fencing scripts and transactions
//   on keys that do not move run unguarded.
// - cutover: requests on moving keys wait for a record with a higher epoch (bounded by the
//   request timeout). During the cutover no client writes a moving key.
//
// Keys under "flyshard:" are the library's own: the migrator never copies them and placement
// checks skip them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flyshard/topology.hpp"

namespace flyshard::detail {

/// Where the record lives on each primary (a hash; fields below).
inline constexpr std::string_view kRecordKey = "flyshard:topology";
/// Channel a new epoch is announced on (PUBLISH <epoch> on every primary after a change):
/// a hint only; clients also poll the record on their health round.
inline constexpr std::string_view kRecordChannel = "flyshard:topology";
/// Prefix of the per-client registration keys: "flyshard:client:<client id>" = the epoch the
/// client routes by, with a TTL of the lease, on every primary of its layout.
inline constexpr std::string_view kClientKeyPrefix = "flyshard:client:";
/// The registry of client ids on every primary (a set): each registration also SADDs the
/// client's id here, so the migrator finds the registrations without SCANning the keyspace.
/// The migrator removes ids whose registration key expired.
inline constexpr std::string_view kClientRegistryKey = "flyshard:clients";
/// Prefix of the dirty sets: "flyshard:dirty:<migration id>" on each source primary holds the
/// moving keys written since the migration began (the guard script adds them, or a SADD
/// inside the MULTI/EXEC of a script or transaction that writes them: guard_script.hpp).
inline constexpr std::string_view kDirtyKeyPrefix = "flyshard:dirty:";
/// Prefix of the per-client fence keys: "flyshard:fence:<client id>", which the check before a
/// recorded write (guard_script.hpp) writes to abort the write's EXEC; it expires by itself.
inline constexpr std::string_view kFenceKeyPrefix = "flyshard:fence:";
/// Prefix of the library's own keys (never migrated, never counted as user keys).
inline constexpr std::string_view kInternalKeyPrefix = "flyshard:";

/// Migration phase. Clients route by `layout` in every phase; what differs is how they treat
/// keys that move (target.shard_for(key) != layout.shard_for(key)):
enum class MigrationState {
  stable,     ///< no migration; `target` and `migration_id` empty
  preparing,  ///< writes of moving keys go through the guard script (source + dirty set;
              ///< scripts and transactions: MULTI/EXEC with a SADD, lease fencing only)
  copying,    ///< as preparing; the migrator copies moving keys source -> target
  catchup,    ///< as preparing; the migrator drains the dirty sets
  cutover,    ///< moving keys are frozen: clients wait (bounded by their timeout) and retry
  cleanup,    ///< the flip happened: `layout` is the new layout, `previous` the old one; the
              ///< migrator unlinks moved keys from their old shards; clients route by layout
};

/// How clients are kept from writing by a stale layout.
enum class Fencing {
  lease,   ///< a client that has not confirmed the newest epoch within lease_ms stops writing
  strict,  ///< every write goes through the guard script, which refuses a stale epoch
};

struct TopologyRecord {
  std::uint64_t epoch = 0;  ///< 1 for the first record (`flyshard init`)
  Topology layout;          ///< what clients route by now
  MigrationState state = MigrationState::stable;
  std::optional<Topology> target;    ///< the layout being migrated to (preparing..cutover)
  std::optional<Topology> previous;  ///< the layout migrated from (cleanup only)
  std::string migration_id;          ///< names the dirty sets and progress keys; "" if stable
  Fencing fencing = Fencing::lease;
  std::uint32_t lease_ms = 5000;  ///< lease length for Fencing::lease (and client keys' TTL)

  /// Field/value pairs for HSET (layouts as Topology::to_json; no passwords).
  std::vector<std::pair<std::string, std::string>> to_fields() const;
  /// From an HGETALL reply's pairs. Throws flyshard::Error(errc::config) naming the field.
  /// `auth` and `sentinel.auth` are not in the record; they are copied from `local` (the
  /// caller's own config), so passwords never leave the client's config file.
  static TopologyRecord from_fields(const std::vector<std::pair<std::string, std::string>>& fields,
                                    const Topology& local);
};

std::string_view to_string(MigrationState s) noexcept;
std::optional<MigrationState> migration_state_from(std::string_view s) noexcept;
std::string_view to_string(Fencing f) noexcept;
std::optional<Fencing> fencing_from(std::string_view s) noexcept;

}  // namespace flyshard::detail
