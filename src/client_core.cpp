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

  // Handshake on every new connection, async or blocking.
  handshake_replies_ += append_auth(handshake_, topology_.auth);
  if (topology_.database != 0) {
    const std::string db = std::to_string(topology_.database);
    std::vector<std::string_view> select{"SELECT", db};
    append_command(handshake_, select);
    ++handshake_replies_;
  }

  // With Sentinel, the sentinels say where each shard's primary and replicas are now; the
  // configured addresses are only a fallback.
  if (topology_.sentinel) {
    std::vector<std::string> names;
    for (const auto& sh : topology_.shards) names.push_back(sh.name);
    SentinelWatcher::Hooks hooks;
    hooks.promote = [this](std::size_t shard, const NodeAddress& a, const char* why) {
      on_switch_master(shard, a, why);
    };
    hooks.replica_added = [this](std::size_t shard, const NodeAddress& a) {
      if (Node* n = node_at(a, shard)) {
        router_->add_replica(shard, n);
        health_->check_now(*n);
      }
    };
    hooks.replicas = [this](std::size_t shard, const std::vector<NodeAddress>& named) {
      sync_replicas(shard, named);
    };
    hooks.hint = [this](const NodeAddress& a) {
      std::lock_guard lock(nodes_mu_);
      for (auto& n : nodes_) {
        if (n->address == a && !n->retired.load()) health_->check_now(*n);
      }
    };
    // The sentinels' TLS: their own section, else the data nodes'.
    auto sentinel_tls =
        topology_.sentinel->tls ? tls_context_for(topology_.sentinel->tls, "sentinel.tls") : tls_;
    sentinel_ = std::make_unique<SentinelWatcher>(*topology_.sentinel, std::move(names),
                                                  options_.request_timeout, log_, std::move(hooks),
                                                  std::move(sentinel_tls));
    auto views = sentinel_->ask(options_.connect_timeout);
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (!views[i].primary) {
        log_.log(LogLevel::warning, "no sentinel knows " + topology_.sentinel->master_prefix +
                                        topology_.shards[i].name +
                                        "; using the configured addresses");
        continue;
      }
      topology_.shards[i].primary = *views[i].primary;
      topology_.shards[i].replicas = views[i].replicas;
    }
  }

  // One Node per distinct address.
  std::map<NodeAddress, Node*> by_address;
  auto node_for = [&](const NodeAddress& a, std::size_t shard, bool primary) {
    auto it = by_address.find(a);
    if (it != by_address.end()) return it->second;
    nodes_.push_back(make_node(a, shard, primary));
    by_address[a] = nodes_.back().get();
    return nodes_.back().get();
  };
  std::vector<Router::ShardInit> routes;
  for (std::size_t i = 0; i < topology_.shards.size(); ++i) {
    const ShardSpec& s = topology_.shards[i];
    Router::ShardInit r{s.name, s.weight, node_for(s.primary, i, true), {}};
    for (const auto& rep : s.replicas) r.replicas.push_back(node_for(rep, i, false));
    routes.push_back(std::move(r));
  }
  const FailurePolicy policy = topology_.failure_policy.value_or(options_.failure_policy);
  router_ = std::make_unique<Router>(topology_.make_distribution(), std::move(routes),
                                     options_.read_from, policy, topology_.distribution_options);
  parked_count_ = std::make_unique<std::atomic<std::size_t>[]>(topology_.shards.size());

  LinkSettings link{options_.connect_timeout, options_.stuck_timeout, options_.reconnect_min,
                    options_.reconnect_max,   handshake_,             handshake_replies_,
                    options_.health_interval};
  engine_ = std::make_unique<Engine>(options_, std::move(link), log_);
  for (auto& n : nodes_) engine_->add_node(*n, options_.connections_per_node);
  engine_->set_result_hook(
      [this](Endpoint& n, errc e, std::string_view message) {
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
    if (sentinel_) sentinel_->poll(now);
  });
  engine_->set_shutdown_hook([this] {
    health_->stop();
    for (auto& p : parked_) submit_error(errc::shutting_down, "client is shutting down", std::move(p.cb));
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
  n->tls = tls_peer(tls_, a.host);
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

Node* ClientCore::node_at(const NodeAddress& address, std::size_t shard) {
  Node* found = nullptr;
  {
    std::lock_guard lock(nodes_mu_);
    for (auto& n : nodes_) {
      if (n->address == address) found = n.get();
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
  engine_->add_node(*n, options_.connections_per_node);
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
    if (std::find(replicas.begin(), replicas.end(), r->address) != replicas.end()) continue;
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
  std::lock_guard lock(nodes_mu_);
  for (const auto& n : nodes_) {
    if (n->retired.load()) continue;  // left the topology
    NodeStats s;
    s.address = n->name;
    s.shard = topology_.shards[n->shard].name;
    s.role = n->is_primary.load() ? "primary" : "replica";
    n->stats.snapshot_into(s);
    out.nodes.push_back(std::move(s));
  }
  return out;
}

}  // namespace flyshard::detail
