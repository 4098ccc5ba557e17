#pragma once
// The pure half of the migration's phase machine: which record follows which, and what a
// migrator started against a given record should do (start, resume, refuse...). No I/O, so
// unit tests hold every rule here.
//
//   stable(A) -> preparing -> copying -> catchup -> cutover -> [flip] cleanup(B, previous A)
//             -> stable(B)
//   abort: preparing..cutover -> stable(A); refused in cleanup (the flip happened: finish).

#include <optional>
#include <string>

#include "reshard/topology_record.hpp"

namespace flyshard::detail {

/// Layouts compare by what placement and routing use (distribution, its options, shard
/// names, weights, addresses, Sentinel section, database); credentials never take part.
bool same_layout(const Topology& a, const Topology& b);

/// stable(A) -> preparing(A -> target), epoch + 1. Throws std::logic_error from another state.
TopologyRecord begin_migration(const TopologyRecord& stable, const Topology& target,
                               std::string migration_id, Fencing fencing, std::uint32_t lease_ms);
/// preparing -> copying -> catchup -> cutover, epoch + 1 each. Throws std::logic_error for
/// any other step.
TopologyRecord advance(const TopologyRecord& r, MigrationState next);
/// cutover -> cleanup: layout = target, previous = the old layout, epoch + 1.
TopologyRecord flip(const TopologyRecord& cutover);
/// cleanup -> stable(B): previous and the migration id cleared, epoch + 1.
TopologyRecord finish(const TopologyRecord& cleanup);
/// preparing..cutover -> stable(A): the target dropped, epoch + 1.
TopologyRecord rollback(const TopologyRecord& migrating);

/// The layout data moves out of (A) and into (B) for a record in a migration state.
const Topology& source_layout(const TopologyRecord& r);
const Topology& target_layout(const TopologyRecord& r);

enum class Decision {
  refuse,         ///< nothing may be done (message says why and what to do)
  nothing_to_do,  ///< already there (migrate: layout is the target; abort: no migration)
  start,          ///< stable at another layout: begin a migration
  resume,         ///< a migration to this target is under way: continue from its state
  abort,          ///< a migration before the flip: roll it back
};

struct Verdict {
  Decision decision;
  std::string message;
};

/// `flyshard migrate --to target` against the newest record (nullopt: none on any primary).
Verdict decide_migrate(const std::optional<TopologyRecord>& newest, const Topology& target);
/// `flyshard migrate --abort`.
Verdict decide_abort(const std::optional<TopologyRecord>& newest);
/// `flyshard init` with `layout`: start (write epoch 1), nothing_to_do (the record holds this
/// layout already) or refuse (it holds another one).
Verdict decide_init(const std::optional<TopologyRecord>& newest, const Topology& layout);

/// A SCAN cursor saved on one node means nothing on another (a promoted replica's hash
/// table differs): resume from the saved cursor only when the node that answers now is the
/// one that issued it (INFO's run_id), else scan again from 0 (copies are idempotent).
std::string resume_cursor(const std::string& saved_cursor, const std::string& saved_run_id,
                          const std::string& run_id_now);

/// "3 shards (s1, s2, s3), ketama": for messages.
std::string describe_layout(const Topology& t);

}  // namespace flyshard::detail
