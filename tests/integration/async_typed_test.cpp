// AsyncClient's typed helpers and command_as.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

class AsyncTypedTest : public flyshard::testing::SharedClusterTest<3> {};

// Runs one async call and waits for its Result.
template <typename T, typename F>
Result<T> wait_for(F&& start) {
  std::promise<Result<T>> p;
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

}  // namespace

TEST_F(AsyncTypedTest, HelpersAndCommandAs) {
  Client client(cluster_->topology());
  AsyncClient& a = client.async();
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.incr("n", 5, cb); }), 5);
  const std::vector<std::pair<std::string, std::string>> fields{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.hset("h", fields, cb); }), 2);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.hincrby("h", "a", 10, cb); }), 11);
  EXPECT_EQ(*wait_for<std::optional<std::string>>([&](auto cb) { a.hget("h", "b", cb); }), "2");
  EXPECT_EQ(*wait_for<std::optional<std::string>>([&](auto cb) { a.hget("h", "zz", cb); }),
            std::nullopt);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  auto all = *wait_for<Pairs>([&](auto cb) { a.hgetall("h", cb); });
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(Map(all.begin(), all.end()), (Map{{"a", "11"}, {"b", "2"}}));
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.publish("nobody-listens", "m", cb); }), 0);
  Result<Reply> ev = wait_for<Reply>(
      [&](auto cb) { a.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", {"n"}, {"3"}, cb); });
  EXPECT_EQ(ev->as<long long>(), 8);
  // Keys on two shards: refused before sending.
  std::string k1 = "x0", k2;
  for (int i = 1; k2.empty(); ++i) {
    if (client.shard_for("x" + std::to_string(i)) != client.shard_for(k1))
      k2 = "x" + std::to_string(i);
  }
  EXPECT_EQ(wait_for<Reply>([&](auto cb) {
              a.eval("return 1", {k1, k2}, {}, cb);
            }).error(),
            errc::cross_shard);

  // command_as: conversions and their errors.
  auto v = wait_for<std::vector<long long>>([&](auto cb) {
    a.command_as<std::vector<long long>>({"MGET", "n"}, cb);
  });
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(*v, (std::vector<long long>{8}));
  auto wrong = wait_for<long long>([&](auto cb) { a.command_as<long long>({"HGETALL", "h"}, cb); });
  EXPECT_EQ(wrong.error(), errc::protocol_error);
  auto wrongtype = wait_for<long long>([&](auto cb) {
    a.command_as<long long>({"INCR", "h"}, cb);
  });
  EXPECT_EQ(wrongtype.error(), errc::server_error);
  EXPECT_EQ(server_error_kind(wrongtype), ServerErrorKind::wrongtype);
}

// Every async helper answers what its blocking counterpart answers on the same data.
TEST_F(AsyncTypedTest, AsyncHelpersMatchTheBlockingOnes) {
  Client client(cluster_->topology());
  AsyncClient& a = client.async();
  using Strings = std::vector<std::string>;
  using OptString = std::optional<std::string>;
  // Strings and expiry.
  client.set("p:s", "abc");
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.append("p:s", "de", cb); }), 5);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.strlen("p:s", cb); }), client.strlen("p:s"));
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.decr("p:n", 4, cb); }), -4);
  EXPECT_DOUBLE_EQ(*wait_for<double>([&](auto cb) { a.incrbyfloat("p:f", 1.5, cb); }), 1.5);
  EXPECT_EQ(
      *wait_for<std::optional<std::chrono::milliseconds>>([&](auto cb) { a.pttl("p:s", cb); }),
      std::nullopt);  // no TTL
  EXPECT_TRUE(*wait_for<bool>([&](auto cb) { a.pexpire("p:s", std::chrono::seconds(100), cb); }));
  auto ttl =
      *wait_for<std::optional<std::chrono::milliseconds>>([&](auto cb) { a.pttl("p:s", cb); });
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->count(), 90000);
  EXPECT_TRUE(*wait_for<bool>([&](auto cb) { a.persist("p:s", cb); }));
  EXPECT_FALSE(
      *wait_for<bool>([&](auto cb) { a.expire("p:absent", std::chrono::seconds(5), cb); }));
  EXPECT_EQ(*wait_for<OptString>([&](auto cb) { a.getdel("p:s", cb); }), "abcde");
  EXPECT_EQ(client.get("p:s"), std::nullopt);
  // Hashes.
  client.hset("p:h", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.hdel("p:h", {"a", "zz"}, cb); }), 1);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.hlen("p:h", cb); }), client.hlen("p:h"));
  // Lists.
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.rpush("p:l", {"x", "y", "z"}, cb); }), 3);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.lpush("p:l", {"w"}, cb); }), 4);
  EXPECT_EQ(*wait_for<Strings>([&](auto cb) { a.lrange("p:l", 0, -1, cb); }),
            client.lrange("p:l", 0, -1));
  EXPECT_EQ(*wait_for<OptString>([&](auto cb) { a.lpop("p:l", cb); }), "w");
  EXPECT_EQ(*wait_for<OptString>([&](auto cb) { a.rpop("p:l", cb); }), "z");
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.llen("p:l", cb); }), 2);
  // Sets.
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.sadd("p:set", {"m1", "m2", "m3"}, cb); }), 3);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.srem("p:set", {"m3"}, cb); }), 1);
  EXPECT_TRUE(*wait_for<bool>([&](auto cb) { a.sismember("p:set", "m1", cb); }));
  EXPECT_FALSE(*wait_for<bool>([&](auto cb) { a.sismember("p:set", "m3", cb); }));
  auto members = *wait_for<Strings>([&](auto cb) { a.smembers("p:set", cb); });
  std::sort(members.begin(), members.end());
  EXPECT_EQ(members, (Strings{"m1", "m2"}));
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.scard("p:set", cb); }), 2);
  // Sorted sets.
  EXPECT_EQ(*wait_for<long long>([&](auto cb) {
    a.zadd("p:z", {{1.5, "one"}, {0.25, "two"}}, cb);
  }),
            2);
  EXPECT_EQ(*wait_for<std::optional<double>>([&](auto cb) { a.zscore("p:z", "one", cb); }), 1.5);
  EXPECT_EQ(*wait_for<std::optional<double>>([&](auto cb) { a.zscore("p:z", "nope", cb); }),
            std::nullopt);
  EXPECT_DOUBLE_EQ(*wait_for<double>([&](auto cb) { a.zincrby("p:z", 2, "two", cb); }), 2.25);
  EXPECT_EQ(*wait_for<Strings>([&](auto cb) { a.zrange("p:z", 0, -1, cb); }),
            client.zrange("p:z", 0, -1));
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.zrem("p:z", {"one"}, cb); }), 1);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.zcard("p:z", cb); }), 1);

  // Multi-key over every shard: distinct values per key, so a reply in the wrong place shows.
  Strings keys;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 30; ++i) {
    keys.push_back("p:mk" + std::to_string(i));
    pairs.emplace_back(keys.back(), "v" + std::to_string(i));
  }
  client.mset(pairs);
  Strings with_absent = keys;
  with_absent.push_back("p:absent");
  auto got = *wait_for<std::vector<OptString>>([&](auto cb) { a.mget(with_absent, cb); });
  EXPECT_EQ(got, client.mget(with_absent));
  ASSERT_EQ(got.size(), 31u);
  EXPECT_EQ(got[7], "v7");
  EXPECT_EQ(got[30], std::nullopt);
  EXPECT_TRUE(wait_for<std::vector<OptString>>([&](auto cb) { a.mget({}, cb); })->empty());
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.exists(with_absent, cb); }), 30);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.touch(keys, cb); }), 30);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.del({keys[0], keys[1]}, cb); }), 2);
  EXPECT_EQ(
      *wait_for<long long>([&](auto cb) { a.unlink(Strings(keys.begin() + 2, keys.end()), cb); }),
      28);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.del({}, cb); }), 0);

  // Scripts and per-shard commands.
  const std::string body = "return redis.call('GET', KEYS[1])";
  auto sha = wait_for<std::string>([&](auto cb) { a.script_load(body, cb); });
  ASSERT_TRUE(sha.ok()) << sha.message();
  EXPECT_EQ(*sha, client.script_load(body));
  client.set("p:sv", "script-value");
  EXPECT_EQ(wait_for<Reply>([&](auto cb) { a.evalsha(*sha, {"p:sv"}, {}, cb); })->str(),
            "script-value");
  auto all = wait_for<std::vector<Reply>>([&](auto cb) { a.command_on_all({"PING"}, cb); });
  ASSERT_TRUE(all.ok()) << all.message();
  EXPECT_EQ(all->size(), client.topology().shards.size());
  const std::size_t shard = client.shard_for("p:sv");
  EXPECT_EQ(wait_for<Reply>([&](auto cb) {
              a.command_on_shard(shard, {"GET", "p:sv"}, cb);
            })->str(),
            "script-value");
  EXPECT_EQ(wait_for<Reply>([&](auto cb) { a.command_on_shard(99, {"PING"}, cb); }).error(),
            errc::config);
  EXPECT_EQ(wait_for<Reply>([&](auto cb) {
              a.command_on_shard(0, {"BLPOP", "p:l2", "0"}, cb);
            }).error(),
            errc::config);
  EXPECT_EQ(wait_for<Reply>([&](auto cb) {
              a.command_on_shard(0, {"SUBSCRIBE", "c"}, cb);
            }).error(),
            errc::config);
}
