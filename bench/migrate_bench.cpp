// Migration rate and cutover pause (issue 11), against a naive per-key DUMP / PTTL / RESTORE
// loop measured in the same run on the same data.
//
// For each scenario it starts nothing new: one local 4-shard cluster (flyshard-cluster's
// launcher, redis-server or dragonfly) serves every run. A run: FLUSHALL, `init` with layout A
// (shards s1..s3), fill through a Client, then
//   naive:    for up to --naive-keys moving keys, one blocking DUMP, PTTL and RESTORE each
//             (three round trips per key, what a hand-written script does); the copies are
//             then deleted again;
//   migrator: the whole migration A -> B (s1..s4) in process (detail::Migrator), with its
//             copy rate (keys and bytes over the copy phase) and its cutover pause (from the
//             cutover record to the flip: the longest a moving key could not be written).
// Scenarios: small values (--keys, --small-size) at several --batches (the pipeline depth),
// then large values (--large-keys, --large-size). Prints a Markdown table; --json FILE too.
//
// --measure-load: the client-visible cost of a migration. A closed-loop GET/SET load through
// one record-following Client runs from before the migration to a while after its end; each
// request is timed and classed by its key (stays or moves from layout A to B) and its command,
// and each class is reported over four windows: the baseline (the load alone, just before the
// migration starts, as long as the migration window), the migration (its start to the flip),
// the cleanup (the flip to the end) and after (--after-s past the end: the load alone again).
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "bench_util.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "reshard/migrator.hpp"
#include "reshard/move_plan.hpp"

using namespace flyshard;
using flyshard::bench::Clock;

