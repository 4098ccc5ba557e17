// ketama with compat "twemproxy" against the real thing: keys are written through nutcracker
// (distribution: ketama, hash: fnv1a_64, hash_tag: "{}") in front of real servers, then read
// back from each server directly; every key must sit on the shard Distribution names.
//
// Skipped when nutcracker is not installed (Debian package `nutcracker`; see
// TwemproxyProcess::binary() for where it is looked for).

#include <flyshard/distribution.hpp>

#include "local_cluster.hpp"
#include "raw_redis.hpp"
#include "twemproxy_process.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace {

using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;
using flyshard::testing::RedisReplyPtr;
using flyshard::testing::TwemproxyProcess;

// 2000 keys: plain, hash-tagged (several keys per tag), empty and unbalanced braces, bytes
// >= 0x80 (nutcracker sign-extends them in its FNV), long keys.
std::vector<std::string> test_keys() {
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 2000; ++i) {
    switch (i % 8) {
      case 0:
        keys.push_back("key:" + std::to_string(i));
        break;
      case 1:
        keys.push_back("cart:{u" + std::to_string(i % 97) + "}:" + std::to_string(i));
        break;
      case 2:
        keys.push_back("{order-" + std::to_string(i % 31) + "}" + std::to_string(i));
        break;
      case 3:
        keys.push_back("a{}b" + std::to_string(i));
        break;
      case 4:
        keys.push_back("}{" + std::to_string(i) + "{");
        break;
      case 5:
        keys.push_back("\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87:" + std::to_string(i));  // "ключ:"
        break;
      case 6:
        keys.push_back(std::string("\xff\x80\x01 ") + std::to_string(i) + "\xfe");
        break;
      default:
        keys.push_back(std::string(150, 'k') + std::to_string(i));
        break;
    }
  }
  return keys;
}

// Writes every key through nutcracker, then checks that each one is on exactly the server the
// twemproxy-compat distribution names.
void check_placement(const std::vector<std::uint32_t>& weights) {
  if (!TwemproxyProcess::available()) GTEST_SKIP() << "nutcracker is not installed";

  ClusterOptions options;
  options.shards = weights.size();
  options.replicas = 0;
  LocalCluster cluster(options);

  // nutcracker in front of the primaries: servers named s1..sN, with these weights.
  flyshard::Topology topology = cluster.topology();
  std::vector<flyshard::ShardWeight> shards;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    topology.shards[i].weight = weights[i];
    shards.push_back({topology.shards[i].name, weights[i]});
  }
  TwemproxyProcess proxy(topology);
  flyshard::DistributionOptions dopts;
  dopts.compat = "twemproxy";
  const auto dist = flyshard::Distribution::create("ketama", shards, dopts);

  const auto keys = test_keys();
  auto c = flyshard::testing::connect_raw(proxy.address(), std::chrono::seconds(2));
  ASSERT_TRUE(c) << "cannot connect to nutcracker";
  for (const auto& k : keys) {
    const char* argv[] = {"SET", k.data(), "v"};
    const std::size_t lens[] = {3, k.size(), 1};
    ASSERT_EQ(redisAppendCommandArgv(c.get(), 3, argv, lens), REDIS_OK);
  }
  for (const auto& k : keys) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK) << c->errstr;
    RedisReplyPtr r(static_cast<redisReply*>(raw));
    ASSERT_EQ(r->type, REDIS_REPLY_STATUS) << k << ": " << std::string(r->str, r->len);
  }

  // Where each key really is.
  std::map<std::string, std::vector<std::size_t>> found;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const auto reply = cluster.primary(i).command({"KEYS", "*"});
    ASSERT_TRUE(reply.is_array()) << reply.to_string();
    for (const auto& e : reply.elements()) found[e.str()].push_back(i);
  }
  EXPECT_EQ(found.size(), keys.size());

  std::size_t mismatches = 0;
  std::vector<std::size_t> per_shard(weights.size());
  for (const auto& k : keys) {
    const std::size_t expected = dist.shard_for(k);
    const auto it = found.find(k);
    ASSERT_NE(it, found.end()) << "key not found on any server: " << k;
    ASSERT_EQ(it->second.size(), 1u) << "key on several servers: " << k;
    ++per_shard[it->second.front()];
    if (it->second.front() != expected) {
      ++mismatches;
      ADD_FAILURE() << "key " << k << ": nutcracker put it on "
                    << cluster.shard_name(it->second.front()) << ", Distribution says "
                    << cluster.shard_name(expected);
      if (mismatches > 10) break;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // Every server got a fair part, so the check covered every server's ring arcs.
  for (std::size_t i = 0; i < weights.size(); ++i) EXPECT_GT(per_shard[i], 0u) << i;
}

TEST(TwemproxyCompat, EqualWeightsPlaceKeysLikeNutcracker) {
  check_placement({1, 1, 1});
}

// Weights whose shares are not multiples of 1/40: nutcracker's float formula rounds the
// points down (40, 128, 304 points), which Distribution must repeat.
TEST(TwemproxyCompat, UnequalWeightsPlaceKeysLikeNutcracker) {
  check_placement({1, 3, 7});
}

// 25 equal servers: float rounding gives each 156 points instead of 160.
TEST(TwemproxyCompat, TwentyFiveServersPlaceKeysLikeNutcracker) {
  check_placement(std::vector<std::uint32_t>(25, 1));
}

}  // namespace
