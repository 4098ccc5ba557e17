// The migrator's pure parts: which keys move, which record follows which, and what a
// migrator started against a record does (start, resume, refuse, abort), plus resuming a
// SCAN only on the node that issued the cursor, the rate limiter and the adaptive rate's rule.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "reshard/aimd_rate.hpp"
#include "reshard/key_copy.hpp"
#include "reshard/latency_probe.hpp"
#include "reshard/move_plan.hpp"
#include "reshard/phase_plan.hpp"
#include "reshard/rate_limiter.hpp"

using namespace flyshard;
using namespace flyshard::detail;

namespace {

Topology layout(std::size_t n, std::string distribution = "ketama") {
  Topology t;
  t.distribution = std::move(distribution);
  for (std::size_t i = 1; i <= n; ++i)
    t.shards.push_back(ShardSpec{"s" + std::to_string(i),
                                 1,
                                 NodeAddress{"127.0.0.1", static_cast<std::uint16_t>(7000 + i)},
                                 {}});
  return t;
}

TopologyRecord stable(const Topology& t, std::uint64_t epoch = 1) {
  TopologyRecord r;
  r.epoch = epoch;
  r.layout = t;
  return r;
}

TEST(MovePlan, AKeyMovesExactlyWhenItsShardNameChanges) {
  const Topology a = layout(3), b = layout(4);
  const MovePlan plan(a, b);
  const Distribution da = a.make_distribution(), db = b.make_distribution();
  int moved = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string k = "key:" + std::to_string(i);
    const bool expect = da.shards()[da.shard_for(k)].name != db.shards()[db.shard_for(k)].name;
    ASSERT_EQ(plan.moves(k), expect) << k;
    if (plan.moves(k)) {
      ++moved;
      EXPECT_EQ(plan.to_shard(k), "s4") << "growing a ketama ring moves keys only to the new shard";
    }
  }
  EXPECT_NEAR(moved / 20000.0, 0.25, 0.08);
  EXPECT_TRUE(plan.in_target("s4"));
  EXPECT_FALSE(plan.in_source("s4"));
}

TEST(MovePlan, HashTaggedKeysMoveTogetherAndInternalKeysNever) {
  const MovePlan plan(layout(3), layout(4));
  for (int u = 0; u < 500; ++u) {
    const std::string tag = "{u" + std::to_string(u) + "}";
    EXPECT_EQ(plan.moves("cart:" + tag), plan.moves("orders:" + tag));
    EXPECT_EQ(plan.to_shard("cart:" + tag), plan.to_shard("orders:" + tag));
  }
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(plan.moves("flyshard:x:" + std::to_string(i)));
  EXPECT_TRUE(is_internal_key("flyshard:topology"));
  EXPECT_FALSE(is_internal_key("flyshard-topology"));
}

TEST(MovePlan, SameLayoutMovesNothing) {
  const MovePlan plan(layout(3, "maglev"), layout(3, "maglev"));
  for (int i = 0; i < 5000; ++i) EXPECT_FALSE(plan.moves("k" + std::to_string(i)));
}

TEST(PhasePlan, RecordsFollowTheProtocolWithOneEpochPerStep) {
  const Topology a = layout(3), b = layout(4);
  TopologyRecord r = begin_migration(stable(a, 5), b, "m9", Fencing::strict, 1234);
  EXPECT_EQ(r.epoch, 6u);
  EXPECT_EQ(r.state, MigrationState::preparing);
  EXPECT_EQ(r.migration_id, "m9");
  EXPECT_EQ(r.fencing, Fencing::strict);
  EXPECT_EQ(r.lease_ms, 1234u);
  EXPECT_TRUE(same_layout(*r.target, b));
  EXPECT_TRUE(same_layout(r.layout, a));
  r = advance(r, MigrationState::copying);
  r = advance(r, MigrationState::catchup);
  r = advance(r, MigrationState::cutover);
  EXPECT_EQ(r.epoch, 9u);
  EXPECT_TRUE(same_layout(source_layout(r), a));
  EXPECT_TRUE(same_layout(target_layout(r), b));
  r = flip(r);
  EXPECT_EQ(r.state, MigrationState::cleanup);
  EXPECT_TRUE(same_layout(r.layout, b));
  EXPECT_TRUE(same_layout(*r.previous, a));
  EXPECT_FALSE(r.target);
  EXPECT_TRUE(same_layout(source_layout(r), a)) << "cleanup unlinks from the old layout";
  EXPECT_TRUE(same_layout(target_layout(r), b));
  r = finish(r);
  EXPECT_EQ(r.epoch, 11u);
  EXPECT_EQ(r.state, MigrationState::stable);
  EXPECT_FALSE(r.previous);
  EXPECT_TRUE(r.migration_id.empty());

  // Every record survives the trip through the node's hash.
  const TopologyRecord back = TopologyRecord::from_fields(r.to_fields(), a);
  EXPECT_EQ(back.epoch, r.epoch);
  EXPECT_TRUE(same_layout(back.layout, b));
}

