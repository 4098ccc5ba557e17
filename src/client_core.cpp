#include "client_core.hpp"

#include <algorithm>
#include <map>
#include <thread>

#include "io/connection.hpp"
#include "io/handshake.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {

std::vector<std::string_view> set_words(std::string_view key, std::string_view value,
                                        const SetOptions& options, std::string& ms) {
  std::vector<std::string_view> w{"SET", key, value};
  if (options.ttl.count() > 0) {
    ms = std::to_string(options.ttl.count());
    w.push_back("PX");
    w.push_back(ms);
  }
  if (options.only_if_absent) w.push_back("NX");
  if (options.only_if_present) w.push_back("XX");
  return w;
}

Reply value_or_throw(Result<Reply> r) {
  if (!r.ok()) throw Error(r.error(), r.message());
  return std::move(r).value();
}

ClientCore::ClientCore(Topology topology, ClientOptions options)
    : topology_(std::move(topology)),
      options_(std::move(options)),
      log_(options_.log, options_.log_level) {
  topology_.validate();
  if (options_.request_timeout.count() <= 0) {
    throw Error(errc::config, "options.request_timeout: expected > 0 ms");
  }
  if (options_.connect_timeout.count() <= 0) {
    throw Error(errc::config, "options.connect_timeout: expected > 0 ms");
  }
  if (options_.stuck_timeout.count() == 0) options_.stuck_timeout = 2 * options_.request_timeout;
  if (options_.reconnect_min.count() <= 0) options_.reconnect_min = std::chrono::milliseconds(1);
  if (options_.reconnect_max < options_.reconnect_min)
    options_.reconnect_max = options_.reconnect_min;

  // TLS contexts are built (and their files read) now, so a bad file fails the constructor.
  tls_ = tls_context_for(topology_.tls, "tls");

  for (char c : options_.client_name) {
    // The server refuses a name with spaces or control bytes: say so here, not per link.
    if (c < '!' || c > '~')
      throw Error(errc::config, "options.client_name: only printable ASCII without spaces");
  }
  // A node Sentinel announces takes the credentials and database of its shard's configured
  // primary (it holds the same data); the configured addresses are overwritten just below.
  for (const auto& sh : topology_.shards) configured_primaries_.emplace(sh.name, sh.primary);

  // With Sentinel, the sentinels say where each shard's primary and replicas are now; the
  // configured addresses are only a fallback.
  if (topology_.sentinel) {
    std::vector<std::string> names;
    for (const auto& sh : topology_.shards) names.push_back(sh.name);
    // The watcher numbers shards as the file lists them; the routing table numbers them as
    // the layout in use does (a topology record may add, drop or reorder shards).
    auto routed = [this, names](std::size_t i) { return router_->shard_by_name(names[i]); };
    constexpr std::size_t kGone = static_cast<std::size_t>(-1);
    SentinelWatcher::Hooks hooks;
    hooks.promote = [this, routed](std::size_t i, const NodeAddress& a, const char* why) {
      if (const std::size_t shard = routed(i); shard != kGone) on_switch_master(shard, a, why);
    };
    hooks.replica_added = [this, routed](std::size_t i, const NodeAddress& a) {
      const std::size_t shard = routed(i);
      if (shard == kGone) return;
      if (Node* n = node_at(a, shard)) {
        router_->add_replica(shard, n);
        health_->check_now(*n);
      }
    };
    hooks.replicas = [this, routed](std::size_t i, const std::vector<NodeAddress>& named) {
      if (const std::size_t shard = routed(i); shard != kGone) sync_replicas(shard, named);
    };
    hooks.hint = [this](const NodeAddress& a) {
      std::lock_guard lock(nodes_mu_);
      for (auto& n : nodes_) {
        if (n->address.same_endpoint(a) && !n->retired.load()) health_->check_now(*n);
      }
    };
    // The sentinels' TLS: their own section, else the data nodes'.
    auto sentinel_tls =
        topology_.sentinel->tls ? tls_context_for(topology_.sentinel->tls, "sentinel.tls") : tls_;
    sentinel_ = std::make_unique<SentinelWatcher>(*topology_.sentinel, std::move(names),
                                                  options_.request_timeout, log_, std::move(hooks),
                                                  std::move(sentinel_tls), options_.client_name);
    auto views = sentinel_->ask(options_.connect_timeout);
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (!views[i].primary) {
        log_.log(LogLevel::warning, "no sentinel knows " + topology_.sentinel->master_prefix +
                                        topology_.shards[i].name +
                                        "; using the configured addresses");
        continue;
      }
      topology_.shards[i].primary = as_configured(i, *views[i].primary);
      topology_.shards[i].replicas.clear();
      for (const auto& r : views[i].replicas)
        topology_.shards[i].replicas.push_back(as_configured(i, r));
    }
  }

  // A topology record on the primaries (online resharding) wins over the file's layout.
  client_id_ = random_client_id();
  fence_key_ = std::string(kFenceKeyPrefix) + client_id_;
  std::optional<TopologyRecord> record;
  if (options_.follow_topology_record) record = read_record_at_start();
  if (record && topology_.sentinel) {
    // Where the sentinels say a shard's nodes are now beats where the record said they were.
    for (ShardSpec& s : record->layout.shards) {
      for (const ShardSpec& known : topology_.shards) {
        if (known.name == s.name) {
          s.primary = known.primary;
          s.replicas = known.replicas;
        }
      }
    }
  }
  const Topology& layout = record ? record->layout : topology_;
  if (layout.shards.size() > kMaxShards) {
    throw Error(errc::config, "more than " + std::to_string(kMaxShards) + " shards");
  }
  // One Node per distinct address.
  auto routes = shard_inits(layout);
  const FailurePolicy policy = topology_.failure_policy.value_or(options_.failure_policy);
  router_ = std::make_unique<Router>(layout.make_distribution(), std::move(routes),
                                     options_.read_from, policy, layout.distribution_options);
  if (record) {
    router_->set_reshard(std::make_shared<const ReshardView>(*record));
    log_.log(LogLevel::info, "topology epoch " + std::to_string(record->epoch) + " (" +
                                 std::string(to_string(record->state)) + ") from the primaries");
  }
  parked_count_ = std::make_unique<std::atomic<std::size_t>[]>(kMaxShards);

  LinkSettings link{options_.connect_timeout, options_.stuck_timeout, options_.reconnect_min,
                    options_.reconnect_max, options_.health_interval};
  engine_ = std::make_unique<Engine>(options_, std::move(link), log_);
  for (auto& n : nodes_) engine_->add_node(*n, options_.connections_per_node);
  engine_->set_result_hook([this](Endpoint& n, errc e, std::string_view message) {
    on_result(static_cast<Node&>(n), e, message);  // every endpoint of this engine is a Node
  });
  engine_->set_connect_failure_hook(
      [this](Endpoint& n) { on_connect_failure(static_cast<Node&>(n)); });
  engine_->set_reconnect_hook([this](Endpoint& n) {
    if (options_.health_interval.count() > 0) health_->check_now(static_cast<Node&>(n));
  });
  health_ = std::make_unique<HealthChecker>(
      *engine_, options_.health_interval, [this] { return router_->nodes(); },
      [this](Node& n, std::optional<ReplicationInfo> info, std::chrono::nanoseconds rtt) {
        on_check(n, std::move(info), rtt);
      });
  engine_->set_sweep_hook([this](Clock::time_point now) {
    retry_parked(now);
    record_tick(now);
    if (sentinel_) sentinel_->poll(now);
  });
  engine_->set_shutdown_hook([this] {
    health_->stop();
    for (auto& p : parked_)
      submit_error(errc::shutting_down, "client is shutting down", std::move(p.cb));
    parked_.clear();
  });
  health_->start();
  if (sentinel_) {
    // The replicas are asked as often as the nodes are checked: a node Sentinel no longer
    // names is retired (not checked, its links closed), one it names again comes back.
    sentinel_->set_replica_poll(options_.health_interval);
    sentinel_->start(*engine_);
  }
  engine_->start();
}

