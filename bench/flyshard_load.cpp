// flyshard-load: a closed-loop load driver for a sharded layout, run against one of three
// targets on the same servers, so that runs made one after the other can be compared as
// ratios (DESIGN.md, "Measuring"):
//
//   flyshard   the library: one Client per client thread (async: callbacks on its loop thread
//              issue the next request; blocking: Client::get/set from every thread on one
//              shared Client)
//   direct     hand-written raw hiredis with perfect routing: Distribution::shard_for picks the
//              node, one connection per node. Async: one libuv loop thread per client thread
//              with one hiredis async connection per node (what flyshard runs too); blocking:
//              one hiredis sync connection per node per thread. The upper bound a library on
//              top of hiredis-class I/O can approach
//   twemproxy  nutcracker (--proxy host:port) in front of the same servers; hiredis async (one
//              loop thread and one connection per client thread) or sync (one connection per
//              thread) to the proxy
//
//   flyshard-load --topology cluster.json --target flyshard --mode async --inflight 16
//   flyshard-load --topology cluster.json --target twemproxy --proxy 127.0.0.1:22121 --json r.json
//   flyshard-load --placement 6 --keys 1000000 --json placement.json   # keys per shard per
//   algorithm flyshard-load --report results/20240101-120000                     # summary.md +
//   chart data
//
// Every request's latency (steady_clock, from the call to the reply) goes into a log-linear
// histogram (64 steps per power of two: percentiles within 1.6 %). CPU seconds per million
// operations come from getrusage(RUSAGE_SELF) around the measured window (user + system, every
// thread of this process); with --proxy-pid and --server-pids the same figure is given for
// nutcracker and the servers, read from /proc/<pid>/stat.
//
// The measured window starts after --warmup seconds and ends after --seconds or --max-ops
// measured operations, whichever comes first. Only requests that complete inside the window
// count. Keys ("key:0000000000" ...) are written first (--no-preload skips that) over
// pipelined direct connections, placed by the target's own placement: the topology's
// distribution for flyshard and direct, ketama in twemproxy-compat mode for twemproxy.

#include <flyshard/client.hpp>
#include <flyshard/distribution.hpp>
#include <flyshard/topology.hpp>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "lean_libuv_adapter.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using flyshard::bench::Clock;
using flyshard::bench::fmt;
using flyshard::bench::Seconds;

constexpr const char* kUsage =
    R"(usage: flyshard-load --topology PATH [options]      run load against one target
       flyshard-load --placement N [--keys K] [--json PATH]   keys per shard per algorithm
       flyshard-load --report DIR                          summary.md + chart data of a run

Load (closed loop: every finished request starts the next):
  --topology PATH        topology JSON (as written by flyshard-cluster)
  --target NAME          flyshard | direct | twemproxy (default flyshard)
  --proxy HOST:PORT      nutcracker's address (--target twemproxy)
  --mode NAME            async | blocking (default async)
  --threads N            client threads (default 1). async: N independent clients, each
                         with its own loop thread (flyshard: N Clients); blocking: N threads
                         calling one shared Client (direct/twemproxy: own connections each)
  --inflight N           requests in flight per client thread, async only (default 16)
  --seconds S            measured window, seconds (default 3)
  --max-ops N            end the window after N measured operations (default 0: no bound)
  --warmup S             unmeasured time before the window, seconds (default 0.5)
  --keys N               key space size (default 100000)
  --value-size N         bytes per value (default 32)
  --get-ratio F          share of GETs, the rest SETs (default 0.9)
  --dist NAME            uniform | zipf (default uniform)
  --zipf-s S             zipf exponent (default 0.99)
  --no-preload           do not write the keys first
  --direct-adapter NAME  lean | stock: hiredis's libuv adapter as packaged (stock, one
                         epoll_ctl per command) or one that re-arms only on change (lean,
                         default; the stricter peer). Also used for twemproxy async
  --proxy-pid PID        also report nutcracker's CPU seconds per million ops
  --server-pids LIST     also report the servers' CPU seconds per million ops (comma list)
  --seed N               random seed (default 1)
  --label TEXT           free text copied into the JSON
  --json PATH            write the result as JSON to PATH

Placement:
  --placement N          N shards s1..sN, every algorithm; prints and writes (--json) the
                         keys per shard of --keys keys (default 1000000 here)

