// AsyncClient::scan, hscan, sscan, zscan: every key of every shard batch by batch through
// next(cb), the filters, the read policy (evidence: the servers' own count of SCAN calls),
// a stopped shard, and a scan driven from a coroutine.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "eventually.hpp"
#include "flyshard/coro.hpp"
#include "flyshard/flyshard.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::eventually;
using flyshard::testing::ServerProcess;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

// Three shards, one replica each, shared by the suite and flushed before every test.
class AsyncScanTest : public flyshard::testing::SharedClusterTest<3, 1> {};

// One next(), waited for; also records the thread its callback ran on.
template <typename T>
Result<std::optional<std::vector<T>>> next_of(AsyncScan<T>& scan,
                                              std::thread::id* thread = nullptr) {
  std::promise<Result<std::optional<std::vector<T>>>> p;
  scan.next([&](Result<std::optional<std::vector<T>>> r) {
    if (thread != nullptr) *thread = std::this_thread::get_id();
    p.set_value(std::move(r));
  });
  return p.get_future().get();
}

// Everything the scan yields (throws on an error); counts the batches.
template <typename T>
std::vector<T> drain(AsyncScan<T>& scan, std::size_t* batches = nullptr) {
  std::vector<T> out;
  while (auto batch = next_of(scan).value()) {
    EXPECT_FALSE(batch->empty());  // empty server batches are skipped
    out.insert(out.end(), batch->begin(), batch->end());
    if (batches != nullptr) ++*batches;
  }
  return out;
}

long long scan_calls(ServerProcess& p) {
  const auto stat = p.info_field("commandstats", "cmdstat_scan");  // "calls=N,usec=..."
  return stat ? std::stoll(stat->substr(stat->find('=') + 1)) : 0;
}

// Writes prefix0..prefix<n-1>; returns their names.
std::set<std::string> write_keys(Client& client, const std::string& prefix, int n) {
  std::set<std::string> keys;
  for (int i = 0; i < n; ++i) {
    keys.insert(prefix + std::to_string(i));
    client.set(prefix + std::to_string(i), "v");
  }
  return keys;
}

TEST_F(AsyncScanTest, EveryKeyOfEveryShard) {
  Client client(cluster_->topology());
  std::set<std::string> written;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 3000; ++i) {
    written.insert("key:" + std::to_string(i));
    pairs.emplace_back("key:" + std::to_string(i), "v");
  }
  client.mset(pairs);
  // Every shard holds a share: the scan must go from shard to shard.
  std::vector<std::size_t> per_shard(3);
  for (const auto& k : written) ++per_shard[client.shard_for(k)];
  for (std::size_t n : per_shard) ASSERT_GT(n, 100u);

  AsyncKeyScan scan = client.async().scan({.count = 100});
  std::thread::id callback_thread;
  auto first = next_of(scan, &callback_thread).value();
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(callback_thread, std::this_thread::get_id());
  std::size_t batches = 1;
  std::vector<std::string> keys(first->begin(), first->end());
  for (auto& k : drain(scan, &batches)) keys.push_back(std::move(k));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), written);
  EXPECT_GE(keys.size(), written.size());
  EXPECT_GT(batches, 10u);  // batch by batch, not all at once
  // Done stays done.
  EXPECT_FALSE(next_of(scan).value().has_value());
}