namespace {

constexpr std::string_view kUsage = R"(usage: migrate_bench [options]
  --keys N          keys of the small-value runs (default 400000: about 100,000 move)
  --small-size N    bytes per small value (default 100)
  --large-keys N    keys of the large-value run (default 20000)
  --large-size N    bytes per large value (default 4096)
  --batches LIST    pipeline depths (keys per batch) of the small runs (default 100,1000)
  --naive-keys N    moving keys the naive loop copies at most per run (default 20000)
  --replicas N      replicas per shard (default 0): the cutover WAITs for the targets' ones
  --clients N       Clients following the record during the migration (default 0): the
                    cutover waits for them to register its epoch
  --client-write-ms N  each of them SETs a random key of the data set every N ms (default
                    2; 0: they only follow the record, as an idle application does)
  --rate N          the migrator's limit in keys/s (default 0: none; with --adaptive the
                    ceiling)
  --adaptive        the migrator adapts its rate to the nodes' load (MigrateOptions::adaptive)
  --adaptive-start N, --adaptive-increase N
                    its start and step in keys/s (AdaptiveRateOptions; --adaptive-increase 0
                    with a low start keeps the copy near that rate, to see what a migration
                    costs clients apart from its copy)
  --inflight N      copy pages in flight per source (default: MigrateOptions' 2; 1: none)
  --string-window N strings shorter than N bytes are copied with GETRANGE/SET, longer ones
                    with GET/SET (default: CopyOptions' 65536; 0: every key with DUMP/RESTORE)
  --measure-load    also measure what clients see: a closed-loop GET/SET load on staying
                    and moving keys before the migration (baseline) and during it
  --load-threads N  threads of that load for staying keys, and as many for moving keys,
                    all sharing one Client (default 1: 2 threads)
  --baseline-s N    seconds the load runs alone before the migration (default 10); the
                    baseline window is its last part, as long as the migration window
  --pin-split       the servers on CPU 1, this process (load, migrator, clients) on CPU 0:
                    unpinned on 2 CPUs, where the load's threads and the servers they wake
                    land moves its requests/s by up to 2x with no migration at all (which
                    servers each thread talks to decides it), so windows compare only pinned
  --copy-batch N    keys per pipelined copy batch (MigrateOptions::copy_batch; 0: a page's)
  --duty MS         with --measure-load: the copy (and drains) held every other MS ms of the
                    migration, and the migration window's requests compared by whether it
                    was on or off when they started (20 ms after each switch left out): the
                    copy's own cost, interleaved, so drift between windows cancels
  --after-s N       seconds the load runs on after the migration ended (default 5): the
                    "after" window, the same load once it is over
  --json FILE       also write the results as JSON
)";

struct Config {
  std::uint64_t keys = 400000;
  std::uint64_t small_size = 100;
  std::uint64_t large_keys = 20000;
  std::uint64_t large_size = 4096;
  std::vector<std::uint64_t> batches{100, 1000};
  std::uint64_t naive_keys = 20000;
  std::uint64_t replicas = 0;
  std::uint64_t clients = 0;
  std::uint64_t client_write_ms = 2;
  double rate = 0;
  bool adaptive = false;
  double adaptive_start = detail::AdaptiveRateOptions{}.start;
  double adaptive_increase = detail::AdaptiveRateOptions{}.increase;
  std::uint64_t inflight = detail::MigrateOptions{}.inflight;
  std::uint64_t string_window = detail::CopyOptions{}.string_window;
  bool measure_load = false;
  std::uint64_t load_threads = 1;
  std::uint64_t baseline_s = 10;
  std::uint64_t after_s = 5;
  bool pin_split = false;
  std::uint64_t duty_ms = 0;
  std::uint64_t copy_batch = detail::MigrateOptions{}.copy_batch;
  std::string json;
};

// One class of the measured load over one window.
struct WindowStats {
  double seconds = 0;
  std::uint64_t ok = 0;
  double ok_per_s = NAN, p50_us = NAN, p99_us = NAN, max_us = NAN;  // latency: every request
  std::map<std::string, std::uint64_t> errors;        // errc name -> count
};

constexpr std::array<const char*, 4> kLoadClasses{"staying GET", "staying SET", "moving GET",
                                                  "moving SET"};
constexpr std::array<const char*, 4> kWindows{"baseline", "migration", "cleanup", "after"};

struct LoadResult {
  bool measured = false;
  std::uint64_t threads = 0;                        // per kind of key (staying, moving)
  std::array<std::array<WindowStats, kWindows.size()>, kLoadClasses.size()>
      stats;  // [class][window]
  bool duty = false;
  std::uint64_t duty_ms = 0;
  std::array<std::array<WindowStats, 2>, kLoadClasses.size()> by_copy;  // --duty: [class][on, off]
};

struct RunResult {
  std::string scenario;
  std::uint64_t batch = 0;
  std::uint64_t value_size = 0;
  double naive_keys_s = 0, naive_mb_s = 0;
  std::uint64_t naive_keys = 0;
  double keys_s = 0, mb_s = 0;
  std::uint64_t keys_moved = 0;
  std::uint64_t keys_drained = 0;  // copied again from the dirty sets (catch-up, cutover)
  double cutover_ms = 0, total_s = 0;
  std::string cutover_parts;  // the migrator's own breakdown of the pause
  std::uint64_t client_writes = 0, client_errors = 0;
  LoadResult load;
};

Topology first(const Topology& all, std::size_t n) {
  Topology t = all;
  t.shards.resize(n);
  return t;
}

void fill(const Topology& a, std::uint64_t n, std::uint64_t size) {
  ClientOptions o;
  o.request_timeout = std::chrono::seconds(10);
  Client c(a, o);
  Pipeline p = c.pipeline();
  // Random letters: DUMP compresses its payload (LZF), and a repeated byte would shrink to
  // nothing, so bytes moved would mean nothing.
  std::uint64_t x = 88172645463325252ull;
  std::string value(size, 'v');
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string key = "bench:" + std::to_string(i);
    for (auto& ch : value) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      ch = static_cast<char>('a' + x % 26);
    }
    if (i % 4 == 0) {
      p.command({"SET", key, value, "PX", 3600000});
    } else {
      p.command({"SET", key, value});
    }
    if (p.size() >= 1000) {
      for (auto& r : p.execute()) r.value();
    }
  }
  for (auto& r : p.execute()) r.value();
}

