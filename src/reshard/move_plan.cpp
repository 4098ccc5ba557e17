#include "reshard/move_plan.hpp"

#include "reshard/topology_record.hpp"

namespace flyshard::detail {

bool is_internal_key(std::string_view key) noexcept {
  return key.starts_with(kInternalKeyPrefix);
}

MovePlan::MovePlan(const Topology& from, const Topology& to)
    : from_(from.make_distribution()), to_(to.make_distribution()) {}

const std::string& MovePlan::from_shard(std::string_view key) const noexcept {
  return from_.shards()[from_.shard_for(key)].name;
}

const std::string& MovePlan::to_shard(std::string_view key) const noexcept {
  return to_.shards()[to_.shard_for(key)].name;
}

bool MovePlan::moves(std::string_view key) const noexcept {
  return !is_internal_key(key) && from_shard(key) != to_shard(key);
}

bool MovePlan::in_target(std::string_view shard) const noexcept {
  for (const auto& s : to_.shards())
    if (s.name == shard) return true;
  return false;
}

bool MovePlan::in_source(std::string_view shard) const noexcept {
  for (const auto& s : from_.shards())
    if (s.name == shard) return true;
  return false;
}

}  // namespace flyshard::detail