Report:
  --report DIR           reads DIR/load/*.json, DIR/redis-benchmark/*.csv, DIR/micro/*.json,
                         DIR/distribution.json, DIR/placement.json, DIR/meta.txt; writes
                         DIR/summary.md and DIR/plots/ (data + vars.gp for bench/plot/*.gp)
)";

// ---- configuration ------------------------------------------------------------------------

enum class Target { flyshard, direct, twemproxy };
enum class Mode { async, blocking };
enum class Dist { uniform, zipf };

struct Config {
  std::string topology;
  Target target = Target::flyshard;
  std::string proxy;
  Mode mode = Mode::async;
  int threads = 1;
  int inflight = 16;
  double seconds = 3;
  std::uint64_t max_ops = 0;
  double warmup = 0.5;
  std::size_t keys = 100000;
  bool keys_given = false;
  std::size_t value_size = 32;
  double get_ratio = 0.9;
  Dist dist = Dist::uniform;
  double zipf_s = 0.99;
  bool preload = true;
  bool lean_adapter = true;
  int proxy_pid = 0;
  std::vector<int> server_pids;
  std::uint64_t seed = 1;
  std::string label;
  std::string json_path;
  std::size_t placement_shards = 0;
  std::string report_dir;
};

Config parse_args(int argc, char** argv) {
  Config c;
  flyshard::bench::CommandLine cl("flyshard-load", kUsage, argc, argv);
  while (cl.next()) {
    const std::string_view a = cl.flag();
    if (a == "--topology") {
      c.topology = cl.value();
    } else if (a == "--target") {
      const std::string t = cl.value();
      if (t == "flyshard") {
        c.target = Target::flyshard;
      } else if (t == "direct") {
        c.target = Target::direct;
      } else if (t == "twemproxy") {
        c.target = Target::twemproxy;
      } else {
        cl.fail("--target: expected flyshard, direct or twemproxy, got '" + t + "'");
      }
    } else if (a == "--proxy") {
      c.proxy = cl.value();
    } else if (a == "--mode") {
      const std::string m = cl.value();
      if (m == "async") {
        c.mode = Mode::async;
      } else if (m == "blocking") {
        c.mode = Mode::blocking;
      } else {
        cl.fail("--mode: expected async or blocking, got '" + m + "'");
      }
    } else if (a == "--threads") {
      c.threads = static_cast<int>(cl.count(1, 256));
    } else if (a == "--inflight") {
      c.inflight = static_cast<int>(cl.count(1, 100000));
    } else if (a == "--seconds") {
      c.seconds = cl.number(0.01, 86400);
    } else if (a == "--max-ops") {
      c.max_ops = cl.count(0, std::uint64_t{1} << 62);
    } else if (a == "--warmup") {
      c.warmup = cl.number(0, 3600);
    } else if (a == "--keys") {
      c.keys = cl.count(1, 100'000'000);
      c.keys_given = true;
    } else if (a == "--value-size") {
      c.value_size = cl.count(0, 64 << 20);
    } else if (a == "--get-ratio") {
      c.get_ratio = cl.number(0, 1);
    } else if (a == "--dist") {
      const std::string d = cl.value();
      if (d == "uniform") {
        c.dist = Dist::uniform;
      } else if (d == "zipf") {
        c.dist = Dist::zipf;
      } else {
        cl.fail("--dist: expected uniform or zipf, got '" + d + "'");
      }
    } else if (a == "--zipf-s") {
      c.zipf_s = cl.number(0.01, 10);
    } else if (a == "--no-preload") {
      c.preload = false;
    } else if (a == "--direct-adapter") {
      const std::string d = cl.value();
      if (d == "lean") {
        c.lean_adapter = true;
      } else if (d == "stock") {
        c.lean_adapter = false;
      } else {
        cl.fail("--direct-adapter: expected lean or stock, got '" + d + "'");
      }
    } else if (a == "--proxy-pid") {
      c.proxy_pid = static_cast<int>(cl.count(1, 1 << 30));
    } else if (a == "--server-pids") {
      for (const auto& item : flyshard::bench::split_list(cl.value()))
        c.server_pids.push_back(static_cast<int>(cl.count(a, item, 1, 1 << 30)));
    } else if (a == "--seed") {
      c.seed = cl.count(0, ~std::uint64_t{0} >> 1);
    } else if (a == "--label") {
      c.label = cl.value();
    } else if (a == "--json") {
      c.json_path = cl.value();
    } else if (a == "--placement") {
      c.placement_shards = cl.count(1, 4096);
    } else if (a == "--report") {
      c.report_dir = cl.value();
    } else {
      cl.unknown();
    }
  }
  if (c.report_dir.empty() && c.placement_shards == 0) {
    if (c.topology.empty()) cl.fail("--topology is required");
    if (c.target == Target::twemproxy && c.proxy.empty())
      cl.fail("--target twemproxy needs --proxy host:port");
  }
  return c;
}

// ---- measuring ----------------------------------------------------------------------------

// HDR-like log-linear histogram of nanoseconds: values below 64 exactly, above that 64 linear
// steps per power of two, so a bucket is at most 1/64 of its value wide.
class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  Histogram() : counts_(kBuckets, 0) {}

  void record(std::uint64_t ns) noexcept {
    ++counts_[index(ns)];
    ++count_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }
  std::uint64_t count() const noexcept { return count_; }
  double mean_us() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) / 1000.0 : 0;
  }
  double max_us() const noexcept { return static_cast<double>(max_) / 1000.0; }
  // The q-quantile (0 < q <= 1) in microseconds: the middle of the bucket that holds it.
  double percentile_us(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        const auto [lo, hi] = bounds(i);
        const double mid = (static_cast<double>(lo) + static_cast<double>(hi)) / 2.0;
        return std::min(mid, static_cast<double>(max_)) / 1000.0;
      }
    }
    return max_us();
  }

 private:
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int e = 63 - __builtin_clzll(v);
    const int shift = e - kSubBits;
    return static_cast<std::size_t>((shift + 1) * static_cast<int>(kSub)) +
           static_cast<std::size_t>((v >> shift) & (kSub - 1));
  }
  static std::pair<std::uint64_t, std::uint64_t> bounds(std::size_t i) noexcept {
    if (i < kSub) return {i, i};
    const std::size_t shift = i / kSub - 1;
    const std::uint64_t lo = (kSub + i % kSub) << shift;
    return {lo, lo + (std::uint64_t{1} << shift) - 1};
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

// What one client thread (async: one loop thread) saw; merged at the end.
struct Tally {
  Histogram hist;
  std::uint64_t ops = 0;
  std::uint64_t gets = 0;
  std::uint64_t sets = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  std::uint64_t warmup_errors = 0;
  std::string first_error;

  void merge(const Tally& o) {
    hist.merge(o.hist);
    ops += o.ops;
    gets += o.gets;
    sets += o.sets;
    misses += o.misses;
    errors += o.errors;
    warmup_errors += o.warmup_errors;
    if (first_error.empty()) first_error = o.first_error;
  }
};

enum class Outcome { ok, miss, error };

double cpu_seconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec) + static_cast<double>(r.ru_utime.tv_usec) / 1e6 +
         static_cast<double>(r.ru_stime.tv_sec) + static_cast<double>(r.ru_stime.tv_usec) / 1e6;
}

// user + system CPU seconds of a process, from /proc/<pid>/stat; nullopt when unreadable.
std::optional<double> proc_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok && f.size() < 13) f.push_back(tok);
  if (f.size() < 13) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

std::optional<double> pids_cpu_seconds(const std::vector<int>& pids) {
  double sum = 0;
  for (int pid : pids) {
    auto s = proc_cpu_seconds(pid);
    if (!s) return std::nullopt;
    sum += *s;
  }
  return sum;
}

// The measured window: phase 0 warm-up, 1 measured, 2 stopped. Whoever stops the window (the
// main thread at the deadline, a client thread at --max-ops or on a fatal error) takes its end
// time and CPU reading.
class Control {
 public:
  int phase() const noexcept { return phase_.load(std::memory_order_relaxed); }

  // Starts the window unless it was stopped already.
  bool begin() {
    std::lock_guard lock(mu_);
    if (phase_.load() != 0) return false;
    ::getrusage(RUSAGE_SELF, &ru0_);
    t0_ = Clock::now();
    phase_.store(1);
    return true;
  }
  void stop() {
    std::lock_guard lock(mu_);
    if (phase_.load() == 2) return;
    if (phase_.load() == 1) {
      t1_ = Clock::now();
      ::getrusage(RUSAGE_SELF, &ru1_);
    }
    phase_.store(2);
    cv_.notify_all();
  }
  void fail(const std::string& msg) {
    {
      std::lock_guard lock(mu_);
      if (fatal_.empty()) fatal_ = msg;
    }
    stop();
  }
  // Counts one measured operation towards --max-ops.
  void count_op(std::uint64_t max_ops) {
    if (max_ops != 0 && measured_.fetch_add(1, std::memory_order_relaxed) + 1 >= max_ops) stop();
  }
  // Waits up to `d` for the window to stop; true when it did.
  bool wait_stopped(Seconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return phase_.load() == 2; });
  }

  // Lanes (async requests that re-issue themselves) still running.
  void add_lanes(std::int64_t n) { lanes_.fetch_add(n); }
  void lane_done() {
    if (lanes_.fetch_sub(1) == 1) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }
  bool wait_drained(Seconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return lanes_.load() == 0; });
  }

  double elapsed() const { return flyshard::bench::seconds_between(t0_, t1_); }
  double cpu() const { return cpu_seconds(ru1_) - cpu_seconds(ru0_); }
  double user() const {
    return static_cast<double>(ru1_.ru_utime.tv_sec - ru0_.ru_utime.tv_sec) +
           static_cast<double>(ru1_.ru_utime.tv_usec - ru0_.ru_utime.tv_usec) / 1e6;
  }
  double sys() const { return cpu() - user(); }
  bool measured() const { return t1_ > t0_; }
  std::string fatal() const {
    std::lock_guard lock(mu_);
    return fatal_;
  }

 private:
  std::atomic<int> phase_{0};
  std::atomic<std::uint64_t> measured_{0};
  std::atomic<std::int64_t> lanes_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Clock::time_point t0_{}, t1_{};
  rusage ru0_{}, ru1_{};
  std::string fatal_;
};

// ---- workload -----------------------------------------------------------------------------

struct Rng {  // splitmix64: fast, and good enough to pick keys
  std::uint64_t s;
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

class Workload {
 public:
  explicit Workload(const Config& cfg)
      : dist_(cfg.dist), get_ratio_(cfg.get_ratio), value_(cfg.value_size, 'v') {
    keys_.reserve(cfg.keys);
    char buf[32];
    for (std::size_t i = 0; i < cfg.keys; ++i) {
      std::snprintf(buf, sizeof buf, "key:%010zu", i);
      keys_.emplace_back(buf);
    }
    if (dist_ == Dist::zipf) {
      // P(rank i) ~ 1 / (i + 1)^s, as a CDF searched with a uniform draw.
      cdf_.resize(cfg.keys);
      double sum = 0;
      for (std::size_t i = 0; i < cfg.keys; ++i) {
        sum += 1.0 / std::pow(static_cast<double>(i + 1), cfg.zipf_s);
        cdf_[i] = sum;
      }
      for (double& c : cdf_) c /= sum;
      cdf_.back() = 1.0;
    }
  }

  std::uint32_t pick_key(Rng& rng) const noexcept {
    if (dist_ == Dist::uniform) return static_cast<std::uint32_t>(rng.next() % keys_.size());
    const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), rng.uniform());
    return static_cast<std::uint32_t>(std::min<std::size_t>(it - cdf_.begin(), keys_.size() - 1));
  }
  bool pick_get(Rng& rng) const noexcept { return rng.uniform() < get_ratio_; }
  const std::string& key(std::uint32_t i) const noexcept { return keys_[i]; }
  const std::vector<std::string>& keys() const noexcept { return keys_; }
  const std::string& value() const noexcept { return value_; }

 private:
  Dist dist_;
  double get_ratio_;
  std::string value_;
  std::vector<std::string> keys_;
  std::vector<double> cdf_;
};

// One request slot of an async client: it owns its random state and the start time of its
// request, and is touched by one thread at a time.
struct Lane {
  Rng rng{0};
  Clock::time_point start{};
  std::uint32_t key = 0;
  bool get = true;
};

// Books a finished request on the tally of its client thread; false when the lane stops.
bool book(Control& ctl, Tally& t, const Config& cfg, const Lane& lane, Outcome o,
          std::string_view error) {
  const auto now = Clock::now();
  if (o == Outcome::error && t.first_error.empty())
    t.first_error = error.empty() ? "error" : std::string(error);
  if (ctl.phase() == 1) {
    t.hist.record(static_cast<std::uint64_t>((now - lane.start).count()));
    ++t.ops;
    if (lane.get) {
      ++t.gets;
    } else {
      ++t.sets;
    }
    if (o == Outcome::miss) ++t.misses;
    if (o == Outcome::error) ++t.errors;
    ctl.count_op(cfg.max_ops);
  } else if (o == Outcome::error) {
    ++t.warmup_errors;
  }
  return ctl.phase() != 2;
}

// ---- routing ------------------------------------------------------------------------------

struct Placement {
  flyshard::Distribution dist;
  std::vector<flyshard::NodeAddress> nodes;  // shard i's primary
  std::string description;
};

Placement make_placement(const flyshard::Topology& topo, bool twemproxy_compat) {
  std::vector<flyshard::NodeAddress> nodes;
  for (const auto& s : topo.shards) nodes.push_back(s.primary);
  if (!twemproxy_compat) {
    return {topo.make_distribution(), nodes,
            topo.distribution + (topo.distribution_options.compat.empty()
                                     ? ""
                                     : " (compat " + topo.distribution_options.compat + ")")};
  }
  std::vector<flyshard::ShardWeight> weights;
  for (const auto& s : topo.shards) weights.push_back({s.name, s.weight});
  flyshard::DistributionOptions o;
  o.compat = "twemproxy";
  return {flyshard::Distribution::create("ketama", weights, o), nodes, "ketama (compat twemproxy)"};
}

struct ContextDeleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

Context connect_sync(const flyshard::NodeAddress& a) {
  const timeval tv{5, 0};
  Context c(redisConnectWithTimeout(a.host.c_str(), a.port, tv));
  if (!c || c->err != 0) {
    throw std::runtime_error("connect " + a.to_string() + ": " +
                             (c ? std::string(c->errstr) : std::string("out of memory")));
  }
  redisSetTimeout(c.get(), tv);
  return c;
}

// Writes every key over pipelined direct connections, placed as the target places them.
void preload(const Workload& w, const Placement& p) {
  std::vector<Context> ctx;
  for (const auto& n : p.nodes) ctx.push_back(connect_sync(n));
  std::vector<std::size_t> pending(ctx.size(), 0);
  auto drain = [&](std::size_t i) {
    for (; pending[i] > 0; --pending[i]) {
      void* r = nullptr;
      if (redisGetReply(ctx[i].get(), &r) != REDIS_OK)
        throw std::runtime_error("preload: " + std::string(ctx[i]->errstr));
      auto* reply = static_cast<redisReply*>(r);
      const bool bad = reply->type == REDIS_REPLY_ERROR;
      const std::string msg = bad ? std::string(reply->str, reply->len) : "";
      freeReplyObject(reply);
      if (bad) throw std::runtime_error("preload: SET failed: " + msg);
    }
  };
  const char* argv[3] = {"SET", nullptr, w.value().data()};
  std::size_t len[3] = {3, 0, w.value().size()};
  for (const auto& k : w.keys()) {
    const std::size_t i = p.dist.shard_for(k);
    argv[1] = k.data();
    len[1] = k.size();
    redisAppendCommandArgv(ctx[i].get(), 3, argv, len);
    if (++pending[i] == 1000) drain(i);
  }
  for (std::size_t i = 0; i < ctx.size(); ++i) drain(i);
}

// ---- async: flyshard ----------------------------------------------------------------------

class FlyshardAsync {
 public:
  FlyshardAsync(const flyshard::Topology& topo, const Config& cfg, const Workload& w, Control& ctl,
                std::uint64_t seed)
      : client_(topo), cfg_(cfg), w_(w), ctl_(ctl), lanes_(static_cast<std::size_t>(cfg.inflight)) {
    for (std::size_t i = 0; i < lanes_.size(); ++i) lanes_[i].rng.s = seed + i * 7919;
  }
  void start() {
    ctl_.add_lanes(static_cast<std::int64_t>(lanes_.size()));
    for (Lane& l : lanes_) issue(l);
  }
  Tally& tally() { return tally_; }

 private:
  void issue(Lane& l) {
    l.key = w_.pick_key(l.rng);
    l.get = w_.pick_get(l.rng);
    l.start = Clock::now();
    if (l.get) {
      client_.async().get(
          w_.key(l.key), [this, &l](flyshard::Result<std::optional<std::string>> r) {
            const Outcome o = !r.ok() ? Outcome::error : r.value() ? Outcome::ok : Outcome::miss;
            done(l, o, r.ok() ? std::string_view() : std::string_view(r.message()));
          });
    } else {
      client_.async().set(w_.key(l.key), w_.value(), [this, &l](flyshard::Result<bool> r) {
        done(l, r.ok() ? Outcome::ok : Outcome::error,
             r.ok() ? std::string_view() : std::string_view(r.message()));
      });
    }
  }
  // On the loop thread.
  void done(Lane& l, Outcome o, std::string_view error) {
    if (book(ctl_, tally_, cfg_, l, o, error)) {
      issue(l);
    } else {
      ctl_.lane_done();
    }
  }

  flyshard::Client client_;
  const Config& cfg_;
  const Workload& w_;
  Control& ctl_;
  std::vector<Lane> lanes_;
  Tally tally_;
};

// ---- async: raw hiredis on libuv (direct and twemproxy) -----------------------------------

// One loop thread with one hiredis async connection per node; `dist` routes each key (null:
// everything to node 0, the proxy).
class HiredisAsync {
 public:
  HiredisAsync(std::vector<flyshard::NodeAddress> nodes, const flyshard::Distribution* dist,
               const Config& cfg, const Workload& w, Control& ctl, std::uint64_t seed)
      : nodes_(std::move(nodes)),
        dist_(dist),
        cfg_(cfg),
        w_(w),
        ctl_(ctl),
        lanes_(static_cast<std::size_t>(cfg.inflight)) {
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      lanes_[i].lane.rng.s = seed + i * 7919;
      lanes_[i].owner = this;
    }
  }
  ~HiredisAsync() {
    if (thread_.joinable()) {
      force_stop();
      thread_.join();
    }
  }
  HiredisAsync(const HiredisAsync&) = delete;
  HiredisAsync& operator=(const HiredisAsync&) = delete;

  void start() {
    ctl_.add_lanes(static_cast<std::int64_t>(lanes_.size()));
    if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
    uv_async_init(&loop_, &wake_, &HiredisAsync::on_wake);
    wake_.data = this;
    wake_open_ = true;
    thread_ = std::thread([this] { run(); });
  }
  // Any thread: frees every connection (pending requests complete as errors).
  void force_stop() {
    force_.store(true);
    std::lock_guard lock(wake_mu_);
    if (wake_open_) uv_async_send(&wake_);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  Tally& tally() { return tally_; }

 private:
  struct Slot {
    Lane lane;
    HiredisAsync* owner = nullptr;
    std::size_t node = 0;
  };
  struct Conn {
    HiredisAsync* owner = nullptr;
    std::size_t index = 0;
    redisAsyncContext* ac = nullptr;
  };

  void run() {
    conns_.resize(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Conn& c = conns_[i];
      c.owner = this;
      c.index = i;
      c.ac = redisAsyncConnect(nodes_[i].host.c_str(), nodes_[i].port);
      if (c.ac == nullptr || c.ac->err != 0) {
        const std::string msg = c.ac ? c.ac->errstr : "out of memory";
        if (c.ac) redisAsyncFree(c.ac);
        c.ac = nullptr;
        ctl_.fail("connect " + nodes_[i].to_string() + ": " + msg);
        continue;
      }
      c.ac->data = &c;
      const int rc = cfg_.lean_adapter ? flyshard::bench::lean_libuv_attach(c.ac, &loop_)
                                       : redisLibuvAttach(c.ac, &loop_);
      if (rc != REDIS_OK) {
        redisAsyncFree(c.ac);
        c.ac = nullptr;
        ctl_.fail("cannot attach hiredis to libuv");
        continue;
      }
      redisAsyncSetConnectCallback(c.ac, &HiredisAsync::on_connect);
      redisAsyncSetDisconnectCallback(c.ac, &HiredisAsync::on_disconnect);
    }
    // Commands issued before the connects complete are buffered by hiredis.
    local_lanes_ = lanes_.size();
    for (Slot& s : lanes_) issue(s);
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0)
      std::cerr << "flyshard-load: libuv loop closed with live handles\n";
  }

  void issue(Slot& s) {
    Lane& l = s.lane;
    l.key = w_.pick_key(l.rng);
    l.get = w_.pick_get(l.rng);
    const std::string& key = w_.key(l.key);
    s.node = dist_ ? dist_->shard_for(key) : 0;
    redisAsyncContext* ac = conns_[s.node].ac;
    if (ac == nullptr) {
      lane_finished(s, "no connection to " + nodes_[s.node].to_string());
      return;
    }
    const char* argv[3] = {l.get ? "GET" : "SET", key.data(), w_.value().data()};
    const std::size_t len[3] = {3, key.size(), w_.value().size()};
    l.start = Clock::now();
    if (redisAsyncCommandArgv(ac, &HiredisAsync::on_reply, &s, l.get ? 2 : 3, argv, len) !=
        REDIS_OK) {
      lane_finished(s, "redisAsyncCommandArgv failed");
    }
  }

  static void on_reply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
    auto* s = static_cast<Slot*>(privdata);
    HiredisAsync* self = s->owner;
    auto* r = static_cast<redisReply*>(reply);
    if (r == nullptr) {  // the connection is going away: this lane ends
      book(self->ctl_, self->tally_, self->cfg_, s->lane, Outcome::error, "connection lost");
      self->lane_finished(*s, {});
      return;
    }
    Outcome o = Outcome::ok;
    std::string_view err;
    if (r->type == REDIS_REPLY_ERROR) {
      o = Outcome::error;
      err = std::string_view(r->str, r->len);
    } else if (s->lane.get && r->type == REDIS_REPLY_NIL) {
      o = Outcome::miss;
    }
    if (book(self->ctl_, self->tally_, self->cfg_, s->lane, o, err) && !self->closing_) {
      self->issue(*s);
    } else {
      self->lane_finished(*s, {});
    }
  }

  void lane_finished(Slot& /*s*/, const std::string& fatal) {
    if (!fatal.empty()) ctl_.fail(fatal);
    ctl_.lane_done();
    if (--local_lanes_ == 0) close_all();
  }

  // Every lane of this loop is done: close the connections and the wake-up handle so that
  // uv_run returns.
  void close_all() {
    if (closing_) return;
    closing_ = true;
    for (Conn& c : conns_) {
      if (c.ac != nullptr) {
        redisAsyncContext* ac = c.ac;
        c.ac = nullptr;
        redisAsyncDisconnect(ac);
      }
    }
    close_wake();
  }

  void close_wake() {
    std::lock_guard lock(wake_mu_);
    wake_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  }

  static void on_wake(uv_async_t* h) {
    auto* self = static_cast<HiredisAsync*>(h->data);
    if (!self->force_.load() || self->closing_) return;
    self->closing_ = true;
    for (Conn& c : self->conns_) {
      if (c.ac != nullptr) {
        redisAsyncContext* ac = c.ac;
        c.ac = nullptr;
        redisAsyncFree(ac);  // pending callbacks run with a null reply
      }
    }
    self->close_wake();
  }

  static void on_connect(const redisAsyncContext* ac, int status) {
    auto* c = static_cast<Conn*>(ac->data);
    if (status != REDIS_OK) {
      c->ac = nullptr;  // hiredis frees it
      c->owner->ctl_.fail("connect " + c->owner->nodes_[c->index].to_string() + ": " + ac->errstr);
    }
  }
  static void on_disconnect(const redisAsyncContext* ac, int status) {
    auto* c = static_cast<Conn*>(ac->data);
    c->ac = nullptr;
    if (status != REDIS_OK && !c->owner->closing_) {
      c->owner->ctl_.fail("connection to " + c->owner->nodes_[c->index].to_string() + ": " +
                          ac->errstr);
    }
  }

  std::vector<flyshard::NodeAddress> nodes_;
  const flyshard::Distribution* dist_;
  const Config& cfg_;
  const Workload& w_;
  Control& ctl_;
  std::vector<Slot> lanes_;
  std::vector<Conn> conns_;
  Tally tally_;
  uv_loop_t loop_{};
  uv_async_t wake_{};
  std::atomic<bool> force_{false};
  std::mutex wake_mu_;  // guards wake_open_ against a force_stop() racing the close
  bool wake_open_ = false;
  bool closing_ = false;
  std::size_t local_lanes_ = 0;
  std::thread thread_;
};