// The loop a hand-written script runs: per key, blocking DUMP, PTTL, RESTORE.
void naive(detail::ShardLinks& links, const Topology& a, const detail::MovePlan& plan,
           std::uint64_t limit, RunResult& out) {
  std::vector<std::pair<std::string, std::string>> copied;  // target, key
  std::uint64_t bytes = 0;
  const auto t0 = Clock::now();
  for (const auto& s : a.shards) {
    std::string cursor = "0";
    do {
      const Reply page = links.run(s.name, {"SCAN", cursor, "COUNT", 1000});
      cursor = page.elements()[0].str();
      for (const auto& k : page.elements()[1].elements()) {
        if (copied.size() >= limit) break;
        const std::string& key = k.str();
        if (!plan.moves(key)) continue;
        const Reply dump = links.run(s.name, {"DUMP", key});
        const long long pttl = links.run(s.name, {"PTTL", key}).integer();
        if (dump.is_nil() || pttl == -2) continue;
        const std::string& to = plan.to_shard(key);
        links.run(to, {"RESTORE", key, pttl < 0 ? 0 : pttl, dump.str(), "REPLACE"});
        bytes += dump.str().size();
        copied.emplace_back(to, key);
      }
    } while (cursor != "0" && copied.size() < limit);
  }
  const double secs = bench::seconds_since(t0);
  out.naive_keys = copied.size();
  out.naive_keys_s = copied.size() / secs;
  out.naive_mb_s = bytes / secs / 1e6;
  for (const auto& [to, key] : copied) links.run(to, {"UNLINK", key});
}

// Clients of the application kind: they follow the record (register, guard, freeze, flip) and
// write keys of the data set, some of which move, while the migration runs.
class Writers {
 public:
  Writers(const Topology& a, std::uint64_t clients, std::uint64_t keys, std::uint64_t every_ms) {
    for (std::uint64_t i = 0; i < clients; ++i) {
      ClientOptions o;
      o.request_timeout = std::chrono::seconds(5);
      clients_.push_back(std::make_unique<Client>(a, o));
    }
    for (std::uint64_t i = 0; i < clients; ++i) {
      if (every_ms == 0) continue;
      threads_.emplace_back([this, i, keys, every_ms] {
        std::uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1);
        while (!stop_.load()) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          try {
            clients_[i]->command({"SET", "bench:" + std::to_string(x % keys), "w"});
            ++writes_;
          } catch (const Error&) {
            ++errors_;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
        }
      });
    }
  }
  ~Writers() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t errors() const { return errors_.load(); }

 private:
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> writes_{0}, errors_{0};
};

