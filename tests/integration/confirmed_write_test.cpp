// Confirmed writes: write_and_wait, Transaction::exec_and_wait and Script::run_and_wait send
// WAIT on the connection that made the writes, in the same batch. Two shards, one replica
// each, started by the test; a replica is SIGSTOPped (by PID) to show an unconfirmed write.
#include <gtest/gtest.h>

#include <chrono>
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
using flyshard::testing::ResumeOnExit;
using flyshard::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSlow = FLYSHARD_SLOWDOWN;

class ConfirmedWriteTest : public flyshard::testing::ReplicatedClusterTest<2> {
 protected:
  static ClientOptions options() {
    ClientOptions o;
    o.request_timeout = 1000ms * kSlow;
    o.log_level = LogLevel::error;
    return o;
  }
  // Two keys on different shards.
  static std::pair<std::string, std::string> split_pair(const Client& c) {
    return {key_on(c, 0, "split:a"), key_on(c, 1, "split:b")};
  }
  static bool exists_anywhere(const std::string& key) {
    for (std::size_t s = 0; s < cluster_->shards(); ++s) {
      if (cluster_->primary(s).command({"EXISTS", key}).integer() != 0) return true;
    }
    return false;
  }
};

TEST_F(ConfirmedWriteTest, WritesAreConfirmedByTheReplicaAndAlreadyThere) {
  Client c(cluster_->topology(), options());
  AckedReplies r = c.write_and_wait(
      {{"SET", "{order:1}:status", "paid"}, {"INCR", "{order:1}:version"}, {"GET", "nope:{order:1}"}},
      ReplicaAck{1, 2000ms});
  expect_order_batch_confirmed(c, r);

  // Error replies are returned, not thrown; WAIT still answers.
  r = c.write_and_wait({{"INCR", "{order:1}:status"}, {"SET", "{order:1}:x", "y"}}, {});
  ASSERT_EQ(r.replies.size(), 2u);
  EXPECT_TRUE(r.replies[0].is_error());
  EXPECT_EQ(r.replies[1].str(), "OK");
  EXPECT_TRUE(r.confirmed);

  // replicas = 0: no WAIT at all, so nothing is confirmed.
  r = c.write_and_wait({{"SET", "{order:1}:y", "z"}}, ReplicaAck{0, 100ms});
  EXPECT_EQ(r.replies.size(), 1u);
  EXPECT_FALSE(r.acked.has_value());
  EXPECT_FALSE(r.confirmed);
}

TEST_F(ConfirmedWriteTest, StoppedReplicaGivesZeroAcksWithinTheTimeout) {
  Client c(cluster_->topology(), options());
  const std::string k = key_on(c, 0, "stopped:");
  ServerProcess& replica = cluster_->replica(0, 0);
  // The test's own link to the primary writes, and the replica confirms it, before the stop.
  cluster_->primary(0).command({"SET", "control", "1"});
  ASSERT_EQ(cluster_->primary(0).command({"WAIT", "1", "5000"}).integer(), 1);
  replica.stop();
  ResumeOnExit resume{replica};

  const auto ack = ReplicaAck{1, 300ms};
  auto t0 = Clock::now();
  AckedReplies r = c.write_and_wait({{"SET", k, "v1"}}, ack);
  auto took = Clock::now() - t0;
  EXPECT_EQ(r.replies.at(0).str(), "OK");  // the primary applied it ...
  ASSERT_TRUE(r.acked.has_value());
  EXPECT_EQ(*r.acked, 0);  // ... but no replica has it
  EXPECT_FALSE(r.confirmed);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, options().request_timeout + ack.timeout);
  // The pitfall write_and_wait avoids: WAIT on another connection (the test's own link)
  // counts that connection's writes, acknowledged before the stop, so it answers 1 at once
  // although the replica lacks the write above.
  t0 = Clock::now();
  EXPECT_EQ(cluster_->primary(0).command({"WAIT", "1", "300"}).integer(), 1);
  EXPECT_LT(Clock::now() - t0, 250ms);

  // The same for a transaction, with and without WATCH.
  {
    auto tx = c.transaction();
    tx.command({"SET", k, "v2"}).command({"GET", k});
    auto t = tx.exec_and_wait(ack);
    ASSERT_TRUE(t.has_value());
    ASSERT_EQ(t->replies.size(), 2u);
    EXPECT_EQ(t->replies[1].str(), "v2");
    EXPECT_EQ(t->acked, 0);
    EXPECT_FALSE(t->confirmed);
  }
  {
    auto tx = c.transaction();
    tx.watch({k});
    tx.command({"SET", k, "v3"});
    auto t = tx.exec_and_wait(ack);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->acked, 0);
    EXPECT_FALSE(t->confirmed);
  }
  // Another shard is not held up.
  const std::string other = key_on(c, 1, "other:");
  t0 = Clock::now();
  r = c.write_and_wait({{"SET", other, "v"}}, ReplicaAck{1, 2000ms});
  EXPECT_TRUE(r.confirmed);
  EXPECT_LT(Clock::now() - t0, 1000ms * kSlow);

  replica.resume();
  cluster_->wait_replicas_up(0);
  r = c.write_and_wait({{"SET", k, "v4"}}, ReplicaAck{1, 2000ms});
  EXPECT_TRUE(r.confirmed);
  EXPECT_EQ(replica.command({"GET", k}).str(), "v4");
}