// ---- blocking -----------------------------------------------------------------------------

// One blocking client thread: `op(get, key)` runs one request and returns its outcome.
template <typename Op>
void blocking_loop(Control& ctl, const Config& cfg, const Workload& w, Tally& t, std::uint64_t seed,
                   Op&& op) {
  Lane l;
  l.rng.s = seed;
  while (ctl.phase() != 2) {
    l.key = w.pick_key(l.rng);
    l.get = w.pick_get(l.rng);
    l.start = Clock::now();
    std::string error;
    const Outcome o = op(l.get, w.key(l.key), error);
    book(ctl, t, cfg, l, o, error);
  }
}

Outcome sync_request(redisContext* c, bool get, const std::string& key, const std::string& value,
                     std::string& error) {
  const char* argv[3] = {get ? "GET" : "SET", key.data(), value.data()};
  const std::size_t len[3] = {3, key.size(), value.size()};
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, get ? 2 : 3, argv, len));
  if (r == nullptr) throw std::runtime_error(c->errstr);
  Outcome o = Outcome::ok;
  if (r->type == REDIS_REPLY_ERROR) {
    o = Outcome::error;
    error.assign(r->str, r->len);
  } else if (get && r->type == REDIS_REPLY_NIL) {
    o = Outcome::miss;
  }
  freeReplyObject(r);
  return o;
}

