// Router: key -> shard -> node under read policies, health states, failover and the cache
// failure policy. No network: Nodes are built with loopback addresses (a Node makes no
// connection by itself) and their NodeHealth is driven directly.

#include "routing/router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "routing/node.hpp"

namespace flyshard::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kShards = 3;
constexpr std::size_t kNpos = static_cast<std::size_t>(-1);

void mark_down(Node& n) {
  n.health.on_failure(1);
  ASSERT_FALSE(n.health.up());
}
// A healthy replica that may serve reads.
void mark_replica(Node& n, bool eligible = true, std::chrono::microseconds rtt = 1000us) {
  n.health.on_check(NodeRole::replica, eligible, rtt);
}
void mark_primary(Node& n, std::chrono::microseconds rtt = 1000us) {
  n.health.on_check(NodeRole::primary, false, rtt);
}

class RouterTest : public ::testing::Test {
 protected:
  // Shard i ("s1".."s3"): primary 127.0.0.1:700<i+1>, replicas 71<..>, 72<..>.
  void build(FailurePolicy policy = FailurePolicy::store, ReadFrom read_from = ReadFrom::primary,
             const char* algorithm = "maglev") {
    router.reset();
    primaries.clear();
    replicas.clear();
    owned.clear();
    std::vector<Router::ShardInit> init;
    std::vector<ShardWeight> weights;
    for (std::size_t i = 0; i < kShards; ++i) {
      const auto port = static_cast<std::uint16_t>(7001 + i);
      Node* p = make({"127.0.0.1", port}, i, true);
      Node* r1 = make({"127.0.0.1", static_cast<std::uint16_t>(port + 100)}, i, false);
      Node* r2 = make({"127.0.0.1", static_cast<std::uint16_t>(port + 200)}, i, false);
      primaries.push_back(p);
      replicas.push_back({r1, r2});
      const std::string name = "s" + std::to_string(i + 1);
      init.push_back({name, 1, p, {r1, r2}});
      weights.push_back({name, 1});
    }
    router = std::make_unique<Router>(Distribution::create(algorithm, weights), std::move(init),
                                      read_from, policy);
  }
  Node* make(NodeAddress addr, std::size_t shard, bool primary) {
    owned.push_back(std::make_unique<Node>(std::move(addr), shard, primary, 1));
    return owned.back().get();
  }
  Node* p(std::size_t shard) { return primaries[shard]; }
  Node* r(std::size_t shard, std::size_t k) { return replicas[shard][k]; }

  void SetUp() override { build(); }

  std::vector<std::size_t> placement_of(const std::vector<std::string>& keys) const {
    std::vector<std::size_t> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(router->shard_for(k));
    return out;
  }
  static std::vector<std::string> keys(std::size_t n) {
    std::vector<std::string> k;
    for (std::size_t i = 0; i < n; ++i) k.push_back("key:" + std::to_string(i));
    return k;
  }

  std::vector<std::unique_ptr<Node>> owned;
  std::vector<Node*> primaries;
  std::vector<std::vector<Node*>> replicas;
  std::unique_ptr<Router> router;
};

const ReadFrom kAllPolicies[] = {ReadFrom::primary, ReadFrom::primary_preferred, ReadFrom::replica,
                                 ReadFrom::replica_preferred, ReadFrom::nearest};

// ---- usable_as_primary / usable_as_replica ----

TEST_F(RouterTest, UsablePredicates) {
  Node& n = *p(0);
  EXPECT_TRUE(usable_as_primary(n));  // up, role unknown
  EXPECT_FALSE(usable_as_replica(n));
  mark_primary(n);
  EXPECT_TRUE(usable_as_primary(n));
  EXPECT_FALSE(usable_as_replica(n));
  mark_replica(n, false);
  EXPECT_FALSE(usable_as_primary(n));
  EXPECT_FALSE(usable_as_replica(n));
  mark_replica(n, true);
  EXPECT_FALSE(usable_as_primary(n));
  EXPECT_TRUE(usable_as_replica(n));
  mark_down(n);
  EXPECT_FALSE(usable_as_primary(n));
  EXPECT_FALSE(usable_as_replica(n));
}

// ---- basics ----

TEST_F(RouterTest, Basics) {
  EXPECT_EQ(router->shard_count(), kShards);
  EXPECT_EQ(router->read_from(), ReadFrom::primary);
  EXPECT_EQ(router->failure_policy(), FailurePolicy::store);
  for (std::size_t i = 0; i < kShards; ++i) {
    EXPECT_EQ(router->shard(i).name, "s" + std::to_string(i + 1));
    EXPECT_EQ(router->shard(i).primary, p(i));
    EXPECT_EQ(router->shard(i).replicas, (std::vector<Node*>{r(i, 0), r(i, 1)}));
  }
  EXPECT_EQ(p(1)->name, "127.0.0.1:7002");
  EXPECT_EQ(r(2, 1)->name, "127.0.0.1:7203");
}

