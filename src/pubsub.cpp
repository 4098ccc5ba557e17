// Pub/Sub: a channel lives on the shard its name hashes to. Each node that hosts subscribed
// channels gets one subscriber-mode connection, whose channels are subscribed again after
// every reconnect.
#include <mutex>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "io/connection.hpp"
#include "io/resp.hpp"

namespace flyshard {

struct Subscription::State {
  // Weak: a subscription does not keep the client's engine running; after the client is
  // gone, unsubscribe() has nothing left to do.
  std::weak_ptr<detail::ClientCore> core;
  MessageHandler handler;
  std::vector<std::pair<detail::Node*, std::string>> channels;
  // Held while the handler runs and while unsubscribing, so that after unsubscribe() returns
  // the handler is never called again. Recursive: a handler may unsubscribe itself.
  std::recursive_mutex mu;
  bool active = true;
};

namespace detail {

struct SubscriptionState : Subscription::State {};

namespace {

std::string channel_command(std::string_view verb, const std::vector<std::string>& channels) {
  std::vector<std::string_view> w{verb};
  w.insert(w.end(), channels.begin(), channels.end());
  std::string out;
  append_command(out, w);
  return out;
}

void deliver(Node& node, Reply& push) {
  auto& e = push.elements();
  if (e.size() != 3 || e[0].str() != "message") return;
  auto it = node.channels.find(e[1].str());
  if (it == node.channels.end()) return;
  auto handlers = it->second;  // a handler may unsubscribe and change the map
  for (auto& state : handlers) {
    std::lock_guard lock(state->mu);
    if (!state->active) continue;
    try {
      state->handler(e[1].str(), e[2].str());
    } catch (...) {
      // Exceptions never cross into the loop; the engine's logger would need the core.
    }
  }
}

// Loop thread: the node's subscriber connection, opened on first use.
Connection& subscriber_of(Engine& engine, Node& node) {
  if (!node.subscriber) {
    node.subscriber = std::make_unique<Connection>(engine, node);
    Node* n = &node;
    Connection* c = node.subscriber.get();
    c->set_subscriber([n](Reply& push) { deliver(*n, push); },
                      [n, c] {
                        std::vector<std::string> all;
                        for (const auto& [name, states] : n->channels) all.push_back(name);
                        if (!all.empty()) c->send_untracked(channel_command("SUBSCRIBE", all));
                      });
    engine.adopt(*c);
    c->start();
  }
  return *node.subscriber;
}

}  // namespace

void move_subscriptions(Engine& engine, Node& from, Node& to) {
  if (from.channels.empty()) return;
  std::vector<std::string> moved;
  for (auto& [ch, states] : from.channels) {
    auto& target = to.channels[ch];
    if (target.empty()) moved.push_back(ch);
    for (auto& st : states) {
      for (auto& entry : st->channels) {
        if (entry.first == &from && entry.second == ch) entry.first = &to;
      }
      target.push_back(st);
    }
  }
  from.channels.clear();  // its link, if it ever comes back, restores nothing
  if (!moved.empty()) subscriber_of(engine, to).send_untracked(channel_command("SUBSCRIBE", moved));
}

void move_channel(Engine& engine, Node& from, Node& to, const std::string& ch) {
  auto it = from.channels.find(ch);
  if (it == from.channels.end() || &from == &to) return;
  auto& target = to.channels[ch];
  const bool fresh = target.empty();
  for (auto& st : it->second) {
    for (auto& entry : st->channels) {
      if (entry.first == &from && entry.second == ch) entry.first = &to;
    }
    target.push_back(st);
  }
  from.channels.erase(it);
  // The old node is alive (a layout change, not a failover): stop its deliveries too.
  if (from.subscriber) from.subscriber->send_untracked(channel_command("UNSUBSCRIBE", {ch}));
  if (fresh) subscriber_of(engine, to).send_untracked(channel_command("SUBSCRIBE", {ch}));
}

std::shared_ptr<SubscriptionState> make_internal_subscription(
    std::function<void(std::string_view, std::string_view)> handler) {
  auto state = std::make_shared<SubscriptionState>();
  state->handler = std::move(handler);
  return state;
}

void subscribe_node(Engine& engine, Node& node, const std::string& ch,
                    const std::shared_ptr<SubscriptionState>& state) {
  auto& list = node.channels[ch];
  for (const auto& s : list) {
    if (s == state) return;
  }
  list.push_back(state);
  state->channels.emplace_back(&node, ch);
  if (list.size() == 1)
    subscriber_of(engine, node).send_untracked(channel_command("SUBSCRIBE", {ch}));
}

}  // namespace detail

Subscription AsyncClient::subscribe(const std::vector<std::string>& channels,
                                    MessageHandler handler) {
  auto state = std::make_shared<detail::SubscriptionState>();
  state->core = core_;
  state->handler = std::move(handler);
  std::vector<std::size_t> shards;
  for (const auto& ch : channels) {
    shards.push_back(core_->router().shard_for(ch));
    state->channels.emplace_back(nullptr, ch);
  }
  detail::Engine& engine = core_->engine();
  detail::ClientCore* core = core_.get();  // the posted task runs before the core can go
  engine.post([state, shards = std::move(shards), core, &engine] {
    // The node is chosen here, on the loop thread, where failovers re-point shards and move
    // subscriptions: chosen on the caller's thread, a failover landing before this task ran
    // would leave the channels registered on the old primary, which nobody listens to.
    for (std::size_t i = 0; i < state->channels.size(); ++i) {
      state->channels[i].first = core->router().shard(shards[i]).primary;
    }
    std::unordered_map<detail::Node*, std::vector<std::string>> fresh;
    for (auto& [node, ch] : state->channels) {
      auto& list = node->channels[ch];
      if (list.empty()) fresh[node].push_back(ch);
      list.push_back(state);
    }
    for (auto& [node, chs] : fresh) {
      detail::Connection& c = detail::subscriber_of(engine, *node);
      c.send_untracked(detail::channel_command("SUBSCRIBE", chs));
    }
  });
  return Subscription(std::shared_ptr<Subscription::State>(state));
}

Subscription Client::subscribe(const std::vector<std::string>& channels, MessageHandler handler) {
  return async_.subscribe(channels, std::move(handler));
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    state_ = std::move(other.state_);
  }
  return *this;
}

Subscription::~Subscription() {
  unsubscribe();
}

void Subscription::unsubscribe() {
  if (!state_) return;
  std::shared_ptr<State> state = std::move(state_);
  {
    std::lock_guard lock(state->mu);
    if (!state->active) return;
    state->active = false;
  }
  std::shared_ptr<detail::ClientCore> core = state->core.lock();
  if (!core) return;  // the client is gone, and every link with it
  detail::Engine& engine = core->engine();
  engine.post([state] {
    std::unordered_map<detail::Node*, std::vector<std::string>> gone;
    for (auto& [node, ch] : state->channels) {
      auto it = node->channels.find(ch);
      if (it == node->channels.end()) continue;
      auto& list = it->second;
      std::erase_if(list,
                    [&](const auto& s) { return static_cast<State*>(s.get()) == state.get(); });
      if (list.empty()) {
        node->channels.erase(it);
        gone[node].push_back(ch);
      }
    }
    for (auto& [node, chs] : gone) {
      if (node->subscriber) {
        node->subscriber->send_untracked(detail::channel_command("UNSUBSCRIBE", chs));
      }
    }
  });
}

}  // namespace flyshard
