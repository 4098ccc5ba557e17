// A shard's primary is SIGKILLed under load; Sentinel promotes a replica. What do callers see?
// (DESIGN.md, "Health and failover" and "Measuring".)
//
//   build/bench/failover_bench                       # 3 rounds, defaults below
//   build/bench/failover_bench --rounds 5 --json failover.json
//
// Each round starts a fresh flyshard::testing::LocalCluster (--shards shards, each a primary
// and --replicas replicas, --sentinels sentinels with down-after --down-after-ms and
// failover-timeout --failover-timeout-ms), a raw hiredis subscriber on every sentinel
// (PSUBSCRIBE *: it timestamps +switch-master and the rest of the failover as this program
// receives them), and one flyshard::Client with read_from --read-from (default
// replica_preferred), request_timeout
// 200 ms, health_interval --health-interval-ms, failure_limit 2, reconnects 10..100 ms.
//
// Load, --threads threads of each kind, each pausing --pace-us between requests:
//   victim readers   GET of keys preloaded on the victim shard (s1); every value is checked
//                    and the time of every successful read is kept (the longest gap between
//                    two successful reads, over all readers, is the read outage);
//   victim writers   SET of unique, sequence-numbered keys on s1; every acknowledged write is
//                    kept (key, value, start and ack time);
//   other shards     GET (checked) and SET of keys on the other shards: any error there is a
//                    failover leaking across shards.
// After --load-before-ms of load the primary of s1 is SIGKILLed; the load goes on until a
// write on s1 has succeeded again and --load-after-ms more have passed (at most
// --max-wait-ms after the kill), then stops. Every acknowledged write is then read back from
// the shard's primary (the promoted replica): the ones started before the kill (so
// acknowledged by the old primary) and missing now were lost by asynchronous replication.
//
// Reported per round and as the median of the rounds:
//   read_gap_ms       longest gap between successful reads of s1 that ended after the kill
//                     (aim: <= 2 x health_interval); the longest gap before the kill is
//                     printed beside it as the machine's noise floor
//   kill_to_write_ms  kill -> first acknowledged write on s1 (a write started after the kill)
//   switch_to_write_ms  first +switch-master received here (earliest sentinel) -> that write;
//                       negative when the client learned of the promotion first, by asking a
//                       sentinel (aim: <= 100 ms)
//   errors by errc name for victim reads, victim writes and the other shards; mismatched
//   values; acknowledged writes lost (started before the kill, missing after it; writes
//   started after the kill must never be missing).
// Each round also prints a timeline: Sentinel's events and the client's log, relative to the
// kill.

#include <flyshard/flyshard.hpp>

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "local_cluster.hpp"

namespace {

using flyshard::bench::Clock;
using flyshard::bench::json_escape;
using flyshard::bench::median;
using flyshard::bench::ms_between;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    R"(usage: failover_bench [--shards N] [--replicas N] [--sentinels N] [--threads N]
                      [--health-interval-ms MS] [--down-after-ms MS]
                      [--failover-timeout-ms MS] [--wait-for-promotion-ms MS]
                      [--read-from POLICY]
                      [--rounds N] [--load-before-ms MS] [--load-after-ms MS]
                      [--max-wait-ms MS] [--pace-us US] [--keys N] [--json PATH]

SIGKILLs the primary of shard s1 under load while Sentinel fails it over, and reports the
longest gap in successful reads of s1, the time to the first successful write, errors by
kind, wrong values and acknowledged writes lost. A fresh cluster per round.

  --shards N                 shards (default 3); s1 is the victim
  --replicas N               replicas per shard, >= 1 (default 2)
  --sentinels N              sentinels, >= 1 (default 3)
  --threads N                load threads of each kind: victim readers, victim writers,
                             other-shard workers (default 4, so 12 threads)
  --health-interval-ms MS    ClientOptions::health_interval (default 100)
  --down-after-ms MS         Sentinel's down-after-milliseconds (default 500)
  --failover-timeout-ms MS   Sentinel's failover-timeout (default 2000)
  --wait-for-promotion-ms MS ClientOptions::wait_for_promotion (default 0: fail fast)
  --read-from POLICY         ClientOptions::read_from: primary, primary_preferred, replica,
                             replica_preferred (default) or nearest
  --rounds N                 rounds, each with a fresh cluster (default 3)
  --load-before-ms MS        load before the kill (default 1000)
  --load-after-ms MS         load after the first successful write (default 1000)
  --max-wait-ms MS           give up on a write succeeding after this (default 30000)
  --pace-us US               pause of each load thread between requests (default 200)
  --keys N                   keys preloaded on each shard for the readers (default 200)
  --json PATH                also write the results as JSON to PATH
)";

struct Config {
  std::size_t shards = 3;
  std::size_t replicas = 2;
  std::size_t sentinels = 3;
  int threads = 4;
  int health_interval_ms = 100;
  int down_after_ms = 500;
  int failover_timeout_ms = 2000;
  int wait_for_promotion_ms = 0;
  flyshard::ReadFrom read_from = flyshard::ReadFrom::replica_preferred;
  int rounds = 3;
  int load_before_ms = 1000;
  int load_after_ms = 1000;
  int max_wait_ms = 30000;
  int pace_us = 200;
  std::size_t keys = 200;
  std::string json;
};