TEST_F(RouterTest, ShardForMatchesTheDistribution) {
  Distribution d = Distribution::create("maglev", {{"s1", 1}, {"s2", 1}, {"s3", 1}});
  for (const auto& k : keys(2000)) EXPECT_EQ(router->shard_for(k), d.shard_for(k)) << k;
}

TEST_F(RouterTest, NodesListsAll) {
  auto all = router->nodes();
  EXPECT_EQ(all.size(), 9u);
  for (const auto& n : owned) {
    EXPECT_EQ(std::count(all.begin(), all.end(), n.get()), 1) << n->name;
  }
}

TEST_F(RouterTest, ShardByName) {
  EXPECT_EQ(router->shard_by_name("s1"), 0u);
  EXPECT_EQ(router->shard_by_name("s2"), 1u);
  EXPECT_EQ(router->shard_by_name("s3"), 2u);
  EXPECT_EQ(router->shard_by_name("s4"), kNpos);
  EXPECT_EQ(router->shard_by_name(""), kNpos);
  EXPECT_EQ(router->shard_by_name("S1"), kNpos);
}

// ---- read policies ----

TEST_F(RouterTest, PrimaryPolicy) {
  mark_replica(*r(0, 0));
  mark_replica(*r(0, 1));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary), p(0));  // role unknown: usable
  mark_primary(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary), p(0));
  mark_down(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary), nullptr);  // replicas never
  mark_replica(*p(0));                                            // back up, but demoted
  EXPECT_TRUE(p(0)->health.up());
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary), nullptr);
}

TEST_F(RouterTest, PrimaryPreferredPolicy) {
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), p(0));
  mark_replica(*r(0, 1));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), p(0));
  mark_down(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), r(0, 1));
  mark_replica(*r(0, 1), false);  // lagging
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), nullptr);
  mark_replica(*r(0, 0));
  mark_down(*r(0, 0));  // eligible at its last check, then down
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), nullptr);
  // A demoted primary is not used; an eligible replica is.
  mark_replica(*p(0), true);
  mark_replica(*r(0, 1), true);
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary_preferred), r(0, 1));
}

TEST_F(RouterTest, ReplicaPolicy) {
  // Never checked: no replica is eligible, and the primary is never used.
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  mark_replica(*r(0, 0), false);
  mark_replica(*r(0, 1), false);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  mark_replica(*r(0, 0), true);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(router->pick(0, false, ReadFrom::replica), r(0, 0));
  mark_down(*r(0, 0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  // A replica that restarted empty reports role primary; its check finds it ineligible
  // (ClientCore::on_check: its offset starts again), so it serves no reads.
  r(0, 1)->health.on_check(NodeRole::primary, false, 1ms);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  // A just-promoted replica (role primary, judged eligible: its offset carries on) serves
  // reads until the shard is re-pointed to it.
  r(0, 1)->health.on_check(NodeRole::primary, true, 1ms);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), r(0, 1));
  r(0, 1)->health.on_check(NodeRole::primary, false, 1ms);
  mark_down(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  mark_replica(*r(0, 1), true);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), r(0, 1));  // primary down: no matter
}

TEST_F(RouterTest, ReplicaPreferredPolicy) {
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), p(0));  // no eligible replica
  mark_replica(*r(0, 0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), r(0, 0));
  mark_replica(*r(0, 0), false);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), p(0));
  r(0, 0)->health.on_check(NodeRole::primary, false, 1ms);  // restarted empty
  r(0, 1)->health.on_check(NodeRole::primary, false, 1ms);
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), p(0));
  mark_down(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), nullptr);
  mark_replica(*p(0));  // up as a replica (e.g. demoted by a failover not yet seen)
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), nullptr);
  mark_replica(*r(0, 1));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica_preferred), r(0, 1));
}

