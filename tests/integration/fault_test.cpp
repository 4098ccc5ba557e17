// Faults injected by PID: a SIGKILLed node (crash) and a SIGSTOPped node (hung).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

// Short, so the suite is fast; a sanitizer build (FLYSHARD_SLOWDOWN) gets more room.
constexpr auto kTimeout = 150ms * FLYSHARD_SLOWDOWN;

ClientOptions fast_options() {
  ClientOptions o;
  o.request_timeout = kTimeout;
  o.connect_timeout = 100ms * FLYSHARD_SLOWDOWN;
  o.reconnect_min = 10ms;
  o.reconnect_max = 100ms;
  o.log_level = LogLevel::error;
  return o;
}

// A key on each shard.
std::vector<std::string> key_per_shard(const Client& c) {
  std::vector<std::string> keys(c.topology().shards.size());
  for (int i = 0; ; ++i) {
    std::string k = "fk" + std::to_string(i);
    if (keys[c.shard_for(k)].empty()) keys[c.shard_for(k)] = k;
    if (std::all_of(keys.begin(), keys.end(), [](auto& s) { return !s.empty(); })) break;
  }
  return keys;
}

// Runs fn and returns how long it took and the errc it threw (errc{} when none).
template <typename Fn>
std::pair<std::chrono::milliseconds, errc> timed(Fn fn) {
  auto start = std::chrono::steady_clock::now();
  errc code{};
  try {
    fn();
  } catch (const Error& e) {
    code = e.value();
  }
  return {std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start),
          code};
}

Result<Reply> async_get(Client& c, const std::string& key) {
  std::promise<Result<Reply>> p;
  auto f = p.get_future();
  c.async().command({"GET", key}, [&p](Result<Reply> r) { p.set_value(std::move(r)); });
  // Bounded: a lost callback fails the test instead of hanging it.
  if (f.wait_for(10s * FLYSHARD_SLOWDOWN) != std::future_status::ready) {
    ADD_FAILURE() << "async GET " << key << ": no callback within 10 s";
    std::abort();  // the promise is still referenced by the pending callback
  }
  return f.get();
}

// Every key gets its own value, so a reply delivered to the wrong caller cannot pass.
std::string value_of(const std::string& key) { return "val:" + key; }

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.shards = 3;
    cluster_ = std::make_unique<LocalCluster>(o);
  }
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(FaultTest, KilledNodeFailsItsShardWithinTheTimeoutOthersKeepWorking) {
  Client c(cluster_->topology(), fast_options());
  auto keys = key_per_shard(c);
  for (auto& k : keys) c.set(k, value_of(k));
  for (auto& k : keys) ASSERT_TRUE(async_get(c, k).ok());  // async links are up

  cluster_->primary(0).kill();
  for (int round = 0; round < 5; ++round) {
    auto [took, code] = timed([&] { c.get(keys[0]); });
    EXPECT_TRUE(is_transport(code)) << "round " << round << ": " << static_cast<int>(code);
    EXPECT_LT(took, kTimeout + 100ms * FLYSHARD_SLOWDOWN);
    auto r = async_get(c, keys[0]);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(is_transport(r.error())) << r.message();
    // Other shards never notice.
    EXPECT_EQ(c.get(keys[1]), value_of(keys[1]));
    EXPECT_EQ(c.get(keys[2]), value_of(keys[2]));
    auto other = async_get(c, keys[1]);
    ASSERT_TRUE(other.ok()) << other.message();
    EXPECT_EQ(other.value().str(), value_of(keys[1]));
  }
  // Multi-key commands fail only the dead shard's keys.
  MultiKeyReply m = c.multi_key_partial("MGET", keys);
  EXPECT_FALSE(m.ok());
  EXPECT_TRUE(m.key_errors[0].has_value());
  EXPECT_FALSE(m.key_errors[1].has_value());
  EXPECT_EQ(m.reply.elements()[1].str(), value_of(keys[1]));
  EXPECT_EQ(m.reply.elements()[2].str(), value_of(keys[2]));

  cluster_->primary(0).restart();  // comes back empty
  bool blocking_ok = false, async_ok = false;
  for (int i = 0; i < 100 && !(blocking_ok && async_ok); ++i) {
    try {
      c.set(keys[0], "again");
      blocking_ok = c.get(keys[0]) == "again";
    } catch (const Error&) {
    }
    auto r = async_get(c, keys[0]);
    async_ok = r.ok() && r.value().str() == "again";
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(blocking_ok);
  EXPECT_TRUE(async_ok);
  auto stats = c.stats();
  std::uint64_t reconnects = 0;
  for (auto& n : stats.nodes) reconnects += n.reconnects;
  EXPECT_GE(reconnects, 1u);
}

TEST_F(FaultTest, StoppedNodeTimesOutWithoutHangingAndRecoversAfterResume) {
  Client c(cluster_->topology(), fast_options());
  auto keys = key_per_shard(c);
  for (auto& k : keys) c.set(k, value_of(k));
  ASSERT_TRUE(async_get(c, keys[1]).ok());

  cluster_->primary(1).stop();
  for (int round = 0; round < 3; ++round) {
    auto [took, code] = timed([&] { c.get(keys[1]); });
    // A timeout, or shard_unavailable once failure_limit failures marked the node down.
    EXPECT_TRUE(code == errc::timeout || code == errc::shard_unavailable)
        << static_cast<int>(code);
    EXPECT_LT(took, kTimeout + 100ms * FLYSHARD_SLOWDOWN);
    auto start = std::chrono::steady_clock::now();
    auto r = async_get(c, keys[1]);
    auto took_async = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(is_transport(r.error())) << r.message();
    EXPECT_LT(took_async, kTimeout + 100ms * FLYSHARD_SLOWDOWN);
    EXPECT_EQ(c.get(keys[0]), value_of(keys[0]));
  }
  cluster_->primary(1).resume();
  bool blocking_ok = false, async_ok = false;
  for (int i = 0; i < 100 && !(blocking_ok && async_ok); ++i) {
    try {
      blocking_ok = c.get(keys[1]) == value_of(keys[1]);
    } catch (const Error&) {
    }
    auto r = async_get(c, keys[1]);
    async_ok = r.ok() && r.value().str() == value_of(keys[1]);
    if (!(blocking_ok && async_ok)) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(blocking_ok);
  EXPECT_TRUE(async_ok);
}

TEST_F(FaultTest, ClientStartsWhileANodeIsDownAndPicksItUpLater) {
  cluster_->primary(2).kill();
  Client c(cluster_->topology(), fast_options());
  auto keys = key_per_shard(c);
  EXPECT_THROW(c.get(keys[2]), Error);
  EXPECT_FALSE(c.get(keys[0]).has_value());
  cluster_->primary(2).restart();
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {
    ok = async_get(c, keys[2]).ok();
    if (!ok) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(ok);
}

}  // namespace
