// Rendezvous / highest random weight (Thaler & Ravishankar), weighted with the logarithmic
// method (Schindelhauer & Schomaker): shard i scores -w_i / ln(u_i), u_i in (0, 1) drawn from
// hash(key, name_i); the highest score wins. Adding a shard moves only the keys the new shard
// wins, in proportion to its weight. Lookup is O(n) in the number of shards.
//
// hash(key, name) mixes the key's XXH3-64 with the name's XXH3-64 through a 64-bit finalizer,
// so a lookup hashes the key once instead of once per shard.

#include "distribution/distribution_impl.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cmath>

namespace flyshard::detail {
namespace {

constexpr XXH64_hash_t kNameSeed = 0x72656e64657a766fULL;  // "rendezvo"

// Stafford's "mix13" finalizer (the one of SplitMix64): full avalanche over 64 bits.
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct Candidate {
  std::uint64_t seed;   // XXH3-64 of the name
  double inv_weight;    // 1 / weight
  std::uint32_t owner;  // index in the list given to create()
};

// Candidates are kept in name order and only a strictly better score replaces the best, so a
// tie goes to the smaller name whatever the order of the list given to create().
class Rendezvous final : public Distribution::Impl {
 public:
  Rendezvous(std::string algorithm, std::vector<ShardWeight> shards,
             std::vector<Candidate> candidates, bool weighted)
      : Impl(std::move(algorithm), std::move(shards)),
        candidates_(std::move(candidates)),
        weighted_(weighted) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    const std::uint64_t k = XXH3_64bits(hashed.data(), hashed.size());
    std::uint32_t best = candidates_.front().owner;
    if (!weighted_) {
      // Equal weights: -w / ln(u) grows with u, so the largest hash wins; no logarithm.
      std::uint64_t top = mix(k ^ candidates_.front().seed);
      for (std::size_t i = 1; i < candidates_.size(); ++i) {
        const std::uint64_t h = mix(k ^ candidates_[i].seed);
        if (h > top) {
          top = h;
          best = candidates_[i].owner;
        }
      }
      return best;
    }
    // The highest -w / ln(u) is the highest ln(u) / w (both sides of the comparison are
    // negative), which needs no division.
    double top = -HUGE_VAL;
    for (const auto& c : candidates_) {
      const std::uint64_t h = mix(k ^ c.seed);
      // 53 bits, offset by half a step: u is never 0 nor 1.
      const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
      const double score = std::log(u) * c.inv_weight;
      if (score > top) {
        top = score;
        best = c.owner;
      }
    }
    return best;
  }

 private:
  std::vector<Candidate> candidates_;
  bool weighted_;
};

}  // namespace

std::shared_ptr<const Distribution::Impl> make_rendezvous(std::string algorithm,
                                                          std::vector<ShardWeight> shards,
                                                          const DistributionOptions& /*options*/) {
  std::vector<Candidate> candidates;
  candidates.reserve(shards.size());
  bool weighted = false;
  for (const std::size_t i : order_by_name(shards)) {
    const auto& s = shards[i];
    candidates.push_back({XXH3_64bits_withSeed(s.name.data(), s.name.size(), kNameSeed),
                          1.0 / static_cast<double>(s.weight), static_cast<std::uint32_t>(i)});
    weighted = weighted || s.weight != shards.front().weight;
  }
  return std::make_shared<const Rendezvous>(std::move(algorithm), std::move(shards),
                                            std::move(candidates), weighted);
}

}  // namespace flyshard::detail