TEST_F(RouterTest, NearestPicksLowestLatencyAmongUsable) {
  mark_primary(*p(0), 500us);
  mark_replica(*r(0, 0), true, 300us);
  mark_replica(*r(0, 1), true, 100us);
  EXPECT_EQ(router->pick(0, false, ReadFrom::nearest), r(0, 1));
  mark_replica(*r(0, 1), false, 100us);  // ineligible (latency stays 100)
  EXPECT_EQ(router->pick(0, false, ReadFrom::nearest), r(0, 0));
  mark_down(*r(0, 0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::nearest), p(0));
  mark_down(*p(0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::nearest), nullptr);

  // The primary wins when it is the closest.
  mark_primary(*p(1), 50us);
  mark_replica(*r(1, 0), true, 300us);
  mark_replica(*r(1, 1), true, 100us);
  EXPECT_EQ(router->pick(1, false, ReadFrom::nearest), p(1));
  // A demoted primary is skipped even when closest.
  mark_replica(*p(1), false, 50us);
  EXPECT_EQ(router->pick(1, false, ReadFrom::nearest), r(1, 1));
  // A restarted-empty replica (role primary, judged ineligible) is skipped even when closest.
  r(1, 1)->health.on_check(NodeRole::primary, false, 10us);
  EXPECT_EQ(router->pick(1, false, ReadFrom::nearest), r(1, 0));
}

TEST_F(RouterTest, WritesGoOnlyToAUsablePrimary) {
  for (std::size_t s = 0; s < kShards; ++s) {
    mark_replica(*r(s, 0), true, 10us);
    mark_replica(*r(s, 1), true, 10us);
    mark_primary(*p(s), 900us);
  }
  for (ReadFrom rf : kAllPolicies) {
    for (std::size_t s = 0; s < kShards; ++s) {
      EXPECT_EQ(router->pick(s, true, rf), p(s)) << static_cast<int>(rf);
    }
  }
  mark_down(*p(0));
  mark_replica(*p(1), true);  // demoted: a replica now, even an eligible one
  for (ReadFrom rf : kAllPolicies) {
    EXPECT_EQ(router->pick(0, true, rf), nullptr) << static_cast<int>(rf);
    EXPECT_EQ(router->pick(1, true, rf), nullptr) << static_cast<int>(rf);
    EXPECT_EQ(router->pick(2, true, rf), p(2)) << static_cast<int>(rf);
  }
}

TEST_F(RouterTest, ShardsAreIndependent) {
  mark_down(*p(1));
  EXPECT_EQ(router->pick(0, false, ReadFrom::primary), p(0));
  EXPECT_EQ(router->pick(1, false, ReadFrom::primary), nullptr);
  EXPECT_EQ(router->pick(2, false, ReadFrom::primary), p(2));
  mark_replica(*r(2, 0));
  EXPECT_EQ(router->pick(0, false, ReadFrom::replica), nullptr);
  EXPECT_EQ(router->pick(2, false, ReadFrom::replica), r(2, 0));
}

TEST_F(RouterTest, ReplicaRoundRobinSpreadsOverEligibleOnly) {
  mark_replica(*r(0, 0));
  mark_replica(*r(0, 1));
  std::map<Node*, int> hits;
  for (int i = 0; i < 100; ++i) ++hits[router->pick(0, false, ReadFrom::replica)];
  EXPECT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[r(0, 0)], 50);
  EXPECT_EQ(hits[r(0, 1)], 50);

  // A third replica, ineligible: never picked; the eligible two still share.
  Node* r3 = make({"127.0.0.1", 7301}, 0, false);
  router->add_replica(0, r3);
  mark_replica(*r3, false);
  hits.clear();
  for (int i = 0; i < 300; ++i) ++hits[router->pick(0, false, ReadFrom::replica)];
  EXPECT_EQ(hits.count(r3), 0u);
  EXPECT_EQ(hits.count(nullptr), 0u);
  EXPECT_GT(hits[r(0, 0)], 50);
  EXPECT_GT(hits[r(0, 1)], 50);
  EXPECT_EQ(hits[r(0, 0)] + hits[r(0, 1)], 300);

  // Only one eligible: it takes everything.
  mark_down(*r(0, 0));
  hits.clear();
  for (int i = 0; i < 30; ++i) ++hits[router->pick(0, false, ReadFrom::replica_preferred)];
  EXPECT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[r(0, 1)], 30);
}

// ---- messages ----

TEST_F(RouterTest, UnavailableReasonNamesShardAndPrimary) {
  mark_down(*p(1));
  std::string w = router->unavailable_reason(1, true);
  EXPECT_NE(w.find("s2"), std::string::npos) << w;
  EXPECT_NE(w.find("127.0.0.1:7002"), std::string::npos) << w;
  EXPECT_NE(w.find("down"), std::string::npos) << w;
  EXPECT_EQ(w.find("replica"), std::string::npos) << w;

  std::string rd = router->unavailable_reason(1, false);
  EXPECT_NE(rd.find("s2"), std::string::npos) << rd;
  EXPECT_NE(rd.find("127.0.0.1:7002"), std::string::npos) << rd;
  EXPECT_NE(rd.find("no replica is eligible"), std::string::npos) << rd;

  mark_replica(*p(2));  // demoted
  std::string dm = router->unavailable_reason(2, true);
  EXPECT_NE(dm.find("s3"), std::string::npos) << dm;
  EXPECT_NE(dm.find("127.0.0.1:7003"), std::string::npos) << dm;
  EXPECT_NE(dm.find("replica now"), std::string::npos) << dm;
}

