// The API conveniences against real servers: numbers as arguments, typed conversions,
// classified server errors.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions o;
    o.shards = 3;
    cluster_ = new LocalCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { cluster_->flush_all(); }
  static LocalCluster* cluster_;
};
LocalCluster* ApiTest::cluster_ = nullptr;

}  // namespace

TEST_F(ApiTest, NumbersAsArgumentsAndTypedReplies) {
  Client client(cluster_->topology());
  EXPECT_EQ(client.command({"INCRBY", "n", 5}).as<long long>(), 5);
  EXPECT_EQ(client.command({"INCRBY", "n", -2LL}).as<long long>(), 3);
  EXPECT_DOUBLE_EQ(client.command({"INCRBYFLOAT", "f", 0.25}).as<double>(), 0.25);
  EXPECT_TRUE(
      client.command({"SET", "s", "v", "PX", std::chrono::milliseconds(5000).count()}).as<bool>());
  EXPECT_FALSE(client.command({"SET", "s", "w", "NX"}).as<bool>());
  EXPECT_EQ(client.command({"GET", "s"}).as<std::string>(), "v");
  EXPECT_EQ(client.command({"GET", "absent"}).as<std::optional<std::string>>(), std::nullopt);
  EXPECT_EQ(client.command({"GET", "n"}).as<long long>(), 3);  // a bulk string holding 3

  client.command({"HSET", "h:{1}", "a", 1, "b", 2.5});
  auto h = client.command({"HGETALL", "h:{1}"}).as<std::map<std::string, std::string>>();
  EXPECT_EQ(h, (std::map<std::string, std::string>{{"a", "1"}, {"b", "2.5"}}));
  client.command({"RPUSH", "l", 1, 2, 3});
  EXPECT_EQ(client.command({"LRANGE", "l", 0, -1}).as<std::vector<std::string>>(),
            (std::vector<std::string>{"1", "2", "3"}));
  client.command({"ZADD", "z", 1.5, "m"});
  EXPECT_DOUBLE_EQ(client.command({"ZSCORE", "z", "m"}).as<double>(), 1.5);
  EXPECT_EQ(client.command({"ZSCORE", "z", "nobody"}).as<std::optional<double>>(), std::nullopt);

  // The async face and a pipeline take numbers too (Args owns their text).
  EXPECT_EQ(client.async().command({"INCRBY", "n", 10}).get().as<long long>(), 13);
  Pipeline p = client.pipeline();
  p.command({"INCRBY", "n", 1}).command({"EXPIRE", "n", 100});
  auto replies = p.execute();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0]->as<long long>(), 14);
  EXPECT_TRUE(replies[1]->as<bool>());
  const auto& first = replies[0];
  EXPECT_EQ(first.value_or(Reply::nil()).as<long long>(), 14);
}

TEST_F(ApiTest, ServerErrorsAreClassified) {
  Client client(cluster_->topology());
  client.set("s", "v");
  try {
    client.command({"LPUSH", "s", "x"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
    EXPECT_EQ(server_error_kind(e), ServerErrorKind::wrongtype);
    EXPECT_FALSE(is_retriable(e));
  }
  try {
    client.evalsha("0000000000000000000000000000000000000000", {"k"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(server_error_kind(e), ServerErrorKind::noscript);
  }
  // In a pipeline the error stays in its Result.
  Pipeline p = client.pipeline();
  p.command({"INCR", "s"}).command({"GET", "s"});
  auto r = p.execute();
  EXPECT_EQ(server_error_kind(r[0]), ServerErrorKind::generic);  // ERR not an integer
  EXPECT_EQ(server_error_kind(r[1]), ServerErrorKind::none);
  // And inside EXEC's array as an error Reply.
  auto tx = client.transaction();
  tx.command({"SET", "s", "w"}).command({"LPUSH", "s", "x"});
  auto exec = tx.exec();
  ASSERT_TRUE(exec);
  ASSERT_EQ(exec->size(), 2u);
  EXPECT_EQ(server_error_kind((*exec)[1]), ServerErrorKind::wrongtype);
}

TEST_F(ApiTest, WatchTransactionCountsExactlyUnderConcurrentIncrementers) {
  Client client(cluster_->topology());
  constexpr int threads = 4;
  constexpr int per_thread = 150;
  std::atomic<int> attempts{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        // GET then SET n+1: without WATCH, concurrent incrementers lose updates.
        auto replies = client.watch_transaction(
            {"counter:{w}"},
            [&](Transaction& tx) {
              ++attempts;
              auto v = tx.read({"GET", "counter:{w}"}).as<std::optional<long long>>();
              tx.command({"SET", "counter:{w}", v.value_or(0) + 1});
              tx.command({"INCR", "commits:{w}"});
            },
            10'000);
        ASSERT_EQ(replies.size(), 2u);
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(client.get("counter:{w}"), std::to_string(threads * per_thread));
  EXPECT_EQ(client.get("commits:{w}"), std::to_string(threads * per_thread));
  EXPECT_GE(attempts.load(), threads * per_thread);
}

TEST_F(ApiTest, WatchTransactionGivesUpAfterMaxAttempts) {
  Client client(cluster_->topology());
  int calls = 0;
  try {
    client.watch_transaction(
        {"k:{x}"},
        [&](Transaction& tx) {
          ++calls;
          client.command({"INCR", "k:{x}"});  // another connection changes the watched key
          tx.command({"SET", "k:{x}", "mine"});
        },
        3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::watch_conflict);
    EXPECT_TRUE(is_retriable(e));
    EXPECT_NE(std::string(e.what()).find("k:{x}"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 attempts"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(client.get("k:{x}"), "3");  // no SET ever ran

  // An exception from fn is not retried, and the connection is released (UNWATCHed).
  calls = 0;
  EXPECT_THROW(client.watch_transaction({"k:{x}"},
                                        [&](Transaction&) {
                                          ++calls;
                                          throw std::runtime_error("changed my mind");
                                        }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
  // A transaction that commits the first time.
  auto r = client.watch_transaction({"k:{x}"}, [](Transaction& tx) {
    tx.command({"INCRBY", "k:{x}", 10});
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].as<long long>(), 13);
}
