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
  /// ketama only: "" (default; native: XXH3-64 keys, points from XXH3-64 of "<name>-<i>") or
  /// "twemproxy" (places every key where nutcracker 0.5 does with `distribution: ketama`,
  /// `hash: fnv1a_64`, `hash_tag: "{}"` and servers named by the shard names, e.g.
  /// `- 127.0.0.1:7001:1 s1`; MD5 points, 32-bit keys). One known corner: when two servers'
  /// ring points collide exactly (32-bit MD5 words; odds about points^2 / 2^33 per ring),
  /// nutcracker's sort decides by config order, flyshard by name. Keys with bytes >= 0x80 hash
  /// as on x86 nutcracker (signed char); an ARM build of nutcracker hashes them differently.
  /// Any other value, or "twemproxy" with another algorithm, is a config error.
  std::string compat;
  /// ketama only: ring points per unit of weight, >= 1 (twemproxy mode always uses 160 per
  /// server share, as nutcracker does). Default 160. The ring is limited to 2^22 points.
  std::uint32_t ketama_points = 160;
  /// maglev only: lookup table size in slots, a prime >= the number of shards and <= 2^28;
  /// 0 (default) picks the smallest prime >= max(65537, 100 x shards).
  std::uint64_t maglev_table_size = 0;
};

/// The part of a key that is hashed: the content of the first `{...}` when it is non-empty
/// (Redis Cluster rule), else the whole key. `cart:{u42}` and `orders:{u42}` both hash "u42".
std::string_view hash_tag(std::string_view key) noexcept;

/// Places keys on shards. Keys are hashed with XXH3-64 after hash_tag() (twemproxy compat:
/// its 32-bit fnv1a_64). Algorithms:
/// - "ketama": a ring with ketama_points points per unit of weight; lookup O(1) on average
///   (an index over the ring). Adding a shard moves only keys to it, about its share (each
///   shard's share varies by about 8% around its weight's share with 160 points).
/// - "maglev": a prime-size lookup table (Eisenbud et al.), permutations from hashes of the
///   names, heavier shards taking more turns in the fill; O(1) lookup, near-perfect balance.
///   Adding a shard also moves a few keys between old shards.
/// - "jump": Lamping & Veach jump consistent hash; no table. Buckets follow the natural
///   (numeric-aware) order of the names: s2 < s10. Add shards only with names that sort after
///   every existing name (s9, then s10) and remove only the last, or keys move between old
///   shards. Ignores weights.
/// - "rendezvous": weighted highest random weight (score -w / ln(u), u from the key and the
///   name); lookup O(shards). Adding a shard moves only keys to it.
/// Placement depends on names and weights only: reordering the list moves no key.
class Distribution {
 public:
  /// Builds a distribution. Throws flyshard::Error(errc::config) for an unknown algorithm
  /// (the message lists the valid ones), an empty shard list, a duplicate or empty name, a
  /// zero weight, more than 2^20 shards, or an option outside its range (see
  /// DistributionOptions).
  static Distribution create(std::string_view algorithm, std::vector<ShardWeight> shards,
                             const DistributionOptions& options = {});

  /// The index, in the list given to create(), of the shard that owns `key` (hash tags
  /// applied). Never throws, never allocates.
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