// ---- one load run -------------------------------------------------------------------------

const char* target_name(Target t) {
  return t == Target::flyshard ? "flyshard" : t == Target::direct ? "direct" : "twemproxy";
}

int run_load(const Config& cfg) {
  const flyshard::Topology topo = flyshard::Topology::from_json_file(cfg.topology);
  const Placement placement = make_placement(topo, cfg.target == Target::twemproxy);
  const Workload w(cfg);
  std::optional<flyshard::NodeAddress> proxy;
  if (cfg.target == Target::twemproxy) proxy = flyshard::NodeAddress::parse(cfg.proxy);

  const std::string adapter = cfg.lean_adapter ? "lean" : "stock";
  std::string target_label = target_name(cfg.target);
  if (cfg.target != Target::flyshard && cfg.mode == Mode::async && !cfg.lean_adapter)
    target_label += "-stock";

  if (cfg.preload) {
    const auto t = Clock::now();
    preload(w, placement);
    std::cerr << "flyshard-load: preloaded " << w.keys().size() << " keys in "
              << fmt("%.2f", flyshard::bench::seconds_since(t)) << " s (" << placement.description
              << ")\n";
  }

  Control ctl;
  std::vector<Tally> tallies;
  std::vector<std::unique_ptr<FlyshardAsync>> fly_async;
  std::vector<std::unique_ptr<HiredisAsync>> hiredis_async;
  std::unique_ptr<flyshard::Client> shared_client;
  std::vector<std::thread> workers;
  std::vector<Tally> worker_tallies(static_cast<std::size_t>(cfg.threads));
  std::atomic<int> ready{0};
  std::mutex ready_mu;
  std::condition_variable ready_cv;

  const std::uint64_t seed0 = cfg.seed * 0x100000001B3ull;
  if (cfg.mode == Mode::async) {
    for (int i = 0; i < cfg.threads; ++i) {
      const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i) * 1000003;
      if (cfg.target == Target::flyshard) {
        fly_async.push_back(std::make_unique<FlyshardAsync>(topo, cfg, w, ctl, seed));
      } else if (cfg.target == Target::direct) {
        hiredis_async.push_back(
            std::make_unique<HiredisAsync>(placement.nodes, &placement.dist, cfg, w, ctl, seed));
      } else {
        hiredis_async.push_back(std::make_unique<HiredisAsync>(
            std::vector<flyshard::NodeAddress>{*proxy}, nullptr, cfg, w, ctl, seed));
      }
    }
    for (auto& c : fly_async) c->start();
    for (auto& c : hiredis_async) c->start();
  } else {
    if (cfg.target == Target::flyshard) {
      shared_client = std::make_unique<flyshard::Client>(topo);
      // The first call waits for the connections; keep that out of the warm-up too.
      shared_client->get(w.key(0));
    }
    for (int i = 0; i < cfg.threads; ++i) {
      const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i) * 1000003;
      workers.emplace_back([&, seed, i] {
        Tally& t = worker_tallies[static_cast<std::size_t>(i)];
        auto signal_ready = [&] {
          ready.fetch_add(1);
          std::lock_guard lock(ready_mu);
          ready_cv.notify_all();
        };
        try {
          if (cfg.target == Target::flyshard) {
            signal_ready();
            blocking_loop(ctl, cfg, w, t, seed,
                          [&](bool get, const std::string& key, std::string& error) -> Outcome {
                            try {
                              if (get) return shared_client->get(key) ? Outcome::ok : Outcome::miss;
                              shared_client->set(key, w.value());
                              return Outcome::ok;
                            } catch (const flyshard::Error& e) {
                              error = e.what();
                              return Outcome::error;
                            }
                          });
          } else if (cfg.target == Target::direct) {
            std::vector<Context> ctx;
            for (const auto& n : placement.nodes) ctx.push_back(connect_sync(n));
            signal_ready();
            blocking_loop(ctl, cfg, w, t, seed,
                          [&](bool get, const std::string& key, std::string& error) {
                            return sync_request(ctx[placement.dist.shard_for(key)].get(), get, key,
                                                w.value(), error);
                          });
          } else {
            Context c = connect_sync(*proxy);
            signal_ready();
            blocking_loop(ctl, cfg, w, t, seed,
                          [&](bool get, const std::string& key, std::string& error) {
                            return sync_request(c.get(), get, key, w.value(), error);
                          });
          }
        } catch (const std::exception& e) {
          signal_ready();
          ctl.fail(e.what());
        }
      });
    }
    std::unique_lock lock(ready_mu);
    ready_cv.wait(lock, [&] { return ready.load() == cfg.threads; });
  }

  // Warm-up, then the measured window.
  ctl.wait_stopped(Seconds(cfg.warmup));
  const std::optional<double> proxy0 =
      cfg.proxy_pid ? proc_cpu_seconds(cfg.proxy_pid) : std::nullopt;
  const std::optional<double> servers0 =
      cfg.server_pids.empty() ? std::nullopt : pids_cpu_seconds(cfg.server_pids);
  ctl.begin();
  if (!ctl.wait_stopped(Seconds(cfg.seconds))) ctl.stop();
  const std::optional<double> proxy1 =
      cfg.proxy_pid ? proc_cpu_seconds(cfg.proxy_pid) : std::nullopt;
  const std::optional<double> servers1 =
      cfg.server_pids.empty() ? std::nullopt : pids_cpu_seconds(cfg.server_pids);

  // Drain: lanes stop re-issuing; blocking threads end after their current request.
  if (cfg.mode == Mode::async) {
    if (!ctl.wait_drained(Seconds(30))) {
      std::cerr << "flyshard-load: requests still in flight 30 s after the end; forcing\n";
      for (auto& c : hiredis_async) c->force_stop();
      if (!fly_async.empty() && !ctl.wait_drained(Seconds(30))) {
        std::cerr << "flyshard-load: flyshard requests never completed\n";
        std::_Exit(1);
      }
    }
    for (auto& c : hiredis_async) c->join();
    for (auto& c : fly_async) tallies.push_back(std::move(c->tally()));
    for (auto& c : hiredis_async) tallies.push_back(std::move(c->tally()));
    fly_async.clear();
    hiredis_async.clear();
  } else {
    for (auto& t : workers) t.join();
    tallies = std::move(worker_tallies);
    shared_client.reset();
  }

  Tally total;
  for (const Tally& t : tallies) total.merge(t);
  const double elapsed = ctl.measured() ? ctl.elapsed() : 0;
  const double rate = elapsed > 0 ? static_cast<double>(total.ops) / elapsed : 0;
  const double mops = static_cast<double>(total.ops) / 1e6;
  auto per_mops = [&](std::optional<double> a, std::optional<double> b) -> json {
    if (!a || !b || mops <= 0) return nullptr;
    return (*b - *a) / mops;
  };
  const std::string fatal = ctl.fatal();

  const int concurrency = cfg.mode == Mode::async ? cfg.threads * cfg.inflight : cfg.threads;
  json out{{"tool", "flyshard-load"},
           {"target", target_name(cfg.target)},
           {"target_label", target_label},
           {"mode", cfg.mode == Mode::async ? "async" : "blocking"},
           {"threads", cfg.threads},
           {"inflight", cfg.mode == Mode::async ? cfg.inflight : 1},
           {"concurrency", concurrency},
           {"shards", topo.shards.size()},
           {"placement", placement.description},
           {"keys", cfg.keys},
           {"value_size", cfg.value_size},
           {"get_ratio", cfg.get_ratio},
           {"dist", cfg.dist == Dist::zipf ? "zipf" : "uniform"},
           {"zipf_s", cfg.dist == Dist::zipf ? json(cfg.zipf_s) : json(nullptr)},
           {"seconds", cfg.seconds},
           {"warmup", cfg.warmup},
           {"max_ops", cfg.max_ops},
           {"adapter", cfg.target == Target::flyshard ? json(nullptr) : json(adapter)},
           {"proxy", cfg.proxy.empty() ? json(nullptr) : json(cfg.proxy)},
           {"client_cpus", flyshard::bench::cpu_list()},
           {"label", cfg.label},
           {"result",
            {{"ops", total.ops},
             {"elapsed_s", elapsed},
             {"ops_per_sec", rate},
             {"gets", total.gets},
             {"sets", total.sets},
             {"get_misses", total.misses},
             {"errors", total.errors},
             {"warmup_errors", total.warmup_errors},
             {"first_error", total.first_error},
             {"fatal", fatal},
             {"latency_us",
              {{"mean", total.hist.mean_us()},
               {"p50", total.hist.percentile_us(0.50)},
               {"p90", total.hist.percentile_us(0.90)},
               {"p99", total.hist.percentile_us(0.99)},
               {"p999", total.hist.percentile_us(0.999)},
               {"max", total.hist.max_us()}}},
             {"cpu",
              {{"user_s", ctl.measured() ? ctl.user() : 0.0},
               {"sys_s", ctl.measured() ? ctl.sys() : 0.0},
               {"s_per_mops", mops > 0 ? json(ctl.cpu() / mops) : json(nullptr)}}},
             {"proxy_cpu_s_per_mops", per_mops(proxy0, proxy1)},
             {"servers_cpu_s_per_mops", per_mops(servers0, servers1)}}}};

  std::cout << target_label << " " << out["mode"].get<std::string>() << " threads " << cfg.threads
            << " inflight " << out["inflight"].get<int>() << ", " << topo.shards.size()
            << " shards: " << fmt("%.0f", rate) << " ops/s, p50 "
            << fmt("%.1f", total.hist.percentile_us(0.5)) << " us, p99 "
            << fmt("%.1f", total.hist.percentile_us(0.99)) << " us, p99.9 "
            << fmt("%.1f", total.hist.percentile_us(0.999)) << " us, CPU "
            << (mops > 0 ? fmt("%.2f", ctl.cpu() / mops) : std::string("-")) << " s/Mops";
  if (total.errors) std::cout << ", " << total.errors << " errors (" << total.first_error << ")";
  if (total.misses) std::cout << ", " << total.misses << " misses";
  std::cout << "\n";
  if (!fatal.empty()) std::cerr << "flyshard-load: " << fatal << "\n";

  if (!cfg.json_path.empty()) flyshard::bench::write_file(cfg.json_path, out.dump(2) + "\n");
  return total.ops > 0 && fatal.empty() ? 0 : 1;
}

