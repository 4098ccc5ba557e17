// The API conveniences against real servers: numbers as arguments, typed conversions,
// classified server errors.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

class ApiTest : public flyshard::testing::SharedClusterTest<3> {};

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

TEST_F(ApiTest, ScanSeesEveryKeyOfEveryShard) {
  Client client(cluster_->topology());
  constexpr int n = 10'000;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < n; ++i) pairs.emplace_back("key:" + std::to_string(i), "v");
  client.mset(pairs);
  // The keys really are spread: every shard holds some.
  std::vector<bool> shard_used(cluster_->shards());
  for (const auto& [k, v] : pairs) shard_used[client.shard_for(k)] = true;
  for (bool used : shard_used) ASSERT_TRUE(used);

  std::map<std::string, int> seen;
  for (const std::string& k : client.scan({.count = 500})) ++seen[k];
  // SCAN may repeat a key (a rehash between calls); it must not miss one.
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  for (const auto& [k, v] : pairs) EXPECT_GE(seen[k], 1) << k;

  // MATCH: only the keys that match, all of them.
  client.mset({{"other:1", "x"}, {"other:2", "y"}, {"other:3", "z"}});
  std::set<std::string> matched;
  for (const std::string& k : client.scan({.match = "other:*"})) matched.insert(k);
  EXPECT_EQ(matched, (std::set<std::string>{"other:1", "other:2", "other:3"}));
  // An empty keyspace match is an empty range.
  auto none = client.scan({.match = "nothing:*"});
  EXPECT_TRUE(none.begin() == none.end());
}

TEST_F(ApiTest, ScanTypeFilter) {
  Client client(cluster_->topology());
  for (int i = 0; i < 50; ++i) {
    client.set("str:" + std::to_string(i), "v");
    client.command({"HSET", "hash:" + std::to_string(i), "f", i});
    client.command({"SADD", "set:" + std::to_string(i), "m"});
  }
  std::set<std::string> hashes;
  for (const std::string& k : client.scan({.count = 100, .type = "hash"})) {
    EXPECT_EQ(k.rfind("hash:", 0), 0u) << k;
    hashes.insert(k);
  }
  EXPECT_EQ(hashes.size(), 50u);
  EXPECT_EQ(client.scan({.match = "set:1*", .type = "set"}).to_vector().size(), 11u);  // 1, 10-19
}

TEST_F(ApiTest, HscanSscanZscan) {
  Client client(cluster_->topology());
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 1000; ++i)
    fields.emplace_back("f" + std::to_string(i), "v" + std::to_string(i));
  client.hset("big", fields);
  std::map<std::string, std::string> got;
  std::size_t yielded = 0;
  for (const auto& [f, v] : client.hscan("big", {.count = 100})) {
    ++yielded;
    got[f] = v;
  }
  EXPECT_GE(yielded, 1000u);
  ASSERT_EQ(got.size(), 1000u);
  for (const auto& [f, v] : fields) EXPECT_EQ(got[f], v);
  std::map<std::string, std::string> some;
  for (const auto& [f, v] : client.hscan("big", {.match = "f99*"})) some[f] = v;
  EXPECT_EQ(some.size(), 11u);  // f99, f990..f999

  std::vector<std::string> members;
  for (int i = 0; i < 300; ++i) members.push_back("m" + std::to_string(i));
  client.sadd("s", members);
  auto sm = client.sscan("s", {.count = 50}).to_vector();
  EXPECT_EQ(std::set<std::string>(sm.begin(), sm.end()).size(), 300u);

  client.zadd("z", {{1.5, "a"}, {-2, "b"}, {1e10, "c"}});
  std::map<std::string, double> scores;
  for (const auto& [m, s] : client.zscan("z")) scores[m] = s;
  EXPECT_EQ(scores, (std::map<std::string, double>{{"a", 1.5}, {"b", -2}, {"c", 1e10}}));

  // A key of another type: the server's WRONGTYPE, classified, from begin().
  client.set("plain", "v");
  auto wrong = client.hscan("plain");
  try {
    (void)wrong.begin();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(server_error_kind(e), ServerErrorKind::wrongtype);
  }
  // An absent key is an empty range.
  EXPECT_TRUE(client.hscan("absent").to_vector().empty());
}
