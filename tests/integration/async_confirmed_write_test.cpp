// AsyncClient::write_and_wait and transaction_and_wait: the writes and WAIT leave as one
// contiguous batch on the shard's shared link. Two shards, one replica each, started by the
// test; a replica is SIGSTOPped (by PID) to show an unconfirmed write.
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
using flyshard::testing::key_on;
using flyshard::testing::loop_thread;
using flyshard::testing::ResumeOnExit;
using flyshard::testing::ServerProcess;
using Clock = std::chrono::steady_clock;
using Commands = std::vector<std::vector<std::string>>;

namespace {

constexpr int kSlow = FLYSHARD_SLOWDOWN;

class AsyncConfirmedWriteTest : public flyshard::testing::ReplicatedClusterTest<2> {
 protected:
  static ClientOptions options() {
    ClientOptions o;
    o.request_timeout = 1000ms * kSlow;
    o.log_level = LogLevel::error;
    return o;
  }
};

// One async call's outcome and the thread its callback ran on.
struct Done {
  Result<AckedReplies> result{errc::shutting_down, "not called"};
  std::thread::id thread;
};

std::future<Done> start_write(AsyncClient& a, const Commands& commands, const ReplicaAck& ack,
                              bool transaction = false) {
  auto p = std::make_shared<std::promise<Done>>();
  auto f = p->get_future();
  auto cb = [p](Result<AckedReplies> r) {
    p->set_value(Done{std::move(r), std::this_thread::get_id()});
  };
  if (transaction) {
    a.transaction_and_wait(commands, ack, cb);
  } else {
    a.write_and_wait(commands, ack, cb);
  }
  return f;
}

Done write(AsyncClient& a, const Commands& commands, const ReplicaAck& ack,
           bool transaction = false) {
  return start_write(a, commands, ack, transaction).get();
}

}  // namespace

TEST_F(AsyncConfirmedWriteTest, WritesAreConfirmedByTheReplicaOnTheLoopThread) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::thread::id loop = loop_thread(a);
  Done d = write(a,
                 {{"SET", "{order:1}:status", "paid"},
                  {"INCR", "{order:1}:version"},
                  {"GET", "nope:{order:1}"}},
                 ReplicaAck{1, 2000ms});
  EXPECT_EQ(d.thread, loop);
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  expect_order_batch_confirmed(c, *d.result);

  // Error replies are kept in place, as the blocking face keeps them; WAIT still answers.
  d = write(a, {{"INCR", "{order:1}:status"}, {"SET", "{order:1}:x", "y"}}, {});
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  ASSERT_EQ(d.result->replies.size(), 2u);
  EXPECT_TRUE(d.result->replies[0].is_error());
  EXPECT_EQ(d.result->replies[1].str(), "OK");
  EXPECT_TRUE(d.result->confirmed);
  AckedReplies blocking =
      c.write_and_wait({{"INCR", "{order:1}:status"}, {"SET", "{order:1}:x", "y"}}, {});
  EXPECT_EQ(blocking.replies, d.result->replies);
  EXPECT_EQ(blocking.confirmed, d.result->confirmed);

  // replicas = 0: no WAIT at all, so nothing is confirmed.
  d = write(a, {{"SET", "{order:1}:y", "z"}}, ReplicaAck{0, 100ms});
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies.size(), 1u);
  EXPECT_FALSE(d.result->acked.has_value());
  EXPECT_FALSE(d.result->confirmed);

  // The link is in step afterwards: later calls get their own replies.
  EXPECT_EQ(a.command({"GET", "{order:1}:y"}).get().str(), "z");
}

TEST_F(AsyncConfirmedWriteTest, TransactionAndWait) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::thread::id loop = loop_thread(a);
  Done d = write(a, {{"SET", "{cart:7}:a", "1"}, {"INCRBY", "{cart:7}:n", "5"}},
                 ReplicaAck{1, 2000ms}, true);
  EXPECT_EQ(d.thread, loop);
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  ASSERT_EQ(d.result->replies.size(), 2u);
  EXPECT_EQ(d.result->replies[0].str(), "OK");
  EXPECT_EQ(d.result->replies[1].integer(), 5);
  EXPECT_EQ(d.result->acked, 1);
  EXPECT_TRUE(d.result->confirmed);
  EXPECT_EQ(cluster_->replica(c.shard_for("{cart:7}"), 0).command({"GET", "{cart:7}:n"}).str(),
            "5");
  // The same as the blocking face's exec_and_wait on the same data.
  auto tx = c.transaction();
  tx.command({"SET", "{cart:7}:a", "1"}).command({"INCRBY", "{cart:7}:n", "5"});
  auto blocking = tx.exec_and_wait(ReplicaAck{1, 2000ms});
  ASSERT_TRUE(blocking.has_value());
  EXPECT_EQ(blocking->replies[1].integer(), 10);
  d = write(a, {{"SET", "{cart:7}:a", "1"}, {"INCRBY", "{cart:7}:n", "5"}}, ReplicaAck{1, 2000ms},
            true);
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies[1].integer(), 15);
  EXPECT_EQ(d.result->confirmed, blocking->confirmed);

  // A command the server refuses while queueing aborts EXEC: an error, nothing ran.
  d = write(a, {{"SET", "{cart:7}:a", "2"}, {"INCRBY", "{cart:7}:n"}}, {}, true);
  EXPECT_EQ(d.result.error(), errc::server_error);
  EXPECT_EQ(d.thread, loop);
  EXPECT_EQ(c.get("{cart:7}:a"), "1");
  // An error inside EXEC's array is kept as a reply.
  d = write(a, {{"INCR", "{cart:7}:a"}, {"INCR", "{cart:7}:missing"}}, {}, true);
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies.at(0).integer(), 2);
  EXPECT_EQ(d.result->replies.at(1).integer(), 1);
}

