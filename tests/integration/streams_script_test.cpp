// Stream helpers and Script against three real servers started by the test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "client_helpers.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::key_on;
using flyshard::testing::LocalCluster;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSlow = FLYSHARD_SLOWDOWN;

class StreamsScriptTest : public flyshard::testing::SharedClusterTest<3> {
 protected:
  void SetUp() override {
    SharedClusterTest::SetUp();  // flush
    for (std::size_t s = 0; s < cluster_->shards(); ++s) cluster_->primary(s).command({"SCRIPT", "FLUSH"});
  }
  static ClientOptions options() {
    ClientOptions o;
    o.request_timeout = 500ms * kSlow;
    o.log_level = LogLevel::error;
    return o;
  }
};

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST_F(StreamsScriptTest, XaddXlenXrange) {
  Client c(cluster_->topology(), options());
  const std::string s = "orders";
  std::string id1 = c.xadd(s, {{"order", "1"}, {"sku", "a"}});
  std::string id2 = c.xadd(s, {{"order", "2"}});
  EXPECT_NE(id1, id2);
  EXPECT_EQ(c.xadd(s, {{"order", "3"}}, "9999999999999-5"), "9999999999999-5");
  EXPECT_EQ(c.xlen(s), 3);
  // It lives on the shard the key names.
  EXPECT_EQ(cluster_->primary(c.shard_for(s)).command({"XLEN", s}).integer(), 3);

  auto all = c.xrange(s);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], (StreamEntry{id1, Fields{{"order", "1"}, {"sku", "a"}}}));
  EXPECT_EQ(all[1], (StreamEntry{id2, Fields{{"order", "2"}}}));
  EXPECT_EQ(all[2].id, "9999999999999-5");
  auto first = c.xrange(s, "-", "+", 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, id1);
  EXPECT_EQ(c.xrange(s, id2, id2).size(), 1u);
  EXPECT_TRUE(c.xrange("no-such-stream").empty());
  EXPECT_EQ(c.xlen("no-such-stream"), 0);

  // MAXLEN ~: trimmed, approximately.
  for (int i = 0; i < 1000; ++i) c.xadd("capped", {{"i", std::to_string(i)}}, "*", 10);
  EXPECT_LT(c.xlen("capped"), 1000);
  EXPECT_GE(c.xlen("capped"), 10);
  // An error reply throws.
  c.set("plain", "x");
  EXPECT_THROW(c.xadd("plain", {{"a", "b"}}), Error);
}

TEST_F(StreamsScriptTest, GroupReadAckAndBusygroup) {
  Client c(cluster_->topology(), options());
  const std::string s = "jobs";
  EXPECT_TRUE(c.xgroup_create(s, "workers", "0"));  // MKSTREAM
  EXPECT_FALSE(c.xgroup_create(s, "workers", "0"));  // BUSYGROUP
  EXPECT_THROW(c.xgroup_create("missing", "g", "$", false), Error);  // no MKSTREAM

  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(c.xadd(s, {{"job", std::to_string(i)}}));
  auto got = c.xreadgroup("workers", "w1", s, ">", 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[0].fields, (Fields{{"job", "0"}}));
  auto rest = c.xreadgroup("workers", "w2", s);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].id, ids[4]);
  EXPECT_TRUE(c.xreadgroup("workers", "w1", s).empty());  // nothing new, no BLOCK

  // w1's pending entries, re-read with "0"; acked ones leave the list.
  EXPECT_EQ(c.xreadgroup("workers", "w1", s, "0").size(), 3u);
  EXPECT_EQ(c.xack(s, "workers", {ids[0], ids[1]}), 2);
  EXPECT_EQ(c.xack(s, "workers", {ids[0]}), 0);
  EXPECT_EQ(c.xack(s, "workers", {}), 0);
  auto pending = c.xreadgroup("workers", "w1", s, "0");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, ids[2]);
}

