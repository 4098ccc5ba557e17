#include "reshard/copier.hpp"

#include "reshard/migration_error.hpp"

namespace flyshard::detail {

CopyCounts copy_moving(MoveContext& ctx, const std::string& source,
                       const std::vector<std::string>& keys, bool delete_absent) {
  std::map<std::string, std::vector<std::string>> by_target;
  std::size_t moving = 0;
  for (const std::string& k : keys) {
    if (!ctx.plan.moves(k) || ctx.plan.from_shard(k) != source) continue;
    by_target[ctx.plan.to_shard(k)].push_back(k);
    ++moving;
  }
  ctx.rate.acquire(moving);
  CopyCounts total;
  Client& from = ctx.links.shard(source);
  for (const auto& [target, batch] : by_target) {
    CopyOptions o = ctx.copy;
    auto it = ctx.clock_offset.find(target);
    o.target_clock_offset_ms = it == ctx.clock_offset.end() ? 0 : it->second;
    try {
      total += copy_keys(from, ctx.links.shard(target), batch, delete_absent, o, ctx.migration_id);
    } catch (const MigrationUnrecoverable& e) {
      throw MigrationUnrecoverable(source + " -> " + target + ": " + e.what());
    } catch (const Error& e) {
      rethrow_on(source + " -> " + target, e);
    }
  }
  return total;
}

}  // namespace flyshard::detail