// The measured load: `threads` threads for keys that stay and as many for keys that move
// (layout A's and B's shard names differ) share one Client that follows the record, as a
// program does. Each thread alternates GET and SET of a random key of its kind, one request
// at a time, so the load is the same whatever the phase, and a stalled moving key holds up
// only the threads of moving keys. Every request is kept: its start, latency and errc.
class Load {
 public:
  Load(const Topology& a, const Topology& b, std::uint64_t threads, std::uint64_t keys,
       std::uint64_t value_size)
      : value_(value_size, 'x') {
    const Distribution da = a.make_distribution(), db = b.make_distribution();
    for (std::uint64_t i = 0; i < keys; ++i) {
      const std::string key = "bench:" + std::to_string(i);
      const bool moves = a.shards[da.shard_for(key)].name != b.shards[db.shard_for(key)].name;
      (moves ? moving_ : staying_).push_back(i);
    }
    ClientOptions o;
    o.request_timeout = std::chrono::seconds(5);
    client_ = std::make_unique<Client>(a, o);
    samples_.resize(2 * threads);
    t0_ = Clock::now();
    for (std::uint64_t i = 0; i < 2 * threads; ++i)
      threads_.emplace_back([this, i] { loop(i, i % 2 == 1); });
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  /// Stats of every class over the four windows (request starts), after stop().
  LoadResult result(Clock::time_point baseline_from, Clock::time_point start,
                    Clock::time_point flip, Clock::time_point end,
                    Clock::time_point after_end) const {
    const std::array<Clock::time_point, kWindows.size() + 1> edges{baseline_from, start, flip, end,
                                                                   after_end};
    std::array<double, kWindows.size()> seconds{};
    for (std::size_t w = 0; w < kWindows.size(); ++w)
      seconds[w] = bench::seconds_between(edges[w], edges[w + 1]);
    LoadResult r;
    r.measured = true;
    r.threads = samples_.size() / 2;
    r.stats = stats_by<kWindows.size()>(seconds, [&](Clock::time_point at) -> int {
      for (std::size_t w = 0; w < kWindows.size(); ++w)
        if (at >= edges[w] && at < edges[w + 1]) return static_cast<int>(w);
      return -1;
    });
    return r;
  }

  /// --duty: the migration window's requests by whether the copy was on or off when they
  /// started ([class][0: on, 1: off]). `toggles`: (when, on) in time order, the first at the
  /// window's start; a request that starts within `settle` of a toggle counts in neither
  /// (batches under way at an "off" finish then).
  std::array<std::array<WindowStats, 2>, kLoadClasses.size()> duty(
      const std::vector<std::pair<Clock::time_point, bool>>& toggles, Clock::time_point flip,
      Clock::duration settle) const {
    std::array<double, 2> seconds{};
    for (std::size_t i = 0; i < toggles.size(); ++i) {
      const auto from = toggles[i].first + settle;
      const auto to = i + 1 < toggles.size() ? std::min(toggles[i + 1].first, flip) : flip;
      if (to > from) seconds[toggles[i].second ? 0 : 1] += bench::seconds_between(from, to);
    }
    return stats_by<2>(seconds, [&](Clock::time_point at) -> int {
      if (toggles.empty() || at < toggles.front().first || at >= flip) return -1;
      auto it =
          std::upper_bound(toggles.begin(), toggles.end(), at,
                           [](Clock::time_point t, const std::pair<Clock::time_point, bool>& x) {
                             return t < x.first;
                           });
      --it;
      if (at < it->first + settle) return -1;
      return it->second ? 0 : 1;
    });
  }

 private:
  // Every class's stats over W slots; slot_of(start) names a request's slot (-1: none).
  template <std::size_t W>
  std::array<std::array<WindowStats, W>, kLoadClasses.size()> stats_by(
      const std::array<double, W>& seconds,
      const std::function<int(Clock::time_point)>& slot_of) const {
    std::array<std::array<WindowStats, W>, kLoadClasses.size()> out;
    std::array<std::array<std::vector<std::uint32_t>, W>, kLoadClasses.size()> lat;
    for (std::size_t c = 0; c < kLoadClasses.size(); ++c)
      for (std::size_t w = 0; w < W; ++w) out[c][w].seconds = seconds[w];
    for (const auto& per_thread : samples_) {
      for (const Sample& s : per_thread) {
        const int w = slot_of(t0_ + std::chrono::nanoseconds(s.start_ns));
        if (w < 0) continue;
        WindowStats& ws = out[s.cls][static_cast<std::size_t>(w)];
        lat[s.cls][static_cast<std::size_t>(w)].push_back(s.latency_us);
        if (s.err == 0)
          ++ws.ok;
        else
          ++ws.errors[std::string(errc_name(static_cast<errc>(s.err)))];
      }
    }
    for (std::size_t c = 0; c < kLoadClasses.size(); ++c) {
      for (std::size_t w = 0; w < W; ++w) {
        WindowStats& ws = out[c][w];
        auto& v = lat[c][w];
        if (ws.seconds > 0) ws.ok_per_s = static_cast<double>(ws.ok) / ws.seconds;
        if (v.empty()) continue;
        std::sort(v.begin(), v.end());
        const auto at = [&v](double q) {
          return static_cast<double>(
              v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))]);
        };
        ws.p50_us = at(0.50);
        ws.p99_us = at(0.99);
        ws.max_us = static_cast<double>(v.back());
      }
    }
    return out;
  }

  struct Sample {
    std::int64_t start_ns;  // since t0_
    std::uint32_t latency_us;
    std::uint8_t cls;  // index into kLoadClasses
    std::uint8_t err;  // 0, or the errc value
  };

  void loop(std::uint64_t i, bool moving) {
    std::vector<Sample>& out = samples_[i];
    out.reserve(1 << 20);
    std::uint64_t x = 0x2545f4914f6cdd1dull * (i + 1);
    const auto& pool = moving ? moving_ : staying_;
    bool get = true;
    std::string key;
    while (!stop_.load(std::memory_order_relaxed)) {
      if (get) {  // a new key for each GET and SET pair
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        key = "bench:" + std::to_string(pool.empty() ? 0 : pool[x % pool.size()]);
      }
      const auto cls = static_cast<std::uint8_t>((moving ? 2 : 0) + (get ? 0 : 1));
      std::uint8_t err = 0;
      const auto t = Clock::now();
      try {
        if (get)
          client_->command({"GET", key});
        else
          client_->command({"SET", key, value_});
      } catch (const Error& e) {
        err = static_cast<std::uint8_t>(e.value());
      }
      const auto done = Clock::now();
      out.push_back({std::chrono::duration_cast<std::chrono::nanoseconds>(t - t0_).count(),
                     static_cast<std::uint32_t>(
                         std::chrono::duration_cast<std::chrono::microseconds>(done - t).count()),
                     cls, err});
      get = !get;
    }
  }

  std::string value_;
  std::vector<std::uint64_t> staying_, moving_;
  std::unique_ptr<Client> client_;
  std::vector<std::vector<Sample>> samples_;
  std::vector<std::thread> threads_;
  Clock::time_point t0_;
  std::atomic<bool> stop_{false};
};