std::unique_ptr<Node> ClientCore::make_node(const NodeAddress& a, std::size_t shard,
                                            bool primary) const {
  auto n = std::make_unique<Node>(a, shard, primary, options_.blocking_pool_size);
  n->tls = tls_peer(tls_, a);
  prepare_handshake(*n);
  return n;
}

void ClientCore::on_switch_master(std::size_t shard, const NodeAddress& address, const char* why) {
  Node* node = node_at(address, shard);
  if (node == nullptr) return;
  Node* old = router_->shard(shard).primary;
  if (old == node) return;
  log_.log(LogLevel::warning, "shard " + router_->shard(shard).name + ": primary " + old->name +
                                  " -> " + node->name + " (" + why + ")");
  // Sentinel killed the normal clients of every node it reconfigured (the promoted one and
  // the replicas it re-pointed): pooled blocking links to them are dead.
  for (Node* n : router_->nodes()) {
    if (n->shard == shard) n->pool.clear();
  }
  node->pool.clear();
  // Sentinel says it was promoted; writes wait until a check confirms it is a primary (a
  // sentinel's view can run ahead of the node, and a stale one may name a replica).
  node->health.expect_promotion();
  router_->set_primary(shard, node);
  move_subscriptions(*engine_, *old, *node);
  health_->check_now(*node);
  health_->check_now(*old);
}