// ---- changes ----

TEST_F(RouterTest, SetPrimaryMovesOldPrimaryToReplicas) {
  Node* old = p(0);
  Node* promoted = r(0, 0);
  EXPECT_TRUE(old->is_primary.load());
  EXPECT_FALSE(promoted->is_primary.load());
  router->set_primary(0, promoted);
  EXPECT_EQ(router->shard(0).primary, promoted);
  EXPECT_TRUE(promoted->is_primary.load());
  EXPECT_FALSE(old->is_primary.load());
  auto reps = router->shard(0).replicas;
  EXPECT_EQ(std::count(reps.begin(), reps.end(), promoted), 0);
  EXPECT_EQ(std::count(reps.begin(), reps.end(), old), 1);
  EXPECT_EQ(std::count(reps.begin(), reps.end(), r(0, 1)), 1);
  EXPECT_EQ(reps.size(), 2u);
  EXPECT_EQ(router->nodes().size(), 9u);
  EXPECT_EQ(router->pick(0, true, ReadFrom::primary), promoted);

  // The same again changes nothing.
  router->set_primary(0, promoted);
  EXPECT_EQ(router->shard(0).primary, promoted);
  EXPECT_EQ(router->shard(0).replicas.size(), 2u);

  // Back to the old one.
  router->set_primary(0, old);
  EXPECT_EQ(router->shard(0).primary, old);
  EXPECT_TRUE(old->is_primary.load());
  EXPECT_FALSE(promoted->is_primary.load());
  reps = router->shard(0).replicas;
  EXPECT_EQ(reps.size(), 2u);
  EXPECT_EQ(std::count(reps.begin(), reps.end(), promoted), 1);
  EXPECT_EQ(std::count(reps.begin(), reps.end(), old), 0);

  // A node the shard did not know becomes primary; the old one joins the replicas.
  Node* fresh = make({"127.0.0.1", 7401}, 0, false);
  router->set_primary(0, fresh);
  reps = router->shard(0).replicas;
  EXPECT_EQ(reps.size(), 3u);
  EXPECT_EQ(std::count(reps.begin(), reps.end(), old), 1);
  EXPECT_EQ(router->nodes().size(), 10u);
  // Other shards untouched.
  EXPECT_EQ(router->shard(1).primary, p(1));
  EXPECT_TRUE(p(1)->is_primary.load());
}

TEST_F(RouterTest, AddReplicaIgnoresDuplicates) {
  router->add_replica(0, r(0, 0));
  router->add_replica(0, r(0, 1));
  router->add_replica(0, p(0));
  EXPECT_EQ(router->shard(0).replicas.size(), 2u);
  Node* extra = make({"127.0.0.1", 7301}, 0, false);
  router->add_replica(0, extra);
  router->add_replica(0, extra);
  auto reps = router->shard(0).replicas;
  EXPECT_EQ(reps, (std::vector<Node*>{r(0, 0), r(0, 1), extra}));
  EXPECT_EQ(router->nodes().size(), 10u);
  EXPECT_EQ(router->shard(1).replicas.size(), 2u);
}

// ---- failure policies ----

TEST_F(RouterTest, CachePolicyEjectsADownShardAndRestoresIt) {
  build(FailurePolicy::cache);
  const auto k = keys(10000);
  const auto before = placement_of(k);
  for (std::size_t s = 0; s < kShards; ++s) {
    EXPECT_GT(std::count(before.begin(), before.end(), s), 2500) << s;
  }

  mark_down(*p(1));
  router->on_health_change();
  const auto during = placement_of(k);
  auto placement = router->placement();
  std::size_t moved_between_live = 0;
  for (std::size_t i = 0; i < k.size(); ++i) {
    EXPECT_NE(during[i], 1u) << k[i];
    EXPECT_EQ(placement->shard_for(k[i]), during[i]) << k[i];
    if (before[i] != 1 && during[i] != before[i]) ++moved_between_live;
  }
  EXPECT_EQ(moved_between_live, 0u) << "keys of live shards moved while s2 was out";
  EXPECT_GT(std::count(during.begin(), during.end(), 0u), 4000);
  EXPECT_GT(std::count(during.begin(), during.end(), 2u), 4000);

  // Repeated notifications change nothing.
  router->on_health_change();
  EXPECT_EQ(placement_of(k), during);

  mark_primary(*p(1));
  ASSERT_TRUE(p(1)->health.up());
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
  EXPECT_TRUE(router->placement()->to_shard.empty());
}