RunResult run(testing::LocalCluster& cluster, const std::string& scenario, std::uint64_t keys,
              std::uint64_t size, std::uint64_t batch, const Config& c) {
  const Topology all = cluster.topology();
  const Topology a = first(all, 3);
  const Topology b = first(all, 4);
  cluster.flush_all();
  detail::MigrateOptions mo;
  mo.batch = batch;
  mo.rate = c.rate;
  mo.adaptive = c.adaptive;
  mo.adaptive_rate.start = c.adaptive_start;
  mo.adaptive_rate.increase = c.adaptive_increase;
  mo.inflight = c.inflight;
  mo.copy_batch = c.copy_batch;
  mo.copy.string_window = c.string_window;
  mo.links.request_timeout = std::chrono::seconds(30);
  detail::Migrator(a, mo).init();
  fill(a, keys, size);

  RunResult r;
  r.scenario = scenario;
  r.batch = batch;
  r.value_size = size;
  {
    detail::ShardLinks links(mo.links);
    links.add(all);
    const detail::MovePlan plan(a, b);
    naive(links, a, plan, c.naive_keys, r);
  }
  Clock::time_point flipped{};  // when the migrator reported the flip
  mo.on_progress = [&r, &flipped](const detail::MigrationProgress& p) {
    if (p.message.empty()) return;
    if (p.message.starts_with("cutover pause")) {
      flipped = Clock::now();
      r.cutover_parts = p.message;
    }
    std::cerr << "  " << p.message << "\n";
  };
  Writers writers(a, c.clients, keys, c.client_write_ms);
  std::unique_ptr<Load> load;
  Clock::time_point load_from{};
  if (c.measure_load) {
    load = std::make_unique<Load>(a, b, c.load_threads, keys, size);
    load_from = Clock::now();
    std::cerr << "  load alone for " << c.baseline_s << " s (baseline)...\n";
    std::this_thread::sleep_for(std::chrono::seconds(c.baseline_s));
  }
  // --duty: the copy on and off in turns, so its cost is measured against requests of the
  // same minutes rather than against a baseline seconds earlier (on this VM two windows of
  // the same load alone differ by 5-15 %).
  std::atomic<bool> copy_on{true}, migrating{true};
  std::vector<std::pair<Clock::time_point, bool>> toggles;
  if (c.duty_ms > 0) mo.copy_gate = [&copy_on] { return copy_on.load(); };
  detail::Migrator m(a, mo);
  const auto started = Clock::now();
  std::thread toggler;
  if (c.duty_ms > 0) {
    toggles.emplace_back(started, true);
    toggler = std::thread([&] {
      auto next = started;
      while (migrating.load()) {
        next += std::chrono::milliseconds(c.duty_ms);
        std::this_thread::sleep_until(next);
        const bool on = !copy_on.load();
        copy_on = on;
        toggles.emplace_back(Clock::now(), on);
      }
    });
  }
  const detail::MigrationOutcome out = m.migrate(b);
  const auto ended = Clock::now();
  migrating = false;
  if (toggler.joinable()) toggler.join();
  if (load) {
    // The same load once the migration is over: is what the clients see afterwards what they
    // saw before it (the baseline), or does the layout (now four shards) change it?
    std::this_thread::sleep_for(std::chrono::seconds(c.after_s));
    const auto after_end = Clock::now();
    load->stop();
    if (flipped == Clock::time_point{}) flipped = ended;  // no flip (aborted): to the end
    // The baseline as long as the migration window, when the load ran alone that long.
    const auto baseline_from = std::max(load_from, started - (flipped - started));
    r.load = load->result(baseline_from, started, flipped, ended, after_end);
    if (c.duty_ms > 0) {
      r.load.duty = true;
      r.load.duty_ms = c.duty_ms;
      r.load.by_copy = load->duty(toggles, flipped, std::chrono::milliseconds(20));
    }
  }
  writers.stop();
  r.client_writes = writers.writes();
  r.client_errors = writers.errors();
  const double copy_s = std::chrono::duration<double>(out.copy_time).count();
  r.keys_moved = out.keys_copied;
  r.keys_drained = out.keys_drained;
  r.keys_s = out.keys_copied / copy_s;
  r.mb_s = out.bytes_copied / copy_s / 1e6;
  r.cutover_ms = out.cutover_time.count();
  r.total_s = std::chrono::duration<double>(out.total_time).count();
  return r;
}

