// flyshard-cluster: starts a LocalCluster, writes its topology JSON, and keeps it running until
// SIGINT, SIGTERM or SIGHUP. scripts/shop.sh and scripts/bench.sh run it in the background.

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "local_cluster.hpp"

namespace {

constexpr const char* kUsage =
    R"(usage: flyshard-cluster [--shards N] [--replicas R] [--sentinels S]
                        [--distribution NAME] [--topology PATH] [--ready-file PATH]

Starts N primaries (shards s1..sN), R replicas per shard and S sentinels on free loopback
ports, writes the topology JSON to PATH (default ./cluster.json), prints
"flyshard-cluster: ready <path>" and one line per node, touches the ready file if given,
then runs until SIGINT/SIGTERM/SIGHUP, ends every node it started and removes the
ready file. Exit status: 0 after a signal, 1 when the cluster cannot start, 2 on bad usage.

  --shards N            shards, >= 1 (default 3)
  --replicas R          replicas per shard (default 0)
  --sentinels S         sentinels monitoring every shard (default 0)
  --distribution NAME   ketama | maglev | jump | rendezvous (default ketama)
  --topology PATH       where to write the topology JSON (default ./cluster.json)
  --ready-file PATH     file to create once the cluster is ready
  -h, --help            this text

Server binary: $FLYSHARD_SERVER, else dragonfly on PATH, else redis-server.
Set FLYSHARD_KEEP_TEMP=1 to keep the nodes' folders and logs.
)";

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "flyshard-cluster: " << msg << "\n" << kUsage;
  std::exit(2);
}

std::size_t parse_count(std::string_view flag, const std::string& v, std::size_t min,
                        std::size_t max) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    usage_error(std::string(flag) + ": expected a number, got '" + v + "'");
  unsigned long long n = 0;
  try {
    n = std::stoull(v);
  } catch (const std::exception&) {
    usage_error(std::string(flag) + ": number out of range: '" + v + "'");
  }
  if (n < min || n > max)
    usage_error(std::string(flag) + ": expected " + std::to_string(min) + ".." +
                std::to_string(max) + ", got " + v);
  return static_cast<std::size_t>(n);
}

struct Args {
  flyshard::testing::ClusterOptions cluster;
  std::filesystem::path topology = "cluster.json";
  std::optional<std::filesystem::path> ready_file;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) usage_error(arg + ": missing value");
      return argv[++i];
    };
    if (arg == "--shards") {
      a.cluster.shards = parse_count(arg, next(), 1, 64);
    } else if (arg == "--replicas") {
      a.cluster.replicas = parse_count(arg, next(), 0, 16);
    } else if (arg == "--sentinels") {
      a.cluster.sentinels = parse_count(arg, next(), 0, 16);
    } else if (arg == "--distribution") {
      a.cluster.distribution = next();
      const auto& d = a.cluster.distribution;
      if (d != "ketama" && d != "maglev" && d != "jump" && d != "rendezvous")
        usage_error("--distribution: expected ketama, maglev, jump or rendezvous, got '" + d + "'");
    } else if (arg == "--topology") {
      a.topology = next();
      if (a.topology.empty()) usage_error("--topology: empty path");
    } else if (arg == "--ready-file") {
      a.ready_file = next();
      if (a.ready_file->empty()) usage_error("--ready-file: empty path");
    } else {
      usage_error("unknown argument '" + std::string(argv[i]) + "'");
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);

  // Block the signals before any node starts: sigwait below receives them, and a signal that
  // arrives while the cluster is still starting waits for us instead of killing the launcher
  // half-way (the nodes would die anyway, by PR_SET_PDEATHSIG, but without cleanup). Children
  // reset their mask before exec. A background job of a non-interactive shell ignores SIGINT:
  // restore the default so sigwait sees it.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
    ::signal(sig, SIG_DFL);
    sigaddset(&signals, sig);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    flyshard::testing::LocalCluster cluster(args.cluster);
    std::filesystem::path topo = std::filesystem::absolute(args.topology);
    cluster.write_topology(topo);
    if (args.ready_file) {
      std::ofstream touch(*args.ready_file, std::ios::app);
      if (!touch) throw std::runtime_error("cannot create ready file " + args.ready_file->string());
    }
    std::cout << "flyshard-cluster: ready " << topo.string() << "\n"
              << cluster.describe() << std::flush;

    std::set<int> reported;  // PIDs of nodes already reported dead
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig != SIGCHLD) {
        std::cout << "flyshard-cluster: " << strsignal(sig) << ", stopping\n" << std::flush;
        break;
      }
      // A node ended by itself or someone killed it on purpose (a failover demo): say so and
      // keep running; a dead node is a state the user may want to keep.
      for (auto* p : cluster.all()) {
        if (p->pid() != 0 && !p->running() && reported.insert(p->pid()).second)
          std::cerr << "flyshard-cluster: " << p->label() << " (127.0.0.1:" << p->port() << ", pid "
                    << p->pid() << ") exited\n";
      }
    }
    // The cluster's destructor kills every node by its PID.
  } catch (const std::exception& e) {
    std::cerr << "flyshard-cluster: " << e.what() << "\n";
    return 1;
  }
  if (args.ready_file) {
    std::error_code ec;
    std::filesystem::remove(*args.ready_file, ec);
  }
  return 0;
}
