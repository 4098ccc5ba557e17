#include "reshard/copier.hpp"

#include <algorithm>

#include "reshard/migration_error.hpp"

namespace flyshard::detail {

CopyCounts copy_moving(MoveContext& ctx, const std::string& source,
                       const std::vector<std::string>& keys, bool delete_absent) {
  std::map<std::string, std::vector<std::string>> by_target;
  for (const std::string& k : keys) {
    if (!ctx.plan.moves(k) || ctx.plan.from_shard(k) != source) continue;
    by_target[ctx.plan.to_shard(k)].push_back(k);
  }
  CopyCounts total;
  Client& from = ctx.links.shard(source);
  for (const auto& [target, moving] : by_target) {
    CopyOptions o = ctx.copy;
    auto it = ctx.clock_offset.find(target);
    o.target_clock_offset_ms = it == ctx.clock_offset.end() ? 0 : it->second;
    const std::size_t step = ctx.batch_keys == 0 ? moving.size() : ctx.batch_keys;
    for (std::size_t at = 0; at < moving.size(); at += step) {
      const auto first = moving.begin() + static_cast<std::ptrdiff_t>(at);
      const std::vector<std::string> batch(
          first, first + static_cast<std::ptrdiff_t>(std::min(step, moving.size() - at)));
      ctx.rate.acquire(batch.size());
      try {
        total +=
            copy_keys(from, ctx.links.shard(target), batch, delete_absent, o, ctx.migration_id);
      } catch (const MigrationUnrecoverable& e) {
        throw MigrationUnrecoverable(source + " -> " + target + ": " + e.what());
      } catch (const Error& e) {
        rethrow_on(source + " -> " + target, e);
      }
    }
  }
  return total;
}

}  // namespace flyshard::detail