std::string num_or_null(const char* format, double v) {
  return std::isnan(v) ? "null" : bench::fmt(format, v);
}

std::string errors_text(const WindowStats& w) {
  std::string t;
  for (const auto& [name, n] : w.errors)
    t += (t.empty() ? "" : ", ") + name + " " + std::to_string(n);
  return t.empty() ? "0" : t;
}

// ",\"load\":{...}" for a run's JSON object (empty without --measure-load).
std::string load_json(const LoadResult& l) {
  if (!l.measured) return "";
  std::string j = ",\"load\":{\"threads_per_kind\":" + std::to_string(l.threads) + ",\"classes\":[";
  for (std::size_t cls = 0; cls < kLoadClasses.size(); ++cls) {
    j += std::string(cls ? "," : "") + "{\"class\":\"" + kLoadClasses[cls] + "\"";
    for (std::size_t w = 0; w < kWindows.size(); ++w) {
      const WindowStats& s = l.stats[cls][w];
      j += ",\"" + std::string(kWindows[w]) + "\":{\"seconds\":" + bench::fmt("%.3f", s.seconds) +
           ",\"ok\":" + std::to_string(s.ok) + ",\"ok_per_s\":" + num_or_null("%.1f", s.ok_per_s) +
           ",\"p50_us\":" + num_or_null("%.0f", s.p50_us) +
           ",\"p99_us\":" + num_or_null("%.0f", s.p99_us) +
           ",\"max_us\":" + num_or_null("%.0f", s.max_us) + ",\"errors\":{";
      bool first = true;
      for (const auto& [name, n] : s.errors) {
        j += std::string(first ? "" : ",") + "\"" + name + "\":" + std::to_string(n);
        first = false;
      }
      j += "}}";
    }
    const WindowStats& base = l.stats[cls][0];
    const WindowStats& mig = l.stats[cls][1];
    j += ",\"migration_vs_baseline\":{\"ok_per_s\":" +
         num_or_null("%.3f", mig.ok_per_s / base.ok_per_s) +
         ",\"p99\":" + num_or_null("%.3f", mig.p99_us / base.p99_us) + "}}";
  }
  j += "]";
  if (l.duty) {
    // --duty: the migration window by copy on / off, per class.
    j += ",\"duty_ms\":" + std::to_string(l.duty_ms) + ",\"by_copy\":[";
    for (std::size_t cls = 0; cls < kLoadClasses.size(); ++cls) {
      const WindowStats& on = l.by_copy[cls][0];
      const WindowStats& off = l.by_copy[cls][1];
      j += std::string(cls ? "," : "") + "{\"class\":\"" + kLoadClasses[cls] +
           "\",\"on_ok_per_s\":" + num_or_null("%.1f", on.ok_per_s) +
           ",\"off_ok_per_s\":" + num_or_null("%.1f", off.ok_per_s) +
           ",\"on_p99_us\":" + num_or_null("%.0f", on.p99_us) +
           ",\"off_p99_us\":" + num_or_null("%.0f", off.p99_us) + "}";
    }
    j += "]";
  }
  return j + "}";
}