TEST_F(AsyncScanTest, MatchTypeAndCount) {
  Client client(cluster_->topology());
  const std::set<std::string> users = write_keys(client, "user:", 300);
  write_keys(client, "other:", 300);
  std::set<std::string> hashes;
  for (int i = 0; i < 300; ++i) {
    hashes.insert("h:" + std::to_string(i));
    client.hset("h:" + std::to_string(i), {{"f", "v"}});
  }
  auto matched = client.async().scan({.match = "user:*", .count = 50});
  auto m = drain(matched);
  EXPECT_EQ(std::set<std::string>(m.begin(), m.end()), users);

  auto typed = client.async().scan({.type = "hash"});
  auto t = drain(typed);
  EXPECT_EQ(std::set<std::string>(t.begin(), t.end()), hashes);

  // COUNT: a larger hint means fewer, larger batches over the same 900 keys.
  std::size_t small_batches = 0, large_batches = 0;
  auto small = client.async().scan({.count = 10});
  auto large = client.async().scan({.count = 1000});
  EXPECT_EQ(drain(small, &small_batches).size(), drain(large, &large_batches).size());
  EXPECT_GT(small_batches, 30u);
  EXPECT_LE(large_batches, 6u);
}

TEST_F(AsyncScanTest, ReplicaPolicyScansReplicas) {
  ClientOptions o;
  o.read_from = ReadFrom::replica;
  o.health_interval = 50ms;
  Client c(cluster_->topology(), o);
  const std::set<std::string> written = write_keys(c, "key:", 60);
  auto scan_all = [&] {
    auto scan = c.async().scan({.count = 7});
    auto keys = drain(scan);
    return std::set<std::string>(keys.begin(), keys.end());
  };
  // Replicated, and the replicas found eligible by the health checks (until then a replica
  // read may fail: an empty set).
  auto scan_or_nothing = [&] {
    try {
      return scan_all();
    } catch (const Error&) {
      return std::set<std::string>{};
    }
  };
  ASSERT_TRUE(eventually([&] { return scan_or_nothing() == written; }, 10s * kSlow));
  std::vector<long long> primary_before, replica_before;
  for (std::size_t s = 0; s < 3; ++s) {
    primary_before.push_back(scan_calls(cluster_->primary(s)));
    replica_before.push_back(scan_calls(cluster_->replica(s, 0)));
  }
  EXPECT_EQ(scan_all(), written);
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_GT(scan_calls(cluster_->replica(s, 0)), replica_before[s]) << "shard " << s;
    EXPECT_EQ(scan_calls(cluster_->primary(s)), primary_before[s]) << "shard " << s;
  }

  // The default policy: primaries only.
  Client p(cluster_->topology());
  for (std::size_t s = 0; s < 3; ++s) {
    primary_before[s] = scan_calls(cluster_->primary(s));
    replica_before[s] = scan_calls(cluster_->replica(s, 0));
  }
  auto scan = p.async().scan();
  auto keys = drain(scan);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), written);
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_GT(scan_calls(cluster_->primary(s)), primary_before[s]) << "shard " << s;
    EXPECT_EQ(scan_calls(cluster_->replica(s, 0)), replica_before[s]) << "shard " << s;
  }
}

TEST_F(AsyncScanTest, StoppedShardFailsWithinTheTimeout) {
  ClientOptions o;
  o.request_timeout = 300ms;
  o.health_interval = 0ms;
  Client client(cluster_->topology(), o);
  write_keys(client, "k", 30);
  // Shard 1's primary hangs: shard 0 is scanned, then shard 1's SCAN times out.
  auto& server = cluster_->primary(1);
  server.stop();
  struct Resume {
    ServerProcess& s;
    ~Resume() { s.resume(); }
  } resume_guard{server};

  auto scan = client.async().scan({.count = 1000});
  auto first = next_of(scan);
  ASSERT_TRUE(first.ok()) << first.message();
  ASSERT_TRUE(first.value().has_value());
  for (const auto& k : *first.value()) EXPECT_EQ(client.shard_for(k), 0u) << k;

  std::promise<Result<std::optional<std::vector<std::string>>>> p;
  const auto start = std::chrono::steady_clock::now();
  scan.next([&](auto r) { p.set_value(std::move(r)); });
  // One next() at a time: a second one fails at once and disturbs nothing.
  auto second = next_of(scan);
  EXPECT_EQ(second.error(), errc::config);
  auto r = p.get_future().get();
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::timeout) << r.message();
  EXPECT_LT(waited, 300ms + 2s * kSlow);

  // Back up: the same step again, on to the end.
  server.resume();
  std::set<std::string> rest;
  ASSERT_TRUE(eventually(
      [&] {
        try {
          for (auto& k : drain(scan)) rest.insert(k);
          return true;
        } catch (const Error&) {
          return false;
        }
      },
      5s * kSlow));
  for (const auto& k : *first.value()) rest.insert(k);
  EXPECT_EQ(rest.size(), 30u);
}