Config parse_args(int argc, char** argv) {
  Config c;
  flyshard::bench::CommandLine cl("failover_bench", kUsage, argc, argv);
  while (cl.next()) {
    const std::string_view a = cl.flag();
    if (a == "--shards") {
      c.shards = static_cast<std::size_t>(cl.integer(2, 64));
    } else if (a == "--replicas") {
      c.replicas = static_cast<std::size_t>(cl.integer(1, 8));
    } else if (a == "--sentinels") {
      c.sentinels = static_cast<std::size_t>(cl.integer(1, 9));
    } else if (a == "--threads") {
      c.threads = static_cast<int>(cl.integer(1, 64));
    } else if (a == "--health-interval-ms") {
      c.health_interval_ms = static_cast<int>(cl.integer(1, 60000));
    } else if (a == "--down-after-ms") {
      c.down_after_ms = static_cast<int>(cl.integer(10, 600000));
    } else if (a == "--failover-timeout-ms") {
      c.failover_timeout_ms = static_cast<int>(cl.integer(100, 600000));
    } else if (a == "--wait-for-promotion-ms") {
      c.wait_for_promotion_ms = static_cast<int>(cl.integer(0, 600000));
    } else if (a == "--read-from") {
      const std::string v = cl.value();
      if (v == "primary") {
        c.read_from = flyshard::ReadFrom::primary;
      } else if (v == "primary_preferred") {
        c.read_from = flyshard::ReadFrom::primary_preferred;
      } else if (v == "replica") {
        c.read_from = flyshard::ReadFrom::replica;
      } else if (v == "replica_preferred") {
        c.read_from = flyshard::ReadFrom::replica_preferred;
      } else if (v == "nearest") {
        c.read_from = flyshard::ReadFrom::nearest;
      } else {
        cl.fail(
            "--read-from: expected primary, primary_preferred, replica, "
            "replica_preferred or nearest, got '" +
            v + "'");
      }
    } else if (a == "--rounds") {
      c.rounds = static_cast<int>(cl.integer(1, 1000));
    } else if (a == "--load-before-ms") {
      c.load_before_ms = static_cast<int>(cl.integer(0, 600000));
    } else if (a == "--load-after-ms") {
      c.load_after_ms = static_cast<int>(cl.integer(0, 600000));
    } else if (a == "--max-wait-ms") {
      c.max_wait_ms = static_cast<int>(cl.integer(100, 3600000));
    } else if (a == "--pace-us") {
      c.pace_us = static_cast<int>(cl.integer(0, 1000000));
    } else if (a == "--keys") {
      c.keys = static_cast<std::size_t>(cl.integer(1, 1000000));
    } else if (a == "--json") {
      c.json = cl.value();
    } else {
      cl.unknown();
    }
  }
  return c;
}

const char* read_from_name(flyshard::ReadFrom r) {
  switch (r) {
    case flyshard::ReadFrom::primary:
      return "primary";
    case flyshard::ReadFrom::primary_preferred:
      return "primary_preferred";
    case flyshard::ReadFrom::replica:
      return "replica";
    case flyshard::ReadFrom::replica_preferred:
      return "replica_preferred";
    case flyshard::ReadFrom::nearest:
      return "nearest";
  }
  return "?";
}

// A number for JSON: NaN (not measured) becomes null.
std::string json_number(double v) {
  return std::isnan(v) ? "null" : flyshard::bench::fmt("%.1f", v);
}

// A number for the table: NaN becomes "-".
std::string cell(double v, const char* f = "%.1f") {
  return std::isnan(v) ? "-" : flyshard::bench::fmt(f, v);
}

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// ---- timeline -----------------------------------------------------------------------------

// One thing that happened during a round: a Sentinel event or a client log line.
struct Event {
  Clock::time_point at;
  std::string source;  // "sentinel N" or "client"
  std::string text;
};

