#pragma once
// What the shop derives from the layout the library routes by. Online resharding
// (`flyshard migrate`) changes that layout while the shop runs, so nothing here is computed
// once at start: the tracker recomputes when the client's topology epoch moves.
//
// The checkout writes an order and its event in one MULTI/EXEC on the visitor's shard, so
// there is an event stream per shard: the first events:{e<k>} that the layout places on it.
// Every process derives the same streams from the same layout. A new layout picks some new
// streams; the old ones still hold events the worker may not have read yet (they moved with
// the data, like any key), so every stream any layout used is recorded in a registry set,
// which the worker reads to know what to consume.
//
// While a migration runs, a visitor whose keys move (shard s today, t after the flip) needs a
// stream that moves the same way, or the order's transaction would span keys that move and
// keys that stay (refused as cross_shard): then each (s, t) pair has its stream.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

namespace shop {

/// One layout as the shop uses it. Immutable once made.
struct ShopLayout {
  std::uint64_t epoch = 0;
  flyshard::Topology layout;         ///< Client::layout() at `epoch`
  flyshard::Distribution placement;  ///< layout.make_distribution()
  std::vector<std::string> streams;  ///< event stream per shard (index = shard in `layout`)
  /// A running migration's target layout's placement, and a stream per (shard in `layout`,
  /// shard in the target) pair.
  std::optional<flyshard::Distribution> target;
  std::map<std::pair<std::size_t, std::size_t>, std::string> pair_streams;

  /// The shard of `key` in this layout.
  std::size_t shard_for(std::string_view key) const noexcept { return placement.shard_for(key); }
  /// The stream that lives with `key` (the one an order of that visitor writes to): on its
  /// shard, and during a migration on its target shard too. Throws flyshard::Error
  /// (errc::migrating, retriable) when no stream key falls in that pair.
  const std::string& stream_for(std::string_view key) const;
  /// Every stream of this layout.
  std::vector<std::string> all() const;
  /// The WAIT a write on `shard` should ask for: one replica when the shard has any.
  flyshard::ReplicaAck replica_ack(std::size_t shard, std::chrono::milliseconds timeout) const;
};

/// Builds the ShopLayout for a layout: throws flyshard::Error(errc::config) when some shard
/// has no events:{e<k>} key within the search bound (a shard with a tiny weight).
ShopLayout make_shop_layout(std::uint64_t epoch, flyshard::Topology layout,
                            const std::optional<flyshard::Topology>& target = std::nullopt);

class LayoutTracker {
 public:
  explicit LayoutTracker(flyshard::Client& client) : client_(client) {}

  /// The layout the client routes by now. Cheap while the epoch stays (one atomic load and a
  /// shared_ptr copy); on a change it rebuilds and registers the new streams first (throws
  /// flyshard::Error when the registry cannot be written: callers answer 503 and retry).
  std::shared_ptr<const ShopLayout> current();

  /// Every event stream a layout of this shop has used (the registry and the current
  /// layout's), sorted. Throws flyshard::Error.
  std::vector<std::string> all_streams();

 private:
  flyshard::Client& client_;
  std::mutex mutex_;  // guards current_; held while a new layout is built and registered
  std::shared_ptr<const ShopLayout> current_;
};

}  // namespace shop
