#include "client_core.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <map>
#include <thread>

#include "command_table.hpp"
#include "io/connection.hpp"
#include "routing/sentinel.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return Clock::now() + timeout;
}

// An error reply that means the node is not what the routing table thinks it is.
bool says_role_changed(std::string_view message) {
  for (std::string_view prefix : {"READONLY", "LOADING", "MASTERDOWN"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// Appends AUTH for `auth` (nothing without a password); returns the replies it adds.
std::uint32_t append_auth(std::string& out, const AuthSpec& auth) {
  if (auth.password.empty()) return 0;
  std::vector<std::string_view> words{"AUTH"};
  if (!auth.username.empty()) words.push_back(auth.username);
  words.push_back(auth.password);
  append_command(out, words);
  return 1;
}

}  // namespace

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
    for (const auto& sh : topology_.shards) names.push_back(topology_.sentinel->master_prefix + sh.name);
    // The sentinels get their own credentials, never the data nodes' password.
    sentinel_handshake_replies_ = append_auth(sentinel_handshake_, topology_.sentinel->auth);
    auto views = ask_sentinels(topology_.sentinel->addresses, names, options_.connect_timeout,
                               log_, sentinel_handshake_, sentinel_handshake_replies_);
    sentinel_epoch_.resize(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (!views[i].primary) {
        log_.log(LogLevel::warning, "no sentinel knows " + names[i] + "; using the configured addresses");
        continue;
      }
      topology_.shards[i].primary = *views[i].primary;
      topology_.shards[i].replicas = views[i].replicas;
      sentinel_epoch_[i] = views[i].config_epoch;
    }
  }

  // One Node per distinct address.
  std::map<NodeAddress, Node*> by_address;
  auto node_for = [&](const NodeAddress& a, std::size_t shard, bool primary) {
    auto it = by_address.find(a);
    if (it != by_address.end()) return it->second;
    nodes_.push_back(std::make_unique<Node>(a, shard, primary, options_.blocking_pool_size));
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
      [this](Node& n, errc e, std::string_view message) { on_result(n, e, message); });
  engine_->set_connect_failure_hook([this](Node& n) { on_connect_failure(n); });
  engine_->set_reconnect_hook([this](Node& n) {
    if (options_.health_interval.count() > 0) health_->check_now(n);
  });
  health_ = std::make_unique<HealthChecker>(
      *engine_, options_.health_interval, [this] { return router_->nodes(); },
      [this](Node& n, std::optional<ReplicationInfo> info, std::chrono::nanoseconds rtt) {
        on_check(n, std::move(info), rtt);
      });
  engine_->set_sweep_hook([this](Clock::time_point now) { retry_parked(now); });
  engine_->set_shutdown_hook([this] {
    health_->stop();
    for (auto& p : parked_) submit_error(errc::shutting_down, "client is shutting down", std::move(p.cb));
    parked_.clear();
  });
  health_->start();
  if (topology_.sentinel) start_sentinel_watch();
  engine_->start();
}

void ClientCore::start_sentinel_watch() {
  std::string subscribe;
  std::vector<std::string_view> words{"SUBSCRIBE"};
  for (auto ch : kSentinelChannels) words.push_back(ch);
  append_command(subscribe, words);
  for (const NodeAddress& a : topology_.sentinel->addresses) {
    std::unique_ptr<Node> n;
    try {
      n = std::make_unique<Node>(a, 0, false, 0);
    } catch (const Error& e) {
      log_.log(LogLevel::warning, std::string("sentinel ") + e.what());
      continue;
    }
    engine_->add_node(*n, 1);  // for questions (SENTINEL MASTER)
    n->connections[0]->set_handshake(sentinel_handshake_, sentinel_handshake_replies_);
    n->subscriber = std::make_unique<Connection>(*engine_, *n);
    Connection* c = n->subscriber.get();
    c->set_handshake(sentinel_handshake_, sentinel_handshake_replies_);
    Node* sentinel = n.get();
    auto first = std::make_shared<bool>(true);
    c->set_subscriber([this, sentinel](Reply& push) { on_sentinel_message(*sentinel, push); },
                      [this, c, subscribe, first] {
                        c->send_untracked(subscribe);
                        // Events may have been missed while this link was down.
                        if (!*first) refresh_from_sentinels();
                        *first = false;
                      });
    engine_->adopt(*c);
    sentinels_.push_back(std::move(n));
  }
}