class Timeline {
 public:
  void add(Clock::time_point at, std::string source, std::string text) {
    std::lock_guard lock(mu_);
    events_.push_back({at, std::move(source), std::move(text)});
  }
  std::vector<Event> sorted() const {
    std::lock_guard lock(mu_);
    std::vector<Event> out = events_;
    std::stable_sort(out.begin(), out.end(),
                     [](const Event& a, const Event& b) { return a.at < b.at; });
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

// ---- raw Sentinel subscriber ----------------------------------------------------------------

// PSUBSCRIBEs to every channel of every sentinel over plain hiredis (no flyshard code), on a
// thread of its own, and timestamps the events about one master as they arrive.
class SentinelWatch {
 public:
  SentinelWatch(const std::vector<flyshard::NodeAddress>& sentinels, std::string master,
                Timeline& timeline)
      : master_(std::move(master)), timeline_(timeline) {
    for (const auto& a : sentinels) {
      const timeval tv{2, 0};
      redisContext* c = redisConnectWithTimeout(a.host.c_str(), a.port, tv);
      if (c == nullptr || c->err != 0) {
        const std::string why = c != nullptr ? c->errstr : "out of memory";
        if (c != nullptr) redisFree(c);
        close_all();
        throw std::runtime_error("sentinel " + a.to_string() + ": " + why);
      }
      redisSetTimeout(c, tv);
      auto* r = static_cast<redisReply*>(redisCommand(c, "PSUBSCRIBE *"));
      const bool ok = r != nullptr && r->type == REDIS_REPLY_ARRAY;
      if (r != nullptr) freeReplyObject(r);
      contexts_.push_back(c);
      if (!ok) {
        close_all();
        throw std::runtime_error("sentinel " + a.to_string() + ": PSUBSCRIBE failed");
      }
    }
    thread_ = std::thread([this] { run(); });
  }
  ~SentinelWatch() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close_all();
  }
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  /// The earliest arrival of `channel` (about our master) at any sentinel, and which sentinel.
  std::optional<std::pair<Clock::time_point, std::size_t>> first(const std::string& channel) {
    std::lock_guard lock(mu_);
    auto it = first_.find(channel);
    if (it == first_.end()) return std::nullopt;
    return it->second;
  }
  /// The new primary announced by the first +switch-master ("host:port"), or "".
  std::string switched_to() {
    std::lock_guard lock(mu_);
    return switched_to_;
  }

 private:
  void close_all() {
    for (redisContext* c : contexts_) redisFree(c);
    contexts_.clear();
  }

  void run() {
    std::vector<pollfd> fds;
    for (redisContext* c : contexts_) fds.push_back({c->fd, POLLIN, 0});
    while (!stop_) {
      for (auto& p : fds) p.revents = 0;
      const int n = ::poll(fds.data(), fds.size(), 20);
      if (n <= 0) continue;
      const auto now = Clock::now();
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        redisContext* c = contexts_[i];
        if (redisBufferRead(c) != REDIS_OK) {
          fds[i].fd = -1;  // the sentinel went away; its events are lost, the others go on
          timeline_.add(now, "sentinel " + std::to_string(i), "subscriber link lost");
          continue;
        }
        void* reply = nullptr;
        while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != nullptr) {
          on_reply(static_cast<redisReply*>(reply), i, now);
          freeReplyObject(reply);
          reply = nullptr;
        }
      }
    }
  }

  // "pmessage", pattern, channel, payload.
  void on_reply(const redisReply* r, std::size_t sentinel, Clock::time_point at) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return;
    const std::string channel(r->element[2]->str, r->element[2]->len);
    const std::string payload(r->element[3]->str, r->element[3]->len);
    if (channel.rfind("__sentinel__", 0) == 0) return;  // hello messages
    // Events name the master either first ("+switch-master <name> ...", "master <name> ...")
    // or after an "@" (events about a replica or a sentinel of that master).
    const std::string word = " " + master_ + " ";
    const std::string padded = " " + payload + " ";
    if (padded.find(word) == std::string::npos) return;
    timeline_.add(at, "sentinel " + std::to_string(sentinel), channel + " " + payload);
    std::lock_guard lock(mu_);
    first_.try_emplace(channel, at, sentinel);
    if (channel == "+switch-master" && switched_to_.empty()) {
      // <name> <old-ip> <old-port> <new-ip> <new-port>
      std::istringstream in(payload);
      std::string name, oh, op, nh, np;
      in >> name >> oh >> op >> nh >> np;
      switched_to_ = nh + ":" + np;
    }
  }

  std::string master_;
  Timeline& timeline_;
  std::vector<redisContext*> contexts_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::pair<Clock::time_point, std::size_t>> first_;
  std::string switched_to_;
};

// ---- load -----------------------------------------------------------------------------------

using ErrorCounts = std::map<std::string, long>;

void count_error(ErrorCounts& errors, const flyshard::Error& e) {
  ++errors[std::string(flyshard::errc_name(e.value()))];
}