TEST_F(AsyncConfirmedWriteTest, StoppedReplicaGivesZeroAcksWithinTheTimeout) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::string k = key_on(c, 0, "stopped:");
  const std::string other = key_on(c, 1, "other:");
  ServerProcess& replica = cluster_->replica(0, 0);
  cluster_->primary(0).command({"SET", "control", "1"});
  ASSERT_EQ(cluster_->primary(0).command({"WAIT", "1", "5000"}).integer(), 1);
  replica.stop();
  ResumeOnExit resume{replica};

  const auto ack = ReplicaAck{1, 300ms};
  auto t0 = Clock::now();
  auto pending = start_write(a, {{"SET", k, "v1"}}, ack);
  // Meanwhile the other shard answers at once: its link is not the one WAIT holds.
  EXPECT_EQ(a.command({"SET", other, "x"}).get().str(), "OK");
  EXPECT_LT(Clock::now() - t0, 200ms * kSlow);
  EXPECT_EQ(pending.wait_for(0ms), std::future_status::timeout);
  Done d = pending.get();
  auto took = Clock::now() - t0;
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies.at(0).str(), "OK");  // the primary applied it ...
  ASSERT_TRUE(d.result->acked.has_value());
  EXPECT_EQ(*d.result->acked, 0);  // ... but no replica has it
  EXPECT_FALSE(d.result->confirmed);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, options().request_timeout + ack.timeout);

  // The same for a transaction.
  d = write(a, {{"SET", k, "v2"}, {"GET", k}}, ack, true);
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  ASSERT_EQ(d.result->replies.size(), 2u);
  EXPECT_EQ(d.result->replies[1].str(), "v2");
  EXPECT_EQ(d.result->acked, 0);
  EXPECT_FALSE(d.result->confirmed);

  // A WAIT longer than request_timeout, and than stuck_timeout (by default twice that): the
  // deadline grows by it and the link is not taken for stuck, so WAIT's own answer comes back
  // (0 acks), not errc::timeout or connection_lost.
  ClientOptions shortened = options();
  shortened.request_timeout = 300ms * kSlow;
  Client quick(cluster_->topology(), shortened);
  const auto long_ack = ReplicaAck{1, shortened.request_timeout * 3};
  t0 = Clock::now();
  d = write(quick.async(), {{"SET", k, "v3"}}, long_ack);
  took = Clock::now() - t0;
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->acked, 0);
  EXPECT_GE(took, long_ack.timeout - 20ms);

  replica.resume();
  cluster_->wait_replicas_up(0);
  d = write(a, {{"SET", k, "v4"}}, ReplicaAck{1, 2000ms});
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_TRUE(d.result->confirmed);
  EXPECT_EQ(replica.command({"GET", k}).str(), "v4");
}