TEST_F(StreamsScriptTest, XreadgroupBlockReturnsWhenAnEntryArrivesAndEmptyAfterTheBlockTime) {
  Client c(cluster_->topology(), options());
  const std::string s = "events";
  ASSERT_TRUE(c.xgroup_create(s, "g", "$"));
  // The block time is longer than request_timeout: the call gets its own, longer deadline.
  const auto block = options().request_timeout * 4;

  auto t0 = Clock::now();
  auto empty = c.xreadgroup("g", "c1", s, ">", 10, options().request_timeout * 2);
  auto took = Clock::now() - t0;
  EXPECT_TRUE(empty.empty());
  EXPECT_GE(took, options().request_timeout * 2 - 20ms);
  EXPECT_LT(took, options().request_timeout * 3 + 500ms);

  // An entry added while the call blocks ends it, long before the block time.
  std::thread writer([&] {
    std::this_thread::sleep_for(options().request_timeout + 200ms);
    Client w(cluster_->topology(), options());
    w.xadd(s, {{"k", "v"}});
  });
  t0 = Clock::now();
  auto got = c.xreadgroup("g", "c1", s, ">", 10, block);
  took = Clock::now() - t0;
  writer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].fields, (Fields{{"k", "v"}}));
  EXPECT_GE(took, options().request_timeout);  // past request_timeout without a timeout error
  EXPECT_LT(took, block);

  // Meanwhile other calls are not stalled by the blocked one.
  std::atomic<bool> done{false};
  std::thread blocked([&] {
    (void)c.xreadgroup("g", "c2", s, ">", 10, options().request_timeout * 2);
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  t0 = Clock::now();
  EXPECT_EQ(c.xlen(s), 1);
  EXPECT_TRUE(c.async().command({"PING"}).get().str() == "PONG");
  EXPECT_LT(Clock::now() - t0, options().request_timeout);
  EXPECT_FALSE(done.load());
  blocked.join();
}

TEST_F(StreamsScriptTest, XautoclaimTakesOverADeadConsumersEntries) {
  Client c(cluster_->topology(), options());
  const std::string s = "tasks";
  ASSERT_TRUE(c.xgroup_create(s, "g", "0"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(c.xadd(s, {{"task", std::to_string(i)}}));
  ASSERT_EQ(c.xreadgroup("g", "dead", s).size(), 3u);  // read, never acked

  // Not idle long enough yet.
  AutoClaimed none = c.xautoclaim(s, "g", "alive", 5000ms);
  EXPECT_TRUE(none.entries.empty());
  EXPECT_EQ(none.next_id, "0-0");

  // An entry deleted while pending: XREADGROUP of the pending list returns it without
  // fields (no crash), XAUTOCLAIM reports it as deleted (Redis 7).
  ASSERT_EQ(cluster_->primary(c.shard_for(s)).command({"XDEL", s, ids[1]}).integer(), 1);
  auto pending = c.xreadgroup("g", "dead", s, "0");
  ASSERT_EQ(pending.size(), 3u);
  EXPECT_EQ(pending[1].id, ids[1]);
  EXPECT_TRUE(pending[1].fields.empty());
  EXPECT_EQ(pending[2].fields, (Fields{{"task", "2"}}));

  std::this_thread::sleep_for(300ms);
  AutoClaimed got = c.xautoclaim(s, "g", "alive", 200ms);
  EXPECT_EQ(got.next_id, "0-0");
  ASSERT_EQ(got.entries.size(), 2u);
  EXPECT_EQ(got.entries[0].id, ids[0]);
  EXPECT_EQ(got.entries[0].fields, (Fields{{"task", "0"}}));
  EXPECT_EQ(got.entries[1].id, ids[2]);
  EXPECT_EQ(got.deleted, std::vector<std::string>{ids[1]});
  // They are alive's now.
  EXPECT_EQ(c.xreadgroup("g", "alive", s, "0").size(), 2u);
  EXPECT_TRUE(c.xreadgroup("g", "dead", s, "0").empty());
  EXPECT_EQ(c.xack(s, "g", {ids[0], ids[2]}), 2);

  // COUNT and the cursor.
  for (int i = 0; i < 5; ++i) c.xadd(s, {{"more", std::to_string(i)}});
  ASSERT_EQ(c.xreadgroup("g", "dead", s).size(), 5u);
  std::this_thread::sleep_for(50ms);
  AutoClaimed part = c.xautoclaim(s, "g", "alive", 10ms, "0-0", 2);
  EXPECT_EQ(part.entries.size(), 2u);
  EXPECT_NE(part.next_id, "0-0");
  AutoClaimed next = c.xautoclaim(s, "g", "alive", 10ms, part.next_id, 10);
  EXPECT_EQ(next.entries.size(), 3u);
}

TEST_F(StreamsScriptTest, ScriptRunsLoadsAfterFlushAndCrossShardIsRefused) {
  Client c(cluster_->topology(), options());
  Script script("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])");
  EXPECT_EQ(script.sha1(), c.script_load(script.source()));
  EXPECT_EQ(script.sha1().size(), 40u);
  const std::string k = "{inv:1}:a";
  EXPECT_EQ(script.run(c, {k}, {"v1"}).str(), "v1");
  EXPECT_EQ(c.get(k), "v1");

  // SCRIPT FLUSH on the node: EVALSHA answers NOSCRIPT, EVAL runs and loads it.
  auto& node = cluster_->primary(c.shard_for(k));
  node.command({"SCRIPT", "FLUSH"});
  EXPECT_EQ(node.command({"SCRIPT", "EXISTS", script.sha1()}).elements().at(0).integer(), 0);
  EXPECT_EQ(script.run(c, {k}, {"v2"}).str(), "v2");
  EXPECT_EQ(node.command({"SCRIPT", "EXISTS", script.sha1()}).elements().at(0).integer(), 1);

  // Keyless: the first shard.
  Script keyless("return ARGV[1]");
  EXPECT_EQ(keyless.run(c, {}, {"hi"}).str(), "hi");

  // The script's own error throws server_error.
  Script failing("return redis.error_reply('no stock')");
  try {
    failing.run(c, {k});
    FAIL() << "expected server_error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
    EXPECT_NE(std::string(e.what()).find("no stock"), std::string::npos) << e.what();
  }

  // Keys on two shards: refused before anything is sent.
  std::string a = key_on(c, 0, "x:"), b = key_on(c, 1, "y:");
  Script two("redis.call('SET', KEYS[1], '1'); redis.call('SET', KEYS[2], '1'); return 1");
  try {
    two.run(c, {a, b});
    FAIL() << "expected cross_shard";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::cross_shard) << e.what();
  }
  std::promise<Result<Reply>> p;
  two.run(c.async(), {a, b}, {}, [&](Result<Reply> r) { p.set_value(std::move(r)); });
  Result<Reply> r = p.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::cross_shard);
  EXPECT_EQ(c.exists({a, b}), 0);
  for (std::size_t s = 0; s < cluster_->shards(); ++s) {
    EXPECT_EQ(cluster_->primary(s).command({"SCRIPT", "EXISTS", two.sha1()}).elements().at(0).integer(), 0);
  }
}

TEST_F(StreamsScriptTest, AsyncScriptFallsBackOnceOnTheLoopThread) {
  Client c(cluster_->topology(), options());
  Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const std::string k = "{async:1}:n";
  auto& node = cluster_->primary(c.shard_for(k));
  for (int round = 0; round < 3; ++round) {
    if (round != 1) node.command({"SCRIPT", "FLUSH"});  // NOSCRIPT in rounds 0 and 2
    const auto caller = std::this_thread::get_id();
    std::atomic<int> calls{0};
    std::atomic<bool> on_caller{false};
    std::promise<Result<Reply>> p;
    script.run(c.async(), {k}, {"2"}, [&](Result<Reply> r) {
      if (std::this_thread::get_id() == caller) on_caller = true;
      if (++calls == 1) p.set_value(std::move(r));
    });
    Result<Reply> r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value().integer(), 2 * (round + 1));
    std::this_thread::sleep_for(50ms);  // a second call would show here
    EXPECT_EQ(calls.load(), 1);
    EXPECT_FALSE(on_caller.load());
  }
}