TEST(PhasePlan, StepsOutOfOrderAreRefused) {
  const TopologyRecord s = stable(layout(3));
  EXPECT_THROW(advance(s, MigrationState::copying), std::logic_error);
  EXPECT_THROW(flip(s), std::logic_error);
  EXPECT_THROW(finish(s), std::logic_error);
  EXPECT_THROW(rollback(s), std::logic_error);
  TopologyRecord p = begin_migration(s, layout(4), "m1", Fencing::lease, 5000);
  EXPECT_THROW(begin_migration(p, layout(4), "m2", Fencing::lease, 5000), std::logic_error);
  EXPECT_THROW(advance(p, MigrationState::cutover), std::logic_error) << "no skipping the copy";
  EXPECT_THROW(flip(p), std::logic_error) << "the flip only from cutover";
  const TopologyRecord c =
      flip(advance(advance(advance(p, MigrationState::copying), MigrationState::catchup),
                   MigrationState::cutover));
  EXPECT_THROW(rollback(c), std::logic_error) << "no abort after the flip";
}

TEST(PhasePlan, RollbackReturnsToLayoutAFromEveryPhaseBeforeTheFlip) {
  const Topology a = layout(3);
  TopologyRecord r = begin_migration(stable(a, 1), layout(4), "m1", Fencing::lease, 5000);
  for (MigrationState next :
       {MigrationState::copying, MigrationState::catchup, MigrationState::cutover}) {
    const TopologyRecord back = rollback(r);
    EXPECT_EQ(back.state, MigrationState::stable);
    EXPECT_EQ(back.epoch, r.epoch + 1);
    EXPECT_TRUE(same_layout(back.layout, a));
    EXPECT_FALSE(back.target);
    EXPECT_TRUE(back.migration_id.empty());
    r = advance(r, next);
  }
}

TEST(PhasePlan, MigrateDecisions) {
  const Topology a = layout(3), b = layout(4), c = layout(5);
  EXPECT_EQ(decide_migrate(std::nullopt, b).decision, Decision::refuse);
  EXPECT_NE(decide_migrate(std::nullopt, b).message.find("flyshard init"), std::string::npos);
  EXPECT_EQ(decide_migrate(stable(a), b).decision, Decision::start);
  EXPECT_EQ(decide_migrate(stable(b), b).decision, Decision::nothing_to_do);
  TopologyRecord r = begin_migration(stable(a), b, "m1", Fencing::lease, 5000);
  EXPECT_EQ(decide_migrate(r, b).decision, Decision::resume);
  const Verdict other = decide_migrate(r, c);
  EXPECT_EQ(other.decision, Decision::refuse);
  EXPECT_NE(other.message.find("m1"), std::string::npos) << other.message;
  r = flip(advance(advance(advance(r, MigrationState::copying), MigrationState::catchup),
                   MigrationState::cutover));
  EXPECT_EQ(decide_migrate(r, b).decision, Decision::resume) << "cleanup resumes";
  EXPECT_EQ(decide_migrate(r, c).decision, Decision::refuse);
}

TEST(PhasePlan, AbortAndInitDecisions) {
  const Topology a = layout(3), b = layout(4);
  EXPECT_EQ(decide_abort(std::nullopt).decision, Decision::refuse);
  EXPECT_EQ(decide_abort(stable(a)).decision, Decision::nothing_to_do);
  TopologyRecord r = begin_migration(stable(a), b, "m1", Fencing::lease, 5000);
  EXPECT_EQ(decide_abort(r).decision, Decision::abort);
  r = flip(advance(advance(advance(r, MigrationState::copying), MigrationState::catchup),
                   MigrationState::cutover));
  EXPECT_EQ(decide_abort(r).decision, Decision::refuse);

  EXPECT_EQ(decide_init(std::nullopt, a).decision, Decision::start);
  EXPECT_EQ(decide_init(stable(a, 7), a).decision, Decision::nothing_to_do);
  EXPECT_EQ(decide_init(stable(a, 7), b).decision, Decision::refuse);
}

TEST(PhasePlan, SameLayoutIgnoresCredentialsButNotAddressesOrWeights) {
  Topology a = layout(3), b = layout(3);
  b.auth.password = "secret";
  EXPECT_TRUE(same_layout(a, b));
  b.shards[1].weight = 2;
  EXPECT_FALSE(same_layout(a, b));
  b = layout(3);
  b.shards[2].primary.port = 9999;
  EXPECT_FALSE(same_layout(a, b));
  EXPECT_FALSE(same_layout(layout(3, "ketama"), layout(3, "maglev")));
}

TEST(PhasePlan, AScanCursorResumesOnlyOnTheNodeThatIssuedIt) {
  EXPECT_EQ(resume_cursor("1234", "run-a", "run-a"), "1234");
  EXPECT_EQ(resume_cursor("1234", "run-a", "run-b"), "0") << "a promoted replica: start again";
  EXPECT_EQ(resume_cursor("1234", "", "run-a"), "0");
  EXPECT_EQ(resume_cursor("", "run-a", "run-a"), "0");
}

