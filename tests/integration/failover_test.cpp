// Replicas, health and failover against real redis-server and redis-sentinel processes,
// started by the test and ended by PID.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;
using Clock = std::chrono::steady_clock;

namespace {

ClientOptions fast_options() {
  // Short, so the suite is fast; a sanitizer build (FLYSHARD_SLOWDOWN) gets more room, or a
  // loaded machine would see false "down"s.
  constexpr int k = FLYSHARD_SLOWDOWN;
  ClientOptions o;
  o.request_timeout = 200ms * k;
  o.connect_timeout = 100ms * k;
  o.reconnect_min = 10ms;
  o.reconnect_max = 100ms;
  o.health_interval = 100ms * k;
  o.failure_limit = 2;
  o.max_replica_lag = 2000ms;
  o.log_level = LogLevel::error;
  return o;
}

// Keys owned by shard `shard`.
std::vector<std::string> keys_on(const Client& c, std::size_t shard, std::size_t n,
                                 const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0; out.size() < n; ++i) {
    std::string k = prefix + std::to_string(i);
    if (c.shard_for(k) == shard) out.push_back(k);
  }
  return out;
}

// Polls `ok` until it is true or `limit` passes.
template <typename Fn>
bool eventually(Fn ok, std::chrono::milliseconds limit = 15s) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return ok();
}

// True when GET `key` (with `read_from`, when given) returns `value` now; false on any error.
bool reads(Client& c, const std::string& key, const std::string& value,
           std::optional<ReadFrom> read_from = std::nullopt) {
  try {
    return (read_from ? c.get(key, *read_from) : c.get(key)) == value;
  } catch (const Error&) {
    return false;
  }
}

bool try_set(Client& c, const std::string& k, const std::string& v, bool verbose = false) {
  try {
    c.set(k, v);
    return true;
  } catch (const Error& e) {
    if (verbose) std::printf("set %s: %s\n", k.c_str(), e.what());
    return false;
  }
}

// Shards x (primary + replicas), no Sentinel.
ClusterOptions layout(std::size_t shards, std::size_t replicas) {
  ClusterOptions o;
  o.shards = shards;
  o.replicas = replicas;
  return o;
}

ClusterOptions sentinel_cluster() {
  ClusterOptions o;
  o.shards = 3;
  o.replicas = 2;
  o.sentinels = 3;
  o.down_after_ms = 500;
  o.failover_timeout_ms = 2000;
  return o;
}

TEST(FailoverTest, KilledPrimaryUnderLoadReplicasServeReadsSentinelPromotesOthersUnaffected) {
  LocalCluster cluster(sentinel_cluster());
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::replica_preferred;
  Client c(cluster.topology(), o);
  const std::size_t victim = 0;
  auto victim_keys = keys_on(c, victim, 50, "v");
  auto other_keys = keys_on(c, 1, 25, "o");
  auto more = keys_on(c, 2, 25, "o");
  other_keys.insert(other_keys.end(), more.begin(), more.end());
  for (auto& k : victim_keys) ASSERT_TRUE(eventually([&] { return try_set(c, k, "val:" + k); }));
  for (auto& k : other_keys) ASSERT_TRUE(eventually([&] { return try_set(c, k, "val:" + k); }));
  // Replicas serve reads once a check found them in sync.
  ASSERT_TRUE(eventually([&] {
    for (auto& n : c.stats().nodes) {
      if (n.role == "replica" && !n.up) return false;
    }
    return c.get(victim_keys[0]) == "val:" + victim_keys[0];
  }));
  std::this_thread::sleep_for(500ms);

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, victim_read_errors{0}, other_errors{0}, victim_write_errors{0};
  std::atomic<int> other_timeouts_retried{0};
  std::atomic<long long> first_write_after_kill_ms{-1};
  std::atomic<Clock::time_point::rep> kill_time{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int i = 0;
      while (!stop) {
        ++i;
        const std::string& vk = victim_keys[(i + t) % victim_keys.size()];
        const std::string& ok = other_keys[(i * 7 + t) % other_keys.size()];
        try {
          auto v = c.get(vk);
          if (v != "val:" + vk) ++wrong;
        } catch (const Error& e) {
          if (++victim_read_errors < 4) std::printf("victim read: %s\n", e.what());
        }
        // A healthy shard's request may meet one timeout when the machine stalls (2 CPUs, a
        // failover's processes and a parallel build): tried once more before it counts. A
        // shard the failover disturbed (marked down, links dropped) fails the second try too.
        for (int attempt = 0; attempt < 2; ++attempt) {
          try {
            auto v = c.get(ok);
            if (v != "val:" + ok) ++wrong;
            c.set("w:{" + ok + "}:" + std::to_string(t), std::to_string(i));
            break;
          } catch (const Error& e) {
            if (e.value() == errc::timeout && attempt == 0) {
              ++other_timeouts_retried;
              continue;
            }
            if (++other_errors < 4) std::printf("other shard: %s\n", e.what());
          }
        }
        if (t == 0) {
          std::string wk = "{" + vk + "}:w";
          if (try_set(c, wk, std::to_string(i))) {
            auto killed = kill_time.load();
            if (killed != 0 && first_write_after_kill_ms < 0) {
              first_write_after_kill_ms =
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      Clock::now().time_since_epoch() - Clock::duration(killed))
                      .count();
            }
          } else {
            ++victim_write_errors;
          }
        }
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  cluster.primary(victim).kill();
  // Stamped once the process is dead and reaped: a write in flight at the kill that still
  // completed must not count as the first write after it.
  kill_time = Clock::now().time_since_epoch().count();
  ASSERT_TRUE(eventually([&] { return first_write_after_kill_ms >= 0; }, 20s))
      << "no write succeeded after the primary was killed";
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& th : threads) th.join();

  EXPECT_EQ(wrong.load(), 0) << "a reply reached the wrong request";
  EXPECT_EQ(other_errors.load(), 0) << "other shards noticed the failover";
  EXPECT_LE(other_timeouts_retried.load(), 2) << "other shards' requests kept timing out";
  // Reads of the victim shard come from replicas; only those in flight at the kill may fail.
  EXPECT_LE(victim_read_errors.load(), 8);
  EXPECT_GT(victim_write_errors.load(), 0);  // writes failed fast while there was no primary
  // The shard now writes to the promoted replica.
  NodeAddress now_primary = c.node_for(victim_keys[0], true);
  EXPECT_NE(now_primary, cluster.primary(victim).address());
  EXPECT_TRUE(eventually([&] {
    return c.node_for(victim_keys[0], true) == cluster.current_primary(victim).address();
  }, 5s));
  std::printf("failover: first write %lld ms after the kill\n", first_write_after_kill_ms.load());

  // The old primary comes back (empty): Sentinel makes it a replica; it is never written to
  // (a write there would fail with READONLY, so every write succeeding shows that).
  // Sentinel converts it only after the instance has reported itself a master for 8 s
  // (4 publish periods) and its INFO was refreshed, which can be 10 s apart: 20 s was short
  // once in a clean-clone CI run.
  cluster.primary(victim).restart();
  ASSERT_TRUE(eventually(
      [&] {
        auto role = cluster.primary(victim).info_field("replication", "role");
        return role && *role == "slave";
      },
      45s))
      << cluster.sentinel(0).log_tail();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(try_set(c, victim_keys[i % victim_keys.size()], "after:" + std::to_string(i), true));
  }
  EXPECT_NE(c.node_for(victim_keys[0], true), cluster.primary(victim).address());
}

