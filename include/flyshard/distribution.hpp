#pragma once
/// \file distribution.hpp
/// Key -> shard placement. A Distribution is an immutable value: cheap to copy (it shares its
/// tables), safe to use from any number of threads, and usable without a Client.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flyshard {

/// One shard as placement sees it: placement depends on names and weights only, never on
/// the order of the list or on addresses.
struct ShardWeight {
  std::string name;          ///< stable shard name; must be unique and non-empty
  std::uint32_t weight = 1;  ///< relative share of keys, >= 1 (jump ignores weights)
};

/// Tuning of a distribution. Every field has a default that suits most users.
struct DistributionOptions {
  /// ketama only: "" (native: XXH3 keys, name-based points) or "twemproxy" (places every key
  /// where nutcracker does with `distribution: ketama`, `hash: fnv1a_64` and the same server
  /// names).
  std::string compat;
  /// ketama only: ring points per unit of weight (twemproxy mode always uses 160 per server
  /// share, as nutcracker does). Default 160.
  std::uint32_t ketama_points = 160;
  /// maglev only: lookup table size; 0 picks the smallest prime >= max(65537, 100 x shards).
  std::uint64_t maglev_table_size = 0;
};

/// The part of a key that is hashed: the content of the first `{...}` when it is non-empty
/// (Redis Cluster rule), else the whole key. `cart:{u42}` and `orders:{u42}` both hash "u42".
std::string_view hash_tag(std::string_view key) noexcept;

/// Places keys on shards. Algorithms: "ketama", "maglev", "jump", "rendezvous".
class Distribution {
 public:
  /// Builds a distribution. Throws flyshard::Error(errc::config) for an unknown algorithm,
  /// an empty shard list, a duplicate or empty name, or a zero weight.
  static Distribution create(std::string_view algorithm, std::vector<ShardWeight> shards,
                             const DistributionOptions& options = {});

  /// The index, in the list given to create(), of the shard that owns `key` (hash tags
  /// applied). Never throws.
  std::size_t shard_for(std::string_view key) const noexcept;

  /// Number of shards.
  std::size_t size() const noexcept;
  /// The algorithm's name, as given to create().
  std::string_view algorithm() const noexcept;
  /// The shards, in the order given to create().
  const std::vector<ShardWeight>& shards() const noexcept;

  class Impl;  ///< implementation detail (one per algorithm)

 private:
  explicit Distribution(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace flyshard
