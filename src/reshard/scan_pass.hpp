#pragma once
// One resumable SCAN over one shard's primary: the copy pass and the cleanup pass (and the
// abort's sweep of the targets) are this loop with a different page handler. The cursor is
// checkpointed after every page (checkpoint.hpp), so a restart repeats at most one page, and
// every handler is idempotent.

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
/// end; returns the final state (done). `count` is SCAN's COUNT. Throws Error.
PassState run_pass(ShardLinks& links, const std::string& shard, const std::string& migration_id,
                   const std::string& name, std::size_t count, const PageHandler& handle,
                   const PageDone& done);

}  // namespace flyshard::detail