TEST(FailoverTest, FailoverStillHappensWithASentinelDeadAndWaitForPromotionHoldsWrites) {
  LocalCluster cluster(sentinel_cluster());
  ClientOptions o = fast_options();
  o.wait_for_promotion = 15s;
  Client c(cluster.topology(), o);
  auto keys = keys_on(c, 1, 5, "k");
  c.set(keys[0], "x");
  cluster.sentinel(0).kill();
  auto start = Clock::now();
  cluster.primary(1).kill();
  // An async write waits for the promotion too (parked on the loop).
  std::promise<Result<Reply>> async_done;
  std::this_thread::sleep_for(o.health_interval * (o.failure_limit + 2));  // primary marked down
  c.async().command({"SET", keys[2], "async-after"},
                    [&](Result<Reply> r) { async_done.set_value(std::move(r)); });
  // A blocking write waits for the promotion instead of failing.
  bool written = false;
  for (int i = 0; i < 20 && !written; ++i) written = try_set(c, keys[1], "after");
  auto took = Clock::now() - start;
  EXPECT_TRUE(written);
  EXPECT_LT(took, 15s);
  EXPECT_EQ(c.get(keys[1]), "after");
  auto async_result = async_done.get_future().get();
  EXPECT_TRUE(async_result.ok()) << async_result.message();
  EXPECT_EQ(c.get(keys[2]), "async-after");
  // Sentinels other than the leader learn the promotion a hello period later.
  EXPECT_TRUE(eventually([&] {
    return c.node_for(keys[1], true) == cluster.current_primary(1).address();
  }, 5s));
}

TEST(FailoverTest, StoppedReplicaStopsServingReadsAndComesBack) {
  LocalCluster cluster(layout(1, 2));
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::replica;
  Client c(cluster.topology(), o);
  c.set("k", "v");
  ASSERT_TRUE(eventually([&] { return reads(c, "k", "v"); }));
  auto requests_of = [&](const NodeAddress& a) {
    for (auto& n : c.stats().nodes) {
      if (n.address == a.to_string()) return n.requests;
    }
    return std::uint64_t{0};
  };
  cluster.replica(0, 0).stop();
  // Within the detection window (failure_limit failures), reads move to the other replica.
  // A check of a hung node takes request_timeout to fail.
  std::this_thread::sleep_for((o.health_interval + o.request_timeout) * (o.failure_limit + 1));
  int failures = 0;
  for (int i = 0; i < 200; ++i) {
    try {
      EXPECT_EQ(c.get("k"), "v");
    } catch (const Error&) {
      ++failures;
    }
  }
  EXPECT_EQ(failures, 0);
  auto stopped_before = requests_of(cluster.replica(0, 0).address());
  cluster.replica(0, 0).resume();
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < 20; ++i) (void)c.get("k");
    return requests_of(cluster.replica(0, 0).address()) > stopped_before;
  }));
}

