// What online resharding's write fencing costs per write: blocking Client::set in a loop with
// no topology record ("none"), under a record with lease fencing ("lease": one steady_clock
// read and a compare before each write) and under strict fencing ("strict": every write is an
// EVALSHA of the guard script, which checks the stored epoch before running the SET) and
// while a migration copies ("migrating": lease fencing, a record in the copy phase, a key
// that does not move, whose path should be the lease's: the aim is that keys that stay cost
// what they did). All four in the same run, in rounds (none lease strict, none lease strict, ...),
// each the median of its rounds, and the ratios to "none".
//
//   build/bench/bench_fencing --pin          # client, loop thread and servers on CPU 0
//
// The program starts four servers (one per variant, so that each client's record lives on
// its own node; the migrating one's target adds the first server as a second shard; the server
// binary is $FLYSHARD_SERVER, dragonfly or redis-server) and gives each client a one-shard layout.
// No migration runs: this is the steady-state cost.

#include <flyshard/flyshard.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "local_cluster.hpp"
#include "reshard/layout_pair.hpp"
#include "reshard/topology_record.hpp"

namespace {

using flyshard::bench::Clock;
using flyshard::bench::fmt;
using flyshard::bench::median;

constexpr const char* kUsage =
    R"(usage: bench_fencing [--seconds S] [--rounds N] [--pin]

Blocking SET (or GET) throughput with no topology record, with lease fencing, with strict
fencing and with a migration copying (a key that stays), in the same run.

  --seconds S   measured time per variant and round (default 1)
  --rounds N    rounds (default 5); each figure is the median
  --pin         pin this process (and so the servers it starts) to CPU 0
  --sets N      instead of timing: N SETs per chosen variant, no figures (for
                valgrind --tool=callgrind: instructions per SET = the slope between two N)
  --variant V   with --sets: only none, lease, strict or migrating
  --get         GETs of the key instead of SETs (after one SET)
)";

void one(flyshard::Client& c, const std::string& key, bool get) {
  static const std::string value(32, 'v');
  if (get) {
    if (!c.get(key)) throw std::runtime_error("GET " + key + ": no value");
  } else {
    c.set(key, value);
  }
}

double ops_per_second(flyshard::Client& c, const std::string& key, bool get, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::uint64_t n = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 64; ++i) one(c, key, get);
    n += 64;
  }
  return static_cast<double>(n) / seconds;
}

// The lease check's own cost: one steady_clock read per write.
double clock_read_ns() {
  constexpr int kN = 10'000'000;
  const auto start = Clock::now();
  std::int64_t sink = 0;
  for (int i = 0; i < kN; ++i) sink += Clock::now().time_since_epoch().count() & 1;
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kN;
  if (sink == -1) std::puts("");  // keeps the loop
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1;
  std::uint64_t rounds = 5;
  bool pin = false;
  std::uint64_t sets = 0;
  std::string only;
  bool get = false;
  flyshard::bench::CommandLine cl("bench_fencing", kUsage, argc, argv);
  while (cl.next()) {
    if (cl.flag() == "--seconds")
      seconds = cl.number(0.05, 3600);
    else if (cl.flag() == "--rounds")
      rounds = cl.count(1, 1000);
    else if (cl.flag() == "--pin")
      pin = true;
    else if (cl.flag() == "--sets")
      sets = cl.count(1, 100'000'000);
    else if (cl.flag() == "--variant")
      only = cl.value();
    else if (cl.flag() == "--get")
      get = true;
    else
      cl.unknown();
  }
  try {
    if (pin) flyshard::bench::pin_to_cpu(0);
    flyshard::testing::ClusterOptions co;
    co.shards = 4;
    flyshard::testing::LocalCluster cluster(co);
    constexpr std::size_t kVariants = 4;
    const char* names[kVariants] = {"none", "lease", "strict", "migrating"};
    std::vector<std::unique_ptr<flyshard::Client>> clients;
    std::vector<std::string> keys;
    for (std::size_t v = 0; v < kVariants; ++v) {
      flyshard::Topology one = cluster.topology();
      one.shards = {one.shards[v]};
      std::string key = "bench:fencing";
      if (v > 0) {
        flyshard::detail::TopologyRecord r;
        r.epoch = 1;
        r.layout = one;
        r.fencing = v == 2 ? flyshard::detail::Fencing::strict : flyshard::detail::Fencing::lease;
        r.lease_ms = 3'600'000;  // no lease runs out during the run, even under valgrind
        if (v == 3) {
          // Copying to a layout that adds the first server as a second shard; the key is one
          // that stays on this one.
          flyshard::Topology target = one;
          target.shards.push_back(cluster.topology().shards[0]);
          r.state = flyshard::detail::MigrationState::copying;
          r.target = target;
          r.migration_id = "bench";
          const flyshard::detail::LayoutPair pair(one, &target);
          for (int i = 0; pair.moves(key); ++i) key = "bench:fencing:" + std::to_string(i);
        }
        std::vector<std::string> hset{"HSET", std::string(flyshard::detail::kRecordKey)};
        for (auto& [f, val] : r.to_fields()) {
          hset.push_back(f);
          hset.push_back(val);
        }
        cluster.primary(v).command(hset);
      }
      // Counting instructions (--sets): no health rounds or record polls, whose cost per
      // second would count per operation in proportion to how long valgrind takes.
      flyshard::ClientOptions o;
      if (sets > 0) {
        o.health_interval = std::chrono::milliseconds(0);
        o.topology_poll_interval = std::chrono::milliseconds(0);
      }
      clients.push_back(std::make_unique<flyshard::Client>(one, o));
      if (clients.back()->epoch() != (v > 0 ? 1u : 0u)) throw std::runtime_error("record not read");
      clients.back()->set(key, std::string(32, 'v'));
      keys.push_back(key);
    }
    if (sets > 0) {
      for (std::size_t v = 0; v < kVariants; ++v) {
        if (!only.empty() && only != names[v]) continue;
        for (std::uint64_t i = 0; i < sets; ++i) one(*clients[v], keys[v], get);
      }
      return 0;
    }
    std::vector<double> rate[kVariants];
    for (std::size_t v = 0; v < kVariants; ++v) ops_per_second(*clients[v], keys[v], get, 0.2);
    for (std::uint64_t r = 0; r < rounds; ++r) {
      for (std::size_t v = 0; v < kVariants; ++v)
        rate[v].push_back(ops_per_second(*clients[v], keys[v], get, seconds));
    }
    const char* op = get ? "GET" : "SET";
    std::cout << "placement: "
              << (pin ? "pinned, CPU 0" : "as inherited (" + flyshard::bench::cpu_list() + ")")
              << "; " << rounds << " rounds x " << seconds
              << " s; server: " << flyshard::testing::server_binary() << "\n";
    const double none = median(rate[0]);
    for (std::size_t v = 0; v < kVariants; ++v) {
      const double m = median(rate[v]);
      std::cout << names[v] << ": " << fmt("%.0f", m) << " " << op << "/s, " << fmt("%.2f", 1e6 / m)
                << " us/" << op << ", ratio to none " << fmt("%.3f", m / none) << ", +"
                << fmt("%.2f", 1e6 / m - 1e6 / none) << " us/" << op << "\n";
    }
    std::cout << "lease check (steady_clock read): " << fmt("%.1f", clock_read_ns()) << " ns\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_fencing: " << e.what() << "\n";
    return 1;
  }
}