// The client-visible cost: a row per run, class and window.
void print_load(const std::vector<RunResult>& results, const Config& c) {
  if (!c.measure_load) return;
  std::cout << "\nLoad while migrating (" << c.load_threads << " + " << c.load_threads
            << " threads for staying + moving keys, one record-following Client; each thread "
               "alternates GET and SET of a random key, one request at a time; requests/s "
               "count successes, latency every request)\n\n"
               "| run | requests | window | s | requests/s | p50 µs | p99 µs | max µs | "
               "requests/s vs baseline | p99 vs baseline | errors |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const LoadResult& l = r.load;
    if (!l.measured) continue;
    for (std::size_t cls = 0; cls < kLoadClasses.size(); ++cls) {
      const WindowStats& base = l.stats[cls][0];
      for (std::size_t w = 0; w < kWindows.size(); ++w) {
        const WindowStats& s = l.stats[cls][w];
        std::cout << "| " << r.scenario << ", batch " << r.batch << " | " << kLoadClasses[cls]
                  << " | " << kWindows[w] << " | " << bench::fmt("%.2f", s.seconds) << " | "
                  << bench::fmt("%.0f", s.ok_per_s) << " | " << bench::fmt("%.0f", s.p50_us)
                  << " | " << bench::fmt("%.0f", s.p99_us) << " | " << bench::fmt("%.0f", s.max_us)
                  << " | " << (w == 0 ? "" : bench::fmt("%.2f", s.ok_per_s / base.ok_per_s))
                  << " | " << (w == 0 ? "" : bench::fmt("%.2f", s.p99_us / base.p99_us)) << " | "
                  << errors_text(s) << " |\n";
      }
    }
  }
  for (const auto& r : results) {
    const LoadResult& l = r.load;
    if (!l.duty) continue;
    std::cout << "\nThe migration window by whether the copy was on or off (" << l.duty_ms
              << " ms each, in turns; " << r.scenario << ", batch " << r.batch
              << "): the copy's own cost, measured against requests of the same seconds\n\n"
                 "| requests | copy | s | requests/s | p50 µs | p99 µs | max µs | requests/s on ÷ "
                 "off | p99 on ÷ off | errors |\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (std::size_t cls = 0; cls < kLoadClasses.size(); ++cls) {
      const WindowStats& off = l.by_copy[cls][1];
      for (std::size_t w = 0; w < 2; ++w) {
        const WindowStats& s = l.by_copy[cls][w];
        std::cout << "| " << kLoadClasses[cls] << " | " << (w == 0 ? "on" : "off") << " | "
                  << bench::fmt("%.2f", s.seconds) << " | " << bench::fmt("%.0f", s.ok_per_s)
                  << " | " << bench::fmt("%.0f", s.p50_us) << " | " << bench::fmt("%.0f", s.p99_us)
                  << " | " << bench::fmt("%.0f", s.max_us) << " | "
                  << (w == 0 ? bench::fmt("%.2f", s.ok_per_s / off.ok_per_s) : "") << " | "
                  << (w == 0 ? bench::fmt("%.2f", s.p99_us / off.p99_us) : "") << " | "
                  << errors_text(s) << " |\n";
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  bench::CommandLine cl("migrate_bench", kUsage, argc, argv);
  while (cl.next()) {
    if (cl.flag() == "--keys")
      c.keys = cl.count(1000, 100000000);
    else if (cl.flag() == "--small-size")
      c.small_size = cl.count(1, 1 << 20);
    else if (cl.flag() == "--large-keys")
      c.large_keys = cl.count(0, 10000000);
    else if (cl.flag() == "--large-size")
      c.large_size = cl.count(1, 64 << 20);
    else if (cl.flag() == "--naive-keys")
      c.naive_keys = cl.count(100, 100000000);
    else if (cl.flag() == "--replicas")
      c.replicas = cl.count(0, 4);
    else if (cl.flag() == "--clients")
      c.clients = cl.count(0, 64);
    else if (cl.flag() == "--client-write-ms")
      c.client_write_ms = cl.count(0, 60000);
    else if (cl.flag() == "--rate")
      c.rate = cl.number(0, 1e9);
    else if (cl.flag() == "--adaptive")
      c.adaptive = true;
    else if (cl.flag() == "--adaptive-start")
      c.adaptive_start = cl.number(1, 1e9);
    else if (cl.flag() == "--adaptive-increase")
      c.adaptive_increase = cl.number(0, 1e9);
    else if (cl.flag() == "--inflight")
      c.inflight = cl.count(1, 64);
    else if (cl.flag() == "--string-window")
      c.string_window = cl.count(0, 64 << 20);
    else if (cl.flag() == "--measure-load")
      c.measure_load = true;
    else if (cl.flag() == "--load-threads")
      c.load_threads = cl.count(1, 64);
    else if (cl.flag() == "--baseline-s")
      c.baseline_s = cl.count(1, 3600);
    else if (cl.flag() == "--pin-split")
      c.pin_split = true;
    else if (cl.flag() == "--copy-batch")
      c.copy_batch = cl.count(0, 100000);
    else if (cl.flag() == "--duty")
      c.duty_ms = cl.count(50, 60000);
    else if (cl.flag() == "--after-s")
      c.after_s = cl.count(0, 3600);
    else if (cl.flag() == "--json")
      c.json = cl.value();
    else if (cl.flag() == "--batches") {
      c.batches.clear();
      for (const auto& b : bench::split_list(cl.value()))
        c.batches.push_back(cl.count("--batches", b, 1, 100000));
    } else
      cl.unknown();
  }
  testing::ClusterOptions co;
  co.shards = 4;
  co.replicas = c.replicas;
  // The servers inherit CPU 1 from this thread; then it and every thread it starts take CPU 0.
  if (c.pin_split) bench::pin_to_cpu(1);
  testing::LocalCluster cluster(co);
  if (c.pin_split) bench::pin_to_cpu(0);
  std::cerr << "cluster:\n" << cluster.describe();

  std::vector<RunResult> results;
  for (auto batch : c.batches) {
    std::cerr << "small values, batch " << batch << "...\n";
    results.push_back(run(cluster, "small", c.keys, c.small_size, batch, c));
  }
  if (c.large_keys > 0) {
    std::cerr << "large values...\n";
    results.push_back(run(cluster, "large", c.large_keys, c.large_size, c.batches.back(), c));
  }

  std::cout << "| values | batch | keys moved | migrator keys/s | MB/s | naive keys/s | MB/s | "
               "ratio | cutover ms |\n|---|---|---|---|---|---|---|---|---|\n";
  std::string json = "[";
  for (const auto& r : results) {
    std::cout << "| " << r.scenario << " (" << r.value_size << " B) | " << r.batch << " | "
              << r.keys_moved << " | " << bench::fmt("%.0f", r.keys_s) << " | "
              << bench::fmt("%.1f", r.mb_s) << " | " << bench::fmt("%.0f", r.naive_keys_s) << " | "
              << bench::fmt("%.1f", r.naive_mb_s) << " | "
              << bench::fmt("%.1f", r.keys_s / r.naive_keys_s) << "x | "
              << bench::fmt("%.0f", r.cutover_ms) << " |\n";
    json += std::string(json.size() > 1 ? "," : "") + "{\"scenario\":\"" + r.scenario +
            "\",\"value_size\":" + std::to_string(r.value_size) +
            ",\"batch\":" + std::to_string(r.batch) +
            ",\"keys_moved\":" + std::to_string(r.keys_moved) +
            ",\"keys_drained\":" + std::to_string(r.keys_drained) +
            ",\"keys_per_s\":" + bench::fmt("%.1f", r.keys_s) +
            ",\"mb_per_s\":" + bench::fmt("%.3f", r.mb_s) +
            ",\"naive_keys\":" + std::to_string(r.naive_keys) +
            ",\"naive_keys_per_s\":" + bench::fmt("%.1f", r.naive_keys_s) +
            ",\"naive_mb_per_s\":" + bench::fmt("%.3f", r.naive_mb_s) +
            ",\"cutover_ms\":" + bench::fmt("%.1f", r.cutover_ms) + ",\"cutover_parts\":\"" +
            r.cutover_parts + "\"" + ",\"client_writes\":" + std::to_string(r.client_writes) +
            ",\"client_errors\":" + std::to_string(r.client_errors) +
            ",\"total_s\":" + bench::fmt("%.3f", r.total_s) + load_json(r.load) + "}";
  }
  json += "]\n";
  for (const auto& r : results)
    std::cout << "- " << r.scenario << ", batch " << r.batch << ": " << r.cutover_parts
              << "; migration " << bench::fmt("%.1f", r.total_s) << " s, " << r.keys_drained
              << " keys drained from the dirty sets; clients " << c.clients << " (a write every "
              << c.client_write_ms << " ms each; " << r.client_writes << " writes, "
              << r.client_errors << " failed), replicas per shard " << c.replicas << "\n";
  print_load(results, c);
  if (!c.json.empty()) bench::write_file(c.json, json);
  std::cout << "server: " << testing::server_binary() << ", CPUs "
            << (c.pin_split ? "1 (this process: 0)" : bench::cpu_list()) << "\n";
  return 0;
}