void merge(ErrorCounts& into, const ErrorCounts& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

long total(const ErrorCounts& e) {
  long n = 0;
  for (const auto& kv : e) n += kv.second;
  return n;
}

std::string describe(const ErrorCounts& e) {
  if (e.empty()) return "none";
  std::string out;
  for (const auto& [k, v] : e) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return out;
}

struct ReaderLog {
  std::vector<Clock::time_point> ok;  // completion time of every successful read
  ErrorCounts errors;
  std::optional<Clock::time_point> last_error;
  long mismatches = 0;
  std::string first_mismatch;
};

struct AckedWrite {
  std::string key;
  std::string value;
  Clock::time_point start;
  Clock::time_point ack;
};

struct WriterLog {
  std::vector<AckedWrite> acked;
  long attempts = 0;
  ErrorCounts errors;
  std::optional<Clock::time_point> last_error;
};

struct OtherLog {
  long requests = 0;
  ErrorCounts errors;
  long mismatches = 0;
  std::string first_mismatch;
};

// The next key after `seq` with the given prefix that the client places on `shard`
// (placement is by the distribution; no hash-tag assumption is made).
std::string next_key_on(const flyshard::Client& c, bool on_shard, std::size_t shard,
                        const std::string& prefix, long& seq) {
  for (;;) {
    std::string k = prefix + std::to_string(seq++);
    if ((c.shard_for(k) == shard) == on_shard) return k;
  }
}

void pace(int us) {
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// ---- one round ------------------------------------------------------------------------------

struct RoundResult {
  int round = 0;
  bool write_recovered = false;
  double read_gap_ms = kNone;
  double read_gap_start_ms = kNone;  // start of the longest gap, relative to the kill
  double baseline_gap_ms = kNone;    // longest gap that ended before the kill (noise floor)
  double kill_to_write_ms = kNone;
  double last_read_error_ms = kNone;   // the last failed read of s1, relative to the kill
  double last_write_error_ms = kNone;  // the last failed write to s1: writes work for good after
  double switch_to_write_ms = kNone;
  double kill_to_sdown_ms = kNone;
  double kill_to_odown_ms = kNone;
  double kill_to_promoted_ms = kNone;
  double kill_to_switch_ms = kNone;
  std::string switch_sentinel;               // which sentinel's +switch-master arrived first
  std::vector<std::string> client_switches;  // the client's "primary A -> B (why)" lines
  long victim_reads = 0;
  long victim_writes_attempted = 0;
  long other_requests = 0;
  ErrorCounts victim_read_errors;
  ErrorCounts victim_write_errors;
  ErrorCounts other_errors;
  long mismatches = 0;
  std::string first_mismatch;
  long acked_before_kill = 0;
  long lost_before_kill = 0;
  double earliest_lost_ms = kNone;  // ack time of the oldest lost write, relative to the kill
  long acked_after_kill = 0;
  long lost_after_kill = 0;
  long readback_errors = 0;
  std::string old_primary;
  std::string new_primary;
  std::string announced;  // the new primary named by the first +switch-master received
  std::string client_primary;
  std::vector<std::pair<double, std::string>> timeline;  // ms relative to the kill, text
};

// Polls `ok` every 20 ms until it is true or `limit` passes.
template <typename Fn>
bool eventually(Fn ok, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return ok();
}

RoundResult run_round(const Config& cfg, int round) {
  RoundResult res;
  res.round = round;
  constexpr std::size_t victim = 0;

  flyshard::testing::ClusterOptions co;
  co.shards = cfg.shards;
  co.replicas = cfg.replicas;
  co.sentinels = cfg.sentinels;
  co.down_after_ms = cfg.down_after_ms;
  co.failover_timeout_ms = cfg.failover_timeout_ms;
  flyshard::testing::LocalCluster cluster(co);
  res.old_primary = cluster.primary(victim).address().to_string();

  Timeline timeline;
  SentinelWatch watch(cluster.topology().sentinel->addresses, cluster.master_name(victim),
                      timeline);

  flyshard::ClientOptions o;
  o.read_from = cfg.read_from;
  o.request_timeout = 200ms;
  o.connect_timeout = 100ms;
  o.reconnect_min = 10ms;
  o.reconnect_max = 100ms;
  o.health_interval = std::chrono::milliseconds(cfg.health_interval_ms);
  o.failure_limit = 2;
  o.max_replica_lag = 2000ms;
  o.wait_for_promotion = std::chrono::milliseconds(cfg.wait_for_promotion_ms);
  o.log_level = flyshard::LogLevel::info;
  o.log = [&timeline](flyshard::LogLevel level, std::string_view msg) {
    const char* name = level == flyshard::LogLevel::error     ? "error"
                       : level == flyshard::LogLevel::warning ? "warning"
                       : level == flyshard::LogLevel::info    ? "info"
                                                              : "debug";
    timeline.add(Clock::now(), "client", std::string(name) + ": " + std::string(msg));
  };
  flyshard::Client client(cluster.topology(), o);

  // Preload: readers' keys on the victim shard and on the others, values derived from keys.
  std::vector<std::string> victim_keys, other_keys;
  {
    long seq = 0;
    while (victim_keys.size() < cfg.keys)
      victim_keys.push_back(next_key_on(client, true, victim, "fb:v:", seq));
    seq = 0;
    while (other_keys.size() < cfg.keys * (cfg.shards - 1))
      other_keys.push_back(next_key_on(client, false, victim, "fb:o:", seq));
  }
  auto value_of = [](const std::string& k) { return "val:" + k; };
  for (const auto& k : victim_keys) client.set(k, value_of(k));
  for (const auto& k : other_keys) client.set(k, value_of(k));
  // Every replica of s1 has the preload, and the client sees every replica up (a check found
  // it in sync), so reads are served by replicas from the start.
  const std::string& last = victim_keys.back();
  const bool ready = eventually(
      [&] {
        for (std::size_t j = 0; j < cfg.replicas; ++j) {
          if (cluster.replica(victim, j).command({"GET", last}).str() != value_of(last))
            return false;
        }
        for (const auto& n : client.stats().nodes) {
          if (n.role == "replica" && !n.up) return false;
        }
        return true;
      },
      15s);
  if (!ready) throw std::runtime_error("replicas did not become ready");
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * cfg.health_interval_ms));

  // ---- load ----
  std::atomic<bool> stop{false};
  constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::max();
  std::atomic<Clock::rep> killed_rep{kNever};
  std::atomic<Clock::rep> first_ack_after_kill{kNever};
  const std::size_t n = static_cast<std::size_t>(cfg.threads);
  std::vector<ReaderLog> readers(n);
  std::vector<WriterLog> writers(n);
  std::vector<OtherLog> others(n);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ReaderLog& log = readers[t];
      log.ok.reserve(1 << 16);
      std::size_t i = t * 7919;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string& k = victim_keys[i++ % victim_keys.size()];
        try {
          auto v = client.get(k);
          const auto at = Clock::now();
          if (v != value_of(k)) {
            if (log.mismatches++ == 0)
              log.first_mismatch = "GET " + k + " -> " + (v ? "'" + *v + "'" : "nil");
          } else {
            log.ok.push_back(at);
          }
        } catch (const flyshard::Error& e) {
          count_error(log.errors, e);
          log.last_error = Clock::now();
        }
        pace(cfg.pace_us);
      }
    });
    threads.emplace_back([&, t] {
      WriterLog& log = writers[t];
      log.acked.reserve(1 << 14);
      const std::string prefix = "fb:w:" + std::to_string(t) + ":";
      long seq = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string k = next_key_on(client, true, victim, prefix, seq);
        const std::string v = std::to_string(seq) + ":" + k;
        const auto start = Clock::now();
        ++log.attempts;
        try {
          client.set(k, v);
          const auto ack = Clock::now();
          log.acked.push_back({k, v, start, ack});
          if (start.time_since_epoch().count() >= killed_rep.load()) {
            auto seen = first_ack_after_kill.load();
            const auto mine = ack.time_since_epoch().count();
            while (mine < seen && !first_ack_after_kill.compare_exchange_weak(seen, mine)) {
            }
          }
        } catch (const flyshard::Error& e) {
          count_error(log.errors, e);
          log.last_error = Clock::now();
        }
        pace(cfg.pace_us);
      }
    });
    threads.emplace_back([&, t] {
      OtherLog& log = others[t];
      const std::string prefix = "fb:ow:" + std::to_string(t) + ":";
      long seq = 0;
      std::size_t i = t * 104729;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string& k = other_keys[i++ % other_keys.size()];
        try {
          ++log.requests;
          auto v = client.get(k);
          if (v != value_of(k) && log.mismatches++ == 0)
            log.first_mismatch = "GET " + k + " -> " + (v ? "'" + *v + "'" : "nil");
        } catch (const flyshard::Error& e) {
          count_error(log.errors, e);
        }
        pace(cfg.pace_us);
        try {
          ++log.requests;
          client.set(next_key_on(client, false, victim, prefix, seq), "x");
        } catch (const flyshard::Error& e) {
          count_error(log.errors, e);
        }
        pace(cfg.pace_us);
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(cfg.load_before_ms));
  const auto kill_at = Clock::now();
  cluster.primary(victim).kill();
  const auto killed = Clock::now();  // dead and reaped: no write started later can reach it
  killed_rep = killed.time_since_epoch().count();
  timeline.add(kill_at, "bench", "SIGKILL " + res.old_primary + " (primary of s1)");

  // Writers publish the first acknowledgement of a write started after the kill.
  const auto give_up = killed + std::chrono::milliseconds(cfg.max_wait_ms);
  bool recovered = false;
  while (Clock::now() < give_up) {
    if (first_ack_after_kill.load() != kNever) {
      recovered = true;
      break;
    }
    std::this_thread::sleep_for(2ms);
  }
  if (recovered) std::this_thread::sleep_for(std::chrono::milliseconds(cfg.load_after_ms));
  stop = true;
  for (auto& th : threads) th.join();
  const auto load_end = Clock::now();

  // ---- results ----
  // Read gap: over every reader's successful reads, merged.
  std::vector<Clock::time_point> ok;
  for (auto& r : readers) {
    ok.insert(ok.end(), r.ok.begin(), r.ok.end());
    res.victim_reads += static_cast<long>(r.ok.size());
    merge(res.victim_read_errors, r.errors);
    if (r.last_error) {
      const double at = ms_between(kill_at, *r.last_error);
      if (std::isnan(res.last_read_error_ms) || at > res.last_read_error_ms)
        res.last_read_error_ms = at;
    }
    res.victim_reads += total(r.errors) + r.mismatches;
    res.mismatches += r.mismatches;
    if (res.first_mismatch.empty()) res.first_mismatch = r.first_mismatch;
  }
  std::sort(ok.begin(), ok.end());
  {
    // A gap that ends after the kill is the failover's; one that ends before it is the
    // machine's own noise (a loaded 2-CPU box stalls threads too), reported as the baseline.
    // A gap still open at the end of the load ends then.
    double best = -1, baseline = 0;
    Clock::time_point best_start = kill_at;
    for (std::size_t i = 1; i <= ok.size(); ++i) {
      const Clock::time_point prev = ok[i - 1];
      const Clock::time_point at = i < ok.size() ? ok[i] : load_end;
      const double g = ms_between(prev, at);
      if (at <= kill_at) {
        baseline = std::max(baseline, g);
      } else if (g > best) {
        best = g;
        best_start = prev;
      }
    }
    if (best >= 0) {
      res.read_gap_ms = best;
      res.read_gap_start_ms = ms_between(kill_at, best_start);
    }
    res.baseline_gap_ms = baseline;
  }

  // First write: the earliest acknowledgement of a write started after the kill.
  std::optional<Clock::time_point> first_write;
  for (auto& w : writers) {
    res.victim_writes_attempted += w.attempts;
    merge(res.victim_write_errors, w.errors);
    if (w.last_error) {
      const double at = ms_between(kill_at, *w.last_error);
      if (std::isnan(res.last_write_error_ms) || at > res.last_write_error_ms)
        res.last_write_error_ms = at;
    }
    for (const auto& a : w.acked) {
      if (a.start >= killed && (!first_write || a.ack < *first_write)) first_write = a.ack;
    }
  }
  for (auto& ot : others) {
    res.other_requests += ot.requests;
    merge(res.other_errors, ot.errors);
    res.mismatches += ot.mismatches;
    if (res.first_mismatch.empty()) res.first_mismatch = ot.first_mismatch;
  }
  res.write_recovered = first_write.has_value();
  if (first_write) res.kill_to_write_ms = ms_between(kill_at, *first_write);

  // Sentinel's view, as received here.
  auto rel = [&](const std::string& channel) -> double {
    auto f = watch.first(channel);
    return f ? ms_between(kill_at, f->first) : kNone;
  };
  res.kill_to_sdown_ms = rel("+sdown");
  res.kill_to_odown_ms = rel("+odown");
  res.kill_to_promoted_ms = rel("+promoted-slave");
  res.kill_to_switch_ms = rel("+switch-master");
  res.announced = watch.switched_to();
  if (auto f = watch.first("+switch-master")) {
    res.switch_sentinel = cluster.sentinel(f->second).address().to_string();
    if (first_write) res.switch_to_write_ms = ms_between(f->first, *first_write);
  }

  // Read back every acknowledged write from the shard's primary (the promoted replica).
  const auto first_key = victim_keys.front();
  res.client_primary = client.node_for(first_key, true).to_string();
  try {
    res.new_primary = cluster.current_primary(victim).address().to_string();
  } catch (const std::exception& e) {
    res.new_primary = std::string("unknown (") + e.what() + ")";
  }
  std::vector<const AckedWrite*> all_acked;
  for (auto& w : writers) {
    for (const auto& a : w.acked) all_acked.push_back(&a);
  }
  constexpr std::size_t kBatch = 200;
  for (std::size_t b = 0; b < all_acked.size(); b += kBatch) {
    const std::size_t e = std::min(all_acked.size(), b + kBatch);
    std::vector<std::string> cmd{"MGET"};
    for (std::size_t i = b; i < e; ++i) cmd.push_back(all_acked[i]->key);
    std::optional<flyshard::Reply> reply;
    for (int attempt = 0; attempt < 20 && !reply; ++attempt) {
      try {
        reply = client.command_on_shard(victim, cmd);
      } catch (const flyshard::Error&) {
        ++res.readback_errors;
        std::this_thread::sleep_for(50ms);
      }
    }
    if (!reply) throw std::runtime_error("cannot read back the acknowledged writes");
    const auto& elems = reply->elements();
    for (std::size_t i = b; i < e; ++i) {
      const AckedWrite& a = *all_acked[i];
      const flyshard::Reply& r = elems.at(i - b);
      const bool present = !r.is_nil() && r.str() == a.value;
      // Started before the old primary was dead: it may have acknowledged the write and died
      // before passing it on. Started after: only a promoted replica can have taken it.
      if (a.start < killed) {
        ++res.acked_before_kill;
        if (!present) {
          ++res.lost_before_kill;
          const double when = ms_between(kill_at, a.ack);
          if (std::isnan(res.earliest_lost_ms) || when < res.earliest_lost_ms)
            res.earliest_lost_ms = when;
        }
      } else {
        ++res.acked_after_kill;
        if (!present) ++res.lost_after_kill;
      }
    }
  }

  for (const auto& ev : timeline.sorted()) {
    const double at = ms_between(kill_at, ev.at);
    res.timeline.emplace_back(at, ev.source + ": " + ev.text);
    if (ev.source == "client" && ev.text.find("shard s1: primary") != std::string::npos &&
        at >= 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%+.1f ms ", at);
      res.client_switches.push_back(buf + ev.text.substr(ev.text.find("primary")));
    }
  }
  if (first_write) res.timeline.emplace_back(res.kill_to_write_ms, "bench: first write acked");
  if (!std::isnan(res.read_gap_start_ms)) {
    res.timeline.emplace_back(res.read_gap_start_ms,
                              "bench: longest read gap starts (" + cell(res.read_gap_ms) + " ms)");
  }
  std::stable_sort(res.timeline.begin(), res.timeline.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return res;
}

// ---- reporting ------------------------------------------------------------------------------

// The timeline lines worth printing: Sentinel's failover steps, the client's health and
// primary changes, the bench's own marks; from just before the kill to shortly after the
// first write. Repeated reconnect failures are counted, not printed.
bool interesting(const std::pair<double, std::string>& ev, const RoundResult& r, long& refused) {
  if (ev.first < -50) return false;
  const double end = std::isnan(r.kill_to_write_ms) ? 1e18 : r.kill_to_write_ms + 100;
  if (ev.first > end && ev.second.find("+switch-master") == std::string::npos) return false;
  if (ev.second.find("connect: connection refused") != std::string::npos) return refused++ == 0;
  return true;
}

void print_round(const RoundResult& r, const Config& cfg) {
  std::printf(
      "\nround %d: s1 primary %s killed; Sentinel promoted %s (+switch-master named %s); "
      "client writes to %s\n",
      r.round, r.old_primary.c_str(), r.new_primary.c_str(),
      r.announced.empty() ? "-" : r.announced.c_str(), r.client_primary.c_str());
  std::printf("  timeline (ms from the kill):\n");
  long refused = 0;
  for (const auto& ev : r.timeline) {
    if (interesting(ev, r, refused)) std::printf("    %+9.1f  %s\n", ev.first, ev.second.c_str());
  }
  if (refused > 1)
    std::printf("    (%ld more 'connection refused' reconnect warnings not shown)\n", refused - 1);
  std::printf(
      "  longest read gap        %s ms (starts at %+.1f ms; aim <= %d ms); before the kill %s "
      "ms\n",
      cell(r.read_gap_ms).c_str(), r.read_gap_start_ms, 2 * cfg.health_interval_ms,
      cell(r.baseline_gap_ms).c_str());
  std::printf("  kill -> first write     %s ms\n", cell(r.kill_to_write_ms).c_str());
  std::printf("  last failed write       %s ms (writes work for good after it)\n",
              cell(r.last_write_error_ms).c_str());
  std::printf("  last failed read        %s ms\n", cell(r.last_read_error_ms).c_str());
  std::printf("  +switch-master -> write %s ms (aim <= 100 ms; +switch-master at %s ms, from %s)\n",
              cell(r.switch_to_write_ms).c_str(), cell(r.kill_to_switch_ms).c_str(),
              r.switch_sentinel.empty() ? "-" : r.switch_sentinel.c_str());
  std::printf("  client switched s1      %zu time(s)%s\n", r.client_switches.size(),
              r.client_switches.size() > 1 ? "  <-- more than once: see the report" : "");
  for (const auto& line : r.client_switches) std::printf("    %s\n", line.c_str());
  std::printf("  victim reads            %ld, errors: %s\n", r.victim_reads,
              describe(r.victim_read_errors).c_str());
  std::printf("  victim writes           %ld, errors: %s\n", r.victim_writes_attempted,
              describe(r.victim_write_errors).c_str());
  std::printf("  other shards            %ld requests, errors: %s\n", r.other_requests,
              describe(r.other_errors).c_str());
  std::printf("  mismatched values       %ld%s%s\n", r.mismatches,
              r.first_mismatch.empty() ? "" : ", first: ", r.first_mismatch.c_str());
  std::printf("  acked writes lost       %ld of %ld started before the kill", r.lost_before_kill,
              r.acked_before_kill);
  if (r.lost_before_kill > 0)
    std::printf(" (oldest lost acked %.1f ms before the kill)", -r.earliest_lost_ms);
  std::printf("; %ld of %ld started after it\n", r.lost_after_kill, r.acked_after_kill);
}

void write_errors(std::ostream& out, const ErrorCounts& e) {
  out << "{";
  bool first = true;
  for (const auto& [k, v] : e) {
    out << (first ? "" : ", ") << "\"" << k << "\": " << v;
    first = false;
  }
  out << "}";
}

void write_json(const std::string& path, const Config& cfg, const std::vector<RoundResult>& rs,
                const std::map<std::string, double>& med) {
  std::ostringstream out;
  out << "{\n  \"benchmark\": \"failover_bench\",\n  \"server\": \""
      << json_escape(flyshard::testing::server_binary()) << "\",\n  \"config\": {"
      << "\"shards\": " << cfg.shards << ", \"replicas\": " << cfg.replicas
      << ", \"sentinels\": " << cfg.sentinels << ", \"threads_per_kind\": " << cfg.threads
      << ", \"health_interval_ms\": " << cfg.health_interval_ms
      << ", \"failure_limit\": 2, \"request_timeout_ms\": 200"
      << ", \"down_after_ms\": " << cfg.down_after_ms
      << ", \"failover_timeout_ms\": " << cfg.failover_timeout_ms
      << ", \"wait_for_promotion_ms\": " << cfg.wait_for_promotion_ms
      << ", \"pace_us\": " << cfg.pace_us << ", \"read_from\": \"" << read_from_name(cfg.read_from)
      << "\"},\n"
      << "  \"rounds\": [";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const RoundResult& r = rs[i];
    out << (i ? "," : "") << "\n    {\"round\": " << r.round
        << ", \"write_recovered\": " << (r.write_recovered ? "true" : "false")
        << ", \"read_gap_ms\": " << json_number(r.read_gap_ms)
        << ", \"read_gap_start_ms\": " << json_number(r.read_gap_start_ms)
        << ", \"baseline_read_gap_ms\": " << json_number(r.baseline_gap_ms)
        << ", \"kill_to_write_ms\": " << json_number(r.kill_to_write_ms)
        << ", \"last_write_error_ms\": " << json_number(r.last_write_error_ms)
        << ", \"last_read_error_ms\": " << json_number(r.last_read_error_ms)
        << ", \"switch_to_write_ms\": " << json_number(r.switch_to_write_ms)
        << ", \"kill_to_sdown_ms\": " << json_number(r.kill_to_sdown_ms)
        << ", \"kill_to_odown_ms\": " << json_number(r.kill_to_odown_ms)
        << ", \"kill_to_promoted_ms\": " << json_number(r.kill_to_promoted_ms)
        << ", \"kill_to_switch_master_ms\": " << json_number(r.kill_to_switch_ms)
        << ", \"switch_master_from\": \"" << json_escape(r.switch_sentinel) << "\""
        << ", \"client_switches\": [";
    for (std::size_t j = 0; j < r.client_switches.size(); ++j)
      out << (j ? ", " : "") << "\"" << json_escape(r.client_switches[j]) << "\"";
    out << "]"
        << ", \"victim_reads\": " << r.victim_reads << ", \"victim_read_errors\": ";
    write_errors(out, r.victim_read_errors);
    out << ", \"victim_writes\": " << r.victim_writes_attempted << ", \"victim_write_errors\": ";
    write_errors(out, r.victim_write_errors);
    out << ", \"other_requests\": " << r.other_requests << ", \"other_errors\": ";
    write_errors(out, r.other_errors);
    out << ", \"mismatches\": " << r.mismatches
        << ", \"acked_before_kill\": " << r.acked_before_kill
        << ", \"lost_before_kill\": " << r.lost_before_kill
        << ", \"earliest_lost_ms\": " << json_number(r.earliest_lost_ms)
        << ", \"acked_after_kill\": " << r.acked_after_kill
        << ", \"lost_after_kill\": " << r.lost_after_kill << ", \"old_primary\": \""
        << r.old_primary << "\", \"new_primary\": \"" << json_escape(r.new_primary)
        << "\", \"client_primary\": \"" << r.client_primary << "\", \"timeline\": [";
    for (std::size_t j = 0; j < r.timeline.size(); ++j) {
      out << (j ? ", " : "") << "[" << json_number(r.timeline[j].first) << ", \""
          << json_escape(r.timeline[j].second) << "\"]";
    }
    out << "]}";
  }
  out << "\n  ],\n  \"median\": {";
  bool first = true;
  for (const auto& [k, v] : med) {
    out << (first ? "" : ", ") << "\"" << k << "\": " << json_number(v);
    first = false;
  }
  out << "}\n}\n";
  flyshard::bench::write_file(path, out.str());
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    std::printf(
        "failover_bench: %zu shards x (primary + %zu replicas), %zu sentinels (down-after %d "
        "ms, failover-timeout %d ms), server %s\n"
        "client: read_from %s, health_interval %d ms, failure_limit 2, request_timeout "
        "200 ms, wait_for_promotion %d ms; load: %d threads each of victim readers, victim "
        "writers, other-shard workers, %d us pause\n",
        cfg.shards, cfg.replicas, cfg.sentinels, cfg.down_after_ms, cfg.failover_timeout_ms,
        flyshard::testing::server_binary().c_str(), read_from_name(cfg.read_from),
        cfg.health_interval_ms, cfg.wait_for_promotion_ms, cfg.threads, cfg.pace_us);
    std::fflush(stdout);
    std::vector<RoundResult> rounds;
    for (int r = 1; r <= cfg.rounds; ++r) {
      rounds.push_back(run_round(cfg, r));
      print_round(rounds.back(), cfg);
      std::fflush(stdout);
    }

    // The table: one row per round, then the medians (of every numeric column).
    struct Column {
      const char* header;
      const char* json;  // key in the JSON "median" object
      double (*get)(const RoundResult&);
      const char* format;
    };
    const std::vector<Column> columns{
        {"read_gap", "read_gap_ms", [](const RoundResult& r) { return r.read_gap_ms; }, "%.1f"},
        {"gap_before", "baseline_read_gap_ms",
         [](const RoundResult& r) { return r.baseline_gap_ms; }, "%.1f"},
        {"kill->write", "kill_to_write_ms", [](const RoundResult& r) { return r.kill_to_write_ms; },
         "%.1f"},
        {"switch->write", "switch_to_write_ms",
         [](const RoundResult& r) { return r.switch_to_write_ms; }, "%.1f"},
        {"last_w_err", "last_write_error_ms",
         [](const RoundResult& r) { return r.last_write_error_ms; }, "%.1f"},
        {"odown", "kill_to_odown_ms", [](const RoundResult& r) { return r.kill_to_odown_ms; },
         "%.1f"},
        {"promoted", "kill_to_promoted_ms",
         [](const RoundResult& r) { return r.kill_to_promoted_ms; }, "%.1f"},
        {"switch", "kill_to_switch_master_ms",
         [](const RoundResult& r) { return r.kill_to_switch_ms; }, "%.1f"},
        {"r_errs", "victim_read_errors",
         [](const RoundResult& r) { return double(total(r.victim_read_errors)); }, "%.0f"},
        {"w_errs", "victim_write_errors",
         [](const RoundResult& r) { return double(total(r.victim_write_errors)); }, "%.0f"},
        {"o_errs", "other_errors",
         [](const RoundResult& r) { return double(total(r.other_errors)); }, "%.0f"},
        {"wrong", "mismatches", [](const RoundResult& r) { return double(r.mismatches); }, "%.0f"},
        {"lost", "lost_before_kill",
         [](const RoundResult& r) { return double(r.lost_before_kill); }, "%.0f"},
        {"acked", "acked_before_kill",
         [](const RoundResult& r) { return double(r.acked_before_kill); }, "%.0f"},
        {"lost_after", "lost_after_kill",
         [](const RoundResult& r) { return double(r.lost_after_kill); }, "%.0f"},
        {"switches", "client_switches",
         [](const RoundResult& r) { return double(r.client_switches.size()); }, "%.0f"},
    };
    std::map<std::string, double> med;
    auto width = [](const Column& c) {
      return std::max(8, static_cast<int>(std::strlen(c.header)));
    };
    std::printf("\n%-6s", "round");
    for (const auto& c : columns) std::printf(" %*s", width(c), c.header);
    std::printf("\n");
    for (const auto& r : rounds) {
      std::printf("%-6d", r.round);
      for (const auto& c : columns) std::printf(" %*s", width(c), cell(c.get(r), c.format).c_str());
      std::printf("\n");
    }
    std::printf("%-6s", "median");
    for (const auto& c : columns) {
      std::vector<double> v;
      for (const auto& r : rounds) v.push_back(c.get(r));
      med[c.json] = median(v);
      std::printf(" %*s", width(c), cell(med[c.json], c.format).c_str());
    }
    std::printf("\n");
    long lost = 0, acked = 0, lost_after = 0, flipped = 0;
    for (const auto& r : rounds) {
      lost += r.lost_before_kill;
      acked += r.acked_before_kill;
      lost_after += r.lost_after_kill;
      if (r.client_switches.size() > 1) ++flipped;
    }
    std::printf(
        "(ms. read_gap: the longest gap between successful reads of s1 that ended after the\n"
        " kill; gap_before: the same before the kill (the machine's noise floor); kill->write,\n"
        " last_w_err (the last failed write to s1: writes work for good after it), odown,\n"
        " promoted, switch (+odown, +promoted-slave, +switch-master as received here): from the\n"
        " kill; switch->write: from the first +switch-master received here. r/w/o_errs: errors\n"
        " of victim reads, victim writes, other shards; wrong: values that differ from what was\n"
        " written; lost/acked: writes started before the kill (acknowledged by the old primary)\n"
        " and missing after it; lost_after: writes started after the kill and missing;\n"
        " switches: times the client re-pointed s1's primary)\n");
    std::printf(
        "all rounds: %ld of %ld writes acknowledged before the kill lost; %ld written "
        "after it lost; %ld of %zu rounds re-pointed s1 more than once\n",
        lost, acked, lost_after, flipped, rounds.size());
    std::printf(
        "aims: read gap <= %d ms (2 x health_interval): median %s; first write <= 100 "
        "ms after +switch-master: median %s\n",
        2 * cfg.health_interval_ms, cell(med["read_gap_ms"]).c_str(),
        cell(med["switch_to_write_ms"]).c_str());

    if (!cfg.json.empty()) {
      write_json(cfg.json, cfg, rounds, med);
      std::printf("JSON written to %s\n", cfg.json.c_str());
    }
    for (const auto& r : rounds) {
      if (!r.write_recovered) return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "failover_bench: %s\n", e.what());
    return 1;
  }
}
