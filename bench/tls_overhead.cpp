// What TLS costs: GET and SET throughput through one server over TLS against the same server's
// plain port, in the same run, reported as ratios TLS/plain (DESIGN.md, "Measuring").
//
//   build/bench/tls_overhead                 # placement as inherited (usually both CPUs)
//   build/bench/tls_overhead --pin           # client, loop thread and server all on CPU 0
//   build/bench/tls_overhead --seconds 2 --rounds 5 --value-size 32
//
// One redis-server (a child of this process, so it inherits the CPU placement) listens on a
// plain port and a TLS port at once (flyshard::testing::ServerProcess with ServerTls;
// certificates made at start with the openssl tool), so both variants meet the same server
// process and data. Variants, each run for --seconds, in rounds that alternate plain and TLS
// so that drift of a noisy machine hits both alike; figures are medians of the rounds:
//
//   async GET / SET with 1 and with 64 requests in flight (AsyncClient::command; every
//   callback, on the loop thread, issues the next request)
//   blocking GET / SET on one thread (Client::get / Client::set: the caller's-thread path)

#include <flyshard/flyshard.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "server_process.hpp"
#include "tls_certs.hpp"

namespace {

using namespace flyshard;
using flyshard::bench::Clock;

constexpr std::string_view kUsage =
    "usage: tls_overhead [--seconds S] [--rounds N] [--value-size BYTES] [--pin]\n"
    "  --seconds S        per variant and round (default 2)\n"
    "  --rounds N         rounds; figures are medians (default 3)\n"
    "  --value-size B     bytes per value (default 32)\n"
    "  --pin              client, loop thread and server on CPU 0\n";

struct Config {
  double seconds = 2;
  int rounds = 3;
  std::size_t value_size = 32;
  bool pin = false;
};

// Async: `depth` requests in flight until `seconds` pass; ops/s.
double run_async(Client& c, bool set, int depth, double seconds, const std::string& value) {
  struct State {
    std::atomic<long> done{0};
    std::atomic<int> live{0};
    std::promise<void> finished;
    Clock::time_point until;
  };
  auto st = std::make_shared<State>();
  st->until = Clock::now() +
              std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  AsyncClient& a = c.async();
  auto issue = std::make_shared<std::function<void(int)>>();
  *issue = [&a, st, set, &value, issue](int slot) {
    const std::string key = "tls-bench:" + std::to_string(slot);
    Args args = set ? Args{"SET", key, value} : Args{"GET", key};
    a.command(std::move(args), [st, slot, issue](Result<Reply> r) {
      if (r.ok()) st->done.fetch_add(1, std::memory_order_relaxed);
      if (Clock::now() < st->until && r.ok()) {
        (*issue)(slot);
      } else if (st->live.fetch_sub(1) == 1) {
        st->finished.set_value();
      }
    });
  };
  const auto start = Clock::now();
  st->live = depth;
  for (int i = 0; i < depth; ++i) (*issue)(i);
  st->finished.get_future().wait();
  const double took = flyshard::bench::seconds_since(start);
  *issue = nullptr;  // breaks the cycle issue -> lambda -> issue
  return static_cast<double>(st->done.load()) / took;
}

// Blocking, one thread; ops/s.
double run_blocking(Client& c, bool set, double seconds, const std::string& value) {
  const auto start = Clock::now();
  const auto until =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long done = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 100; ++i) {
      if (set) {
        c.set("tls-bench:0", value);
      } else {
        (void)c.get("tls-bench:0");
      }
    }
    done += 100;
  }
  return static_cast<double>(done) / flyshard::bench::seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  flyshard::bench::CommandLine cl("tls_overhead", kUsage, argc, argv);
  while (cl.next()) {
    if (cl.flag() == "--seconds") {
      cfg.seconds = cl.number(0.1, 3600);
    } else if (cl.flag() == "--rounds") {
      cfg.rounds = static_cast<int>(cl.integer(1, 100));
    } else if (cl.flag() == "--value-size") {
      cfg.value_size = cl.count(1, 1 << 24);
    } else if (cl.flag() == "--pin") {
      cfg.pin = true;
    } else {
      cl.unknown();
    }
  }
  if (cfg.pin) flyshard::bench::pin_to_cpu(0);

  flyshard::testing::TlsCerts certs;
  flyshard::testing::ServerOptions so;
  so.label = "tls-bench";
  so.tls = flyshard::testing::ServerTls{certs.server_cert, certs.server_key, certs.ca_file, false};
  flyshard::testing::ServerProcess server(so);
  server.start();

  ClientOptions o;
  o.log_level = LogLevel::error;
  o.request_timeout = std::chrono::seconds(5);
  auto topology = [&](bool tls) {
    Topology t;
    t.shards.push_back(ShardSpec{"s1", 1, tls ? server.client_address() : server.address(), {}});
    if (tls) {
      t.tls.emplace();
      t.tls->ca_file = certs.ca_file;
    }
    return t;
  };
  Client plain(topology(false), o);
  Client tls(topology(true), o);
  const std::string value(cfg.value_size, 'v');
  for (int i = 0; i < 64; ++i) plain.set("tls-bench:" + std::to_string(i), value);

  struct Variant {
    std::string name;
    std::function<double(Client&)> run;
  };
  const double s = cfg.seconds;
  std::vector<Variant> variants = {
      {"async GET, 1 in flight", [&](Client& c) { return run_async(c, false, 1, s, value); }},
      {"async GET, 64 in flight", [&](Client& c) { return run_async(c, false, 64, s, value); }},
      {"async SET, 1 in flight", [&](Client& c) { return run_async(c, true, 1, s, value); }},
      {"async SET, 64 in flight", [&](Client& c) { return run_async(c, true, 64, s, value); }},
      {"blocking GET, 1 thread", [&](Client& c) { return run_blocking(c, false, s, value); }},
      {"blocking SET, 1 thread", [&](Client& c) { return run_blocking(c, true, s, value); }},
  };
  // Warm-up: every link open and the TLS handshakes done before anything is timed.
  run_async(plain, false, 64, 0.2, value);
  run_async(tls, false, 64, 0.2, value);
  run_blocking(plain, false, 0.2, value);
  run_blocking(tls, false, 0.2, value);

  std::map<std::string, std::vector<double>> plain_ops, tls_ops, ratios;
  for (int r = 0; r < cfg.rounds; ++r) {
    for (auto& v : variants) {
      // Alternate which goes first, so neither always meets a warmer machine.
      const bool tls_first = r % 2 == 1;
      const double a = v.run(tls_first ? tls : plain);
      const double b = v.run(tls_first ? plain : tls);
      const double p = tls_first ? b : a;
      const double t = tls_first ? a : b;
      plain_ops[v.name].push_back(p);
      tls_ops[v.name].push_back(t);
      ratios[v.name].push_back(t / p);
    }
  }
  std::printf(
      "# TLS overhead: %s, value %zu bytes, %g s x %d rounds, CPUs %s (client), "
      "server pid %d\n",
      "redis-server on 127.0.0.1, plain port vs TLS port (OpenSSL defaults)", cfg.value_size, cfg.seconds,
      cfg.rounds, flyshard::bench::cpu_list().c_str(), server.pid());
  std::printf("| variant | plain ops/s | TLS ops/s | TLS/plain (median of rounds) |\n");
  std::printf("|---|---:|---:|---:|\n");
  for (auto& v : variants) {
    std::printf("| %s | %.0f | %.0f | %.2f |\n", v.name.c_str(),
                flyshard::bench::median(plain_ops[v.name]),
                flyshard::bench::median(tls_ops[v.name]), flyshard::bench::median(ratios[v.name]));
  }
  return 0;
}
