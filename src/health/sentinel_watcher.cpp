#include "health/sentinel_watcher.hpp"

#include <algorithm>

#include "io/connection.hpp"
#include "io/engine.hpp"
#include "io/handshake.hpp"
#include "io/resp.hpp"
#include "log.hpp"
#include "routing/node.hpp"

namespace flyshard::detail {

SentinelWatcher::SentinelWatcher(const SentinelSpec& spec, std::vector<std::string> shard_names,
                                 std::chrono::milliseconds request_timeout, const Logger& log,
                                 Hooks hooks, std::shared_ptr<const TlsContext> tls,
                                 std::string client_name)
    : spec_(spec),
      shard_names_(std::move(shard_names)),
      request_timeout_(request_timeout),
      log_(log),
      hooks_(std::move(hooks)),
      tls_(std::move(tls)),
      client_name_(std::move(client_name)),
      epoch_(shard_names_.size()) {}

SentinelWatcher::~SentinelWatcher() = default;

std::vector<SentinelView> SentinelWatcher::ask(std::chrono::milliseconds timeout) {
  std::vector<std::string> names;
  for (const auto& s : shard_names_) names.push_back(spec_.master_prefix + s);
  auto views =
      ask_sentinels(spec_.addresses, names, timeout, log_, spec_.auth, client_name_, tls_);
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (views[i].primary) epoch_[i] = views[i].config_epoch;
  }
  return views;
}

void SentinelWatcher::start(Engine& engine) {
  engine_ = &engine;
  std::string subscribe;
  std::vector<std::string_view> words{"SUBSCRIBE"};
  for (auto ch : kSentinelChannels) words.push_back(ch);
  append_command(subscribe, words);
  for (const NodeAddress& a : spec_.addresses) {
    std::unique_ptr<Node> n;
    try {
      n = std::make_unique<Node>(a, 0, false, 0);
      n->tls = tls_peer(tls_, a);
    } catch (const Error& e) {
      log_.log(LogLevel::warning, std::string("sentinel ") + e.what());
      continue;
    }
    // The sentinels get their own credentials, never the data nodes' password. The client
    // name is the data links' own: on a sentinel every flyshard link is a Sentinel link.
    n->handshake_replies = append_handshake(n->handshake, a, spec_.auth, client_name_, 0);
    engine.add_node(*n, 1);  // for questions (SENTINEL MASTER)
    n->subscriber = std::make_unique<Connection>(engine, *n);
    Connection* c = n->subscriber.get();
    Node* sentinel = n.get();
    auto first = std::make_shared<bool>(true);
    c->set_subscriber([this, sentinel](Reply& push) { on_message(*sentinel, push); },
                      [this, c, subscribe, first] {
                        c->send_untracked(subscribe);
                        // Events may have been missed while this link was down.
                        if (!*first) refresh();
                        *first = false;
                      });
    engine.adopt(*c);
    sentinels_.push_back(std::move(n));
  }
  replica_answers_.assign(shard_names_.size(), std::vector<ReplicaAnswer>(sentinels_.size()));
  last_poll_ = Clock::now();
}

std::size_t SentinelWatcher::shard_of(const std::string& master_name) const {
  const std::string& prefix = spec_.master_prefix;
  if (master_name.compare(0, prefix.size(), prefix) != 0) return static_cast<std::size_t>(-1);
  for (std::size_t i = 0; i < shard_names_.size(); ++i) {
    if (master_name.size() == prefix.size() + shard_names_[i].size() &&
        master_name.compare(prefix.size(), std::string::npos, shard_names_[i]) == 0) {
      return i;
    }
  }
  return static_cast<std::size_t>(-1);
}

