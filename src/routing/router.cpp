#include "routing/router.hpp"

#include <algorithm>

#include "routing/node.hpp"

namespace flyshard::detail {

Node::Node(NodeAddress addr, std::size_t shard_index, bool primary, std::size_t pool_size)
    : Endpoint(addr.to_string(), resolve_address(addr.host, addr.port)),
      address(std::move(addr)),
      shard(shard_index),
      is_primary(primary),
      checks(address.host, address.port),
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
  auto t = std::make_shared<RoutingTable>();
  for (auto& s : shards) {
    names_.push_back(s.name);
    t->shards.push_back(ShardRoute{s.name, s.weight, s.primary, std::move(s.replicas)});
  }
  t->placement = std::make_shared<const Placement>(Placement{full_, {}, std::nullopt, {}});
  table_.store(std::move(t));
}

template <typename Change>
void Router::update(Change change) {
  auto next = std::make_shared<RoutingTable>(*table_.load());
  ++next->epoch;
  change(*next);
  table_.store(std::move(next), std::memory_order_release);
}

Node* Router::pick(const RoutingTable& table, std::size_t shard, bool write,
                   ReadFrom read_from) const noexcept {
  const ShardRoute& s = table.shards[shard];
  Node* primary = s.primary;
  const bool primary_ok = usable_as_primary(*primary);
  if (write) return primary_ok ? primary : nullptr;
  if (read_from == ReadFrom::primary) return primary_ok ? primary : nullptr;

  const std::vector<Node*>& replicas = s.replicas;
  auto eligible_replica = [&]() -> Node* {
    const std::size_t n = replicas.size();
    if (n == 0) return nullptr;
    const std::size_t start = next_replica_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t k = 0; k < n; ++k) {
      Node* r = replicas[(start + k) % n];
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
      for (Node* r : replicas) {
        if (!usable_as_replica(*r)) continue;
        if (best == nullptr || r->health.latency_us() < best->health.latency_us()) best = r;
      }
      return best;
    }
  }
  return primary_ok ? primary : nullptr;
}

std::string Router::unavailable_reason(std::size_t shard, bool write) const {
  const auto t = table();
  const ShardRoute& s = t->shards[shard];
  Node* primary = s.primary;
  std::string why = "shard " + s.name + ": ";
  if (!write && usable_as_primary(*primary)) {
    return why + "no replica is eligible for reads (the read policy excludes the primary)";
  }
  if (!primary->health.up()) {
    why += "primary " + primary->name + " is down";
    if (std::string last = primary->last_failure(); !last.empty()) why += " (" + last + ")";
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
  const auto t = table();
  std::vector<Node*> out;
  for (const auto& s : t->shards) {
    out.push_back(s.primary);
    out.insert(out.end(), s.replicas.begin(), s.replicas.end());
  }
  return out;
}

std::size_t Router::shard_by_name(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return i;
  }
  return static_cast<std::size_t>(-1);
}

void Router::set_primary(std::size_t shard, Node* node) {
  {
    std::lock_guard lock(mu_);
    Node* old = table_.load()->shards[shard].primary;
    if (old == node) return;
    update([&](RoutingTable& t) {
      ShardRoute& s = t.shards[shard];
      std::erase(s.replicas, node);
      if (std::find(s.replicas.begin(), s.replicas.end(), old) == s.replicas.end()) {
        s.replicas.push_back(old);
      }
      s.primary = node;
    });
    old->is_primary.store(false);
    node->is_primary.store(true);
  }
  on_health_change();
}

void Router::add_replica(std::size_t shard, Node* node) {
  std::lock_guard lock(mu_);
  const auto t = table_.load();
  const ShardRoute& s = t->shards[shard];
  if (s.primary == node || std::find(s.replicas.begin(), s.replicas.end(), node) != s.replicas.end()) {
    return;
  }
  update([&](RoutingTable& next) { next.shards[shard].replicas.push_back(node); });
}

bool Router::remove_replica(std::size_t shard, Node* node) {
  {
    std::lock_guard lock(mu_);
    const auto t = table_.load();
    const ShardRoute& s = t->shards[shard];
    if (s.primary == node || std::find(s.replicas.begin(), s.replicas.end(), node) == s.replicas.end()) {
      return false;
    }
    update([&](RoutingTable& next) { std::erase(next.shards[shard].replicas, node); });
  }
  on_health_change();
  return true;
}

void Router::on_health_change() {
  if (policy_ == FailurePolicy::cache) {
    std::lock_guard lock(mu_);
    const auto t = table_.load();
    auto placement = placement_for(*t);
    if (placement != t->placement) update([&](RoutingTable& next) { next.placement = placement; });
  }
  // Under mu_ for a moment: a waiter between its check and its wait cannot miss this.
  { std::lock_guard lock(mu_); }
  changed_.notify_all();
}

std::shared_ptr<const Placement> Router::placement_for(const RoutingTable& t) const {
  std::vector<ShardWeight> live;
  std::vector<std::size_t> to_shard;
  std::vector<bool> out(t.shards.size(), false);
  for (std::size_t i = 0; i < t.shards.size(); ++i) {
    if (usable_as_primary(*t.shards[i].primary)) {
      live.push_back({t.shards[i].name, t.shards[i].weight});
      to_shard.push_back(i);
    } else {
      out[i] = true;
    }
  }
  const auto& current = t.placement;
  if (live.size() == t.shards.size() || live.empty()) {
    // All in, or none: the full layout (with none in, requests fail on their own shard).
    if (current->out.empty()) return current;
    return std::make_shared<const Placement>(Placement{full_, {}, std::nullopt, {}});
  }
  if (current->out == out) return current;
  Distribution d = Distribution::create(full_.algorithm(), std::move(live), distribution_options_);
  return std::make_shared<const Placement>(
      Placement{full_, std::move(out), std::move(d), std::move(to_shard)});
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
