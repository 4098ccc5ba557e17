// What online resharding's write fencing costs per write: blocking Client::set in a loop with
// no topology record ("none"), under a record with lease fencing ("lease": one steady_clock
// read and a compare before each write) and under strict fencing ("strict": every write is an
// EVALSHA of the guard script, which checks the stored epoch before running the SET). All
// three in the same run, in rounds (none lease strict, none lease strict, ...), each the
// median of its rounds, and the ratios to "none".
//
//   build/bench/bench_fencing --pin          # client, loop thread and servers on CPU 0
//
// The program starts three servers (one per variant, so that each client's record lives on
// its own node; the server binary is $FLYSHARD_SERVER, dragonfly or redis-server) and gives
// each client a one-shard layout. No migration runs: this is the steady-state cost.

#include <flyshard/flyshard.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "local_cluster.hpp"
#include "reshard/topology_record.hpp"

namespace {

using flyshard::bench::Clock;
using flyshard::bench::fmt;
using flyshard::bench::median;

constexpr const char* kUsage =
    R"(usage: bench_fencing [--seconds S] [--rounds N] [--pin]

Blocking SET throughput with no topology record, with lease fencing and with strict fencing,
in the same run.

  --seconds S   measured time per variant and round (default 1)
  --rounds N    rounds (default 5); each figure is the median
  --pin         pin this process (and so the servers it starts) to CPU 0
  --sets N      instead of timing: N SETs per chosen variant, no figures (for
                valgrind --tool=callgrind: instructions per SET = the slope between two N)
  --variant V   with --sets: only none, lease or strict
)";

double sets_per_second(flyshard::Client& c, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  const std::string value(32, 'v');
  std::uint64_t n = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 64; ++i) c.set("bench:fencing", value);
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
    else
      cl.unknown();
  }
  try {
    if (pin) flyshard::bench::pin_to_cpu(0);
    flyshard::testing::ClusterOptions co;
    co.shards = 3;
    flyshard::testing::LocalCluster cluster(co);
    const char* names[] = {"none", "lease", "strict"};
    std::vector<std::unique_ptr<flyshard::Client>> clients;
    for (std::size_t v = 0; v < 3; ++v) {
      flyshard::Topology one = cluster.topology();
      one.shards = {one.shards[v]};
      if (v > 0) {
        flyshard::detail::TopologyRecord r;
        r.epoch = 1;
        r.layout = one;
        r.fencing = v == 1 ? flyshard::detail::Fencing::lease : flyshard::detail::Fencing::strict;
        r.lease_ms = 60'000;  // no lease runs out during the run
        std::vector<std::string> hset{"HSET", std::string(flyshard::detail::kRecordKey)};
        for (auto& [f, val] : r.to_fields()) {
          hset.push_back(f);
          hset.push_back(val);
        }
        cluster.primary(v).command(hset);
      }
      clients.push_back(std::make_unique<flyshard::Client>(one));
      if (clients.back()->epoch() != (v > 0 ? 1u : 0u)) throw std::runtime_error("record not read");
    }
    if (sets > 0) {
      const std::string value(32, 'v');
      for (std::size_t v = 0; v < 3; ++v) {
        if (!only.empty() && only != names[v]) continue;
        for (std::uint64_t i = 0; i < sets; ++i) clients[v]->set("bench:fencing", value);
      }
      return 0;
    }
    std::vector<double> rate[3];
    for (auto& c : clients) sets_per_second(*c, 0.2);  // warm-up
    for (std::uint64_t r = 0; r < rounds; ++r) {
      for (std::size_t v = 0; v < 3; ++v) rate[v].push_back(sets_per_second(*clients[v], seconds));
    }
    std::cout << "placement: "
              << (pin ? "pinned, CPU 0" : "as inherited (" + flyshard::bench::cpu_list() + ")")
              << "; " << rounds << " rounds x " << seconds
              << " s; server: " << flyshard::testing::server_binary() << "\n";
    const double none = median(rate[0]);
    for (std::size_t v = 0; v < 3; ++v) {
      const double m = median(rate[v]);
      std::cout << names[v] << ": " << fmt("%.0f", m) << " SET/s, " << fmt("%.2f", 1e6 / m)
                << " us/SET, ratio to none " << fmt("%.3f", m / none) << ", +"
                << fmt("%.2f", 1e6 / m - 1e6 / none) << " us/SET\n";
    }
    std::cout << "lease check (steady_clock read): " << fmt("%.1f", clock_read_ns()) << " ns\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_fencing: " << e.what() << "\n";
    return 1;
  }
}