void ClientCore::on_sentinel_message(Node& sentinel, Reply& push) {
  const auto& e = push.elements();
  if (e.size() != 3 || e[0].str() != "message") return;
  auto event = parse_sentinel_event(e[1].str(), e[2].str());
  if (!event) return;
  const std::string& prefix = topology_.sentinel->master_prefix;
  if (event->master_name.compare(0, prefix.size(), prefix) != 0) return;
  const std::size_t shard = router_->shard_by_name(event->master_name.substr(prefix.size()));
  if (shard == static_cast<std::size_t>(-1)) return;
  switch (event->kind) {
    case SentinelEvent::Kind::switch_master:
      // The event carries no epoch, and one from a sentinel whose link was slow may describe
      // an older failover than one already followed: ask the same sentinel for the master
      // with its config epoch (one round trip) and follow only a newer epoch.
      ask_master(sentinel, shard, "+switch-master");
      break;
    case SentinelEvent::Kind::replica_added:
      if (Node* n = node_at(event->address, shard)) {
        router_->add_replica(shard, n);
        health_->check_now(*n);
      }
      break;
    case SentinelEvent::Kind::down:
    case SentinelEvent::Kind::up: {
      // A hint: check the node now rather than at the next interval.
      std::lock_guard lock(nodes_mu_);
      for (auto& n : nodes_) {
        if (n->address == event->address) health_->check_now(*n);
      }
      break;
    }
    case SentinelEvent::Kind::other:
      break;
  }
}

void ClientCore::ask_master(Node& sentinel, std::size_t shard, const char* why) {
  Request r;
  const std::string name = topology_.sentinel->master_prefix + router_->shard(shard).name;
  std::vector<std::string_view> w{"SENTINEL", "MASTER", name};
  append_command(r.payload, w);
  r.start = Clock::now();
  r.deadline = r.start + options_.request_timeout;
  r.callback = [this, shard, why](Result<Reply> res) {
    if (!res.ok()) return;
    if (auto master = parse_sentinel_master(res.value())) on_master_answer(shard, *master, why);
  };
  engine_->dispatch_now(sentinel, std::move(r));
}

void ClientCore::on_master_answer(std::size_t shard, const SentinelMaster& master,
                                  const char* why) {
  // Only a newer config epoch moves the shard: an answer with the epoch already followed (or
  // an older one) comes from a sentinel that has not seen the last failover yet. The leader
  // of a failover in progress names the new epoch with the old address: not an answer yet.
  if (master.failover_in_progress) return;
  if (shard < sentinel_epoch_.size() && sentinel_epoch_[shard] &&
      master.config_epoch <= *sentinel_epoch_[shard]) {
    return;
  }
  if (shard < sentinel_epoch_.size()) sentinel_epoch_[shard] = master.config_epoch;
  on_switch_master(shard, master.address, why);
}