// WAIT counts the writes made on its own connection before it. Were it sent on another
// connection (another pooled link) it would answer at once, before the replica had a large
// write; here the write is on the replica the moment write_and_wait returns.
TEST_F(ConfirmedWriteTest, AckCountsTheBatchsOwnLargeWrite) {
  Client c(cluster_->topology(), options());
  const std::string k = key_on(c, 1, "large:");
  auto& replica = cluster_->replica(1, 0);
  for (int round = 0; round < 4; ++round) {
    std::string value(8u << 20, static_cast<char>('a' + round));  // 8 MB
    AckedReplies r = c.write_and_wait({{"SET", k, value}}, ReplicaAck{1, 5000ms});
    ASSERT_EQ(r.replies.at(0).str(), "OK");
    ASSERT_EQ(r.acked, 1) << "round " << round;
    ASSERT_TRUE(r.confirmed);
    EXPECT_EQ(replica.command({"GETRANGE", k, "0", "0"}).str(), std::string(1, 'a' + round))
        << "round " << round;
    EXPECT_EQ(replica.command({"STRLEN", k}).integer(), 8 << 20);
  }
}

TEST_F(ConfirmedWriteTest, ExecAndWaitWithAndWithoutWatch) {
  Client c(cluster_->topology(), options());
  const ReplicaAck ack{1, 2000ms};
  {
    auto tx = c.transaction();
    tx.command({"SET", "{cart:7}:a", "1"}).command({"INCRBY", "{cart:7}:n", "5"});
    auto r = tx.exec_and_wait(ack);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->replies.size(), 2u);
    EXPECT_EQ(r->replies[0].str(), "OK");
    EXPECT_EQ(r->replies[1].integer(), 5);
    EXPECT_EQ(r->acked, 1);
    EXPECT_TRUE(r->confirmed);
    EXPECT_EQ(cluster_->replica(c.shard_for("{cart:7}"), 0).command({"GET", "{cart:7}:n"}).str(), "5");
  }
  {
    // WATCH, read, write: confirmed on the watching connection.
    auto tx = c.transaction();
    tx.watch({"{cart:7}:n"});
    long long n = std::stoll(tx.read({"GET", "{cart:7}:n"}).str());
    tx.command({"SET", "{cart:7}:n", std::to_string(n * 2)});
    auto r = tx.exec_and_wait(ack);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->confirmed);
    EXPECT_EQ(c.get("{cart:7}:n"), "10");
  }
  {
    // A WATCHed key changed: nullopt, nothing written.
    auto tx = c.transaction();
    tx.watch({"{cart:7}:n"});
    c.set("{cart:7}:n", "99");
    tx.command({"SET", "{cart:7}:n", "0"});
    EXPECT_FALSE(tx.exec_and_wait(ack).has_value());
    EXPECT_EQ(c.get("{cart:7}:n"), "99");
    // The transaction is usable again afterwards.
    tx.command({"SET", "{cart:7}:n", "1"});
    auto r = tx.exec_and_wait(ack);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->confirmed);
  }
}

