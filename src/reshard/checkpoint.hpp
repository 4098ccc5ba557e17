#pragma once
// Per-source progress of a migration, in a hash on the source's primary
// ("flyshard:migration:<id>"), so a restarted migrator resumes where the last one stopped:
// the copy's and the cleanup's SCAN cursors with the run_id of the node that issued them
// (phase_plan.hpp: resume_cursor), whether each pass is done, and its counters.

#include <cstdint>
#include <string>

#include "reshard/shard_links.hpp"

namespace flyshard::detail {

/// "flyshard:migration:<id>".
std::string progress_key(const std::string& migration_id);
/// The in-flight set of a drain: keys popped from the dirty set and not yet on their target.
std::string inflight_key(const std::string& migration_id);
/// The key the cutover writes on each target before WAIT (replication confirms it and every
/// write before it).
std::string wait_key(const std::string& migration_id);
/// The dirty set (kDirtyKeyPrefix + id).
std::string dirty_key(const std::string& migration_id);

/// One SCAN pass over one source (the copy, or the cleanup).
struct PassState {
  std::string cursor = "0";
  std::string run_id;  ///< the node that issued the cursor
  bool done = false;
  std::uint64_t scanned = 0;
  std::uint64_t keys = 0;   ///< copied / unlinked
  std::uint64_t bytes = 0;  ///< copied bytes (copy pass)
};

/// Reads pass `name` ("copy" or "cleanup") of shard `shard`; a fresh state when none.
PassState load_pass(ShardLinks& links, const std::string& shard, const std::string& migration_id,
                    const std::string& name);
/// Writes it (HSET name:cursor ... in one command).
void save_pass(ShardLinks& links, const std::string& shard, const std::string& migration_id,
               const std::string& name, const PassState& s);

/// INFO server's run_id ("" when the node does not report one).
std::string node_run_id(ShardLinks& links, const std::string& shard);

}  // namespace flyshard::detail
