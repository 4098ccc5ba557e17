#pragma once
/// \file distribution_impl.hpp
/// Internal: the per-algorithm interface behind flyshard::Distribution, the builders that
/// create() dispatches to, and the small helpers the unit tests and benchmarks reach.
/// Nothing here includes xxhash.h: xxHash stays inside the .cpp files of src/distribution/.

#include <flyshard/distribution.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/// The position of the first `c` in d[0, n), or n. Inline SSE2/SWAR for keys up to 64 bytes:
/// a libc memchr call costs more than the whole scan of a short key; longer keys use memchr.
/// Never reads outside [d, d + n).
inline std::size_t find_byte(const char* d, std::size_t n, char c) noexcept {
#if defined(__SSE2__)
  if (n >= 16 && n <= 64) {
    const __m128i pattern = _mm_set1_epi8(c);
    const auto match = [&](std::size_t at) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + at));
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, pattern)));
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      if (const unsigned m = match(i)) return i + static_cast<std::size_t>(__builtin_ctz(m));
    }
    if (i == n) return n;
    // The tail: the last 16 bytes, overlapping bytes already known not to match.
    const unsigned m = match(n - 16);
    return m != 0 ? n - 16 + static_cast<std::size_t>(__builtin_ctz(m)) : n;
  }
#endif
  if (n >= 8 && n < 16) {
    // SWAR: the lowest flagged byte of (v - 0x01..) & ~v & 0x80.. is the first zero byte.
    const std::uint64_t pattern = 0x0101010101010101ULL * static_cast<unsigned char>(c);
    const auto match = [&](std::size_t at) {
      std::uint64_t w;
      std::memcpy(&w, d + at, 8);
      const std::uint64_t v = w ^ pattern;
      return (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
    };
    if constexpr (std::endian::native == std::endian::little) {
      if (const std::uint64_t m = match(0))
        return static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
      if (const std::uint64_t m = match(n - 8)) {
        return n - 8 + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
      }
      return n;
    }
  }
  if (n < 16) {
    for (std::size_t i = 0; i < n; ++i) {
      if (d[i] == c) return i;
    }
    return n;
  }
  const void* p = std::memchr(d, c, n);
  return p == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(p) - d);
}

/// hash_tag(), inline for shard_for().
inline std::string_view hash_tag_inline(std::string_view key) noexcept {
  // Redis Cluster's rule (and twemproxy's with `hash_tag: "{}"`): the first '{', then the
  // first '}' after it; a non-empty content between them is the hashed part.
  const std::size_t n = key.size();
  const std::size_t open = find_byte(key.data(), n, '{');
  if (open == n) return key;
  const std::size_t rest = n - open - 1;
  const std::size_t len = find_byte(key.data() + open + 1, rest, '}');
  if (len == rest || len == 0) return key;
  return key.substr(open + 1, len);
}

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
