// Ketama: a ring of points per unit of weight; a key belongs to the first point at or after its
// hash, wrapping to the first point.
//
// Native mode: points are XXH3-64 of "<name>-<i>", 160 (ketama_points) per weight unit, keys
// are hashed with XXH3-64. Compat "twemproxy" mode rebuilds nutcracker's ring bit for bit
// (hashkit/nc_ketama.c, nc_fnv.c, nc_md5.c of twemproxy 0.5): MD5 of "<name>-<i>" gives four
// 32-bit points per digest, points per server come from nutcracker's float formula, and keys
// are hashed with its 32-bit "fnv1a_64".
//
// Lookup is O(1) on average: a power-of-two index over the top bits of the ring values says
// where each hash range starts, so a lookup scans the ~1 point of its range instead of binary
// searching the whole ring.

#include "distribution/distribution_impl.hpp"

#include <flyshard/error.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace flyshard::detail {
namespace {

// Bounds the ring's memory (16 bytes per point plus the index).
constexpr std::uint64_t kMaxPoints = std::uint64_t{1} << 22;

// nutcracker's constants.
constexpr std::uint32_t kTwemproxyPointsPerServer = 160;
constexpr std::uint32_t kTwemproxyPointsPerHash = 4;
constexpr std::size_t kTwemproxyMaxHostLen = 273;  // its snprintf buffer, NUL included

struct Point {
  std::uint64_t value;
  std::uint32_t rank;   // the owner's position in name order: breaks ties between shards
  std::uint32_t owner;  // index in the list given to create()
};

class Ring {
 public:
  explicit Ring(std::vector<Point> points) {
    // Equal values (a hash collision between shards) are ordered by name, never by list
    // order, so the owner of every hash is a function of names and weights alone.
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
      return a.value != b.value ? a.value < b.value : a.rank < b.rank;
    });
    values_.reserve(points.size());
    owners_.reserve(points.size());
    for (const auto& p : points) {
      values_.push_back(p.value);
      owners_.push_back(p.owner);
    }
    unsigned bits = 1;
    while ((std::uint64_t{1} << bits) < values_.size()) ++bits;
    shift_ = 64 - bits;
    const std::size_t buckets = std::size_t{1} << bits;
    start_.resize(buckets + 1);
    std::size_t p = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      while (p < values_.size() && (values_[p] >> shift_) < b) ++p;
      start_[b] = static_cast<std::uint32_t>(p);
    }
    start_[buckets] = static_cast<std::uint32_t>(values_.size());
  }

  std::size_t find(std::uint64_t hash) const noexcept {
    const std::size_t b = static_cast<std::size_t>(hash >> shift_);
    std::size_t i = start_[b];
    const std::size_t end = start_[b + 1];
    while (i < end && values_[i] < hash) ++i;
    if (i == values_.size()) i = 0;
    return owners_[i];
  }

 private:
  std::vector<std::uint64_t> values_;  // sorted
  std::vector<std::uint32_t> owners_;  // parallel to values_
  std::vector<std::uint32_t> start_;   // start_[b]: first point whose top bits are >= b
  unsigned shift_ = 63;
};

class NativeKetama final : public Distribution::Impl {
 public:
  NativeKetama(std::string algorithm, std::vector<ShardWeight> shards, std::vector<Point> points)
      : Impl(std::move(algorithm), std::move(shards)), ring_(std::move(points)) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    return ring_.find(XXH3_64bits(hashed.data(), hashed.size()));
  }

 private:
  Ring ring_;
};

class TwemproxyKetama final : public Distribution::Impl {
 public:
  TwemproxyKetama(std::string algorithm, std::vector<ShardWeight> shards, std::vector<Point> points)
      : Impl(std::move(algorithm), std::move(shards)), ring_(std::move(points)) {}

  std::size_t locate(std::string_view hashed) const noexcept override {
    // nutcracker hashes an empty key to 0 instead of calling the hash function.
    const std::uint32_t h = hashed.empty() ? 0 : twemproxy_fnv1a_64(hashed);
    // Shifting keeps the order of 32-bit values, so one 64-bit ring serves both modes.
    return ring_.find(std::uint64_t{h} << 32);
  }

 private:
  Ring ring_;
};