// ---- placement table ----------------------------------------------------------------------

int run_placement(const Config& cfg) {
  const std::size_t n = cfg.placement_shards;
  const std::size_t keys = cfg.keys_given ? cfg.keys : 1'000'000;
  std::vector<flyshard::ShardWeight> shards;
  for (std::size_t i = 0; i < n; ++i) shards.push_back({"s" + std::to_string(i + 1), 1});
  struct Algo {
    std::string name;
    std::string algorithm;
    std::string compat;
  };
  const std::vector<Algo> algos = {{"ketama", "ketama", ""},
                                   {"maglev", "maglev", ""},
                                   {"jump", "jump", ""},
                                   {"rendezvous", "rendezvous", ""},
                                   {"ketama-twemproxy", "ketama", "twemproxy"}};
  json out{
      {"shards", n}, {"keys", keys}, {"key_format", "key:%010u"}, {"algorithms", json::array()}};
  std::cout << "keys per shard / mean, " << keys << " keys, " << n << " shards\n";
  char buf[32];
  for (const auto& a : algos) {
    flyshard::DistributionOptions o;
    o.compat = a.compat;
    const auto d = flyshard::Distribution::create(a.algorithm, shards, o);
    std::vector<std::uint64_t> counts(n, 0);
    for (std::size_t i = 0; i < keys; ++i) {
      std::snprintf(buf, sizeof buf, "key:%010zu", i);
      ++counts[d.shard_for(buf)];
    }
    const double mean = static_cast<double>(keys) / static_cast<double>(n);
    std::cout << "  " << a.name << std::string(18 - std::min<std::size_t>(17, a.name.size()), ' ');
    for (auto c : counts) std::cout << fmt(" %.3f", static_cast<double>(c) / mean);
    std::cout << "\n";
    out["algorithms"].push_back({{"name", a.name}, {"counts", counts}});
  }
  if (!cfg.json_path.empty()) flyshard::bench::write_file(cfg.json_path, out.dump(2) + "\n");
  return 0;
}

// ---- report -------------------------------------------------------------------------------

std::optional<json> read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  try {
    return json::parse(in);
  } catch (const std::exception& e) {
    std::cerr << "flyshard-load: skipping " << p << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

double num(const json& j, const char* key, double dflt = std::nan("")) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return dflt;
  return it->get<double>();
}

std::string cell(double v, const char* f) {
  return std::isnan(v) ? "–" : fmt(f, v);
}

