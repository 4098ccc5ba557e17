#pragma once
/// \file distribution_impl.hpp
/// Internal: the per-algorithm interface behind flyshard::Distribution, the builders that
/// create() dispatches to, and the small helpers the unit tests and benchmarks reach.
/// Nothing here includes xxhash.h: xxHash stays inside the .cpp files of src/distribution/.

#include <flyshard/distribution.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flyshard {

/// One algorithm's placement tables. Immutable after construction, so one instance is shared
/// by every copy of a Distribution and read from any thread without locks.
class Distribution::Impl {
 public:
  Impl(std::string algorithm, std::vector<ShardWeight> shards) noexcept
      : algorithm_(std::move(algorithm)), shards_(std::move(shards)) {}
  virtual ~Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// The index, in shards(), of the shard that owns a key whose hashed part is `hashed`
  /// (hash_tag() already applied). Must not allocate and must not throw.
  virtual std::size_t locate(std::string_view hashed) const noexcept = 0;

  const std::string& algorithm() const noexcept { return algorithm_; }
  const std::vector<ShardWeight>& shards() const noexcept { return shards_; }

 private:
  std::string algorithm_;
  std::vector<ShardWeight> shards_;
};

namespace detail {

// Builders. `shards` has been validated by create(): non-empty, unique non-empty names,
// weights >= 1. They throw Error(errc::config) for bad algorithm-specific options.
std::shared_ptr<const Distribution::Impl> make_ketama(std::string algorithm,
                                                      std::vector<ShardWeight> shards,
                                                      const DistributionOptions& options);
std::shared_ptr<const Distribution::Impl> make_maglev(std::string algorithm,
                                                      std::vector<ShardWeight> shards,
                                                      const DistributionOptions& options);
std::shared_ptr<const Distribution::Impl> make_jump(std::string algorithm,
                                                    std::vector<ShardWeight> shards,
                                                    const DistributionOptions& options);
std::shared_ptr<const Distribution::Impl> make_rendezvous(std::string algorithm,
                                                          std::vector<ShardWeight> shards,
                                                          const DistributionOptions& options);

/// Indices of `shards` sorted by name (plain byte order). Placement that needs an order uses
/// this one, so the order of the list given to create() never matters.
std::vector<std::size_t> order_by_name(const std::vector<ShardWeight>& shards);

/// "Natural" order, numeric-aware: runs of digits compare as numbers, so "s2" < "s10";
/// names that are numerically equal ("s01", "s1") fall back to byte order, so this is a
/// strict total order. Jump hash buckets follow it.
bool natural_less(std::string_view a, std::string_view b) noexcept;

/// twemproxy's `fnv1a_64`: despite its name, FNV-1a computed in 32 bits with the 64-bit
/// offset basis and prime truncated to 32 bits, bytes sign-extended as by a signed `char`.
std::uint32_t twemproxy_fnv1a_64(std::string_view data) noexcept;

/// Ring points nutcracker gives one server: floor(pct * 160 / 4 * count + 1e-10) * 4 with
/// pct = weight / total_weight, computed in float as nutcracker does.
std::uint32_t twemproxy_points(std::uint32_t weight, std::uint64_t total_weight,
                               std::size_t count) noexcept;

/// nutcracker's ketama_hash(): the `alignment`-th little-endian 32-bit word of MD5(data).
std::uint32_t twemproxy_ketama_hash(std::string_view data, unsigned alignment);

/// The maglev table size used when DistributionOptions::maglev_table_size is 0: the smallest
/// prime >= max(65537, 100 x shard_count).
std::uint64_t maglev_default_table_size(std::size_t shard_count) noexcept;

/// Deterministic primality test (trial division; table sizes are small).
bool is_prime(std::uint64_t n) noexcept;

}  // namespace detail
}  // namespace flyshard
