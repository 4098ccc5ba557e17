#include "distribution/distribution_impl.hpp"

#include <flyshard/error.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_set>

namespace flyshard {
namespace {

using Builder = std::shared_ptr<const Distribution::Impl> (*)(std::string, std::vector<ShardWeight>,
                                                              const DistributionOptions&);

struct Algorithm {
  std::string_view name;
  Builder build;
};

constexpr Algorithm kAlgorithms[] = {
    {"ketama", &detail::make_ketama},
    {"maglev", &detail::make_maglev},
    {"jump", &detail::make_jump},
    {"rendezvous", &detail::make_rendezvous},
};

std::string valid_algorithms() {
  std::string out;
  for (const auto& a : kAlgorithms) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

// Far above any real deployment; keeps every index in 32 bits and every table small.
constexpr std::size_t kMaxShards = std::size_t{1} << 20;

void validate_shards(const std::vector<ShardWeight>& shards) {
  if (shards.empty()) {
    throw Error(errc::config, "distribution: the shard list is empty");
  }
  if (shards.size() > kMaxShards) {
    throw Error(errc::config, "distribution: " + std::to_string(shards.size()) +
                                  " shards; the limit is " + std::to_string(kMaxShards));
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(shards.size());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const auto& s = shards[i];
    const std::string where = "distribution: shards[" + std::to_string(i) + "]";
    if (s.name.empty()) {
      throw Error(errc::config, where + ": the shard name is empty");
    }
    if (!seen.insert(s.name).second) {
      throw Error(errc::config, where + ": duplicate shard name " + quoted(s.name));
    }
    if (s.weight == 0) {
      throw Error(errc::config, where + " (" + quoted(s.name) + "): weight must be >= 1, got 0");
    }
  }
}

void validate_options(std::string_view algorithm, const DistributionOptions& options) {
  if (!options.compat.empty() && options.compat != "twemproxy") {
    throw Error(errc::config, "distribution: unknown compat " + quoted(options.compat) +
                                  " (valid: \"\" or \"twemproxy\")");
  }
  if (!options.compat.empty() && algorithm != "ketama") {
    throw Error(errc::config, "distribution: compat " + quoted(options.compat) +
                                  " applies to ketama only, not to " + quoted(algorithm));
  }
}

}  // namespace

Distribution Distribution::create(std::string_view algorithm, std::vector<ShardWeight> shards,
                                  const DistributionOptions& options) {
  const auto it = std::find_if(std::begin(kAlgorithms), std::end(kAlgorithms),
                               [&](const Algorithm& a) { return a.name == algorithm; });
  if (it == std::end(kAlgorithms)) {
    throw Error(errc::config, "distribution: unknown algorithm " + quoted(algorithm) +
                                  " (valid: " + valid_algorithms() + ")");
  }
  validate_shards(shards);
  validate_options(algorithm, options);
  return Distribution(it->build(std::string(algorithm), std::move(shards), options));
}

std::size_t Distribution::shard_for(std::string_view key) const noexcept {
  return impl_->locate(detail::hash_tag_inline(key));
}

std::size_t Distribution::size() const noexcept {
  return impl_->shards().size();
}

std::string_view Distribution::algorithm() const noexcept {
  return impl_->algorithm();
}

const std::vector<ShardWeight>& Distribution::shards() const noexcept {
  return impl_->shards();
}

namespace detail {

std::vector<std::size_t> order_by_name(const std::vector<ShardWeight>& shards) {
  std::vector<std::size_t> order(shards.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return shards[a].name < shards[b].name; });
  return order;
}

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

}  // namespace

bool natural_less(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      // Compare the digit runs as numbers: skip leading zeros, then the longer run is the
      // larger number, and runs of equal length compare digit by digit.
      while (i < a.size() && a[i] == '0') ++i;
      while (j < b.size() && b[j] == '0') ++j;
      const std::size_t ai = i;
      const std::size_t bj = j;
      while (i < a.size() && is_digit(a[i])) ++i;
      while (j < b.size() && is_digit(b[j])) ++j;
      const std::size_t alen = i - ai;
      const std::size_t blen = j - bj;
      if (alen != blen) return alen < blen;
      const int c = a.substr(ai, alen).compare(b.substr(bj, blen));
      if (c != 0) return c < 0;
      continue;
    }
    // A digit against a non-digit compares the same whichever digit it is (digits are
    // contiguous in ASCII), so leading zeros cannot make this inconsistent.
    if (a[i] != b[j]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    }
    ++i;
    ++j;
  }
  const bool a_done = i == a.size();
  const bool b_done = j == b.size();
  if (a_done != b_done) return a_done;
  // Numerically equal ("s01" vs "s1"): byte order keeps the order total.
  return a < b;
}

}  // namespace detail
}  // namespace flyshard