std::string shards_name(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " shard" : " shards");
}

std::string rate_cell(double v) {
  if (std::isnan(v)) return "–";
  return fmt("%.0f", v);
}

std::string us_cell(double v) {
  if (std::isnan(v)) return "–";
  return v < 10 ? fmt("%.1f", v) : fmt("%.0f", v);
}

// A load configuration: everything but the target and the shard count.
struct LoadKey {
  std::string mode;
  int threads = 1;
  int inflight = 1;
  std::string dist;
  double get_ratio = 0;
  std::size_t value_size = 0;
  auto tie() const { return std::tie(mode, threads, inflight, dist, get_ratio, value_size); }
  bool operator<(const LoadKey& o) const { return tie() < o.tie(); }
  bool operator==(const LoadKey& o) const { return tie() == o.tie(); }
  std::string name() const {
    std::string s =
        mode == "async"
            ? "async " + std::to_string(threads) + "x" + std::to_string(inflight) + " in flight"
            : "blocking " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
    if (dist != "uniform") s += ", " + dist;
    return s;
  }
  int concurrency() const { return mode == "async" ? threads * inflight : threads; }
};

struct LoadRow {
  double ops = std::nan("");
  double p50 = std::nan(""), p99 = std::nan(""), p999 = std::nan("");
  double cpu = std::nan(""), proxy_cpu = std::nan(""), server_cpu = std::nan("");
  double errors = 0, misses = 0, gets = 0;
  std::string fatal;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

int run_report(const Config& cfg) {
  const fs::path dir = cfg.report_dir;
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + " is not a directory");
  const fs::path plots = dir / "plots";
  fs::create_directories(plots);