TEST_F(ConfirmedWriteTest, CrossShardIsRefusedBeforeAnythingIsSent) {
  Client c(cluster_->topology(), options());
  auto [a, b] = split_pair(c);
  try {
    c.write_and_wait({{"SET", a, "1"}, {"SET", b, "2"}}, {});
    FAIL() << "expected cross_shard";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::cross_shard) << e.what();
  }
  {
    auto tx = c.transaction();
    tx.command({"SET", a, "1"}).command({"SET", b, "2"});
    try {
      tx.exec_and_wait({});
      FAIL() << "expected cross_shard";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::cross_shard) << e.what();
    }
  }
  Script script("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return 1");
  try {
    script.run_and_wait(c, {a, b}, {"x"}, {});
    FAIL() << "expected cross_shard";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::cross_shard) << e.what();
  }
  EXPECT_FALSE(exists_anywhere(a));
  EXPECT_FALSE(exists_anywhere(b));
  // Keyless commands go along with the keyed ones.
  auto r = c.write_and_wait({{"PING"}, {"SET", a, "1"}}, {});
  EXPECT_EQ(r.replies.at(0).str(), "PONG");
  EXPECT_TRUE(r.confirmed);
  EXPECT_TRUE(exists_anywhere(a));
}

TEST_F(ConfirmedWriteTest, ScriptRunAndWaitLoadsTheScriptAndConfirms) {
  Client c(cluster_->topology(), options());
  Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const std::string k = "{stock:9}:left";
  auto& primary = cluster_->primary(c.shard_for(k));
  primary.command({"SCRIPT", "FLUSH"});
  AckedReplies r = script.run_and_wait(c, {k}, {"3"}, ReplicaAck{1, 2000ms});
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].integer(), 3);
  EXPECT_TRUE(r.confirmed);
  // EVAL loaded it: the next run is EVALSHA.
  EXPECT_EQ(primary.command({"SCRIPT", "EXISTS", script.sha1()}).elements().at(0).integer(), 1);
  r = script.run_and_wait(c, {k}, {"4"}, ReplicaAck{1, 2000ms});
  EXPECT_EQ(r.replies.at(0).integer(), 7);
  EXPECT_TRUE(r.confirmed);
  EXPECT_EQ(cluster_->replica(c.shard_for(k), 0).command({"GET", k}).str(), "7");
  // A script error is returned in replies[0], not thrown.
  Script bad("return redis.call('INCR', KEYS[1])");
  c.set("{stock:9}:text", "abc");
  r = bad.run_and_wait(c, {"{stock:9}:text"}, {}, {});
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_TRUE(r.replies[0].is_error());
}

// A node that refuses WAIT (Dragonfly before v1.40 says "unknown command"; here an ACL user
// without it) gives acked = nullopt and confirmed = false, not an exception.
TEST_F(ConfirmedWriteTest, ANodeThatRefusesWaitGivesNoCountAndNoException) {
  for (auto* node : cluster_->all()) {  // replicas too: the client checks them
    node->command({"ACL", "SETUSER", "nowait", "on", ">pw", "~*", "&*", "+@all", "-wait"});
  }
  Topology t = cluster_->topology();
  t.auth.username = "nowait";
  t.auth.password = "pw";
  Client c(t, options());
  AckedReplies r = c.write_and_wait({{"SET", "{w}:k", "v"}}, {});
  EXPECT_EQ(r.replies.at(0).str(), "OK");
  EXPECT_FALSE(r.acked.has_value());
  EXPECT_FALSE(r.confirmed);
  auto tx = c.transaction();
  tx.command({"SET", "{w}:k", "v2"});
  auto e = tx.exec_and_wait({});
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->acked.has_value());
  EXPECT_FALSE(e->confirmed);
  // The connection is still in step: later calls get their own replies.
  EXPECT_EQ(c.get("{w}:k"), "v2");
  for (auto* node : cluster_->all()) node->command({"ACL", "DELUSER", "nowait"});
}

}  // namespace