// The same property for every algorithm: ejecting a shard moves only that shard's keys.
TEST_F(RouterTest, CachePolicyMovesOnlyTheDownShardsKeysForEveryAlgorithm) {
  for (const char* algorithm : {"ketama", "maglev", "jump", "rendezvous"}) {
    SCOPED_TRACE(algorithm);
    build(FailurePolicy::cache, ReadFrom::primary, algorithm);
    const auto k = keys(10000);
    const auto before = placement_of(k);
    mark_down(*p(1));
    router->on_health_change();
    const auto during = placement_of(k);
    std::size_t moved_between_live = 0;
    for (std::size_t i = 0; i < k.size(); ++i) {
      EXPECT_NE(during[i], 1u) << k[i];
      if (before[i] != 1 && during[i] != before[i]) ++moved_between_live;
    }
    EXPECT_EQ(moved_between_live, 0u);
    mark_primary(*p(1));
    router->on_health_change();
    EXPECT_EQ(placement_of(k), before);
  }
}

TEST_F(RouterTest, CachePolicyEjectsADemotedPrimary) {
  build(FailurePolicy::cache);
  const auto k = keys(2000);
  const auto before = placement_of(k);
  mark_replica(*p(2));  // up, but a replica now
  router->on_health_change();
  const auto during = placement_of(k);
  EXPECT_EQ(std::count(during.begin(), during.end(), 2u), 0);
  mark_primary(*p(2));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
}

TEST_F(RouterTest, CachePolicyWithEveryShardDownKeepsTheFullLayout) {
  build(FailurePolicy::cache);
  const auto k = keys(2000);
  const auto before = placement_of(k);
  for (std::size_t s = 0; s < kShards; ++s) mark_down(*p(s));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
  // One back: every key goes to it.
  mark_primary(*p(0));
  router->on_health_change();
  for (const auto& key : k) EXPECT_EQ(router->shard_for(key), 0u) << key;
  for (std::size_t s = 1; s < kShards; ++s) mark_primary(*p(s));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
}

TEST_F(RouterTest, StorePolicyNeverChangesPlacement) {
  build(FailurePolicy::store);
  const auto k = keys(10000);
  const auto before = placement_of(k);
  mark_down(*p(1));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
  mark_replica(*p(0));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
  EXPECT_TRUE(router->placement()->to_shard.empty());
  mark_primary(*p(0));
  mark_primary(*p(1));
  router->on_health_change();
  EXPECT_EQ(placement_of(k), before);
}

// ---- waiting for a primary ----

TEST_F(RouterTest, WaitForPrimaryReturnsAtOnceWhenUsable) {
  const auto t0 = Clock::now();
  EXPECT_EQ(router->wait_for_primary(0, t0 + 5s), p(0));
  EXPECT_LT(Clock::now() - t0, 1s);
}

TEST_F(RouterTest, WaitForPrimaryTimesOut) {
  mark_down(*p(0));
  const auto t0 = Clock::now();
  EXPECT_EQ(router->wait_for_primary(0, t0 + 50ms), nullptr);
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 2s);
}

TEST_F(RouterTest, WaitForPrimaryWakesWhenThePrimaryComesBack) {
  mark_down(*p(0));
  std::thread t([&] {
    std::this_thread::sleep_for(30ms);
    mark_primary(*p(0));
    router->on_health_change();
  });
  const auto t0 = Clock::now();
  Node* got = router->wait_for_primary(0, t0 + 10s);
  const auto waited = Clock::now() - t0;
  t.join();
  EXPECT_EQ(got, p(0));
  EXPECT_LT(waited, 5s);
}

TEST_F(RouterTest, WaitForPrimaryWakesOnFailover) {
  mark_down(*p(0));
  mark_primary(*r(0, 0));
  std::thread t([&] {
    std::this_thread::sleep_for(30ms);
    router->set_primary(0, r(0, 0));
  });
  const auto t0 = Clock::now();
  Node* got = router->wait_for_primary(0, t0 + 10s);
  const auto waited = Clock::now() - t0;
  t.join();
  EXPECT_EQ(got, r(0, 0));
  EXPECT_LT(waited, 5s);
}

}  // namespace
}  // namespace flyshard::detail
