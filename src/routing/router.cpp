#include "routing/router.hpp"

#include "io/connection.hpp"
#include "routing/node.hpp"

namespace flyshard::detail {

Node::Node(NodeAddress addr, std::size_t shard_index, bool primary, std::size_t pool_size)
    : address(std::move(addr)),
      name(address.to_string()),
      socket(resolve_address(address.host, address.port)),
      shard(shard_index),
      is_primary(primary),
      pool(pool_size) {}

Node::~Node() = default;

Router::Router(Distribution distribution, std::vector<ShardRoute> shards, ReadFrom read_from)
    : distribution_(std::move(distribution)), shards_(std::move(shards)), read_from_(read_from) {}

Node& Router::node_for(std::size_t shard, bool write) const noexcept {
  const ShardRoute& s = shards_[shard];
  if (write || s.replicas.empty()) return *s.primary;
  switch (read_from_) {
    case ReadFrom::primary:
    case ReadFrom::primary_preferred:
    case ReadFrom::nearest:
      return *s.primary;
    case ReadFrom::replica:
    case ReadFrom::replica_preferred: {
      std::size_t i = next_replica_.fetch_add(1, std::memory_order_relaxed);
      return *s.replicas[i % s.replicas.size()];
    }
  }
  return *s.primary;
}

}  // namespace flyshard::detail
