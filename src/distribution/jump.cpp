// Jump consistent hash (Lamping & Veach, 2014): no table, O(ln n) time, and growing from n to
// n + 1 buckets moves exactly the keys that land in the new bucket. Buckets are numbered by
// the natural order of shard names, so a new shard keeps every existing key in place only when
// its name sorts after all existing names (s9 -> s10 is fine). Weights are ignored.

#include "distribution/distribution_impl.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <numeric>

namespace flyshard::detail {
namespace {

// The paper's algorithm, unchanged, so the bucket of a 64-bit hash is the one every other
// implementation computes.
inline std::uint32_t jump_consistent_hash(std::uint64_t key, std::uint32_t buckets) noexcept {
  std::int64_t b = -1;
  std::int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<std::int64_t>(
        static_cast<double>(b + 1) *
        (static_cast<double>(std::int64_t{1} << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<std::uint32_t>(b);
}

class Jump final : public Distribution::Impl {
 public:
  Jump(std::string algorithm, std::vector<ShardWeight> shards, std::vector<std::uint32_t> owners)
      : Impl(std::move(algorithm), std::move(shards)), owners_(std::move(owners)) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    const std::uint64_t h = XXH3_64bits(hashed.data(), hashed.size());
    return owners_[jump_consistent_hash(h, static_cast<std::uint32_t>(owners_.size()))];
  }

 private:
  std::vector<std::uint32_t> owners_;  // bucket -> index in the list given to create()
};

}  // namespace

std::shared_ptr<const Distribution::Impl> make_jump(std::string algorithm,
                                                    std::vector<ShardWeight> shards,
                                                    const DistributionOptions& /*options*/) {
  std::vector<std::uint32_t> owners(shards.size());
  std::iota(owners.begin(), owners.end(), std::uint32_t{0});
  std::sort(owners.begin(), owners.end(), [&](std::uint32_t a, std::uint32_t b) {
    return natural_less(shards[a].name, shards[b].name);
  });
  return std::make_shared<const Jump>(std::move(algorithm), std::move(shards), std::move(owners));
}

}  // namespace flyshard::detail
