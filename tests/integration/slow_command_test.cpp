// One slow command with a burst of requests queued behind it times out many requests at once;
// that must not mark a node down that still answers (issue: every timeout used to count
// toward failure_limit, so a long script failed its shard's writes).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

// Busy-waits inside the server for ARGV[1] ms: the whole node is blocked meanwhile.
constexpr const char* kSpin = R"(
local t = redis.call('TIME')
local start = t[1] * 1000 + math.floor(t[2] / 1000)
local now = start
while now - start < tonumber(ARGV[1]) do
  t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
end
return now - start
)";

TEST(SlowCommandTest, BurstOfTimeoutsBehindOneSlowScriptDoesNotMarkTheNodeDown) {
  ClusterOptions co;
  co.shards = 1;
  LocalCluster cluster(co);
  ClientOptions o;
  o.request_timeout = 100ms * FLYSHARD_SLOWDOWN;
  // Long (and scaled like the script): no check repairs a wrong "down" during the test.
  o.health_interval = 2000ms * FLYSHARD_SLOWDOWN;
  o.failure_limit = 3;
  o.log_level = LogLevel::error;
  Client client(cluster.topology(), o);
  client.set("warm", "1");

  // The slow script runs on the blocking path (its own connection), 600 ms long; meanwhile
  // 50 async GETs on the shared link time out.
  auto slow = std::async(std::launch::async, [&] {
    try {
      return client.eval(kSpin, {"spin"}, {std::to_string(600 * FLYSHARD_SLOWDOWN)}).integer();
    } catch (const Error&) {
      return -1LL;  // it times out too; what matters is the node's health below
    }
  });
  // Let the script start before the burst (it blocks the server, so a GET then hangs).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::atomic<int> done{0}, timeouts{0};
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(2ms);
    client.async().command({"GET", "k" + std::to_string(i)}, [&](Result<Reply> r) {
      if (!r.ok() && r.error() == errc::timeout) ++timeouts;
      ++done;
    });
  }
  while (done.load() < 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(done.load(), 50);
  slow.get();
  ASSERT_GE(timeouts.load(), 10) << "the burst should have timed out behind the script";
  // Wait for the script to end on the server (its client gave up long ago): PING the shard
  // until one answers (these timeouts fall in the same window as the burst's).
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    try {
      answered = client.command_on_shard(0, {"PING"}).str() == "PONG";
    } catch (const Error& e) {
      ASSERT_EQ(e.value(), errc::timeout) << e.what();
    }
  }
  ASSERT_TRUE(answered);

  // The node answers again: a write must go through at once, not fail as shard_unavailable.
  EXPECT_NO_THROW(client.set("after", "v-after"));
  EXPECT_EQ(client.get("after"), "v-after");
  for (const NodeStats& n : client.stats().nodes) EXPECT_TRUE(n.up) << n.address;
}

}  // namespace