TEST_F(StreamsScriptTest, ScriptWorksAfterTheNodeRestartsEmpty) {
  ClusterOptions o;
  o.shards = 2;
  LocalCluster cluster(o);  // its own: the restart must not disturb the other tests
  ClientOptions opts = options();
  opts.health_interval = 100ms;
  Client c(cluster.topology(), opts);
  Script script("return redis.call('INCR', KEYS[1])");
  const std::string k = "{restart}:n";
  EXPECT_EQ(script.run(c, {k}).integer(), 1);
  EXPECT_EQ(script.run(c, {k}).integer(), 2);
  auto& node = cluster.primary(c.shard_for(k));
  node.restart();  // empty: no data, no scripts
  // The pooled link to the old process is dead; EVALSHA is a write, so it is not sent twice
  // on its own: a call may fail with a transport error until the client has reconnected.
  std::optional<long long> v;
  for (int i = 0; i < 50 && !v; ++i) {
    try {
      v = script.run(c, {k}).integer();
    } catch (const Error& e) {
      ASSERT_TRUE(is_transport(e.value())) << e.what();
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 1);  // the node came back empty and EVAL loaded the script again
  EXPECT_EQ(node.command({"SCRIPT", "EXISTS", script.sha1()}).elements().at(0).integer(), 1);
  EXPECT_EQ(script.run(c, {k}).integer(), 2);
}

}  // namespace