TEST_F(AsyncScanTest, PerKeyScans) {
  Client client(cluster_->topology());
  std::map<std::string, std::string> fields;
  std::set<std::string> members;
  std::map<std::string, double> scored;
  std::vector<std::pair<std::string, std::string>> hpairs;
  std::vector<std::string> svals;
  std::vector<std::pair<double, std::string>> zvals;
  for (int i = 0; i < 500; ++i) {
    const std::string n = std::to_string(i);
    fields["f" + n] = "v" + n;
    hpairs.emplace_back("f" + n, "v" + n);
    members.insert("m" + n);
    svals.push_back("m" + n);
    scored["z" + n] = i + 0.5;
    zvals.emplace_back(i + 0.5, "z" + n);
  }
  client.hset("h", hpairs);
  client.sadd("s", svals);
  client.zadd("z", zvals);

  auto h = client.async().hscan("h", {.count = 50});
  auto hv = drain(h);
  EXPECT_EQ((std::map<std::string, std::string>(hv.begin(), hv.end())), fields);
  auto s = client.async().sscan("s", {.count = 50});
  auto sv = drain(s);
  EXPECT_EQ(std::set<std::string>(sv.begin(), sv.end()), members);
  auto z = client.async().zscan("z", {.count = 50});
  auto zv = drain(z);
  EXPECT_EQ((std::map<std::string, double>(zv.begin(), zv.end())), scored);
  auto matched = client.async().sscan("s", {.match = "m1*"});
  for (const auto& m : drain(matched)) EXPECT_EQ(m.rfind("m1", 0), 0u) << m;

  // WRONGTYPE comes back in the callback.
  auto wrong = client.async().hscan("s");
  auto r = next_of(wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::server_error);
}

TEST_F(AsyncScanTest, DrivenFromACoroutine) {
  Client client(cluster_->topology());
  const std::set<std::string> written = write_keys(client, "c:", 500);
  auto all = [](AsyncClient& a) -> Task<std::pair<std::set<std::string>, int>> {
    std::set<std::string> keys;
    int batches = 0;
    AsyncKeyScan scan = a.scan({.match = "c:*", .count = 20});
    while (auto batch = (co_await next_batch(a, scan)).value()) {
      keys.insert(batch->begin(), batch->end());
      ++batches;
    }
    co_return std::pair{std::move(keys), batches};
  };
  auto [keys, batches] = all(client.async()).sync_wait();
  EXPECT_EQ(keys, written);
  EXPECT_GT(batches, 3);
}

}  // namespace

namespace {

// The callback-chained form the README shows: each next() made from the previous one's
// callback, on the loop thread.
TEST_F(AsyncScanTest, NextFromTheCallback) {
  Client client(cluster_->topology());
  const std::set<std::string> written = write_keys(client, "n:", 400);
  AsyncKeyScan scan = client.async().scan({.count = 25});
  std::set<std::string> seen;
  std::promise<Result<bool>> finished;
  std::function<void(Result<std::optional<std::vector<std::string>>>)> on_batch = [&](auto r) {
    if (!r) {
      finished.set_value(Result<bool>(r.error(), r.message()));
    } else if (!r.value()) {
      finished.set_value(Result<bool>(true));
    } else {
      seen.insert(r.value()->begin(), r.value()->end());
      scan.next(on_batch);
    }
  };
  scan.next(on_batch);
  auto r = finished.get_future().get();
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(seen, written);
}

}  // namespace
