#include "reshard/layout_pair.hpp"

namespace flyshard::detail {

LayoutPair::LayoutPair(const Topology& layout, const Topology* target)
    : layout_(layout.make_distribution()) {
  if (target == nullptr) return;
  target_ = target->make_distribution();
  // By name: the distributions index their own lists, which may differ in order and length.
  for (const ShardSpec& t : target->shards) {
    std::size_t found = kNewShard;
    for (std::size_t i = 0; i < layout.shards.size(); ++i) {
      if (layout.shards[i].name == t.name) found = i;
    }
    to_layout_.push_back(found);
  }
}

}  // namespace flyshard::detail
