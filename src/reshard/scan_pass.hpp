#pragma once
// One resumable SCAN over one shard's primary: the copy pass and the cleanup pass (and the
// abort's sweep of the targets) are this loop with a different page handler. The cursor is
// checkpointed after every page (checkpoint.hpp), so a restart repeats at most one page, and
// every handler is idempotent.
//
// Several pages may be in flight at once (`inflight`): the SCAN goes on while earlier pages
// are handled on threads of their own, so one page's reads from the source overlap another's
// writes to the target and the next SCAN. Pages finish in any order, but the checkpoint
// only ever names a cursor all of whose earlier pages are done, so a restart still repeats
// only pages that may not have finished (at most `inflight`). Handlers of two pages may run
// together: a key SCAN returns twice may be copied by both at once, which is safe for the
// copy (both write what the source held; a difference means a write, which the dirty set
// brings again).

#include <functional>
#include <string>
#include <vector>

#include "reshard/checkpoint.hpp"
#include "reshard/shard_links.hpp"

namespace flyshard::detail {

struct PageResult {
  std::uint64_t keys = 0;   ///< keys the handler acted on
  std::uint64_t bytes = 0;  ///< bytes it moved
};

/// Handles one SCAN page (keys under "flyshard:" are included: the handler decides).
using PageHandler = std::function<PageResult(const std::vector<std::string>& page)>;
/// Told after each page is handled and checkpointed.
using PageDone = std::function<void(const PassState& total, const PageResult& page)>;

/// Runs pass `name` over `shard` from its checkpoint (or from 0 when the node changed) to the
/// end; returns the final state (done). `count` is SCAN's COUNT; `inflight` pages are
/// handled at once at most (1: one after the other, on the calling thread). `done` runs on
/// the calling thread, in SCAN order. Throws Error (the first handler's, once every page in
/// flight has stopped).
PassState run_pass(ShardLinks& links, const std::string& shard, const std::string& migration_id,
                   const std::string& name, std::size_t count, std::size_t inflight,
                   const PageHandler& handle, const PageDone& done);

}  // namespace flyshard::detail
