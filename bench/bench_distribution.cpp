// Micro-benchmarks of key placement: Distribution::shard_for for every algorithm at several
// shard counts and key lengths, hash_tag() alone, and building each distribution.
//
//   build/bench/bench_distribution --benchmark_filter='shard_for/.*/64/'
//
// Keys are generated once (random printable bytes, one in four with a hash tag) and cycled
// through, so the tables are read the way a client with many different keys reads them.

#include <flyshard/distribution.hpp>

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kKeyCount = 4096;  // a power of two: cycling is a mask

std::vector<std::string> make_keys(std::size_t length) {
  std::mt19937_64 rng(length);
  std::uniform_int_distribution<int> ch('a', 'z');
  std::vector<std::string> keys;
  keys.reserve(kKeyCount);
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    std::string k(length, 'x');
    for (auto& c : k) c = static_cast<char>(ch(rng));
    if (i % 4 == 0 && length >= 8) {
      // "ab{cdef}..." : a tag of about a third of the key.
      k[1] = '{';
      k[1 + length / 3] = '}';
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

// Variants: the algorithms, plus "ketama-twemproxy" (compat mode) and "rendezvous-weighted"
// (weights 1 and 2 alternate: the logarithmic scoring path; equal weights skip the logarithm).
std::vector<flyshard::ShardWeight> shards(std::size_t n, const std::string& variant) {
  const bool weighted = variant == "rendezvous-weighted";
  std::vector<flyshard::ShardWeight> s;
  for (std::size_t i = 1; i <= n; ++i) {
    s.push_back(
        {"shard-" + std::to_string(i), weighted ? static_cast<std::uint32_t>(1 + i % 2) : 1});
  }
  return s;
}

flyshard::DistributionOptions options_for(const std::string& variant) {
  flyshard::DistributionOptions o;
  if (variant == "ketama-twemproxy") o.compat = "twemproxy";
  return o;
}

std::string algorithm_of(const std::string& variant) {
  if (variant == "ketama-twemproxy") return "ketama";
  if (variant == "rendezvous-weighted") return "rendezvous";
  return variant;
}

void shard_for(benchmark::State& state, const std::string& variant, std::size_t n,
               std::size_t key_length) {
  const auto d = flyshard::Distribution::create(algorithm_of(variant), shards(n, variant),
                                                options_for(variant));
  const auto keys = make_keys(key_length);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.shard_for(keys[i]));
    i = (i + 1) & (kKeyCount - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void hash_tag(benchmark::State& state, std::size_t key_length) {
  const auto keys = make_keys(key_length);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(flyshard::hash_tag(keys[i]));
    i = (i + 1) & (kKeyCount - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void build(benchmark::State& state, const std::string& variant, std::size_t n) {
  const auto s = shards(n, variant);
  const auto o = options_for(variant);
  const auto algorithm = algorithm_of(variant);
  for (auto _ : state) {
    benchmark::DoNotOptimize(flyshard::Distribution::create(algorithm, s, o));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> variants = {"ketama", "ketama-twemproxy", "maglev",
                                             "jump",   "rendezvous",       "rendezvous-weighted"};
  for (const auto& v : variants) {
    for (std::size_t n : {3, 8, 16, 64, 256}) {
      for (std::size_t len : {8, 32, 128}) {
        const std::string name =
            "shard_for/" + v + "/" + std::to_string(n) + "/" + std::to_string(len);
        benchmark::RegisterBenchmark(name.c_str(), shard_for, v, n, len);
      }
    }
  }
  for (std::size_t len : {8, 32, 128}) {
    benchmark::RegisterBenchmark(("hash_tag/" + std::to_string(len)).c_str(), hash_tag, len);
  }
  for (const auto& v : variants) {
    benchmark::RegisterBenchmark(("build/" + v + "/64").c_str(), build, v, std::size_t{64})
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