void SentinelWatcher::on_message(Node& sentinel, Reply& push) {
  const auto& e = push.elements();
  if (e.size() != 3 || e[0].str() != "message") return;
  auto event = parse_sentinel_event(e[1].str(), e[2].str());
  if (!event) return;
  const std::size_t shard = shard_of(event->master_name);
  if (shard == static_cast<std::size_t>(-1)) return;
  switch (event->kind) {
    case SentinelEvent::Kind::switch_master:
      // The event carries no epoch, and one from a sentinel whose link was slow may describe
      // an older failover than one already followed: ask the same sentinel for the master
      // with its config epoch (one round trip) and follow only a newer epoch.
      ask_master(sentinel, shard, "+switch-master");
      break;
    case SentinelEvent::Kind::replica_added:
      hooks_.replica_added(shard, event->address);
      break;
    case SentinelEvent::Kind::down:
    case SentinelEvent::Kind::up:
      hooks_.hint(event->address);
      break;
    case SentinelEvent::Kind::other:
      break;
  }
}

void SentinelWatcher::ask_master(Node& sentinel, std::size_t shard, const char* why) {
  Request r;
  const std::string name = spec_.master_prefix + shard_names_[shard];
  std::vector<std::string_view> w{"SENTINEL", "MASTER", name};
  append_command(r.payload, w);
  r.start = Clock::now();
  r.deadline = r.start + request_timeout_;
  r.callback = [this, shard, why](Result<Reply> res) {
    if (!res.ok()) return;
    if (auto master = parse_sentinel_master(res.value())) on_master_answer(shard, *master, why);
  };
  engine_->dispatch_now(sentinel, std::move(r));
}

void SentinelWatcher::on_master_answer(std::size_t shard, const SentinelMaster& master,
                                       const char* why) {
  // Only a newer config epoch moves the shard: an answer with the epoch already followed (or
  // an older one) comes from a sentinel that has not seen the last failover yet. The leader
  // of a failover in progress names the new epoch with the old address: not an answer yet.
  if (master.failover_in_progress) return;
  if (epoch_[shard] && master.config_epoch <= *epoch_[shard]) return;
  epoch_[shard] = master.config_epoch;
  hooks_.promote(shard, master.address, why);
}

void SentinelWatcher::refresh() {
  if (engine_ == nullptr) return;
  // Rate-limited: a burst of failures asks once.
  const auto now = Clock::now();
  if (now - last_refresh_ < std::chrono::milliseconds(100)) return;
  last_refresh_ = now;
  // Every sentinel is asked; on_master_answer() follows only a newer config epoch, so a
  // sentinel that still names the old primary changes nothing.
  for (auto& s : sentinels_) {
    for (std::size_t i = 0; i < shard_names_.size(); ++i) ask_master(*s, i, "sentinel query");
  }
}

void SentinelWatcher::poll(Clock::time_point now) {
  if (engine_ == nullptr || replica_poll_.count() <= 0 || !hooks_.replicas) return;
  if (now - last_poll_ < replica_poll_) return;
  last_poll_ = now;
  for (std::size_t s = 0; s < sentinels_.size(); ++s) {
    for (std::size_t i = 0; i < shard_names_.size(); ++i) ask_replicas(s, i);
  }
}

void SentinelWatcher::ask_replicas(std::size_t sentinel, std::size_t shard) {
  Request r;
  const std::string name = spec_.master_prefix + shard_names_[shard];
  std::vector<std::string_view> w{"SENTINEL", "replicas", name};
  append_command(r.payload, w);
  r.start = Clock::now();
  r.deadline = r.start + request_timeout_;
  r.callback = [this, sentinel, shard](Result<Reply> res) {
    // An error (the sentinel does not know the master) or no answer tells nothing: only a
    // list moves the verdict.
    if (!res.ok() || !res.value().is_array()) return;
    const auto now = Clock::now();
    auto& answers = replica_answers_[shard];
    answers[sentinel] = ReplicaAnswer{now, parse_sentinel_replicas(res.value(), true)};
    // A sentinel that stopped answering has an old answer: it no longer counts.
    const auto fresh_for = 3 * std::max(replica_poll_, std::chrono::milliseconds(100));
    std::vector<NodeAddress> named;
    for (const auto& a : answers) {
      if (a.at == Clock::time_point{} || now - a.at > fresh_for) continue;
      for (const auto& addr : a.replicas) {
        if (std::find(named.begin(), named.end(), addr) == named.end()) named.push_back(addr);
      }
    }
    hooks_.replicas(shard, named);
  };
  engine_->dispatch_now(*sentinels_[sentinel], std::move(r));
}

}  // namespace flyshard::detail