TEST(FailoverTest, WithoutSentinelWritesFailFastThenRecoverWhenThePrimaryReturns) {
  LocalCluster cluster(layout(2, 1));
  ClientOptions o = fast_options();
  Client c(cluster.topology(), o);
  auto keys = keys_on(c, 0, 3, "nf");
  c.set(keys[0], "v");
  cluster.primary(0).kill();
  // After failure_limit x health_interval (+ a timeout), writes fail at once.
  std::this_thread::sleep_for(o.health_interval * (o.failure_limit + 2) + o.request_timeout);
  for (int i = 0; i < 5; ++i) {
    auto start = Clock::now();
    try {
      c.set(keys[1], "x");
      FAIL() << "write to a dead primary succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::shard_unavailable) << e.what();
    }
    EXPECT_LT(Clock::now() - start, 50ms);
  }
  // primary_preferred reads go to the replica meanwhile.
  EXPECT_THROW(c.get(keys[0]), Error);  // the default policy reads the primary only
  cluster.primary(0).restart();
  EXPECT_TRUE(eventually([&] { return try_set(c, keys[1], "back"); }));
  EXPECT_EQ(c.get(keys[1]), "back");
}

TEST(FailoverTest, PrimaryPreferredReadsFallBackToTheReplica) {
  LocalCluster cluster(layout(1, 1));
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::primary_preferred;
  Client c(cluster.topology(), o);
  c.set("pp", "v");
  ASSERT_TRUE(eventually([&] {
    return cluster.replica(0, 0).command({"GET", "pp"}).str() == "v";
  }));
  std::this_thread::sleep_for(300ms);  // a check has seen the replica in sync
  cluster.primary(0).kill();
  EXPECT_TRUE(eventually([&] { return reads(c, "pp", "v"); }, 3s));
}

TEST(FailoverTest, CachePolicyRehashesADownShardsKeysAndReturnsThemAfterward) {
  LocalCluster cluster(layout(3, 0));
  ClientOptions o = fast_options();
  o.failure_policy = FailurePolicy::cache;
  Client c(cluster.topology(), o);
  auto keys = keys_on(c, 2, 20, "cache");
  for (auto& k : keys) c.set(k, "v");
  cluster.primary(2).kill();
  // A miss, then a fill on another shard.
  ASSERT_TRUE(eventually([&] { return c.shard_for(keys[0]) != 2; }, 5s));
  for (auto& k : keys) {
    EXPECT_NE(c.shard_for(k), 2u);
    if (!c.get(k)) c.set(k, "refilled");
    EXPECT_EQ(c.get(k), "refilled");
  }
  cluster.primary(2).restart();
  EXPECT_TRUE(eventually([&] { return c.shard_for(keys[0]) == 2; }, 5s));
  EXPECT_FALSE(c.get(keys[0]).has_value());  // came back empty: a miss again
}

TEST(FailoverTest, LaggingReplicaIsNotReadFrom) {
  LocalCluster cluster(layout(1, 1));
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::replica_preferred;
  o.max_replica_lag = 500ms;
  Client c(cluster.topology(), o);
  c.set("lag", "1");
  auto replica_requests = [&] {
    for (auto& n : c.stats().nodes) {
      if (n.role == "replica") return n.requests;
    }
    return std::uint64_t{0};
  };
  ASSERT_TRUE(eventually([&] {
    auto before = replica_requests();
    (void)c.get("lag");
    return replica_requests() > before;
  }));
  // Cut the replica off its primary: it keeps answering, but its data ages.
  auto& primary = cluster.primary(0);
  cluster.replica(0, 0).command({"REPLICAOF", "127.0.0.1", "1"});
  c.set("lag", "2");
  std::this_thread::sleep_for(o.health_interval * 3);
  auto before = replica_requests();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(c.get("lag"), "2");  // fresh data, from the primary
  EXPECT_EQ(replica_requests(), before);
  cluster.replica(0, 0).command({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())});
  EXPECT_TRUE(eventually([&] {
    auto b = replica_requests();
    (void)c.get("lag");
    return replica_requests() > b;
  }));
}

TEST(FailoverTest, RestartedEmptyReplicaIsNotReadAsIfItHadData) {
  LocalCluster cluster(layout(1, 1));
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::replica_preferred;
  Client c(cluster.topology(), o);
  c.set("kept", "v");
  // The replica serves reads once a check has seen it in sync.
  ASSERT_TRUE(eventually([&] { return reads(c, "kept", "v", ReadFrom::replica); }));
  // The replica crashes and comes back empty and standalone (nobody re-attaches it).
  cluster.replica(0, 0).kill();
  cluster.replica(0, 0).restart();
  std::this_thread::sleep_for((o.health_interval + o.request_timeout) * (o.failure_limit + 1));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.get("kept"), "v");  // from the primary, never a nil from the empty node
    EXPECT_THROW(c.get("kept", ReadFrom::replica), Error);
  }
}

}  // namespace
