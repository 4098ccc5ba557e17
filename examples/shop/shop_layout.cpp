#include "shop_layout.hpp"

#include <algorithm>
#include <set>

#include "keys.hpp"

namespace shop {

flyshard::ReplicaAck ShopLayout::replica_ack(std::size_t shard,
                                             std::chrono::milliseconds timeout) const {
  flyshard::ReplicaAck ack;
  ack.replicas = layout.shards.at(shard).replicas.empty() ? 0 : 1;
  ack.timeout = timeout;
  return ack;
}

const std::string& ShopLayout::stream_for(std::string_view key) const {
  if (!target) return streams.at(shard_for(key));
  const auto it = pair_streams.find({shard_for(key), target->shard_for(key)});
  if (it == pair_streams.end())
    throw flyshard::Error(flyshard::errc::migrating, "no event stream moves like this key");
  return it->second;
}

std::vector<std::string> ShopLayout::all() const {
  std::vector<std::string> out = streams;
  for (const auto& [pair, s] : pair_streams) out.push_back(s);
  return out;
}

ShopLayout make_shop_layout(std::uint64_t epoch, flyshard::Topology layout,
                            const std::optional<flyshard::Topology>& target) {
  auto placement = layout.make_distribution();
  ShopLayout l{epoch, std::move(layout), std::move(placement), {}, {}, {}};
  const std::size_t shards = l.layout.shards.size();
  l.streams.resize(shards);
  std::size_t found = 0;
  // A key per shard exists for any sane distribution well within this bound; a shard with a
  // weight so small that none maps to it has no stream, and its visitors' orders could not
  // carry their event atomically: fail loudly.
  for (long long k = 0; k < 100000 && found < shards; ++k) {
    std::string key = keys::event_stream(k);
    const std::size_t s = l.shard_for(key);
    if (l.streams[s].empty()) {
      l.streams[s] = std::move(key);
      ++found;
    }
  }
  if (found < shards)
    throw flyshard::Error(flyshard::errc::config, "no event stream key maps to some shard");
  if (target) {
    l.target = target->make_distribution();
    // Every pair a visitor's keys can fall in shows up among this many keys unless its share
    // of the key space is tiny; a visitor in a missing pair is refused retriably until the flip.
    for (long long k = 0; k < 20000; ++k) {
      std::string key = keys::event_stream(k);
      l.pair_streams.try_emplace({l.shard_for(key), l.target->shard_for(key)}, std::move(key));
    }
  }
  return l;
}

std::shared_ptr<const ShopLayout> LayoutTracker::current() {
  std::lock_guard lock(mutex_);
  for (;;) {
    const std::uint64_t epoch = client_.epoch();
    if (current_ && current_->epoch == epoch) return current_;
    auto layout = client_.layout();
    auto target = client_.migration_target();
    // Three reads: a change between them is read again, so a ShopLayout never pairs one
    // epoch with another's layout.
    if (client_.epoch() != epoch) continue;
    auto made =
        std::make_shared<const ShopLayout>(make_shop_layout(epoch, std::move(layout), target));
    // Registered before any checkout can write to them, so the worker finds every stream.
    std::vector<std::string> words{"SADD", std::string(keys::kEventStreams)};
    for (auto& s : made->all()) words.push_back(std::move(s));
    client_.command(words).throw_if_error();
    current_ = std::move(made);
    return current_;
  }
}

std::vector<std::string> LayoutTracker::all_streams() {
  std::set<std::string> all;
  for (auto& s : current()->all()) all.insert(std::move(s));
  for (auto& s : client_.smembers(keys::kEventStreams)) all.insert(std::move(s));
  return {all.begin(), all.end()};
}

}  // namespace shop
