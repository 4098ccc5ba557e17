// Writes around a down primary, against real servers: parked async writes keep their order
// with the writes made after them, a pipeline or multi-key call waits for a primary once (not
// once per write or shard), and one hung shard fails only its own keys of a multi-key call.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "client_helpers.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::key_on;
using flyshard::testing::LocalCluster;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

ClientOptions fast_options() {
  ClientOptions o;
  o.request_timeout = 200ms * kSlow;
  o.connect_timeout = 100ms * kSlow;
  o.reconnect_min = 10ms;
  o.reconnect_max = 50ms;
  o.health_interval = 50ms * kSlow;
  o.failure_limit = 1;
  o.log_level = LogLevel::error;
  return o;
}

template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds within = 10000ms * kSlow) {
  const auto until = Clock::now() + within;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

bool shard_writable(Client& c, const std::string& key) {
  try {
    c.set(key, "probe");
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(WriteOrderTest, WritesMadeAfterParkedWritesLandAfterThem) {
  ClusterOptions co;
  co.shards = 2;
  LocalCluster cluster(co);
  ClientOptions o = fast_options();
  o.wait_for_promotion = 10000ms * kSlow;
  // Parked writes are retried on the sweep tick (a tenth of the shortest timeout, at most
  // 25 ms): long timeouts give writes made once the primary is back the widest window to
  // overtake them.
  o.request_timeout = o.connect_timeout = 1000ms * kSlow;
  o.health_interval = 10ms * kSlow;
  Client c(cluster.topology(), o);
  const std::string list = key_on(c, 0, "order-list-");
  // Several rounds: each gives writes one chance to overtake the parked one.
  for (int round = 0; round < 4; ++round) {
    cluster.primary(0).kill();
    ASSERT_TRUE(eventually([&] {
      for (const auto& n : c.stats().nodes) {
        if (n.shard == "s1" && n.role == "primary") return !n.up;
      }
      return false;
    }));
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
    auto push = [&](int i) {
      c.async().command({"RPUSH", list, std::to_string(i)}, [&](Result<Reply> r) {
        if (!r.ok()) failed++;
        done++;
      });
    };
    push(0);                       // parked: the shard has no primary
    cluster.primary(0).restart();  // empty: the list starts again
    // Keep writing while the primary comes back: writes made once it is up must not
    // overtake the parked one.
    int sent = 1;
    while (done.load() == 0 && sent < 200000) {
      push(sent++);
      if (sent % 16 == 0) std::this_thread::sleep_for(50us);
    }
    ASSERT_TRUE(eventually([&] { return done.load() == sent; }));
    EXPECT_EQ(failed.load(), 0);
    Reply r = c.command({"LRANGE", list, "0", "-1"});
    ASSERT_EQ(static_cast<int>(r.elements().size()), sent);
    for (int i = 0; i < sent; ++i) {
      ASSERT_EQ(r.elements()[i].str(), std::to_string(i)) << "round " << round << " position " << i;
    }
  }
}

TEST(WriteOrderTest, PipelineAndMultiKeyCallsWaitForAPrimaryOnce) {
  ClusterOptions co;
  co.shards = 3;
  LocalCluster cluster(co);
  ClientOptions o = fast_options();
  const auto wait = 300ms * kSlow;
  o.wait_for_promotion = wait;
  Client c(cluster.topology(), o);
  const std::string probe = key_on(c, 0, "p");
  cluster.primary(0).kill();
  ASSERT_TRUE(eventually([&] { return !shard_writable(c, probe); }));

  Pipeline p = c.pipeline();
  for (int i = 0; i < 6; ++i)
    p.command({"SET", key_on(c, 0, "pipe" + std::to_string(i) + "-"), "v"});
  auto start = Clock::now();
  auto results = p.execute();
  auto took = Clock::now() - start;
  for (auto& r : results) EXPECT_EQ(r.error(), errc::shard_unavailable);
  // Once for the call: six waits in turn would take six times as long.
  EXPECT_LT(took, 3 * wait);

  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t s = 0; s < 3; ++s) pairs.emplace_back(key_on(c, s, "ms-"), "v");
  cluster.primary(1).kill();
  ASSERT_TRUE(eventually([&] { return !shard_writable(c, key_on(c, 1, "p")); }));
  start = Clock::now();
  MultiKeyReply m = c.mset_partial(pairs);
  took = Clock::now() - start;
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.key_errors[0], errc::shard_unavailable);
  EXPECT_EQ(m.key_errors[1], errc::shard_unavailable);
  EXPECT_FALSE(m.key_errors[2].has_value());
  EXPECT_LT(took, 2 * wait);
}

TEST(WriteOrderTest, OneHungShardFailsOnlyItsOwnKeys) {
  ClusterOptions co;
  co.shards = 3;
  LocalCluster cluster(co);
  for (std::size_t s = 0; s < 3; ++s) {
    cluster.primary(s).command({"CONFIG", "SET", "requirepass", "hung-secret"});
  }
  Topology t = cluster.topology();
  t.auth.password = "hung-secret";
  ClientOptions o = fast_options();
  o.health_interval = 0ms;            // only the calls below
  o.connect_timeout = 600ms * kSlow;  // a handshake with the hung node takes this long
  o.request_timeout = 200ms * kSlow;
  Client c(t, o);
  std::vector<std::string> keys;
  for (std::size_t s = 0; s < 3; ++s) {
    keys.push_back(key_on(c, s, "hung-"));
    cluster.primary(s).command({"AUTH", "hung-secret"});
  }
  // Values written only on the shards that stay up (no link to shard 1 is pooled yet).
  c.set(keys[0], "value-0");
  c.set(keys[2], "value-2");
  cluster.primary(1).stop();
  struct Resume {
    flyshard::testing::ServerProcess& p;
    ~Resume() { p.resume(); }
  } resume{cluster.primary(1)};
  MultiKeyReply m = c.multi_key_partial("MGET", keys);
  ASSERT_EQ(m.key_errors.size(), 3u);
  EXPECT_FALSE(m.key_errors[0].has_value());
  EXPECT_TRUE(m.key_errors[1].has_value());
  EXPECT_FALSE(m.key_errors[2].has_value());
  ASSERT_TRUE(m.reply.is_array());
  EXPECT_EQ(m.reply.elements()[0].str(), "value-0");
  EXPECT_EQ(m.reply.elements()[2].str(), "value-2");
}

}  // namespace
