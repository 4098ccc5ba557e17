#include "routing/router.hpp"

#include <algorithm>

#include "io/connection.hpp"
#include "routing/node.hpp"

namespace flyshard::detail {

Node::Node(NodeAddress addr, std::size_t shard_index, bool primary, std::size_t pool_size)
    : address(std::move(addr)),
      name(address.to_string()),
      socket(resolve_address(address.host, address.port)),
      shard(shard_index),
      is_primary(primary),
      lag(address.host, address.port),
      pool(pool_size) {}

Node::~Node() = default;

bool usable_as_primary(const Node& node) noexcept {
  return node.health.up() && node.health.role() != NodeRole::replica &&
         !node.health.awaiting_promotion();
}

bool usable_as_replica(const Node& node) noexcept {
  // read_eligible is only ever set for an in-sync replica, or for a just-promoted replica
  // that the shard has not been re-pointed to yet (see ClientCore::on_check).
  return node.health.up() && node.health.role() != NodeRole::unknown &&
         node.health.read_eligible();
}

Router::Router(Distribution distribution, std::vector<ShardInit> shards, ReadFrom read_from,
               FailurePolicy policy, DistributionOptions distribution_options)
    : full_(std::move(distribution)),
      distribution_options_(std::move(distribution_options)),
      read_from_(read_from),
      policy_(policy) {
  for (auto& s : shards) {
    auto r = std::make_unique<ShardRoute>();
    r->name = s.name;
    r->weight = s.weight;
    r->primary.store(s.primary);
    r->replicas.store(std::make_shared<const std::vector<Node*>>(std::move(s.replicas)));
    shards_.push_back(std::move(r));
  }
  placement_.store(std::make_shared<const Placement>(Placement{full_, {}, std::nullopt, {}}));
}

std::size_t Router::shard_for(std::string_view key) const noexcept {
  // The store policy never changes placement: no atomic load on the hot path.
  if (policy_ == FailurePolicy::store) return full_.shard_for(key);
  return placement_.load(std::memory_order_acquire)->shard_for(key);
}

std::shared_ptr<const Placement> Router::placement() const {
  return placement_.load(std::memory_order_acquire);
}

Node* Router::pick(std::size_t shard, bool write, ReadFrom read_from) const noexcept {
  const ShardRoute& s = *shards_[shard];
  Node* primary = s.primary.load(std::memory_order_acquire);
  const bool primary_ok = usable_as_primary(*primary);
  if (write) return primary_ok ? primary : nullptr;
  if (read_from == ReadFrom::primary) return primary_ok ? primary : nullptr;

  auto replicas = s.replicas.load(std::memory_order_acquire);
  auto eligible_replica = [&]() -> Node* {
    const std::size_t n = replicas->size();
    if (n == 0) return nullptr;
    const std::size_t start = next_replica_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t k = 0; k < n; ++k) {
      Node* r = (*replicas)[(start + k) % n];
      if (usable_as_replica(*r)) return r;
    }
    return nullptr;
  };
  switch (read_from) {
    case ReadFrom::primary:
      break;
    case ReadFrom::primary_preferred:
      return primary_ok ? primary : eligible_replica();
    case ReadFrom::replica:
      return eligible_replica();
    case ReadFrom::replica_preferred: {
      Node* r = eligible_replica();
      return r != nullptr ? r : (primary_ok ? primary : nullptr);
    }
    case ReadFrom::nearest: {
      Node* best = primary_ok ? primary : nullptr;
      for (Node* r : *replicas) {
        if (!usable_as_replica(*r)) continue;
        if (best == nullptr || r->health.latency_us() < best->health.latency_us()) best = r;
      }
      return best;
    }
  }
  return primary_ok ? primary : nullptr;
}

std::string Router::unavailable_reason(std::size_t shard, bool write) const {
  const ShardRoute& s = *shards_[shard];
  Node* primary = s.primary.load();
  std::string why = "shard " + s.name + ": ";
  if (!write && usable_as_primary(*primary)) {
    return why + "no replica is eligible for reads (the read policy excludes the primary)";
  }
  if (!primary->health.up()) {
    why += "primary " + primary->name + " is down";
  } else if (primary->health.role() == NodeRole::replica) {
    why += "node " + primary->name + " is a replica now (waiting for the new primary)";
  } else if (primary->health.awaiting_promotion()) {
    why += "new primary " + primary->name + " is not confirmed yet (waiting for its role)";
  } else {
    why += "primary " + primary->name + " is not usable";
  }
  if (!write) why += " and no replica is eligible for reads";
  return why;
}

std::vector<Node*> Router::nodes() const {
  std::vector<Node*> out;
  for (const auto& s : shards_) {
    out.push_back(s->primary.load());
    auto reps = s->replicas.load();
    out.insert(out.end(), reps->begin(), reps->end());
  }
  return out;
}

std::size_t Router::shard_by_name(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i]->name == name) return i;
  }
  return static_cast<std::size_t>(-1);
}

void Router::set_primary(std::size_t shard, Node* node) {
  {
    std::lock_guard lock(mu_);
    ShardRoute& s = *shards_[shard];
    Node* old = s.primary.load();
    if (old == node) return;
    std::vector<Node*> reps(*s.replicas.load());
    std::erase(reps, node);
    if (std::find(reps.begin(), reps.end(), old) == reps.end()) reps.push_back(old);
    old->is_primary.store(false);
    node->is_primary.store(true);
    s.replicas.store(std::make_shared<const std::vector<Node*>>(std::move(reps)));
    s.primary.store(node, std::memory_order_release);
  }
  on_health_change();
}

void Router::add_replica(std::size_t shard, Node* node) {
  std::lock_guard lock(mu_);
  ShardRoute& s = *shards_[shard];
  auto reps = s.replicas.load();
  if (s.primary.load() == node || std::find(reps->begin(), reps->end(), node) != reps->end()) {
    return;
  }
  auto next = std::make_shared<std::vector<Node*>>(*reps);
  next->push_back(node);
  s.replicas.store(std::move(next));
}

void Router::on_health_change() {
  {
    std::lock_guard lock(mu_);
    if (policy_ == FailurePolicy::cache) rebuild_placement();
  }
  changed_.notify_all();
}

void Router::rebuild_placement() {
  std::vector<ShardWeight> live;
  std::vector<std::size_t> to_shard;
  std::vector<bool> out(shards_.size(), false);
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (usable_as_primary(*shards_[i]->primary.load())) {
      live.push_back({shards_[i]->name, shards_[i]->weight});
      to_shard.push_back(i);
    } else {
      out[i] = true;
    }
  }
  auto current = placement_.load();
  if (live.size() == shards_.size() || live.empty()) {
    // All in, or none: the full layout (with none in, requests fail on their own shard).
    if (!current->out.empty()) {
      placement_.store(std::make_shared<const Placement>(Placement{full_, {}, std::nullopt, {}}));
    }
    return;
  }
  if (current->out == out) return;
  Distribution d = Distribution::create(full_.algorithm(), std::move(live), distribution_options_);
  placement_.store(std::make_shared<const Placement>(
      Placement{full_, std::move(out), std::move(d), std::move(to_shard)}));
}

Node* Router::wait_for_primary(std::size_t shard, std::chrono::steady_clock::time_point until) const {
  std::unique_lock lock(mu_);
  Node* found = nullptr;
  changed_.wait_until(lock, until, [&] {
    found = pick(shard, true, ReadFrom::primary);
    return found != nullptr;
  });
  return found;
}

}  // namespace flyshard::detail
