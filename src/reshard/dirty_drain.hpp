#pragma once
// Draining a source's dirty set (the moving keys clients wrote since the migration began):
// each key is copied as the source holds it now (present: SET or RESTORE REPLACE on the
// target, as key_copy.hpp says; absent: DEL there, so a deleted key stays deleted). A script
// moves a batch from the dirty set into an in-flight set in one step and the batch leaves the
// in-flight set only once it is on its targets, so a migrator killed mid-batch loses nothing:
// the next one starts with the in-flight set. A key written again while in flight is added
// to the dirty set again by the client's guard and copied again later.

#include <cstdint>
#include <string>
#include <vector>

#include "reshard/copier.hpp"

namespace flyshard::detail {

struct DrainCounts {
  std::uint64_t keys = 0;  ///< keys taken from the sets and copied or deleted
  CopyCounts copy;
  std::vector<std::string> taken;  ///< the first `keep` keys taken (drain_dirty's argument)
};

/// Drains shard `source`'s sets: the in-flight set first, then batches of `batch` popped
/// from the dirty set, until the dirty set is empty or `max_keys` (0: no limit) were taken.
/// The first `keep` keys taken are listed in DrainCounts::taken.
DrainCounts drain_dirty(MoveContext& ctx, const std::string& source, std::size_t batch,
                        std::uint64_t max_keys, std::size_t keep = 0);

/// SCARD of the dirty set plus the in-flight set of shard `source`.
std::uint64_t dirty_count(MoveContext& ctx, const std::string& source);

}  // namespace flyshard::detail
