// Following the topology record (online resharding): read it from every primary at start and
// every topology_poll_interval (sooner when a primary publishes a hint or a caller asks), route by
// the newest epoch, never by an older one, and register this client's epoch with a lease.
#include <algorithm>
#include <random>

#include "client_core.hpp"
#include "io/handshake.hpp"
#include "io/resp.hpp"
#include "reshard/guard_script.hpp"
#include "reshard/record_reader.hpp"

namespace flyshard::detail {
namespace {

// Which of a primary's connections carries this client's registrations: always the same one,
// so they land in the order they were sent.
constexpr std::size_t kRegistrationLink = 0;

std::int64_t ns_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string record_read_payload() {
  std::string out;
  const std::string_view w[] = {"HGETALL", kRecordKey};
  append_command(out, w);
  return out;
}

bool same_shards(const std::vector<ShardRoute>& now, const std::vector<Router::ShardInit>& next) {
  if (now.size() != next.size()) return false;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (now[i].name != next[i].name || now[i].weight != next[i].weight) return false;
  }
  return true;
}

}  // namespace

std::uint32_t ClientCore::append_registration(std::string& out, const ReshardView& view) const {
  const std::string epoch = std::to_string(view.epoch);
  const std::string key = std::string(kClientKeyPrefix) + client_id_;
  const std::string ms = std::to_string(view.lease.count());
  const std::string_view set[] = {"SET", key, epoch, "PX", ms};
  append_command(out, set);
  // The registry the migrator reads (SMEMBERS), instead of SCANning the keyspace for
  // registrations; it drops the ids whose registration expired.
  const std::string_view add[] = {"SADD", kClientRegistryKey, client_id_};
  append_command(out, add);
  return 2;
}

void ClientCore::register_epoch() {
  // Right after a newer record was applied, not on the next round: the migrator waits for
  // every client to show the epoch (inside the cutover's freeze, for one), and a round is a
  // health interval away. On the connection the round's registration used, so that one (of
  // the older epoch) cannot land after this one.
  const auto table = router_->table();
  if (!table->reshard) return;
  std::string payload;
  const std::uint32_t replies = append_registration(payload, *table->reshard);
  for (const ShardRoute& s : table->shards)
    submit_internal(
        *s.primary, payload, replies, [](Result<Reply>) {}, kRegistrationLink);
}

void ClientCore::submit_internal(Node& node, std::string_view payload, std::uint32_t replies,
                                 ReplyHandler cb, std::size_t affinity) {
  // No Request::node: the engine counts a request in its node's stats and pending bound
  // only through it (HealthChecker::check_now sends its INFO the same way).
  if (node.connections.empty() || node.retired.load()) {
    engine_->finish(nullptr, Clock::now(), false, cb,
                    Result<Reply>(errc::shard_unavailable, node.name + ": retired"));
    return;
  }
  Request r;
  r.payload.assign(payload);
  r.replies = replies;
  r.affinity = affinity;
  r.start = Clock::now();
  r.deadline = r.start + options_.request_timeout;
  r.callback = std::move(cb);
  engine_->dispatch_now(node, std::move(r));
}

std::string ClientCore::random_client_id() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> any;
  const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd() ^ any(rd);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t ClientCore::topology_epoch() const noexcept {
  const auto t = router_->table();
  return t->reshard ? t->reshard->epoch : 0;
}

Topology ClientCore::current_layout() const {
  const auto t = router_->table();
  if (!t->reshard) return topology_;
  Topology out = t->reshard->record->layout;
  out.sentinel = topology_.sentinel;
  return out;
}

std::optional<Topology> ClientCore::migration_target() const {
  const auto t = router_->table();
  if (!t->reshard || !t->reshard->migrating() || !t->reshard->record->target) return std::nullopt;
  Topology out = *t->reshard->record->target;
  out.sentinel = topology_.sentinel;
  return out;
}

