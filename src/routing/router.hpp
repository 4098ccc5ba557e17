#pragma once
// Key -> shard (the Distribution) -> node (role and read policy).

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/distribution.hpp"
#include "flyshard/options.hpp"

namespace flyshard::detail {

struct Node;

struct ShardRoute {
  std::string name;
  Node* primary = nullptr;
  std::vector<Node*> replicas;
};

class Router {
 public:
  Router(Distribution distribution, std::vector<ShardRoute> shards, ReadFrom read_from);

  std::size_t shard_for(std::string_view key) const noexcept {
    return distribution_.shard_for(key);
  }
  std::size_t shard_count() const noexcept { return shards_.size(); }
  const ShardRoute& shard(std::size_t i) const noexcept { return shards_[i]; }
  const Distribution& distribution() const noexcept { return distribution_; }

  /// The node that serves shard `i`: its primary for writes, else per the read policy.
  Node& node_for(std::size_t shard, bool write) const noexcept;

 private:
  Distribution distribution_;
  std::vector<ShardRoute> shards_;
  ReadFrom read_from_;
  mutable std::atomic<std::size_t> next_replica_{0};  // round-robin over replicas
};

}  // namespace flyshard::detail