  // shards -> config -> target -> row
  std::map<std::size_t, std::map<LoadKey, std::map<std::string, LoadRow>>> load;
  // Several rounds of the same run: every figure is the median of the rounds.
  std::map<std::size_t, std::map<LoadKey, std::map<std::string, std::vector<LoadRow>>>> rounds;
  std::set<std::string> targets_seen;
  std::vector<std::string> failed_runs;
  if (fs::is_directory(dir / "load")) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / "load"))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto j = read_json(f);
      if (!j || !j->contains("result")) continue;
      LoadKey k;
      k.mode = j->value("mode", "async");
      k.threads = j->value("threads", 1);
      k.inflight = j->value("inflight", 1);
      k.dist = j->value("dist", "uniform");
      k.get_ratio = j->value("get_ratio", 0.0);
      k.value_size = j->value("value_size", std::size_t{0});
      const json& r = (*j)["result"];
      LoadRow row;
      row.ops = num(r, "ops_per_sec");
      if (r.contains("latency_us")) {
        row.p50 = num(r["latency_us"], "p50");
        row.p99 = num(r["latency_us"], "p99");
        row.p999 = num(r["latency_us"], "p999");
      }
      if (r.contains("cpu")) row.cpu = num(r["cpu"], "s_per_mops");
      row.proxy_cpu = num(r, "proxy_cpu_s_per_mops");
      row.server_cpu = num(r, "servers_cpu_s_per_mops");
      row.errors = num(r, "errors", 0);
      row.misses = num(r, "get_misses", 0);
      row.gets = num(r, "gets", 0);
      row.fatal = r.value("fatal", "");
      if (!row.fatal.empty()) failed_runs.push_back(f.filename().string() + ": " + row.fatal);
      const std::string target = j->value("target_label", j->value("target", "?"));
      targets_seen.insert(target);
      rounds[j->value("shards", std::size_t{0})][k][target].push_back(row);
    }
  }
  std::size_t max_rounds = 0;
  for (auto& [shards, m] : rounds) {
    for (auto& [k, tm] : m) {
      for (auto& [target, rows] : tm) {
        max_rounds = std::max(max_rounds, rows.size());
        auto med = [&](double LoadRow::*field) {
          std::vector<double> v;
          for (const auto& r : rows)
            if (!std::isnan(r.*field)) v.push_back(r.*field);
          if (v.empty()) return std::nan("");
          std::sort(v.begin(), v.end());
          const std::size_t n = v.size();
          return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        };
        LoadRow m_row;
        m_row.ops = med(&LoadRow::ops);
        m_row.p50 = med(&LoadRow::p50);
        m_row.p99 = med(&LoadRow::p99);
        m_row.p999 = med(&LoadRow::p999);
        m_row.cpu = med(&LoadRow::cpu);
        m_row.proxy_cpu = med(&LoadRow::proxy_cpu);
        m_row.server_cpu = med(&LoadRow::server_cpu);
        for (const auto& r : rows) {
          m_row.errors += r.errors;
          m_row.misses += r.misses;
          m_row.gets += r.gets;
        }
        load[shards][k][target] = m_row;
      }
    }
  }
  // flyshard, direct, twemproxy first; anything else after.
  std::vector<std::string> targets;
  for (const char* t : {"flyshard", "direct", "twemproxy"})
    if (targets_seen.count(t)) targets.push_back(t);
  for (const auto& t : targets_seen)
    if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);

  std::ostringstream md;
  md << "# flyshard benchmark results\n\n";
  if (fs::exists(dir / "meta.txt")) {
    std::istringstream meta(read_text(dir / "meta.txt"));
    std::string line;
    while (std::getline(meta, line))
      if (!line.empty()) md << "- " << line << "\n";
    md << "\n";
  }
  md << "Each load figure is one run of `flyshard-load` (closed loop: every finished request "
        "starts the next), targets run one after the other against the same servers. "
        "flyshard/direct and flyshard/twemproxy are ratios of ops/s in the same row. Latency is "
        "per request, from the call to the reply, in µs. CPU is the client's CPU seconds (user + "
        "system, all its threads) per million operations; proxy CPU is nutcracker's.";
  if (max_rounds > 1)
    md << " Every figure is the median of " << max_rounds
       << " rounds (the matrix runs round after round, targets interleaved); errors and misses "
          "are summed over the rounds.";
  md << "\n\n";

  // ---- load tables
  auto get = [&](std::size_t shards, const LoadKey& k, const std::string& t) -> const LoadRow* {
    auto a = load.find(shards);
    if (a == load.end()) return nullptr;
    auto b = a->second.find(k);
    if (b == a->second.end()) return nullptr;
    auto c = b->second.find(t);
    return c == b->second.end() ? nullptr : &c->second;
  };
  auto ratio = [&](std::size_t shards, const LoadKey& k, const std::string& num_t,
                   const std::string& den_t) -> double {
    const LoadRow* a = get(shards, k, num_t);
    const LoadRow* b = get(shards, k, den_t);
    if (!a || !b || std::isnan(a->ops) || std::isnan(b->ops) || b->ops <= 0) return std::nan("");
    return a->ops / b->ops;
  };

  std::set<LoadKey> all_keys;
  for (const auto& [shards, m] : load)
    for (const auto& [k, t] : m) all_keys.insert(k);
  std::vector<LoadKey> configs(all_keys.begin(), all_keys.end());
  std::sort(configs.begin(), configs.end(), [](const LoadKey& a, const LoadKey& b) {
    if (a.mode != b.mode) return a.mode == "async";
    if (a.dist != b.dist) return a.dist == "uniform";
    if (a.concurrency() != b.concurrency()) return a.concurrency() < b.concurrency();
    return a < b;
  });

  if (!load.empty()) {
    const LoadKey& any = configs.front();
    md << "## Load matrix\n\n"
       << "Keys: "
       << "GET share " << fmt("%.0f%%", any.get_ratio * 100) << ", " << any.value_size
       << "-byte values, key choice " << any.dist
       << " (per-row differences are named in the row).\n\n";
    md << "### Throughput (ops/s) and ratios\n\n| shards | load | conc. |";
    for (const auto& t : targets) md << " " << t << " |";
    md << " flyshard/direct | flyshard/twemproxy |\n|---:|---|---:|";
    for (std::size_t i = 0; i < targets.size(); ++i) md << "---:|";
    md << "---:|---:|\n";
    for (const auto& [shards, m] : load) {
      for (const auto& k : configs) {
        if (!m.count(k)) continue;
        md << "| " << shards << " | " << k.name() << " | " << k.concurrency() << " |";
        for (const auto& t : targets) {
          const LoadRow* r = get(shards, k, t);
          md << " " << (r ? rate_cell(r->ops) : "–") << " |";
        }
        md << " " << cell(ratio(shards, k, "flyshard", "direct"), "%.2f") << " | "
           << cell(ratio(shards, k, "flyshard", "twemproxy"), "%.2f") << " |\n";
      }
    }
    md << "\n### Latency (µs) and CPU per million operations\n\n"
       << "| shards | load | target | ops/s | p50 | p99 | p99.9 | client CPU s/Mops | "
          "proxy CPU s/Mops | servers CPU s/Mops | errors | GET misses |\n"
       << "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& [shards, m] : load) {
      for (const auto& k : configs) {
        auto it = m.find(k);
        if (it == m.end()) continue;
        for (const auto& t : targets) {
          auto r = it->second.find(t);
          if (r == it->second.end()) continue;
          const LoadRow& x = r->second;
          md << "| " << shards << " | " << k.name() << " | " << t << " | " << rate_cell(x.ops)
             << " | " << us_cell(x.p50) << " | " << us_cell(x.p99) << " | " << us_cell(x.p999)
             << " | " << cell(x.cpu, "%.2f") << " | " << cell(x.proxy_cpu, "%.2f") << " | "
             << cell(x.server_cpu, "%.2f") << " | " << fmt("%.0f", x.errors) << " | "
             << fmt("%.0f", x.misses) << " |\n";
        }
      }
    }
    md << "\n";

    // ---- aims
    md << "## Aims\n\n";
    {
      double worst = std::nan("");
      std::string worst_at;
      std::vector<std::string> short_rows;
      for (const auto& [shards, m] : load) {
        for (const auto& k : configs) {
          if (!m.count(k)) continue;
          const double r = ratio(shards, k, "flyshard", "direct");
          if (std::isnan(r)) continue;
          if (std::isnan(worst) || r < worst) {
            worst = r;
            worst_at = shards_name(shards) + ", " + k.name();
          }
          if (r < 0.9)
            short_rows.push_back(shards_name(shards) + ", " + k.name() + ": " + fmt("%.3f", r));
        }
      }
      md << "- **flyshard/direct ≥ 0.9 at every concurrency**: ";
      if (std::isnan(worst)) {
        md << "no data\n";
      } else {
        md << (short_rows.empty() ? "met" : "not met") << "; lowest " << fmt("%.3f", worst) << " ("
           << worst_at << ")";
        if (!short_rows.empty()) {
          md << "; short in " << short_rows.size() << " row(s): ";
          for (std::size_t i = 0; i < short_rows.size(); ++i)
            md << (i ? "; " : "") << short_rows[i];
        }
        md << "\n";
      }
    }
    {
      double worst = std::nan("");
      std::string worst_at;
      std::vector<std::string> short_rows;
      std::vector<std::string> p99_rows;
      int rows = 0;
      for (const auto& [shards, m] : load) {
        for (const auto& k : configs) {
          if (!m.count(k) || k.mode != "async" || k.threads * k.inflight < 16) continue;
          const double r = ratio(shards, k, "flyshard", "twemproxy");
          if (std::isnan(r)) continue;
          ++rows;
          const std::string at = shards_name(shards) + ", " + k.name();
          if (std::isnan(worst) || r < worst) {
            worst = r;
            worst_at = at;
          }
          if (r < 2) short_rows.push_back(at + ": " + fmt("%.3f", r));
          const LoadRow* f = get(shards, k, "flyshard");
          const LoadRow* t = get(shards, k, "twemproxy");
          if (f && t && f->p99 > t->p99)
            p99_rows.push_back(at + ": " + us_cell(f->p99) + " vs " + us_cell(t->p99) + " µs");
        }
      }
      md << "- **flyshard/twemproxy ≥ 2 with pipelined load (≥ 16 in flight) and p99 ≤ "
            "twemproxy's**: ";
      if (rows == 0) {
        md << "no data\n";
      } else {
        md << (short_rows.empty() && p99_rows.empty() ? "met" : "not met") << "; lowest ratio "
           << fmt("%.3f", worst) << " (" << worst_at << ")";
        if (!short_rows.empty()) {
          md << "; ratio short in: ";
          for (std::size_t i = 0; i < short_rows.size(); ++i)
            md << (i ? "; " : "") << short_rows[i];
        }
        if (p99_rows.empty()) {
          md << "; p99 at or below twemproxy's in all " << rows << " rows";
        } else {
          md << "; p99 above twemproxy's in: ";
          for (std::size_t i = 0; i < p99_rows.size(); ++i) md << (i ? "; " : "") << p99_rows[i];
        }
        md << "\n";
      }
    }
    {
      // The verdict comes from bench_client when it ran: GET only, rounds, one node. The load
      // matrix's blocking rows (a GET/SET mix, one run each, unpinned) are shown beside it.
      md << "- **blocking single-thread GET ≥ 0.8 × raw hiredis sync**: ";
      std::optional<bool> verdict;
      std::string precise;
      if (auto bc = read_json(dir / "micro" / "bench_client.json")) {
        if (bc->contains("ratios") && (*bc)["ratios"].contains("B/A")) {
          const json& q = (*bc)["ratios"]["B/A"];
          const double a = num(q, "ratio_of_medians");
          const double b = num(q, "median_of_round_ratios");
          verdict = a >= 0.8 && b >= 0.8;
          precise = "bench_client (GET only, one node, " +
                    bc->value("placement", std::string("?")) + ") B/A " + cell(a, "%.3f") +
                    " (ratio of medians), " + cell(b, "%.3f") + " (median of rounds)";
        }
      }
      std::vector<std::string> parts;
      bool load_short = false;
      for (const auto& [shards, m] : load) {
        for (const auto& k : configs) {
          if (!m.count(k) || k.mode != "blocking" || k.threads != 1) continue;
          const double r = ratio(shards, k, "flyshard", "direct");
          if (std::isnan(r)) continue;
          load_short = load_short || r < 0.8;
          parts.push_back(shards_name(shards) + ", " + k.name() + ": " + fmt("%.3f", r));
        }
      }
      if (!verdict && !parts.empty()) verdict = !load_short;
      if (!verdict) {
        md << "no data\n";
      } else {
        md << (*verdict ? "met" : "not met");
        if (!precise.empty()) md << ": " << precise;
        if (!parts.empty()) {
          md << (precise.empty() ? ": " : "; ") << "flyshard-load blocking flyshard/direct ("
             << fmt("%.0f%% GET", configs.front().get_ratio * 100) << "): ";
          for (std::size_t i = 0; i < parts.size(); ++i) md << (i ? "; " : "") << parts[i];
        }
        md << "\n";
      }
    }
    md << "\n";
    if (!failed_runs.empty()) {
      md << "Runs that reported a fatal error:\n\n";
      for (const auto& f : failed_runs) md << "- " << f << "\n";
      md << "\n";
    }
  }

  // ---- redis-benchmark
  if (fs::is_directory(dir / "redis-benchmark")) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / "redis-benchmark"))
      if (e.path().extension() == ".csv") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (!files.empty()) {
      md << "## Reference: redis-benchmark\n\n"
         << "`redis-benchmark -c 50 -P <pipeline> -t get,set -d <value size> -r <keys>`; one "
            "node is shard s1 of the 1-shard cluster, twemproxy is nutcracker in front of the "
            "N-shard cluster.\n\n"
         << "| against | test | pipeline | requests/s | p50 ms | p99 ms |\n"
         << "|---|---|---:|---:|---:|---:|\n";
      for (const auto& f : files) {
        // <against>-P<n>.csv
        std::string stem = f.stem().string();
        std::string against = stem;
        std::string pipeline = "?";
        if (auto pos = stem.rfind("-P"); pos != std::string::npos) {
          against = stem.substr(0, pos);
          pipeline = stem.substr(pos + 2);
        }
        std::replace(against.begin(), against.end(), '-', ' ');
        std::istringstream in(read_text(f));
        std::string line;
        std::vector<std::string> head;
        while (std::getline(in, line)) {
          if (line.empty()) continue;
          auto fields = csv_fields(line);
          if (head.empty()) {
            head = fields;
            continue;
          }
          auto col = [&](const char* name) -> std::string {
            for (std::size_t i = 0; i < head.size() && i < fields.size(); ++i)
              if (head[i] == name) return fields[i];
            return "–";
          };
          md << "| " << against << " | " << col("test") << " | " << pipeline << " | "
             << rate_cell(std::atof(col("rps").c_str())) << " | " << col("p50_latency_ms") << " | "
             << col("p99_latency_ms") << " |\n";
        }
      }
      md << "\n";
    }
  }

  // ---- micro-benchmarks
  if (fs::is_directory(dir / "micro")) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / "micro"))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    bool header = false;
    for (const auto& f : files) {
      auto j = read_json(f);
      if (!j) continue;
      if (!header) {
        md << "## Micro-benchmarks\n\n";
        header = true;
      }
      if (j->value("benchmark", "") == "bench_client") {
        md << "### bench_client (GET through one node, " << j->value("placement", "?") << ")\n\n"
           << "| variant | ops/s (median) | min | max |\n|---|---:|---:|---:|\n";
        if (j->contains("variants")) {
          for (const auto& [id, v] : (*j)["variants"].items()) {
            md << "| " << id << " " << v.value("name", "") << " | "
               << rate_cell(num(v, "ops_per_sec_median")) << " | " << rate_cell(num(v, "min"))
               << " | " << rate_cell(num(v, "max")) << " |\n";
          }
        }
        if (j->contains("ratios")) {
          md << "\n| ratio | of medians | median of rounds | aim |\n|---|---:|---:|---:|\n";
          for (const auto& [id, q] : (*j)["ratios"].items()) {
            md << "| " << id << " | " << cell(num(q, "ratio_of_medians"), "%.3f") << " | "
               << cell(num(q, "median_of_round_ratios"), "%.3f") << " | "
               << (q.contains("aim") ? "≥ " + cell(num(q, "aim"), "%.2f") : std::string("–"))
               << " |\n";
          }
        }
        md << "\n";
        continue;
      }
      if (j->contains("benchmarks")) {
        md << "### " << f.stem().string() << "\n\n"
           << "| benchmark | time | CPU time | unit | items/s |\n|---|---:|---:|---|---:|\n";
        for (const auto& b : (*j)["benchmarks"]) {
          if (b.value("run_type", "iteration") == "aggregate") continue;
          md << "| `" << b.value("name", "?") << "` | " << cell(num(b, "real_time"), "%.1f")
             << " | " << cell(num(b, "cpu_time"), "%.1f") << " | " << b.value("time_unit", "")
             << " | " << cell(num(b, "items_per_second"), "%.3g") << " |\n";
        }
        md << "\n";
      }
    }
  }

  // ---- distribution (flyshard-distribution --json)
  std::set<std::string> balance_algos;
  if (auto d = read_json(dir / "distribution.json"); d && d->contains("rows")) {
    md << "## Distribution\n\n"
       << "`flyshard-distribution`: " << d->value("keys", 0) << " keys ("
       << fmt("%.0f%%", d->value("tagged_share", 0.0) * 100)
       << " hash-tagged). max/mean and min/mean: the fullest and emptiest shard against the "
          "mean (ideal 1); CV: stddev/mean of per-shard loads (floor: what a perfect random "
          "placement gets); moved: share of keys moved when one shard is added, over the ideal "
          "1/(N+1).\n\n"
       << "| algorithm | shards | max/mean | min/mean | CV (floor) | add 1: moved/ideal | "
          "ns/lookup |\n|---|---:|---:|---:|---:|---:|---:|\n";
    std::ofstream dat(plots / "balance.dat");
    dat << "# algorithm shards max_over_mean min_over_mean cv\n";
    for (const auto& r : (*d)["rows"]) {
      const std::string algo = r.value("algorithm", "?");
      balance_algos.insert(algo);
      double moved = std::nan("");
      if (r.contains("add_one") && r["add_one"].is_object()) moved = num(r["add_one"], "ratio");
      md << "| " << algo << " | " << r.value("shards", 0) << " | "
         << cell(num(r, "max_over_mean"), "%.3f") << " | " << cell(num(r, "min_over_mean"), "%.3f")
         << " | " << cell(num(r, "cv"), "%.4f") << " (" << cell(num(r, "cv_floor"), "%.4f")
         << ") | " << cell(moved, "%.2f") << " | " << cell(num(r, "ns_per_lookup"), "%.1f")
         << " |\n";
    }
    md << "\n";
    // One block per algorithm (gnuplot `index`), rows by shard count.
    for (const auto& algo : balance_algos) {
      dat << "# " << algo << "\n";
      std::vector<std::pair<int, json>> rows;
      for (const auto& r : (*d)["rows"])
        if (r.value("algorithm", "") == algo) rows.emplace_back(r.value("shards", 0), r);
      std::sort(rows.begin(), rows.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [n, r] : rows)
        dat << n << " " << num(r, "max_over_mean") << " " << num(r, "min_over_mean") << " "
            << num(r, "cv") << "\n";
      dat << "\n\n";
    }
  }

  // ---- chart data
  // Throughput vs shards: one file per config, rows "shards target1 target2 ...".
  std::vector<std::string> chart_titles;
  std::size_t max_shards = load.empty() ? 0 : load.rbegin()->first;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const LoadKey& k = configs[i];
    std::ofstream t(plots / ("throughput-" + std::to_string(i + 1) + ".dat"));
    t << "shards";
    for (const auto& tg : targets) t << " " << tg;
    t << "\n";
    for (const auto& [shards, m] : load) {
      if (!m.count(k)) continue;
      t << shards;
      for (const auto& tg : targets) {
        const LoadRow* r = get(shards, k, tg);
        t << " " << (r && !std::isnan(r->ops) ? fmt("%.1f", r->ops / 1000.0) : "?");
      }
      t << "\n";
    }
    std::ofstream l(plots / ("latency-" + std::to_string(i + 1) + ".dat"));
    l << "target p50 p99 p99.9\n";
    for (const auto& tg : targets) {
      const LoadRow* r = get(max_shards, k, tg);
      if (!r) continue;
      l << tg << " " << fmt("%.2f", r->p50) << " " << fmt("%.2f", r->p99) << " "
        << fmt("%.2f", r->p999) << "\n";
    }
    chart_titles.push_back(k.name());
  }
  std::string placement_algos;
  std::size_t placement_shards = 0;
  if (auto p = read_json(dir / "placement.json"); p && p->contains("algorithms")) {
    placement_shards = p->value("shards", std::size_t{0});
    const double mean = static_cast<double>(p->value("keys", 1)) /
                        static_cast<double>(std::max<std::size_t>(1, placement_shards));
    std::ofstream dat(plots / "placement.dat");
    dat << "shard";
    for (const auto& a : (*p)["algorithms"]) {
      dat << " " << a.value("name", "?");
      placement_algos += (placement_algos.empty() ? "" : " ") + a.value("name", std::string("?"));
    }
    dat << "\n";
    for (std::size_t s = 0; s < placement_shards; ++s) {
      dat << "s" << s + 1;
      for (const auto& a : (*p)["algorithms"])
        dat << " " << fmt("%.4f", a["counts"][s].get<double>() / mean);
      dat << "\n";
    }
    md << "## Placement of the load's keys\n\n"
       << p->value("keys", 0) << " keys `key:%010u`, " << placement_shards
       << " shards: keys per shard over the mean.\n\n| algorithm |";
    for (std::size_t s = 0; s < placement_shards; ++s) md << " s" << s + 1 << " |";
    md << "\n|---|";
    for (std::size_t s = 0; s < placement_shards; ++s) md << "---:|";
    md << "\n";
    for (const auto& a : (*p)["algorithms"]) {
      md << "| " << a.value("name", "?") << " |";
      for (std::size_t s = 0; s < placement_shards; ++s)
        md << " " << fmt("%.3f", a["counts"][s].get<double>() / mean) << " |";
      md << "\n";
    }
    md << "\n";
  }

  {
    std::ofstream v(plots / "vars.gp");
    v << "# written by flyshard-load --report\n";
    v << "nconfigs = " << configs.size() << "\n";
    v << "ntargets = " << targets.size() << "\n";
    v << "max_shards = " << max_shards << "\n";
    for (std::size_t i = 0; i < chart_titles.size(); ++i)
      v << "title" << i + 1 << " = \"" << chart_titles[i] << "\"\n";
    v << "placement_algos = \"" << placement_algos << "\"\n";
    v << "placement_shards = " << placement_shards << "\n";
    std::string balance;
    for (const auto& a : balance_algos) balance += (balance.empty() ? "" : " ") + a;
    v << "balance_algos = \"" << balance << "\"\n";
  }

  // The charts bench.sh draws from the data above (bench/plot/<name>.gp).
  const std::vector<std::pair<std::string, std::string>> charts = {
      {"throughput", "Throughput vs shards per target"},
      {"latency", "Latency percentiles per target"},
      {"placement", "Load per shard per algorithm"},
      {"balance", "Balance vs shard count per algorithm"}};
  bool charts_header = false;
  for (const auto& [name, title] : charts) {
    const bool has_data = name == "placement" ? fs::exists(plots / "placement.dat")
                          : name == "balance" ? fs::exists(plots / "balance.dat")
                                              : !configs.empty();
    if (!has_data) continue;
    if (!charts_header) md << "## Charts\n\n";
    charts_header = true;
    md << "![" << title << "](" << name << ".png)\n\n";
  }

  flyshard::bench::write_file((dir / "summary.md").string(), md.str());
  std::cout << "flyshard-load: wrote " << (dir / "summary.md").string() << " and " << plots.string()
            << "/\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    if (!cfg.report_dir.empty()) return run_report(cfg);
    if (cfg.placement_shards != 0) return run_placement(cfg);
    return run_load(cfg);
  } catch (const std::exception& e) {
    std::cerr << "flyshard-load: " << e.what() << "\n";
    return 1;
  }
}
