#pragma once
// The two layouts of a migration and the one question clients ask of them: does this key
// move? A key moves when the shard that owns it under the target has another name than the
// shard that owns it under the layout in use (a shard is its name: a shard kept in the
// target under the same name keeps its keys, whatever its weight or addresses).

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "flyshard/distribution.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::detail {

class LayoutPair {
 public:
  static constexpr std::size_t kNewShard = static_cast<std::size_t>(-1);

  /// `layout`: what clients route by now; `target`: the layout being migrated to, or null.
  /// Throws Error(config) for a layout the distribution refuses.
  LayoutPair(const Topology& layout, const Topology* target);

  /// Index in the layout of the shard that owns `key` now.
  std::size_t shard_for(std::string_view key) const noexcept { return layout_.shard_for(key); }
  /// Index in the target of the shard that will own `key` (target only; 0 without one).
  std::size_t target_shard_for(std::string_view key) const noexcept {
    return target_ ? target_->shard_for(key) : 0;
  }
  /// Does `key` change shard between the two layouts? Never without a target.
  bool moves(std::string_view key) const noexcept {
    if (!target_) return false;
    return to_layout_[target_->shard_for(key)] != layout_.shard_for(key);
  }
  bool has_target() const noexcept { return target_.has_value(); }
  const Distribution& layout() const noexcept { return layout_; }

 private:
  Distribution layout_;
  std::optional<Distribution> target_;
  std::vector<std::size_t> to_layout_;  // target index -> layout index (kNewShard: added)
};

}  // namespace flyshard::detail