TEST(KeyCopy, BigKeysAreCollectionsOverTheThresholdButNeverStreams) {
  CopyOptions o;
  o.big_elements = 100;
  o.big_bytes = 1000;
  EXPECT_FALSE(is_big("hash", 100, o));
  EXPECT_TRUE(is_big("hash", 101, o));
  EXPECT_TRUE(is_big("zset", 101, o));
  EXPECT_TRUE(is_big("string", 1001, o));
  EXPECT_FALSE(is_big("string", 101, o));
  EXPECT_FALSE(is_big("stream", 1000000, o)) << "DUMP keeps consumer groups";
  EXPECT_FALSE(is_big("ReJSON-RL", 1000000, o));
  EXPECT_STREQ(size_command("list"), "LLEN");
  EXPECT_EQ(size_command("ReJSON-RL"), nullptr);
}

TEST(RateLimiter, SpreadsKeysOverTime) {
  RateLimiter r(10000);  // 10,000 keys/s: 2,000 keys take at least 0.1 s after the first batch
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) r.acquire(1000);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(190));
  RateLimiter none(0);
  none.acquire(1000000);  // no limit: returns at once (a hang would time the test out)
}

TEST(RateLimiter, ANewRateAppliesToTheNextBatchAndZeroLiftsIt) {
  RateLimiter r(0);
  r.set_rate(1e9);
  const auto t0 = std::chrono::steady_clock::now();
  r.acquire(1000);
  r.acquire(1000);  // 1 µs at this rate
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  r.set_rate(0.001);
  r.set_rate(0);
  r.acquire(1000000);  // no limit: returns at once (a hang would time the test out)
  EXPECT_EQ(r.rate(), 0);
}

TEST(RateLimiter, AHoldStopsNewBatchesUntilReleasedButNotTheFinalDrain) {
  RateLimiter r(0);
  r.hold(true);
  std::atomic<bool> passed{false};
  std::thread batch([&] {
    r.acquire(10);
    passed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(passed.load()) << "held";
  r.hold(false);
  batch.join();
  EXPECT_TRUE(passed.load());
  r.hold(true);
  r.lift(true);
  r.acquire(10);  // the final drain: returns at once (a hang would time the test out)
}

TEST(AimdRate, GrowsByStepsWhileTheRoundTripHoldsAndHalvesWhenItDoesNot) {
  AdaptiveRateOptions o;
  o.start = 2000;
  o.floor = 500;
  o.increase = 1000;
  o.decrease = 0.5;
  o.tolerance = 0.10;
  o.slack_us = 5;
  AimdRate a(o);
  a.set_baseline(100);  // µs
  EXPECT_EQ(a.rate(), 2000);
  EXPECT_EQ(a.observe(100), 3000);
  EXPECT_EQ(a.observe(115), 4000) << "within 10 % + 5 µs";
  EXPECT_EQ(a.observe(116), 2000) << "over it: halved";
  EXPECT_EQ(a.cuts(), 1u);
  EXPECT_EQ(a.observe(300), 1000);
  EXPECT_EQ(a.observe(300), 500);
  EXPECT_EQ(a.observe(300), 500) << "never below the floor";
  EXPECT_EQ(a.observe(50), 1500) << "a faster round trip than the baseline is calm too";
}

TEST(AimdRate, KeepsUnderItsCeilingAndStartsThereWhenStartIsHigher) {
  AdaptiveRateOptions o;
  o.start = 50000;
  o.ceiling = 20000;
  o.increase = 1000;
  AimdRate a(o);
  a.set_baseline(100);
  EXPECT_EQ(a.rate(), 20000);
  EXPECT_EQ(a.observe(100), 20000);
  EXPECT_EQ(a.observe(1000), 10000);
  for (int i = 0; i < 20; ++i) a.observe(100);
  EXPECT_EQ(a.rate(), 20000);
}

TEST(AimdRate, ACutEveryOtherIntervalSettlesBelowWhereTheLoadHurts) {
  // A node that slows down above 8,000 keys/s: the rate saws between about half of that and
  // it, never staying over it for more than one interval.
  AdaptiveRateOptions o;
  o.start = 2000;
  o.increase = 1000;
  AimdRate a(o);
  a.set_baseline(100);
  int over = 0;
  for (int i = 0; i < 200; ++i) {
    const double rtt = a.rate() > 8000 ? 200 : 100;
    if (rtt > 100) ++over;
    a.observe(rtt);
    EXPECT_LE(a.rate(), 9000);
  }
  EXPECT_LT(over, 60) << "most intervals under the knee";
  EXPECT_GT(a.cuts(), 10u);
}

TEST(LatencyProbe, MeanOfSamplesCountsTheTail) {
  EXPECT_EQ(mean_of({10, 10, 10, 90}), 30) << "one slow round trip in four moves the mean";
  EXPECT_EQ(mean_of({}), 0);
}

}  // namespace
