// AsyncClient's typed helpers and command_as.
#include <gtest/gtest.h>

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