// Hands out MD5 digests from OpenSSL's libcrypto; one context serves a whole ring build.
class Md5 {
 public:
  Md5() : md_(EVP_MD_fetch(nullptr, "MD5", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (md_ == nullptr || ctx_ == nullptr) {
      release();
      throw Error(errc::config,
                  "distribution: ketama compat \"twemproxy\" needs MD5, which OpenSSL's "
                  "libcrypto does not provide here (FIPS mode?)");
    }
  }
  ~Md5() { release(); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  std::array<unsigned char, 16> digest(std::string_view data) {
    std::array<unsigned char, 16> out{};
    unsigned int len = 0;
    if (EVP_DigestInit_ex(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size()) {
      throw Error(errc::config, "distribution: ketama compat \"twemproxy\": MD5 failed");
    }
    return out;
  }

 private:
  void release() noexcept {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
    ctx_ = nullptr;
    md_ = nullptr;
  }
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

std::uint32_t md5_word(const std::array<unsigned char, 16>& d, unsigned alignment) noexcept {
  const unsigned o = alignment * 4;
  return (std::uint32_t{d[o + 3]} << 24) | (std::uint32_t{d[o + 2]} << 16) |
         (std::uint32_t{d[o + 1]} << 8) | std::uint32_t{d[o]};
}

std::vector<std::uint32_t> name_ranks(const std::vector<ShardWeight>& shards) {
  std::vector<std::uint32_t> rank(shards.size());
  const auto order = order_by_name(shards);
  for (std::size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<std::uint32_t>(r);
  return rank;
}

std::vector<Point> native_points(const std::vector<ShardWeight>& shards,
                                 const DistributionOptions& options) {
  if (options.ketama_points == 0) {
    throw Error(errc::config, "distribution: ketama_points must be >= 1, got 0");
  }
  std::uint64_t total = 0;
  for (const auto& s : shards) total += std::uint64_t{s.weight} * options.ketama_points;
  if (total > kMaxPoints) {
    throw Error(errc::config, "distribution: ketama ring would have " + std::to_string(total) +
                                  " points (ketama_points x total weight); the limit is " +
                                  std::to_string(kMaxPoints));
  }
  const auto rank = name_ranks(shards);
  std::vector<Point> points;
  points.reserve(static_cast<std::size_t>(total));
  std::string label;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::uint64_t count = std::uint64_t{shards[s].weight} * options.ketama_points;
    for (std::uint64_t i = 0; i < count; ++i) {
      label.assign(shards[s].name);
      label += '-';
      label += std::to_string(i);
      points.push_back(
          {XXH3_64bits(label.data(), label.size()), rank[s], static_cast<std::uint32_t>(s)});
    }
  }
  return points;
}

std::vector<Point> twemproxy_ring(const std::vector<ShardWeight>& shards) {
  std::uint64_t total_weight = 0;
  for (const auto& s : shards) total_weight += s.weight;
  if (total_weight > UINT32_MAX) {
    // nutcracker sums weights in a uint32_t.
    throw Error(errc::config,
                "distribution: ketama compat \"twemproxy\" needs a total weight < 2^32");
  }
  const auto rank = name_ranks(shards);
  Md5 md5;
  std::vector<Point> points;
  std::string label;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::uint32_t n = twemproxy_points(shards[s].weight, total_weight, shards.size());
    for (std::uint32_t i = 0; i < n / kTwemproxyPointsPerHash; ++i) {
      label.assign(shards[s].name);
      label += '-';
      label += std::to_string(i);
      // nutcracker formats into a fixed buffer; a longer label is cut there.
      if (label.size() >= kTwemproxyMaxHostLen) label.resize(kTwemproxyMaxHostLen - 1);
      const auto digest = md5.digest(label);
      for (unsigned a = 0; a < kTwemproxyPointsPerHash; ++a) {
        points.push_back(
            {std::uint64_t{md5_word(digest, a)} << 32, rank[s], static_cast<std::uint32_t>(s)});
      }
    }
  }
  return points;
}

}  // namespace

std::uint32_t twemproxy_fnv1a_64(std::string_view data) noexcept {
  // The 64-bit FNV offset basis and prime, truncated to 32 bits as nutcracker does.
  std::uint32_t hash = static_cast<std::uint32_t>(UINT64_C(0xcbf29ce484222325));
  constexpr std::uint32_t prime = static_cast<std::uint32_t>(UINT64_C(0x100000001b3));
  for (const char c : data) {
    // nutcracker reads the key through a (signed on x86) char: bytes >= 0x80 sign-extend.
    hash ^= static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
    hash *= prime;
  }
  return hash;
}

std::uint32_t twemproxy_points(std::uint32_t weight, std::uint64_t total_weight,
                               std::size_t count) noexcept {
  // Same operations, same types, same order as nutcracker's ketama_update(): the float
  // rounding decides whether an equal share gets 160 or 156 points, so it must match.
  const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
  const float share = pct * static_cast<float>(kTwemproxyPointsPerServer) / 4.0f *
                      static_cast<float>(static_cast<std::uint32_t>(count));
  const float with_epsilon = static_cast<float>(static_cast<double>(share) + 0.0000000001);
  return static_cast<std::uint32_t>(std::floor(with_epsilon) * 4.0f);
}

std::uint32_t twemproxy_ketama_hash(std::string_view data, unsigned alignment) {
  Md5 md5;
  return md5_word(md5.digest(data), alignment);
}

std::shared_ptr<const Distribution::Impl> make_ketama(std::string algorithm,
                                                      std::vector<ShardWeight> shards,
                                                      const DistributionOptions& options) {
  if (options.compat == "twemproxy") {
    auto points = twemproxy_ring(shards);
    return std::make_shared<const TwemproxyKetama>(std::move(algorithm), std::move(shards),
                                                   std::move(points));
  }
  auto points = native_points(shards, options);
  return std::make_shared<const NativeKetama>(std::move(algorithm), std::move(shards),
                                              std::move(points));
}

}  // namespace flyshard::detail