void ClientCore::on_switch_master(std::size_t shard, const NodeAddress& address, const char* why) {
  Node* node = node_at(address, shard);
  if (node == nullptr) return;
  Node* old = router_->shard(shard).primary.load();
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

void ClientCore::refresh_from_sentinels() {
  // Rate-limited: a burst of failures asks once.
  const auto now = Clock::now();
  if (now - last_refresh_ < std::chrono::milliseconds(100)) return;
  last_refresh_ = now;
  // Every sentinel is asked; on_master_answer() follows only a newer config epoch, so a
  // sentinel that still names the old primary changes nothing.
  for (auto& s : sentinels_) {
    for (std::size_t i = 0; i < router_->shard_count(); ++i) ask_master(*s, i, "sentinel query");
  }
}

Node* ClientCore::node_at(const NodeAddress& address, std::size_t shard) {
  std::lock_guard lock(nodes_mu_);
  for (auto& n : nodes_) {
    if (n->address == address) return n.get();
  }
  try {
    nodes_.push_back(std::make_unique<Node>(address, shard, false, options_.blocking_pool_size));
  } catch (const Error& e) {
    log_.log(LogLevel::warning, e.what());
    return nullptr;
  }
  Node* n = nodes_.back().get();
  engine_->add_node(*n, options_.connections_per_node);
  return n;
}

void ClientCore::on_result(Node& node, errc code, std::string_view message) {
  // Without active checks nothing would ever mark a node up again, so nothing marks it down.
  if (options_.health_interval.count() <= 0) return;
  if (code == errc{} || code == errc::server_error) {  // it answered: alive
    node.health.on_success();
    if (code == errc::server_error && says_role_changed(message) &&
        node.health.request_role_check()) {
      // The node answered as if its role changed (a demoted primary, a replica resyncing):
      // check it now rather than at the next health round, so writes stop going there.
      engine_->post([this, n = &node] {
        n->health.role_check_done();
        health_->check_now(*n);
      });
    }
    return;
  }
  // A dropped link (connection_lost) is not counted: a node that closes connections is not
  // dead (Sentinel kills clients when it reconfigures a node), and a dead one fails the
  // reconnect, which on_connect_failure() counts.
  if (code == errc::protocol_error) on_connect_failure(node);
  // Timeouts count once per health interval (see NodeHealth::on_timeout); a node that keeps
  // timing out still goes down, through its failing checks as well.
  if (code == errc::timeout &&
      node.health.on_timeout(options_.failure_limit, Clock::now(), options_.health_interval))
    on_state_change(node, false);
}

void ClientCore::on_connect_failure(Node& node) {
  if (options_.health_interval.count() <= 0) return;
  if (node.health.on_failure(options_.failure_limit)) on_state_change(node, false);
}

void ClientCore::on_check(Node& node, std::optional<ReplicationInfo> info,
                          std::chrono::nanoseconds rtt) {
  if (topology_.sentinel && node.is_primary.load() &&
      (!info || info->role == NodeRole::replica)) {
    refresh_from_sentinels();  // in case a +switch-master was missed
  }
  if (!info) {
    if (node.health.on_failure(options_.failure_limit)) on_state_change(node, false);
    return;
  }
  bool eligible = false;
  Node* slot_primary = router_->shard(node.shard).primary.load();
  if (info->role == NodeRole::primary && slot_primary != &node) {
    // A member of the shard that reports itself primary while the shard's primary slot holds
    // another node: either a replica Sentinel has just promoted (the client re-points the
    // shard when it hears of it) or a restarted, empty node nobody re-attached. A promoted
    // replica's replication offset carries on from where its replica offset was; an empty
    // node's starts again. Only the former serves reads meanwhile, and only while the slot's
    // primary is unusable.
    const auto& before = node.last_info;
    if (!node.promoted_from_offset && before && before->role == NodeRole::replica &&
        before->replica_offset && *before->replica_offset > 0 && info->primary_offset &&
        *info->primary_offset >= *before->replica_offset) {
      node.promoted_from_offset = before->replica_offset;
    }
    if (node.promoted_from_offset && info->primary_offset &&
        *info->primary_offset >= *node.promoted_from_offset) {
      eligible = !usable_as_primary(*slot_primary);
    } else {
      node.promoted_from_offset.reset();
    }
  } else {
    node.promoted_from_offset.reset();
  }
  if (info->role == NodeRole::replica) {
    Node* primary = slot_primary;
    std::optional<ReplicationInfo> primary_info;
    if (primary != &node) primary_info = primary->last_info;
    // When the primary is down (in our own view), every replica's link to it is down too, and
    // a replica holds the freshest data there is: judge it against the primary's last known
    // state as if the link were up, so reads keep working until a promotion. A replica cut
    // off from a primary that is still up stays ineligible.
    ReplicationInfo judged = *info;
    if (!judged.link_up && !judged.sync_in_progress && primary != &node && !primary->health.up()) {
      judged.link_up = true;
    }
    ReplicaVerdict v = node.lag.update(judged, primary_info, Clock::now(), options_.max_replica_lag);
    eligible = v.eligible;
    if (eligible != node.health.read_eligible()) {
      log_.log(LogLevel::info, "replica " + node.name +
                                   (eligible ? std::string(": serving reads")
                                             : ": no reads (" + v.reason + ")"));
    }
  }
  const NodeRole old_role = node.health.role();
  if (info->role != old_role && node.is_primary.load() && info->role == NodeRole::replica) {
    log_.log(LogLevel::warning, node.name + " holds shard " + router_->shard(node.shard).name +
                                    "'s primary slot but is a replica: no writes go to it");
  }
  const NodeRole role = info->role;
  node.last_info = std::move(info);
  if (node.health.on_check(role, eligible, rtt)) {
    on_state_change(node, true);
  } else if (role != old_role) {
    router_->on_health_change();
  }
}

void ClientCore::on_state_change(Node& node, bool up) {
  node.stats.set_up(up);
  node.stats.on_health_change();
  log_.log(up ? LogLevel::info : LogLevel::warning,
           "node " + node.name + " (shard " + router_->shard(node.shard).name + ") is " +
               (up ? "up" : "down"));
  if (!up) node.pool.clear();
  router_->on_health_change();
  if (!up && node.is_primary.load()) {
    // Its replicas' links just broke too; judge them now (against the primary's last state)
    // rather than at their next check, so reads move to them at once.
    const std::size_t shard = node.shard;
    engine_->post([this, shard] {
      auto replicas = router_->shard(shard).replicas.load();
      for (Node* r : *replicas) health_->check_now(*r);
    });
  }
}

Node& ClientCore::node_for_shard(std::size_t shard, bool write, bool may_wait,
                                 std::optional<ReadFrom> read_from) const {
  return node_for_shard(shard, write,
                        may_wait ? Clock::now() + options_.wait_for_promotion : Clock::time_point{},
                        read_from);
}

Clock::time_point ClientCore::promotion_deadline() const {
  return Clock::now() + options_.wait_for_promotion;
}

Node& ClientCore::node_for_shard(std::size_t shard, bool write, Clock::time_point wait_until,
                                 std::optional<ReadFrom> read_from) const {
  Node* node = router_->pick(shard, write, read_from.value_or(router_->read_from()));
  if (node == nullptr && write && options_.wait_for_promotion.count() > 0 &&
      Clock::now() < wait_until) {
    node = router_->wait_for_primary(shard, wait_until);
  }
  if (node == nullptr) {
    throw Error(errc::shard_unavailable, router_->unavailable_reason(shard, write));
  }
  return *node;
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

namespace {

// A word of the caller's command for an error message: bounded, so a megabyte value does not
// become a megabyte message.
std::string shown(std::string_view w) {
  constexpr std::size_t kMax = 64;
  return w.size() <= kMax ? std::string(w) : std::string(w.substr(0, kMax)) + "...";
}

// "XINFO STREAM" for a subcommand, "GET" otherwise.
std::string command_name(std::span<const std::string_view> words, const CommandInfo* info) {
  if (info != nullptr && info->name.find(' ') != std::string_view::npos) {
    return std::string(info->name);
  }
  if (info == nullptr && words.size() > 1) {
    // An unknown subcommand of a known container names both words.
    const CommandInfo* container = find_command(words[0]);
    if (container != nullptr && (container->flags & kContainer) != 0) {
      return shown(words[0]) + " " + shown(words[1]);
    }
  }
  return shown(words[0]);
}

// The table's entry for `words`, or an Error before anything is sent: unknown commands (their
// keys are unknown, so they cannot be routed), and commands that would change the state of a
// connection other callers share (or that a pool hands to the next caller).
const CommandInfo* checked_command(std::span<const std::string_view> words, bool allow_watch,
                                   bool allow_unknown) {
  if (words.empty()) throw Error(errc::config, "empty command");
  const CommandInfo* info = lookup_command(words);
  if (info == nullptr) {
    if (allow_unknown) return nullptr;
    throw Error(errc::unknown_command,
                command_name(words, info) +
                    ": not in flyshard's command table, so its keys are unknown; send it with "
                    "command_routed(key, args) to the shard of a key you name, or "
                    "command_on_shard(i, args)");
  }
  if ((info->flags & (kPubSub | kStateful)) != 0 && !(allow_watch && info->name == "WATCH")) {
    throw Error(errc::config, command_name(words, info) + " refused: " +
                                  std::string(state_hint(*info)));
  }
  return info;
}

}  // namespace

std::optional<std::size_t> ClientCore::shard_of(std::span<const std::string_view> words) const {
  return classify(words, Use::batch).shard;
}

ClientCore::Routing ClientCore::classify(std::span<const std::string_view> words, Use use,
                                         std::string_view routing_key) const {
  Routing r;
  // One table lookup serves the key positions, the read/write class and blocking.
  const CommandInfo* info = checked_command(words, use == Use::batch, use == Use::routed);
  r.info = info;
  r.read = is_read_command(info);
  r.blocks = blocking_time(words, info);
  const bool spread = options_.connections_per_node > 1;  // else affinity is moot
  auto affinity_of = [&](std::string_view key) {
    return spread ? std::hash<std::string_view>{}(hash_tag(key)) : 0;
  };
  if (use == Use::routed) {
    r.shard = router_->shard_for(routing_key);
    r.affinity = affinity_of(routing_key);
    for (std::string_view key : command_keys(words, info)) {
      if (router_->shard_for(key) != *r.shard) {
        throw Error(errc::cross_shard, command_name(words, info) + ": key \"" + shown(key) +
                                           "\" does not map to the shard of the routing key \"" +
                                           shown(routing_key) + "\"");
      }
    }
    return r;
  }
  if (auto key = single_key(words, info)) {
    r.affinity = affinity_of(*key);
    r.shard = router_->shard_for(*key);
    return r;
  }
  std::vector<std::string_view> keys = command_keys(words, info);
  if (keys.empty()) {
    // A keyless command acts on one node only; through command() that node would be a guess.
    if (use == Use::command && (info->flags & kNoKey) != 0 && (info->flags & kAnyShard) == 0) {
      throw Error(errc::config,
                  command_name(words, info) +
                      " has no key, so command() cannot choose a shard (each shard holds only "
                      "its own keys): use command_on_all(args) for every shard, "
                      "command_on_shard(i, args) for one, or command_routed(key, args) for a "
                      "key's shard");
    }
    // PING/ECHO/TIME, and keyed commands given no key (EVAL with 0 keys, or a malformed
    // command the server will reject): the first shard.
    if (use == Use::command) r.shard = 0;
    return r;
  }
  const std::size_t shard = router_->shard_for(keys[0]);
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (router_->shard_for(keys[i]) != shard) {
      throw Error(errc::cross_shard, command_name(words, info) + ": keys \"" + shown(keys[0]) +
                                         "\" and \"" + shown(keys[i]) +
                                         "\" map to different shards");
    }
  }
  r.affinity = affinity_of(keys[0]);
  r.shard = shard;
  return r;
}

ClientCore::Route ClientCore::route_with_key(std::span<const std::string_view> words,
                                             std::optional<ReadFrom> read_from,
                                             bool may_wait) const {
  return route_until(words, may_wait ? promotion_deadline() : Clock::time_point{}, read_from);
}

ClientCore::Route ClientCore::route_until(std::span<const std::string_view> words,
                                          Clock::time_point wait_until,
                                          std::optional<ReadFrom> read_from) const {
  Routing c = classify(words, Use::command);
  Route r;
  r.affinity = c.affinity;
  r.blocks = c.blocks;
  r.read = c.read;
  r.node = &node_for_shard(c.shard.value_or(0), !c.read, wait_until, read_from);
  return r;
}

const CommandInfo* ClientCore::check_for_shard(std::span<const std::string_view> words) const {
  return checked_command(words, false, true);
}

ClientCore::Route ClientCore::route_by(std::string_view routing_key,
                                       std::span<const std::string_view> words,
                                       std::optional<ReadFrom> read_from, bool may_wait) const {
  Routing c = classify(words, Use::routed, routing_key);
  Route r;
  r.affinity = c.affinity;
  r.blocks = c.blocks;
  r.read = c.read;
  r.known = c.info != nullptr;
  r.node = &node_for_shard(*c.shard, !c.read, may_wait, read_from);
  return r;
}

void ClientCore::submit(Node& node, std::string payload, std::uint32_t replies,
                        Callback<Reply> cb, std::size_t affinity) {
  Request r;
  r.node = &node;
  r.affinity = affinity;
  r.payload = std::move(payload);
  r.replies = replies;
  r.start = Clock::now();
  r.deadline = r.start + options_.request_timeout;
  r.callback = std::move(cb);
  node.stats.on_start();
  if (node.pending.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending_per_node) {
    r.fail_with = errc::overloaded;
    r.fail_message = node.name + ": more than " + std::to_string(options_.max_pending_per_node) +
                     " requests pending";
  }
  engine_->submit(std::move(r));
}

void ClientCore::submit_command(std::span<const std::string_view> words, Callback<Reply> cb,
                                std::optional<ReadFrom> read_from,
                                std::optional<std::string_view> routing_key) {
  Parked p;
  std::optional<std::size_t> shard;
  bool read = false;
  std::optional<std::chrono::milliseconds> blocks;
  try {
    Routing c = routing_key ? classify(words, Use::routed, *routing_key)
                            : classify(words, Use::command);
    shard = c.shard;
    p.affinity = c.affinity;
    read = c.read;
    blocks = c.blocks;
  } catch (const Error& e) {
    submit_error(e.value(), e.what(), std::move(cb));
    return;
  }
  if (blocks) {
    // On the shared multiplexed link it would stall every other caller's requests to the node.
    submit_error(errc::config,
                 std::string(words[0]) +
                     " blocks its connection: call it through the blocking Client, which gives "
                     "it a connection of its own",
                 std::move(cb));
    return;
  }
  append_command(p.payload, words);
  const bool write = !read;
  const std::size_t target = shard.value_or(0);
  // A write to a shard with parked writes parks behind them, even when the primary is back:
  // sent at once it would overtake them (the sweep sends them a tick later), and the older
  // value would overwrite the newer one.
  const bool behind = write && parked_count_[target].load(std::memory_order_acquire) > 0;
  Node* node =
      behind ? nullptr : router_->pick(target, write, read_from.value_or(router_->read_from()));
  if (node != nullptr) {
    submit(*node, std::move(p.payload), 1, std::move(cb), p.affinity);
    return;
  }
  if (!write || options_.wait_for_promotion.count() <= 0) {
    submit_error(errc::shard_unavailable, router_->unavailable_reason(shard.value_or(0), write),
                 std::move(cb));
    return;
  }
  p.shard = target;
  p.cb = std::move(cb);
  p.until = Clock::now() + options_.wait_for_promotion;
  parked_count_[target].fetch_add(1, std::memory_order_acq_rel);
  auto held = std::make_shared<Parked>(std::move(p));
  engine_->post([this, held] { parked_.push_back(std::move(*held)); });
}

void ClientCore::retry_parked(Clock::time_point now) {
  if (parked_.empty()) return;
  std::vector<Parked> waiting;
  waiting.swap(parked_);
  // In arrival order, and once one write of a shard stays parked every later write of that
  // shard stays too: a shard's writes leave in the order they were made.
  std::vector<bool> held(router_->shard_count(), false);
  // Runs from the sweep timer (a C callback): each write on its own, so that one that throws
  // cannot strand the others, whose callbacks must still run exactly once.
  for (auto& p : waiting) {
    try {
      Node* node = held[p.shard] ? nullptr : router_->pick(p.shard, true, ReadFrom::primary);
      if (node != nullptr) {
        submit(*node, std::move(p.payload), 1, std::move(p.cb), p.affinity);
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      } else if (now >= p.until) {
        submit_error(errc::shard_unavailable, router_->unavailable_reason(p.shard, true),
                     std::move(p.cb));
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      } else {
        held[p.shard] = true;
        parked_.push_back(std::move(p));
      }
    } catch (const std::exception& e) {
      log_.log(LogLevel::error, std::string("retrying a parked write: ") + e.what());
      if (p.cb) {
        submit_error(errc::shard_unavailable, "internal error while waiting", std::move(p.cb));
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }
}

void ClientCore::submit_error(errc code, std::string message, Callback<Reply> cb) {
  Request r;
  r.fail_with = code;
  r.fail_message = std::move(message);
  r.callback = std::move(cb);
  r.start = Clock::now();
  engine_->submit(std::move(r));
}

Result<std::unique_ptr<BlockingConnection>> ClientCore::lease(Node& node) {
  if (auto c = node.pool.take()) return c;
  const std::uint64_t generation = node.pool.generation();
  auto opened = BlockingConnection::open(node.socket, options_.connect_timeout, handshake_,
                                         handshake_replies_, node.name, options_.reply_limits);
  if (opened.ok()) opened.value()->generation = generation;
  return opened;
}

void ClientCore::release(Node& node, std::unique_ptr<BlockingConnection> conn, errc error) {
  if (error == errc{}) {
    node.pool.give_back(std::move(conn));
  } else if (error == errc::connection_lost) {
    // The node dropped us: its other idle links are likely dead too.
    node.pool.clear();
  }
}

Result<Reply> ClientCore::execute(Node& node, std::string_view payload, std::uint32_t replies,
                                  bool idempotent,
                                  std::optional<std::chrono::milliseconds> extra_wait,
                                  bool reuse) {
  const auto start = Clock::now();
  auto deadline = start + options_.request_timeout;
  if (extra_wait) {
    // A blocking read waits as long as it asked to (0: forever, as the caller chose).
    deadline = extra_wait->count() == 0 ? Clock::time_point::max() - std::chrono::hours(24)
                                        : deadline + *extra_wait;
  }
  node.stats.on_start();
  auto finish = [&](Result<Reply> r) {
    node.stats.on_complete(r.ok() ? 0 : static_cast<int>(r.error()), Clock::now() - start);
    on_result(node, r.ok() ? errc{} : r.error(), r.ok() ? std::string_view() : r.message());
    return r;
  };
  thread_local std::vector<Reply> out;
  std::string message;
  std::unique_ptr<BlockingConnection> conn = node.pool.take();
  const bool reused = conn != nullptr;  // a fresh link is opened by lease() below
  for (int attempt = 0;; ++attempt) {
    if (!conn) {
      auto opened = lease(node);
      if (!opened.ok()) {
        on_connect_failure(node);
        return finish(Result<Reply>(opened.error(), opened.message()));
      }
      conn = std::move(opened).value();
    }
    out.clear();
    message.clear();
    errc e = conn->exchange(payload, replies, out, deadline, message);
    if (e == errc::connection_lost && reused && idempotent && attempt == 0) {
      // An idle pooled link the server had closed (a restart, or Sentinel's CLIENT KILL while
      // it reconfigured the node): a read is safe to send again on a fresh link.
      conn.reset();
      node.pool.clear();
      continue;
    }
    if (reuse || e != errc{}) {
      release(node, std::move(conn), e);
    } else {
      conn.reset();  // closed: its state after an unknown command is unknown
    }
    if (e != errc{}) return finish(Result<Reply>(e, std::move(message)));
    break;
  }
  Reply last = std::move(out.back());
  if (last.is_error()) return finish(Result<Reply>(errc::server_error, last.str()));
  return finish(Result<Reply>(std::move(last)));
}

void ClientCore::execute_many(std::span<BlockingJob> jobs) {
  if (jobs.empty()) return;
  const auto start = Clock::now();
  std::vector<std::unique_ptr<BlockingConnection>> conns(jobs.size());
  std::vector<std::string_view> unsent(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    j.node->stats.on_start();
    auto leased = lease(*j.node);
    if (!leased.ok()) {
      j.error = leased.error();
      j.message = leased.message();
      on_connect_failure(*j.node);
      continue;
    }
    conns[i] = std::move(leased).value();
    unsent[i] = j.payload;
  }
  // The deadline starts once every link is leased: opening a link to a hung node (its
  // handshake waits up to connect_timeout) must not use up the other shards' time, or one
  // blackholed shard would fail every key of the call instead of only its own.
  const auto deadline = deadline_after(options_.request_timeout);
  // Drive every connection at once: write what each socket takes, read what has come, until
  // every job has its replies or the deadline passes. Reading while writing keeps a large
  // batch from filling both directions' buffers.
  std::vector<pollfd> fds;
  std::vector<std::size_t> index;
  for (;;) {
    fds.clear();
    index.clear();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      BlockingJob& j = jobs[i];
      if (j.error != errc{} || !conns[i]) continue;
      short events = 0;
      if (!unsent[i].empty()) events |= POLLOUT;
      if (j.out.size() < j.replies) events |= POLLIN;
      if (events == 0) continue;
      fds.push_back(pollfd{conns[i]->fd(), events, 0});
      index.push_back(i);
    }
    if (fds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    int n = left.count() > 0 ? ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      for (std::size_t i : index) {
        jobs[i].error = errc::timeout;
        jobs[i].message = jobs[i].node->name + ": no reply in time";
        conns[i]->close();
      }
      break;
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      std::size_t i = index[k];
      BlockingJob& j = jobs[i];
      if ((fds[k].revents & POLLOUT) && !conns[i]->write_some(unsent[i], j.message)) {
        j.error = errc::connection_lost;
        continue;
      }
      if ((fds[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
          !conns[i]->read_some(j.out, j.replies, j.message)) {
        j.error = j.message.find("bad reply") != std::string::npos ? errc::protocol_error
                                                                   : errc::connection_lost;
      }
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    BlockingJob& j = jobs[i];
    if (conns[i] && (j.reuse || j.error != errc{})) release(*j.node, std::move(conns[i]), j.error);
    conns[i].reset();
    j.node->stats.on_complete(j.error == errc{} ? 0 : static_cast<int>(j.error),
                              Clock::now() - start);
    on_result(*j.node, j.error);
    for (const Reply& r : j.out) {
      if (r.is_error() && says_role_changed(r.str())) {
        on_result(*j.node, errc::server_error, r.str());
        break;
      }
    }
  }
}

ClientStats ClientCore::stats() const {
  ClientStats out;
  std::lock_guard lock(nodes_mu_);
  for (const auto& n : nodes_) {
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
