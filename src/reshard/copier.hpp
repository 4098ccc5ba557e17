#pragma once
// The copy engine over layouts: which of a page's keys move, to which target, at what rate;
// the copy phase is run_pass (scan_pass.hpp) with copy_moving as its page handler, and the
// dirty-set drains call copy_moving on the keys they pop.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reshard/key_copy.hpp"
#include "reshard/move_plan.hpp"
#include "reshard/rate_limiter.hpp"
#include "reshard/shard_links.hpp"

namespace flyshard::detail {

/// What every copy of a migration shares.
struct MoveContext {
  ShardLinks& links;
  const MovePlan& plan;
  std::string migration_id;
  CopyOptions copy;
  /// Per target shard: its clock minus ours, ms (see CopyOptions::target_clock_offset_ms).
  std::map<std::string, std::int64_t> clock_offset;
  RateLimiter& rate;
  /// Keys per copy_keys batch at most (a page's moving keys for one target are split); 0: no
  /// split. MigrateOptions::copy_batch sets it: a smaller batch, paced by the rate one at a
  /// time, blocks each node for less at once.
  std::size_t batch_keys = 0;
};

/// Copies the moving keys among `keys` (all read from shard `source`) to their layout-B
/// shards, one copy_keys batch per target; keys that do not move (or are internal) are
/// skipped. `delete_absent` as copy_keys. Waits for the rate before each batch. Throws Error.
CopyCounts copy_moving(MoveContext& ctx, const std::string& source,
                       const std::vector<std::string>& keys, bool delete_absent);

}  // namespace flyshard::detail