// WAIT counts the writes made on its own connection before it. The batch goes on the shared
// link while other callers write there too; no one else's command lands inside it, and the
// large write is on the replica the moment the callback runs.
TEST_F(AsyncConfirmedWriteTest, AckCountsTheBatchsOwnLargeWriteAmidOtherCallers) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::string k = key_on(c, 1, "large:");
  const std::string busy = key_on(c, 1, "busy:");
  auto& replica = cluster_->replica(1, 0);
  std::atomic<bool> stop{false};
  std::atomic<long long> answered{0};
  // Other callers on the same link, on the batch's own key too: one of their APPENDs landing
  // between the batch's SET and STRLEN would show in STRLEN's answer.
  std::thread traffic([&] {
    while (!stop) {
      std::vector<std::future<Reply>> fs;
      for (int i = 0; i < 50; ++i) {
        fs.push_back(a.command({"INCR", busy}));
        fs.push_back(a.command({"APPEND", k, "x"}));
      }
      for (std::size_t i = 0; i < fs.size(); i += 2) {
        answered += fs[i].get().integer() > 0 ? 1 : 0;
        (void)fs[i + 1].get();
      }
    }
  });
  for (int round = 0; round < 4; ++round) {
    std::string value(8u << 20, static_cast<char>('a' + round));  // 8 MB
    Done d = write(a, {{"SET", k, value}, {"STRLEN", k}}, ReplicaAck{1, 5000ms});
    ASSERT_TRUE(d.result.ok()) << d.result.message();
    ASSERT_EQ(d.result->replies.size(), 2u);
    EXPECT_EQ(d.result->replies[0].str(), "OK");
    EXPECT_EQ(d.result->replies[1].integer(), 8 << 20);  // nothing landed between the two
    ASSERT_EQ(d.result->acked, 1) << "round " << round;
    EXPECT_EQ(replica.command({"GETRANGE", k, "0", "0"}).str(), std::string(1, 'a' + round))
        << "round " << round;
  }
  stop = true;
  traffic.join();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(c.get(busy), std::to_string(answered.load()));
}

TEST_F(AsyncConfirmedWriteTest, RefusedBeforeAnythingIsSent) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::thread::id loop = loop_thread(a);
  const std::string x = key_on(c, 0, "split:a"), y = key_on(c, 1, "split:b");
  for (bool transaction : {false, true}) {
    Done d = write(a, {{"SET", x, "1"}, {"SET", y, "2"}}, {}, transaction);
    EXPECT_EQ(d.result.error(), errc::cross_shard) << d.result.message();
    EXPECT_EQ(d.thread, loop);
    d = write(a, {}, {}, transaction);
    EXPECT_EQ(d.result.error(), errc::config) << d.result.message();
    d = write(a, {{"SET", x, "1"}, {"SUBSCRIBE", "ch"}}, {}, transaction);
    EXPECT_EQ(d.result.error(), errc::config) << d.result.message();
  }
  EXPECT_EQ(c.exists({x, y}), 0);
  // A command that would block the shared link outside MULTI.
  Done d = write(a, {{"BLPOP", x, "1"}}, {});
  EXPECT_EQ(d.result.error(), errc::config) << d.result.message();
  // Keyless commands go along with the keyed ones.
  d = write(a, {{"PING"}, {"SET", x, "1"}}, {});
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies.at(0).str(), "PONG");
  EXPECT_TRUE(d.result->confirmed);
  EXPECT_EQ(c.exists({x}), 1);
}

// A node that refuses WAIT (Dragonfly before v1.40; here an ACL user without it) gives
// acked = nullopt and confirmed = false, not an error; the link stays in step.
TEST_F(AsyncConfirmedWriteTest, ANodeThatRefusesWaitGivesNoCount) {
  for (auto* node : cluster_->all()) {
    node->command({"ACL", "SETUSER", "nowait", "on", ">pw", "~*", "&*", "+@all", "-wait"});
  }
  Topology t = cluster_->topology();
  t.auth.username = "nowait";
  t.auth.password = "pw";
  {
    Client c(t, options());
    AsyncClient& a = c.async();
    for (bool transaction : {false, true}) {
      Done d = write(a, {{"SET", "{w}:k", transaction ? "v2" : "v1"}}, {}, transaction);
      ASSERT_TRUE(d.result.ok()) << d.result.message();
      EXPECT_EQ(d.result->replies.at(0).str(), "OK");
      EXPECT_FALSE(d.result->acked.has_value());
      EXPECT_FALSE(d.result->confirmed);
    }
    EXPECT_EQ(a.command({"GET", "{w}:k"}).get().str(), "v2");
  }
  for (auto* node : cluster_->all()) node->command({"ACL", "DELUSER", "nowait"});
}

// A callback that throws is called once; the exception stops at the loop's boundary.
TEST_F(AsyncConfirmedWriteTest, ACallbackThatThrowsIsCalledOnce) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  std::atomic<int> calls{0};
  a.write_and_wait({{"SET", "{t}:k", "v"}}, {}, [&](Result<AckedReplies>) {
    ++calls;
    throw Error(errc::protocol_error, "the callback's own");
  });
  a.transaction_and_wait({{"SET", "{t}:k", "v"}}, {}, [&](Result<AckedReplies>) {
    ++calls;
    throw Error(errc::protocol_error, "the callback's own");
  });
  Done d = write(a, {{"GET", "{t}:k"}}, {});
  ASSERT_TRUE(d.result.ok()) << d.result.message();
  EXPECT_EQ(d.result->replies.at(0).str(), "v");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls.load(), 2);
}