NodeAddress ClientCore::as_configured(std::size_t shard, const NodeAddress& announced) const {
  // By name: a layout change (online resharding) renumbers shards, and a shard a new layout
  // added has no configured primary (its nodes come as the record names them).
  const std::string name = router_ ? router_->shard_name(shard)
                           : shard < topology_.shards.size() ? topology_.shards[shard].name
                                                             : std::string();
  auto it = configured_primaries_.find(name);
  return it == configured_primaries_.end() ? announced : it->second.moved_to(announced);
}

void ClientCore::prepare_handshake(Node& node) const {
  node.handshake.clear();
  node.handshake_replies = append_handshake(node.handshake, node.address, topology_.auth,
                                            options_.client_name, topology_.database);
}

Node* ClientCore::node_at(const NodeAddress& announced, std::size_t shard) {
  const NodeAddress address = as_configured(shard, announced);
  Node* found = nullptr;
  {
    std::lock_guard lock(nodes_mu_);
    for (auto& n : nodes_) {
      if (n->address.same_endpoint(address)) found = n.get();
    }
  }
  if (found != nullptr) {
    revive(*found);  // outside nodes_mu_: reopening links may run callbacks
    return found;
  }
  std::lock_guard lock(nodes_mu_);
  try {
    nodes_.push_back(make_node(address, shard, false));
  } catch (const Error& e) {
    log_.log(LogLevel::warning, e.what());
    return nullptr;
  }
  Node* n = nodes_.back().get();
  // Before the engine exists (the constructor), it adds every node when it is made.
  if (engine_) engine_->add_node(*n, options_.connections_per_node);
  return n;
}

void ClientCore::sync_replicas(std::size_t shard, const std::vector<NodeAddress>& replicas) {
  for (const NodeAddress& a : replicas) {
    Node* n = node_at(a, shard);
    if (n == nullptr) continue;
    const ShardRoute now = router_->shard(shard);
    if (n == now.primary ||
        std::find(now.replicas.begin(), now.replicas.end(), n) != now.replicas.end()) {
      continue;
    }
    router_->add_replica(shard, n);
    health_->check_now(*n);
  }
  const ShardRoute now = router_->shard(shard);
  for (Node* r : now.replicas) {
    if (r == now.primary) continue;
    if (std::any_of(replicas.begin(), replicas.end(),
                    [r](const NodeAddress& a) { return r->address.same_endpoint(a); })) {
      continue;
    }
    retire(shard, *r);
  }
}

void ClientCore::retire(std::size_t shard, Node& node) {
  if (!router_->remove_replica(shard, &node)) return;
  // Still routed elsewhere (a node is one address, so this is only a safeguard): keep it.
  for (Node* other : router_->nodes()) {
    if (other == &node) return;
  }
  log_.log(LogLevel::info, "node " + node.name + " (shard " + router_->shard_name(shard) +
                               ") left the topology: links closed, no more checks");
  retire_node(node);
}

void ClientCore::retire_node(Node& node) {
  // The object stays alive: a request routed by an older table, a blocking lease or a stats
  // reader may still hold it. Requests that reach it now fail with connection_lost.
  node.retired.store(true);
  node.pool.clear();
  for (auto& c : node.connections) c->park();
  if (node.subscriber && node.channels.empty()) node.subscriber->park();
}

void ClientCore::revive(Node& node) {
  if (!node.retired.load()) return;
  log_.log(LogLevel::info, "node " + node.name + " is announced again");
  // What was known of it is stale: nothing goes to it before a check.
  node.health.forget();
  node.checks.forget();
  node.retired.store(false);
  for (auto& c : node.connections) c->unpark();
  if (node.subscriber) node.subscriber->unpark();
}

ClientCore::~ClientCore() {
  engine_->stop();
}

std::shared_ptr<ClientCore> make_core(Topology topology, ClientOptions options) {
  return std::shared_ptr<ClientCore>(
      new ClientCore(std::move(topology), std::move(options)), [](ClientCore* core) {
        if (!core->engine().on_loop_thread()) {
          delete core;
          return;
        }
        core->engine().stop();  // from the loop thread: asks, does not wait
        try {
          std::thread([core] { delete core; }).detach();
        } catch (const std::system_error&) {
          // No thread to be had: leak the core rather than free what the loop still runs.
          core->log().log(LogLevel::error, "cannot stop the client's engine: core leaked");
        }
      });
}

ClientStats ClientCore::stats() const {
  ClientStats out;
  out.topology_epoch = topology_epoch();
  out.topology_changes = topology_changes();
  std::lock_guard lock(nodes_mu_);
  for (const auto& n : nodes_) {
    if (n->retired.load()) continue;  // left the topology
    NodeStats s;
    s.address = n->name;
    s.shard = router_->shard_name(n->shard);
    s.role = n->is_primary.load() ? "primary" : "replica";
    n->stats.snapshot_into(s);
    out.nodes.push_back(std::move(s));
  }
  return out;
}

}  // namespace flyshard::detail