std::optional<TopologyRecord> ClientCore::read_record_at_start() {
  const auto start = Clock::now();
  const std::string payload = record_read_payload();
  std::vector<std::optional<TopologyRecord>> read;
  bool answered = false;
  for (const ShardSpec& s : topology_.shards) {
    try {
      std::string handshake;
      const std::uint32_t handshake_replies = append_handshake(
          handshake, s.primary, topology_.auth, options_.client_name, topology_.database);
      auto opened = BlockingConnection::open(s.primary, options_.connect_timeout, handshake,
                                             handshake_replies, s.primary.to_string(),
                                             options_.reply_limits, tls_peer(tls_, s.primary));
      if (!opened.ok()) continue;
      std::vector<Reply> out;
      std::string message;
      auto conn = std::move(opened).value();
      if (conn->exchange(payload, 1, out, Clock::now() + options_.request_timeout, message) !=
          errc{}) {
        continue;
      }
      read.push_back(record_from_reply(out.back(), topology_));
      answered = true;
    } catch (const Error& e) {
      log_.log(LogLevel::warning, s.primary.to_string() + ": " + e.what());
    }
  }
  if (answered) record_read_ns_.store(ns_of(start));
  const TopologyRecord* best = newest_record(read);
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::vector<Router::ShardInit> ClientCore::shard_inits(const Topology& layout) {
  const auto current = router_ ? router_->table() : nullptr;
  std::vector<Router::ShardInit> out;
  for (std::size_t i = 0; i < layout.shards.size(); ++i) {
    const ShardSpec& s = layout.shards[i];
    // A shard this client routes already keeps its nodes as the client knows them (Sentinel
    // or a failover may have moved its primary since the record was written).
    if (current) {
      const std::size_t old = router_->shard_by_name(s.name);
      if (old != static_cast<std::size_t>(-1)) {
        const ShardRoute& r = current->shards[old];
        out.push_back(Router::ShardInit{s.name, s.weight, r.primary, r.replicas});
        continue;
      }
    }
    Router::ShardInit init{s.name, s.weight, node_at(s.primary, i), {}};
    if (init.primary == nullptr) throw Error(errc::config, "shard " + s.name + ": no primary");
    init.primary->is_primary.store(true);
    for (const auto& rep : s.replicas) {
      if (Node* n = node_at(rep, i)) init.replicas.push_back(n);
    }
    out.push_back(std::move(init));
  }
  return out;
}

void ClientCore::apply_record(const TopologyRecord& record) {
  const auto before = router_->table();
  std::shared_ptr<const ReshardView> view;
  std::vector<Router::ShardInit> inits;
  try {
    view = std::make_shared<const ReshardView>(record);
    inits = shard_inits(record.layout);
  } catch (const Error& e) {
    log_.log(LogLevel::error,
             "topology epoch " + std::to_string(record.epoch) + " not applied: " + e.what());
    return;
  }
  const std::uint64_t from = before->reshard ? before->reshard->epoch : 0;
  const bool layout_changed =
      !same_shards(before->shards, inits) ||
      (before->reshard ? before->reshard->record->layout.distribution : topology_.distribution) !=
          record.layout.distribution;
  if (!layout_changed) {
    router_->set_reshard(std::move(view));
  } else {
    router_->set_layout(record.layout.make_distribution(), inits, view);
    const auto after = router_->table();
    layout_since_ = after->epoch;
    for (std::size_t i = 0; i < after->shards.size(); ++i) {
      after->shards[i].primary->shard.store(i);
      for (Node* r : after->shards[i].replicas) r->shard.store(i);
    }
    // Channels whose shard changed follow their shard's primary.
    for (const ShardRoute& s : before->shards) {
      std::vector<std::string> names;
      for (const auto& [ch, states] : s.primary->channels) {
        if (ch != kRecordChannel) names.push_back(ch);
      }
      for (const std::string& ch : names) {
        Node* to = after->shards[after->shard_for(ch)].primary;
        if (to != s.primary) move_channel(*engine_, *s.primary, *to, ch);
      }
    }
    // Nodes of shards the layout dropped: out of checks, stats and links.
    const std::vector<Node*> routed = router_->nodes();
    for (const ShardRoute& s : before->shards) {
      std::vector<Node*> members = s.replicas;
      members.push_back(s.primary);
      for (Node* n : members) {
        if (std::find(routed.begin(), routed.end(), n) != routed.end() || n->retired.load())
          continue;
        n->channels.erase(std::string(kRecordChannel));  // its hint says nothing to us now
        retire_node(*n);
      }
    }
    for (Node* n : routed) health_->check_now(*n);
  }
  ++topology_changes_;
  log_.log(LogLevel::info, "topology epoch " + std::to_string(from) + " -> " +
                               std::to_string(record.epoch) + " (" +
                               std::string(to_string(record.state)) + ", " +
                               std::to_string(record.layout.shards.size()) + " shards" +
                               (layout_changed ? ", new layout" : "") + ")");
}

void ClientCore::record_tick(Clock::time_point now) {
  if (record_round_out_ || !options_.follow_topology_record) return;
  const bool wanted = record_wanted_.exchange(false, std::memory_order_relaxed);
  // The first round runs at once whatever the interval: it subscribes to the hint channel
  // and registers the client, which an interval of 0 (no periodic read) still wants.
  const bool first = next_record_round_ == Clock::time_point{};
  const auto every = options_.topology_poll_interval;
  if (!wanted && !first && (every.count() <= 0 || now < next_record_round_)) return;
  next_record_round_ = now + (every.count() > 0 ? every : std::chrono::hours(24 * 365));
  const auto table = router_->table();
  struct Round {
    Clock::time_point start;
    std::size_t left = 0;
    bool answered = false;
    std::vector<std::optional<TopologyRecord>> read;
  };
  auto round = std::make_shared<Round>();
  round->start = now;
  round->left = table->shards.size();
  round->read.resize(table->shards.size());
  record_round_out_ = true;
  // Never destroyed (see guard_script_sha1): a detached loop thread may send it during exit.
  static const std::string& read_payload = *new std::string(record_read_payload());
  std::string side;  // registration and the guard script, when a record exists
  std::uint32_t side_replies = 0;
  if (table->reshard) {
    side_replies = append_registration(side, *table->reshard);
    // Loaded ahead, so that a guarded write in a pipeline finds it (EVALSHA, no fallback).
    const std::string_view load[] = {"SCRIPT", "LOAD", guard_script_source()};
    append_command(side, load);
    ++side_replies;
  }
  if (!hint_) {
    hint_ =
        make_internal_subscription([this](std::string_view, std::string_view) { want_record(); });
  }
  for (std::size_t i = 0; i < table->shards.size(); ++i) {
    Node& primary = *table->shards[i].primary;
    subscribe_node(*engine_, primary, std::string(kRecordChannel), hint_);
    if (side_replies > 0) {
      submit_internal(
          primary, side, side_replies, [](Result<Reply>) {}, kRegistrationLink);
    }
    submit_internal(
        primary, read_payload, 1,
        [this, round, i](Result<Reply> r) {
          try {
            if (r.ok()) {
              round->read[i] = record_from_reply(r.value(), topology_);
              round->answered = true;
            }
          } catch (const Error& e) {
            log_.log(LogLevel::warning, std::string("topology record: ") + e.what());
          }
          if (--round->left > 0) return;
          record_round_out_ = false;
          if (round->answered) record_read_ns_.store(ns_of(round->start));
          const TopologyRecord* best = newest_record(round->read);
          const std::uint64_t now_epoch = topology_epoch();
          if (best != nullptr && best->epoch > now_epoch) {
            apply_record(*best);
            register_epoch();
          }
          {
            std::lock_guard lock(record_mu_);
            ++record_rounds_;
          }
          record_cv_.notify_all();
        },
        kAnyConnection);
  }
}

bool ClientCore::lease_valid(const RoutingTable& table) const noexcept {
  if (!table.reshard || table.reshard->fencing != Fencing::lease) return true;
  const std::int64_t age = ns_of(Clock::now()) - record_read_ns_.load(std::memory_order_relaxed);
  return age < std::chrono::duration_cast<std::chrono::nanoseconds>(table.reshard->lease).count();
}

bool ClientCore::wait_for_record(Clock::time_point until, const std::function<bool()>& done) {
  if (engine_->on_loop_thread()) {
    // A blocking call from a callback: the reads it would wait for run on this very thread.
    want_record();
    return done();
  }
  std::unique_lock lock(record_mu_);
  for (;;) {
    // One more read each time round: a read already out may have begun before the caller's
    // reason to wait, and the migrator may not have written the next record yet.
    const std::uint64_t seen = record_rounds_;
    want_record();
    record_cv_.wait_until(lock, until, [&] { return record_rounds_ > seen || done(); });
    if (done()) return true;
    if (Clock::now() >= until) return false;
  }
}

bool ClientCore::retry_after_refused_check(Clock::time_point until, std::uint64_t epoch) {
  want_record();
  if (Clock::now() >= until) return false;
  wait_for_record(std::min(until, Clock::now() + std::chrono::milliseconds(20)),
                  [&] { return topology_epoch() != epoch; });
  return true;
}

}  // namespace flyshard::detail
