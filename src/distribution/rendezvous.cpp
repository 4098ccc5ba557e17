// Rendezvous / highest random weight (Thaler & Ravishankar), weighted with the logarithmic
// method (Schindelhauer & Schomaker): shard i scores -w_i / ln(u_i), u_i in (0, 1) drawn from
// hash(key, name_i); the highest score wins. Adding a shard moves only the keys the new shard
// wins, in proportion to its weight. Lookup is O(n) in the number of shards.
//
// hash(key, name) mixes the key's XXH3-64 with the name's XXH3-64 through a 64-bit finalizer,
// so a lookup hashes the key once instead of once per shard.
//
// Logarithms are few: among shards of equal weight the score grows with the hash, so each
// weight class only needs its highest hash, and only the class winners are scored. Equal
// weights (one class) need no logarithm at all. The winner is the maximum of one fixed total
// order on shards (score, then the smaller weight, then the higher hash, then the smaller
// name), so it never depends on the order of the list given to create().

#include "distribution/distribution_impl.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
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
  std::uint32_t owner;  // index in the list given to create()
};

struct WeightClass {
  std::size_t begin;  // candidates_[begin, end) share this weight, in name order
  std::size_t end;
  double inv_weight;  // 1 / weight
};

class Rendezvous final : public Distribution::Impl {
 public:
  Rendezvous(std::string algorithm, std::vector<ShardWeight> shards,
             std::vector<Candidate> candidates, std::vector<WeightClass> classes)
      : Impl(std::move(algorithm), std::move(shards)),
        candidates_(std::move(candidates)),
        classes_(std::move(classes)) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    const std::uint64_t k = XXH3_64bits(hashed.data(), hashed.size());
    if (classes_.size() == 1) return class_winner(k, classes_.front()).owner;
    // The highest -w / ln(u) is the highest ln(u) / w (both are compared as negatives, which
    // needs no division). Classes go by increasing weight; only a strictly higher score wins.
    std::uint32_t best = 0;
    double top = -HUGE_VAL;
    for (const auto& c : classes_) {
      const Winner w = class_winner(k, c);
      // 53 bits, offset by half a step: u is never 0 nor 1.
      const double u = (static_cast<double>(w.hash >> 11) + 0.5) * 0x1.0p-53;
      const double score = std::log(u) * c.inv_weight;
      if (score > top) {
        top = score;
        best = w.owner;
      }
    }
    return best;
  }

 private:
  struct Winner {
    std::uint64_t hash;
    std::uint32_t owner;
  };

  // The highest hash of the class; a tie (equal 64-bit hashes) goes to the smaller name.
  Winner class_winner(std::uint64_t key_hash, const WeightClass& c) const noexcept {
    Winner w{mix(key_hash ^ candidates_[c.begin].seed), candidates_[c.begin].owner};
    for (std::size_t i = c.begin + 1; i < c.end; ++i) {
      const std::uint64_t h = mix(key_hash ^ candidates_[i].seed);
      if (h > w.hash) w = {h, candidates_[i].owner};
    }
    return w;
  }

  std::vector<Candidate> candidates_;  // by weight, then by name
  std::vector<WeightClass> classes_;   // by weight
};

}  // namespace

std::shared_ptr<const Distribution::Impl> make_rendezvous(std::string algorithm,
                                                          std::vector<ShardWeight> shards,
                                                          const DistributionOptions& /*options*/) {
  std::vector<std::size_t> order = order_by_name(shards);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return shards[a].weight < shards[b].weight;
  });
  std::vector<Candidate> candidates;
  std::vector<WeightClass> classes;
  candidates.reserve(shards.size());
  for (const std::size_t i : order) {
    const auto& s = shards[i];
    if (classes.empty() || shards[candidates.back().owner].weight != s.weight) {
      classes.push_back(
          {candidates.size(), candidates.size(), 1.0 / static_cast<double>(s.weight)});
    }
    candidates.push_back({XXH3_64bits_withSeed(s.name.data(), s.name.size(), kNameSeed),
                          static_cast<std::uint32_t>(i)});
    classes.back().end = candidates.size();
  }
  return std::make_shared<const Rendezvous>(std::move(algorithm), std::move(shards),
                                            std::move(candidates), std::move(classes));
}

}  // namespace flyshard::detail
