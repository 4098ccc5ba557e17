// Maglev (Eisenbud et al., NSDI 2016): a lookup table of prime size M filled from one
// permutation of the slots per shard; a key reads one slot, so lookup is O(1).
//
// A shard's permutation is offset + j * skip (mod M), offset and skip from two hashes of its
// NAME, so the table depends on names and weights only. The fill takes turns in name order;
// a shard of weight w takes w turns per round (weights divided by their gcd first), so slot
// counts follow weights to within one round.

#include "distribution/distribution_impl.hpp"

#include <flyshard/error.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <string>

namespace flyshard::detail {
namespace {

// Bounds the table's memory (2 or 4 bytes per slot).
constexpr std::uint64_t kMaxTableSize = std::uint64_t{1} << 28;
constexpr std::uint64_t kMinDefaultTableSize = 65537;

// Arbitrary fixed seeds: changing them moves every key.
constexpr XXH64_hash_t kOffsetSeed = 0x6d61676c65766f66ULL;  // "maglevof"
constexpr XXH64_hash_t kSkipSeed = 0x6d61676c6576736bULL;    // "maglevsk"

__extension__ typedef unsigned __int128 Uint128;

// Maps a uniform 64-bit hash onto [0, n) without a division (Lemire's multiply-shift).
inline std::uint64_t reduce(std::uint64_t hash, std::uint64_t n) noexcept {
  return static_cast<std::uint64_t>((static_cast<Uint128>(hash) * n) >> 64);
}

template <typename Entry>
class Maglev final : public Distribution::Impl {
 public:
  Maglev(std::string algorithm, std::vector<ShardWeight> shards, std::vector<Entry> table)
      : Impl(std::move(algorithm), std::move(shards)), table_(std::move(table)) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    const std::uint64_t h = XXH3_64bits(hashed.data(), hashed.size());
    return table_[reduce(h, table_.size())];
  }

 private:
  std::vector<Entry> table_;  // slot -> index in the list given to create()
};

template <typename Entry>
std::vector<Entry> fill(const std::vector<ShardWeight>& shards, std::uint64_t size) {
  struct Cursor {
    std::uint64_t next;  // the shard's next preferred slot
    std::uint64_t skip;
    std::uint32_t turns;
    Entry owner;
  };
  std::uint32_t g = 0;
  for (const auto& s : shards) g = std::gcd(g, s.weight);
  std::vector<Cursor> cursors;
  cursors.reserve(shards.size());
  for (const std::size_t i : order_by_name(shards)) {
    const auto& name = shards[i].name;
    const std::uint64_t offset = XXH3_64bits_withSeed(name.data(), name.size(), kOffsetSeed) % size;
    const std::uint64_t skip =
        XXH3_64bits_withSeed(name.data(), name.size(), kSkipSeed) % (size - 1) + 1;
    cursors.push_back({offset, skip, shards[i].weight / g, static_cast<Entry>(i)});
  }

  constexpr Entry empty = std::numeric_limits<Entry>::max();
  std::vector<Entry> table(static_cast<std::size_t>(size), empty);
  std::uint64_t filled = 0;
  while (true) {
    for (auto& c : cursors) {
      for (std::uint32_t t = 0; t < c.turns; ++t) {
        // M is prime and 0 < skip < M, so the walk visits every slot: it always ends.
        while (table[c.next] != empty) {
          c.next += c.skip;
          if (c.next >= size) c.next -= size;
        }
        table[c.next] = c.owner;
        if (++filled == size) return table;
      }
    }
  }
}

}  // namespace

bool is_prime(std::uint64_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint64_t d = 3; d <= n / d; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

std::uint64_t maglev_default_table_size(std::size_t shard_count) noexcept {
  std::uint64_t n = std::max<std::uint64_t>(kMinDefaultTableSize, std::uint64_t{100} * shard_count);
  while (!is_prime(n)) ++n;
  return n;
}

std::shared_ptr<const Distribution::Impl> make_maglev(std::string algorithm,
                                                      std::vector<ShardWeight> shards,
                                                      const DistributionOptions& options) {
  std::uint64_t size = options.maglev_table_size;
  if (size == 0) {
    size = maglev_default_table_size(shards.size());
  } else if (size < shards.size() || size > kMaxTableSize || !is_prime(size)) {
    throw Error(errc::config, "distribution: maglev_table_size " + std::to_string(size) +
                                  " must be a prime >= the number of shards (" +
                                  std::to_string(shards.size()) +
                                  ") and <= " + std::to_string(kMaxTableSize) + " (0 picks one)");
  }
  if (size > kMaxTableSize) {
    throw Error(errc::config, "distribution: maglev: too many shards for the table size limit");
  }
  // The empty marker is the entry type's maximum, so the index type must leave it unused.
  if (shards.size() < std::numeric_limits<std::uint16_t>::max()) {
    auto table = fill<std::uint16_t>(shards, size);
    return std::make_shared<const Maglev<std::uint16_t>>(std::move(algorithm), std::move(shards),
                                                         std::move(table));
  }
  auto table = fill<std::uint32_t>(shards, size);
  return std::make_shared<const Maglev<std::uint32_t>>(std::move(algorithm), std::move(shards),
                                                       std::move(table));
}

}  // namespace flyshard::detail
