#include "reshard/dirty_drain.hpp"

#include "reshard/checkpoint.hpp"

namespace flyshard::detail {
namespace {

// SPOP with a count is non-deterministic; scripts replicate their effects (Redis 5+ default,
// Dragonfly), so the replicas see the SADD, not a different pop.
const char* const kTakeScript = R"lua(
local keys = redis.call('SPOP', KEYS[1], ARGV[1])
if #keys > 0 then redis.call('SADD', KEYS[2], unpack(keys)) end
return keys
)lua";

}  // namespace

DrainCounts drain_dirty(MoveContext& ctx, const std::string& source, std::size_t batch,
                        std::uint64_t max_keys, std::size_t keep) {
  DrainCounts out;
  const std::string dirty = dirty_key(ctx.migration_id);
  const std::string inflight = inflight_key(ctx.migration_id);
  auto finish = [&](const std::vector<std::string>& keys) {
    out.copy += copy_moving(ctx, source, keys, true);
    out.keys += keys.size();
    for (std::size_t i = 0; i < keys.size() && out.taken.size() < keep; ++i)
      out.taken.push_back(keys[i]);
    ctx.links.run(source, {"DEL", inflight});
  };
  // A crashed migrator's batch first.
  auto left = ctx.links.run(source, {"SMEMBERS", inflight}).as<std::vector<std::string>>();
  if (!left.empty()) finish(left);
  while (max_keys == 0 || out.keys < max_keys) {
    const auto keys =
        ctx.links
            .run(source, {"EVAL", kTakeScript, "2", dirty, inflight, static_cast<long long>(batch)})
            .as<std::vector<std::string>>();
    if (keys.empty()) break;
    finish(keys);
  }
  return out;
}

std::uint64_t dirty_count(MoveContext& ctx, const std::string& source) {
  const auto a = ctx.links.run(source, {"SCARD", dirty_key(ctx.migration_id)}).as<long long>();
  const auto b = ctx.links.run(source, {"SCARD", inflight_key(ctx.migration_id)}).as<long long>();
  return static_cast<std::uint64_t>(a + b);
}

}  // namespace flyshard::detail
