// Online resharding, the client side, on real servers: a client follows the topology record
// (poll and hint), takes the highest epoch, writes moving keys through the guard script while
// they are copied, holds them during the cutover, routes by the new layout after the flip,
// and, paused across an epoch change, writes nothing by the old layout (lease and strict).
// The records are written by hand (raw HSET), as the migrator would write them.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "reshard/layout_pair.hpp"
#include "shared_cluster_test.hpp"
#include "topology_record_writer.hpp"

extern char** environ;

namespace flyshard {
namespace {

using namespace std::chrono_literals;
using detail::Fencing;
using detail::LayoutPair;
using detail::MigrationState;
using detail::TopologyRecord;
using testing::eventually;
using testing::ServerProcess;

class ReshardClientTest : public testing::SharedClusterTest<3> {
 protected:
  static void SetUpTestSuite() {
    SharedClusterTest<3>::SetUpTestSuite();
    testing::ServerOptions o;
    o.label = "s4-primary";
    extra_ = new ServerProcess(o);  // the shard a layout adds
    extra_->start();
  }
  static void TearDownTestSuite() {
    delete extra_;
    extra_ = nullptr;
    SharedClusterTest<3>::TearDownTestSuite();
  }
  void SetUp() override {
    SharedClusterTest<3>::SetUp();
    extra_->command({"FLUSHALL"});
  }

  static Topology layout_a() { return cluster_->topology(); }
  // A plus a fourth shard on the extra server.
  static Topology layout_b() {
    Topology b = layout_a();
    ShardSpec s4;
    s4.name = "s4";
    s4.primary = extra_->address();
    b.shards.push_back(s4);
    return b;
  }
  static std::vector<ServerProcess*> primaries_a() {
    return {&cluster_->primary(0), &cluster_->primary(1), &cluster_->primary(2)};
  }
  static std::vector<ServerProcess*> primaries_b() {
    auto p = primaries_a();
    p.push_back(extra_);
    return p;
  }
  static ServerProcess& server_of(const Topology& t, std::size_t shard) {
    if (t.shards[shard].name == "s4") return *extra_;
    return cluster_->primary(shard);
  }

  static TopologyRecord stable(std::uint64_t epoch, const Topology& layout,
                               Fencing fencing = Fencing::lease) {
    TopologyRecord r;
    r.epoch = epoch;
    r.layout = layout;
    r.fencing = fencing;
    return r;
  }
  static TopologyRecord migrating(std::uint64_t epoch, MigrationState state,
                                  Fencing fencing = Fencing::lease) {
    TopologyRecord r = stable(epoch, layout_a(), fencing);
    r.state = state;
    r.target = layout_b();
    r.migration_id = "m1";
    return r;
  }

  // A key that moves from A to B (to s4), and one that does not.
  static std::string moving_key(int from = 0) {
    const Topology a = layout_a(), b = layout_b();
    LayoutPair p(a, &b);
    for (int i = from;; ++i) {
      std::string k = "key:" + std::to_string(i);
      if (p.moves(k)) return k;
    }
  }
  static std::string staying_key() {
    const Topology a = layout_a(), b = layout_b();
    LayoutPair p(a, &b);
    for (int i = 0;; ++i) {
      std::string k = "key:" + std::to_string(i);
      if (!p.moves(k)) return k;
    }
  }

  static ClientOptions fast_poll() {
    ClientOptions o;
    o.health_interval = 50ms;
    o.topology_poll_interval = 50ms;
    o.request_timeout = 2000ms;
    return o;
  }
  // No poll during a test: only the hint, a fence or a guard can make the client read.
  static ClientOptions no_poll() {
    ClientOptions o;
    o.health_interval = 60s;
    o.topology_poll_interval = 0ms;
    o.request_timeout = 2000ms;
    return o;
  }

  void paused_client_writes_by_the_new_layout(Fencing fencing);

  // The members of migration m1's dirty set on `server`.
  static std::set<std::string> dirty_set(ServerProcess& server) {
    std::set<std::string> out;
    const Reply members = server.command({"SMEMBERS", "flyshard:dirty:m1"});
    for (const Reply& m : members.elements()) out.insert(m.str());
    return out;
  }
  // A transaction of `c` that SETs the moving `key` to "t": it runs on the key's source and
  // the key lands in the source's dirty set (the SADD inside the same MULTI/EXEC).
  static void expect_recorded_transaction(Client& c, const std::string& key) {
    const Topology a = layout_a(), b = layout_b();
    ServerProcess& source = cluster_->primary(LayoutPair(a, &b).shard_for(key));
    auto tx = c.transaction();
    tx.command({"SET", key, "t"});
    const auto replies = tx.exec();
    ASSERT_TRUE(replies.has_value());
    ASSERT_EQ(replies->size(), 1u);
    EXPECT_EQ((*replies)[0].str(), "OK");
    EXPECT_EQ(source.command({"GET", key}).str(), "t");
    EXPECT_EQ(source.command({"SISMEMBER", "flyshard:dirty:m1", key}).integer(), 1);
  }

  static inline ServerProcess* extra_ = nullptr;
};

TEST_F(ReshardClientTest, WithoutARecordRoutesByTheFileAtEpochZero) {
  Client c(layout_a(), fast_poll());
  EXPECT_EQ(c.epoch(), 0u);
  c.set("a", "1");
  EXPECT_EQ(c.get("a"), "1");
  EXPECT_EQ(c.layout().shards.size(), 3u);
  EXPECT_EQ(c.stats().topology_changes, 0u);
}

TEST_F(ReshardClientTest, FollowsARecordWrittenAfterItStartedByPolling) {
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 0u);
  testing::write_record(primaries_a(), stable(1, layout_a()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 1; }, 5s));
  EXPECT_EQ(c.stats().topology_changes, 1u);
  EXPECT_EQ(c.stats().topology_epoch, 1u);
  EXPECT_NE(to_prometheus(c.stats()).find("flyshard_topology_epoch 1"), std::string::npos);
}

// A client with health checks off still follows the record (it routed moving keys by its
// file's layout forever before: its record reads ran on the health round).
TEST_F(ReshardClientTest, FollowsTheRecordWithHealthChecksOff) {
  ClientOptions o = fast_poll();
  o.health_interval = 0ms;
  Client c(layout_a(), o);
  ASSERT_EQ(c.epoch(), 0u);
  testing::write_record(primaries_a(), stable(1, layout_a()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 1; }, 5s));
  // And moves to the new layout at a flip: a moving key is written to its layout-B shard.
  testing::write_record(primaries_b(), stable(2, layout_b()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 2; }, 5s));
  const std::string k = moving_key();
  c.set(k, "by-b");
  EXPECT_EQ(extra_->command({"GET", k}).str(), "by-b");
}

TEST_F(ReshardClientTest, FollowsQuicklyOnTheHint) {
  Client c(layout_a(), no_poll());
  // The hint subscription is made on the first round; publish until the client hears one.
  const TopologyRecord r = stable(1, layout_a());
  testing::write_record(primaries_a(), r);
  EXPECT_TRUE(eventually(
      [&] {
        testing::write_record(primaries_a(), r, /*announce=*/true);
        return c.epoch() == 1;
      },
      10s))
      << "no poll in 60 s: only the pub/sub hint can have told the client";
}

TEST_F(ReshardClientTest, RegistersAnEpochAsSoonAsItAppliesIt) {
  testing::write_record(primaries_a(), stable(1, layout_a()));
  Client c(layout_a(), no_poll());
  ASSERT_EQ(c.epoch(), 1u);
  // Its id is in the registry, its registration shows 1 (the first round, right at start).
  auto registered = [&](const std::string& epoch) {
    for (std::size_t i = 0; i < 3; ++i) {
      const Reply ids = cluster_->primary(i).command({"SMEMBERS", "flyshard:clients"});
      if (ids.elements().size() != 1) return false;
      const Reply e =
          cluster_->primary(i).command({"GET", "flyshard:client:" + ids.elements()[0].str()});
      if (e.is_nil() || e.str() != epoch) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return registered("1"); }, 5s));
  // Epoch 2 told by the hint only: the registration follows at once, not on the next round
  // (60 s away).
  const TopologyRecord r = stable(2, layout_a());
  testing::write_record(primaries_a(), r);
  EXPECT_TRUE(eventually(
      [&] {
        testing::write_record(primaries_a(), r, /*announce=*/true);
        return registered("2");
      },
      10s));
}

TEST_F(ReshardClientTest, LeaseGuardRefusesAMovingKeyWriteThatArrivesAfterTheCutover) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::catchup));
  Client c(layout_a(), no_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const std::string mk = moving_key();
  c.set(mk, "before");  // guarded, into the dirty set
  // The cutover behind the client's back (no hint, no poll): its next write still carries
  // epoch 2 (as one already on its way would). The guard must refuse it on the source,
  // which the final drain has emptied; the client re-reads, holds the key, and writes it by
  // layout B after the flip.
  testing::write_record(primaries_a(), migrating(3, MigrationState::cutover));
  std::thread migrator([&] {
    std::this_thread::sleep_for(300ms);
    TopologyRecord flip = stable(4, layout_b());
    flip.state = MigrationState::cleanup;
    flip.previous = layout_a();
    flip.migration_id = "m1";
    testing::write_record(primaries_b(), flip);
  });
  c.set(mk, "after");
  migrator.join();
  EXPECT_EQ(c.epoch(), 4u);
  EXPECT_EQ(extra_->command({"GET", mk}).str(), "after");  // by layout B
  const Topology a = layout_a();
  const std::size_t from = a.make_distribution().shard_for(mk);
  EXPECT_EQ(cluster_->primary(from).command({"GET", mk}).str(), "before")
      << "the late write reached the source";
}

TEST_F(ReshardClientTest, HighestEpochWinsAndNeverGoesBack) {
  Client c(layout_a(), fast_poll());
  testing::write_record({&cluster_->primary(0)}, stable(3, layout_a()));
  testing::write_record({&cluster_->primary(1)}, stable(5, layout_a()));
  testing::write_record({&cluster_->primary(2)}, stable(4, layout_a()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 5; }, 5s));
  // An older record everywhere: the client keeps 5. Its registration key is set every round;
  // once it is back after a DEL, a round ran after the old record was written.
  testing::write_record(primaries_a(), stable(2, layout_a()));
  for (int round = 0; round < 2; ++round) {
    auto keys = [&] { return cluster_->primary(0).command({"KEYS", "flyshard:client:*"}); };
    const Reply registered = keys();
    for (const Reply& k : registered.elements()) cluster_->primary(0).command({"DEL", k.str()});
    ASSERT_TRUE(eventually([&] { return !keys().elements().empty(); }, 5s));
    const Reply k = keys().elements()[0];
    EXPECT_EQ(cluster_->primary(0).command({"GET", k.str()}).str(), "5");
  }
  EXPECT_EQ(c.epoch(), 5u);
}

TEST_F(ReshardClientTest, PreparingWritesMovingKeysThroughTheGuardIntoTheDirtySet) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::preparing));
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  std::set<std::string> moving[3];
  std::size_t moved = 0, stayed = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string k = "key:" + std::to_string(i);
    c.set(k, "v" + std::to_string(i));
    if (p.moves(k)) {
      moving[p.shard_for(k)].insert(k);
      ++moved;
    } else {
      ++stayed;
    }
  }
  ASSERT_GT(moved, 0u);
  ASSERT_GT(stayed, 0u);
  for (std::size_t s = 0; s < 3; ++s)
    EXPECT_EQ(dirty_set(cluster_->primary(s)), moving[s]) << "shard " << s;
  for (int i = 0; i < 200; ++i) {
    const std::string k = "key:" + std::to_string(i);
    EXPECT_EQ(c.get(k), "v" + std::to_string(i));
    // Still on the source (layout A): nothing is copied before the migrator does it.
    EXPECT_EQ(cluster_->primary(p.shard_for(k)).command({"GET", k}).str(), "v" + std::to_string(i));
  }
  EXPECT_EQ(extra_->command({"DBSIZE"}).integer(), 0);
  // A multi-key write goes key by key, each guarded: the dirty sets see MSET's moving keys.
  const std::string mk = moving_key(1000);
  c.mset({{mk, "m"}, {staying_key(), "s"}});
  EXPECT_EQ(
      cluster_->primary(p.shard_for(mk)).command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(),
      1);
  // A transaction on a moving key runs, its SADD to the dirty set inside the same MULTI/EXEC
  // (moving_in_transactions_and_scripts covers it in depth).
  expect_recorded_transaction(c, moving_key(2000));
}

// calls= of `command` in INFO commandstats on `p` (0 before its first call).
long long calls_of(ServerProcess& p, const std::string& command) {
  const std::string s = p.command({"INFO", "commandstats"}).str();
  const std::string field = "cmdstat_" + command + ":calls=";
  const auto at = s.find(field);
  return at == std::string::npos ? 0 : std::stoll(s.substr(at + field.size()));
}

// Multi-key calls while a migration copies: the keys that stay go by shard, one MSET/DEL/MGET
// per shard as with no migration (their path and cost do not change), and only the moving
// ones go alone through the guard into the dirty set; reads all go by shard.
TEST_F(ReshardClientTest, MultiKeyCallsSendOnlyTheMovingKeysAlone) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::copying));
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> keys, moving;
  std::vector<std::size_t> staying_per_shard(3, 0);
  for (int i = 0; i < 60; ++i) {
    const std::string k = "mk:" + std::to_string(i);
    pairs.emplace_back(k, "v" + std::to_string(i));
    keys.push_back(k);
    if (p.moves(k)) {
      moving.push_back(k);
    } else {
      ++staying_per_shard[p.shard_for(k)];
    }
  }
  ASSERT_FALSE(moving.empty());
  for (std::size_t s = 0; s < 3; ++s) ASSERT_GT(staying_per_shard[s], 0u) << s;
  auto counts = [&](const std::string& command) {
    std::vector<long long> n;
    for (auto* srv : primaries_a()) n.push_back(calls_of(*srv, command));
    return n;
  };
  auto total = [](const std::vector<long long>& v) { return v[0] + v[1] + v[2]; };
  for (const bool async : {false, true}) {
    SCOPED_TRACE(async ? "async" : "blocking");
    Client c(layout_a(), fast_poll());
    ASSERT_EQ(c.epoch(), 2u);
    for (auto* srv : primaries_a()) srv->command({"DEL", "flyshard:dirty:m1"});
    const auto mset0 = counts("mset"), eval0 = counts("evalsha"), mget0 = counts("mget"),
               del0 = counts("del");
    if (async) {
      std::promise<Result<MultiKeyReply>> done;
      c.async().mset(pairs, [&](Result<MultiKeyReply> r) { done.set_value(std::move(r)); });
      const auto r = done.get_future().get();
      ASSERT_TRUE(r.ok() && r.value().ok()) << r.message();
    } else {
      c.mset(pairs);
    }
    const auto mset1 = counts("mset"), eval1 = counts("evalsha");
    for (std::size_t s = 0; s < 3; ++s) EXPECT_EQ(mset1[s] - mset0[s], 1) << "one MSET on " << s;
    EXPECT_EQ(total(eval1) - total(eval0), static_cast<long long>(moving.size()))
        << "one guarded SET per moving key";
    std::set<std::string> dirty;
    for (auto* srv : primaries_a()) dirty.merge(dirty_set(*srv));
    EXPECT_EQ(dirty, std::set<std::string>(moving.begin(), moving.end()));
    const auto values = c.mget(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(values[i], pairs[i].second) << i;
    EXPECT_EQ(total(counts("mget")) - total(mget0), 3) << "a read goes by shard, moving keys too";
    EXPECT_EQ(c.del(keys), static_cast<long long>(keys.size()));
    // One DEL per shard for the staying keys; Redis also counts the DEL each guard script of a
    // moving key runs (a server that counts only its clients' commands would not).
    const long long dels = total(counts("del")) - total(del0);
    EXPECT_TRUE(dels == 3 || dels == 3 + static_cast<long long>(moving.size())) << dels;
    EXPECT_EQ(total(counts("evalsha")) - total(eval1), static_cast<long long>(moving.size()));
    for (const auto& k : keys) EXPECT_FALSE(c.get(k).has_value()) << k;
  }
}

TEST_F(ReshardClientTest, ScriptsAndTheAsyncFaceDuringAMigration) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::preparing));
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  const std::string mk = moving_key(), sk = staying_key();
  const std::string script = "return redis.call('SET', KEYS[1], ARGV[1])";
  // A script cannot run inside the guard: on a moving key it runs inside MULTI/EXEC with the
  // SADD to the dirty set instead.
  EXPECT_EQ(c.eval(script, {mk}, {"x"}).str(), "OK");
  EXPECT_EQ(cluster_->primary(p.shard_for(mk)).command({"GET", mk}).str(), "x");
  EXPECT_EQ(
      cluster_->primary(p.shard_for(mk)).command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(),
      1);
  c.eval(script, {sk}, {"y"});
  EXPECT_EQ(c.get(sk), "y");
  // The async face guards as the blocking one does.
  c.async().command({"SET", mk, "async"}).get();
  EXPECT_EQ(cluster_->primary(p.shard_for(mk)).command({"GET", mk}).str(), "async");
  EXPECT_EQ(
      cluster_->primary(p.shard_for(mk)).command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(),
      1);
  // In the cutover it does not wait: a moving key fails at once, retriably.
  testing::write_record(primaries_a(), migrating(3, MigrationState::cutover));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 3; }, 5s));
  try {
    c.async().command({"SET", mk, "frozen"}).get();
    FAIL() << "an async write of a frozen key went out";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::migrating) << e.what();
  }
  c.async().command({"SET", sk, "fine"}).get();
  EXPECT_EQ(c.get(sk), "fine");
}

Result<Reply> async_transaction(Client& c, const std::vector<std::vector<std::string>>& commands) {
  std::promise<Result<Reply>> done;
  c.async().transaction(commands, [&](Result<Reply> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

// Scripts and transactions on moving keys keep working in the catch-up (they were refused from
// the catch-up to the flip): checked against the stored record first, recorded in the dirty
// set inside their MULTI/EXEC.
TEST_F(ReshardClientTest, ScriptsAndTransactionsOnMovingKeysRunInTheCatchUp) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::catchup));
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  const std::string mk = moving_key(), mk2 = moving_key(3000);
  ServerProcess& source = cluster_->primary(p.shard_for(mk));
  const Script set_script("return redis.call('SET', KEYS[1], ARGV[1])");
  EXPECT_EQ(set_script.run(c, {mk}, {"x"}).str(), "OK");
  EXPECT_EQ(source.command({"GET", mk}).str(), "x");
  EXPECT_EQ(source.command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(), 1);
  expect_recorded_transaction(c, mk2);
  ServerProcess& source2 = cluster_->primary(p.shard_for(mk2));
  // The async face and write_and_wait the same way.
  const Result<Reply> at = async_transaction(c, {{"SET", mk2, "async"}});
  ASSERT_TRUE(at.ok()) << at.message();
  EXPECT_EQ(at.value().elements().size(), 1u);
  EXPECT_EQ(source2.command({"GET", mk2}).str(), "async");
  const AckedReplies acked = c.write_and_wait({{"SET", mk2, "acked"}}, ReplicaAck{0});
  ASSERT_EQ(acked.replies.size(), 1u);
  EXPECT_EQ(acked.replies[0].str(), "OK");
  EXPECT_EQ(source2.command({"GET", mk2}).str(), "acked");
}

// The check before a recorded write: a client routing by an older epoch than the stored one
// writes nothing through MULTI/EXEC (the guard refuses single writes the same way). The async
// face reports it retriably; the blocking face re-reads the record and runs it again.
TEST_F(ReshardClientTest, ARecordedWriteByAStaleEpochIsRefusedAndNothingRuns) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::copying));
  Client c(layout_a(), no_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  const std::string mk = moving_key();
  ServerProcess& source = cluster_->primary(p.shard_for(mk));
  source.command({"SET", mk, "before"});
  // Epoch 3 (still copying) behind the client's back: no hint, no poll.
  testing::write_record(primaries_a(), migrating(3, MigrationState::copying));
  const Result<Reply> refused = async_transaction(c, {{"SET", mk, "stale-tx"}});
  ASSERT_FALSE(refused.ok()) << "a transaction by a stale epoch ran";
  EXPECT_EQ(refused.error(), errc::migrating) << refused.message();
  EXPECT_EQ(source.command({"GET", mk}).str(), "before") << "the refused transaction wrote";
  EXPECT_EQ(source.command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(), 0);
  // Epoch 4 behind its back again (the async refusal made it read epoch 3): the blocking face
  // is refused, re-reads and writes under epoch 4.
  ASSERT_TRUE(eventually([&] { return c.epoch() == 3; }, 5s));
  testing::write_record(primaries_a(), migrating(4, MigrationState::copying));
  EXPECT_EQ(c.eval("return redis.call('SET', KEYS[1], ARGV[1])", {mk}, {"fresh"}).str(), "OK");
  EXPECT_EQ(c.epoch(), 4u) << "only the check's refusal can have made the client re-read";
  EXPECT_EQ(source.command({"GET", mk}).str(), "fresh");
  EXPECT_EQ(source.command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(), 1);
}

TEST_F(ReshardClientTest, ScriptsAndTransactionsOnMovingKeysAreRecordedWhileCopying) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::copying));
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  std::string tag;
  for (int i = 0;; ++i) {
    tag = "{mt" + std::to_string(i) + "}";
    if (p.moves(tag + "x")) break;
  }
  ServerProcess& source = cluster_->primary(p.shard_for(tag + "x"));
  auto dirty = [&](const std::string& k) {
    return source.command({"SISMEMBER", "flyshard:dirty:m1", k}).integer() == 1;
  };
  auto on_source = [&](const std::string& k) { return source.command({"GET", k}); };

  // Scripts no node holds yet (a fresh comment each run; no SCRIPT FLUSH, which would drop
  // the guard too, and a pipeline does not fall back from the guard's NOSCRIPT).
  const std::string fresh =
      "\n-- " + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  // A Script: the node does not hold it yet, so EVALSHA's NOSCRIPT (EXEC's first element)
  // makes Script::run send EVAL, recorded the same way.
  const Script set_script("return redis.call('SET', KEYS[1], ARGV[1])" + fresh);
  ASSERT_EQ(source.command({"SCRIPT", "EXISTS", set_script.sha1()}).elements()[0].integer(), 0);
  EXPECT_EQ(set_script.run(c, {tag + "script"}, {"s1"}).str(), "OK");
  EXPECT_EQ(on_source(tag + "script").str(), "s1");
  EXPECT_TRUE(dirty(tag + "script"));
  // Loaded now: EVALSHA itself runs inside MULTI/EXEC.
  EXPECT_EQ(set_script.run(c, {tag + "script2"}, {"s2"}).str(), "OK");
  EXPECT_TRUE(dirty(tag + "script2"));
  // A script's own error comes back as from a lone EVAL, and a read-only one is not recorded.
  try {
    c.eval("return redis.error_reply('MYERR no')", {tag + "err"}, {});
    FAIL() << "the script's error was lost";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
    EXPECT_NE(std::string(e.what()).find("MYERR no"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.command({"EVAL_RO", "return redis.call('GET', KEYS[1])", "1", tag + "script"}).str(),
            "s1");

  // A transaction: its replies are its own commands' (the SADD's is taken off), the keys it
  // writes are in the dirty set, a key it only reads is not.
  {
    auto tx = c.transaction();
    tx.command({"SET", tag + "a", "1"})
        .command({"INCRBY", tag + "b", "5"})
        .command({"GET", tag + "script"});
    const auto r = tx.exec();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].str(), "OK");
    EXPECT_EQ((*r)[1].integer(), 5);
    EXPECT_EQ((*r)[2].str(), "s1");
  }
  EXPECT_TRUE(dirty(tag + "a"));
  EXPECT_TRUE(dirty(tag + "b"));
  EXPECT_EQ(on_source(tag + "b").str(), "5");
  // WATCHed, as the shop's checkout does; a script inside the transaction too.
  {
    auto tx = c.transaction();
    tx.watch({tag + "b"});
    EXPECT_EQ(tx.read({"GET", tag + "b"}).str(), "5");
    tx.command({"DECRBY", tag + "b", "2"})
        .command({"EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", tag + "c", "v"});
    const auto r = tx.exec();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].integer(), 3);
    EXPECT_EQ((*r)[1].str(), "OK");
  }
  EXPECT_TRUE(dirty(tag + "c"));
  // A WATCHed key that changed still aborts it (nil), with nothing written.
  {
    auto tx = c.transaction();
    tx.watch({tag + "b"});
    source.command({"SET", tag + "b", "100"});
    tx.command({"SET", tag + "d", "x"});
    EXPECT_FALSE(tx.exec().has_value());
    EXPECT_TRUE(on_source(tag + "d").is_nil());
  }
  // A write sent at once by Transaction::read cannot be recorded: refused, retriably.
  {
    auto tx = c.transaction();
    try {
      tx.read({"SET", tag + "e", "x"});
      FAIL() << "Transaction::read wrote a moving key unrecorded";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::migrating) << e.what();
    }
  }
  // exec_and_wait and write_and_wait (Script::run_and_wait, EVALSHA then EVAL) record too.
  ReplicaAck ack;
  ack.replicas = 0;
  {
    auto tx = c.transaction();
    tx.command({"SET", tag + "f", "f"});
    const auto r = tx.exec_and_wait(ack);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->replies.size(), 1u);
    EXPECT_EQ(r->replies[0].str(), "OK");
  }
  EXPECT_TRUE(dirty(tag + "f"));
  {
    const AckedReplies r = c.write_and_wait({{"SET", tag + "g", "g"}, {"INCR", tag + "h"}}, ack);
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(r.replies[0].str(), "OK");
    EXPECT_EQ(r.replies[1].integer(), 1);
  }
  EXPECT_TRUE(dirty(tag + "g"));
  EXPECT_TRUE(dirty(tag + "h"));
  const Script other("return redis.call('SET', KEYS[1], 'w')" +
                     fresh);  // not loaded: NOSCRIPT first
  {
    const AckedReplies r = other.run_and_wait(c, {tag + "i"}, {}, ack);
    ASSERT_EQ(r.replies.size(), 1u);
    EXPECT_EQ(r.replies[0].str(), "OK");
  }
  EXPECT_EQ(on_source(tag + "i").str(), "w");
  EXPECT_TRUE(dirty(tag + "i"));

  // A pipeline: a script on a moving key is recorded, the replies stay in order. (Its guarded
  // SET is an EVALSHA of the guard with no EVAL fallback: a fresh node gets the guard from
  // the health round, or from a blocking guarded write, as here.)
  c.set(tag + "p0", "0");
  {
    auto pl = c.pipeline();
    pl.command({"SET", tag + "p1", "1"})
        .command({"EVAL", "return redis.call('INCR', KEYS[1])", "1", tag + "p2"})
        .command({"EVALSHA", "0000000000000000000000000000000000000000", "1", tag + "p3"})
        .command({"GET", tag + "p1"});
    const auto r = pl.execute();
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].value().str(), "OK");
    EXPECT_EQ(r[1].value().integer(), 1);
    ASSERT_FALSE(r[2].ok());
    EXPECT_NE(r[2].message().find("NOSCRIPT"), std::string::npos) << r[2].message();
    EXPECT_EQ(r[3].value().str(), "1");
  }
  EXPECT_TRUE(dirty(tag + "p1"));
  EXPECT_TRUE(dirty(tag + "p2"));

  // The async face: Script::run (NOSCRIPT, then EVAL) and a transaction.
  const Script async_script("return redis.call('SET', KEYS[1], 'async')" + fresh);
  {
    std::promise<Result<Reply>> done;
    async_script.run(c.async(), {tag + "as"}, {},
                     [&](Result<Reply> r) { done.set_value(std::move(r)); });
    const Result<Reply> r = done.get_future().get();
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value().str(), "OK");
  }
  EXPECT_EQ(on_source(tag + "as").str(), "async");
  EXPECT_TRUE(dirty(tag + "as"));
  {
    std::promise<Result<Reply>> done;
    c.async().transaction({{"SET", tag + "at", "1"}, {"INCR", tag + "at"}},
                          [&](Result<Reply> r) { done.set_value(std::move(r)); });
    const Result<Reply> r = done.get_future().get();
    ASSERT_TRUE(r.ok()) << r.message();
    ASSERT_EQ(r.value().elements().size(), 2u);
    EXPECT_EQ(r.value().elements()[0].str(), "OK");
    EXPECT_EQ(r.value().elements()[1].integer(), 2);
  }
  EXPECT_TRUE(dirty(tag + "at"));

  // Keys that move and keys that stay in one transaction: they would span shards after the
  // flip, so cross_shard, before anything is sent.
  const std::string stays = [&] {
    for (int i = 0;; ++i) {
      const std::string k = "st" + std::to_string(i);
      if (!p.moves(k) && p.shard_for(k) == p.shard_for(tag + "x")) return k;
    }
  }();
  {
    auto tx = c.transaction();
    tx.command({"SET", tag + "m", "1"}).command({"SET", stays, "1"});
    try {
      tx.exec();
      FAIL() << "a transaction mixing moving and staying keys ran";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::cross_shard) << e.what();
    }
    EXPECT_TRUE(on_source(tag + "m").is_nil());
  }
  // Nothing of this was copied by the client itself: the migrator does that.
  EXPECT_EQ(extra_->command({"DBSIZE"}).integer(), 0);

  // The cutover: transactions and scripts on moving keys are refused, retriably.
  testing::write_record(primaries_a(), migrating(3, MigrationState::cutover));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 3; }, 5s));
  {
    auto tx = c.transaction();
    tx.command({"SET", tag + "a", "2"});
    try {
      tx.exec();
      FAIL() << "a transaction on a frozen key ran";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::migrating) << e.what();
    }
  }
  EXPECT_EQ(on_source(tag + "a").str(), "1");
}

// Under strict fencing, scripts and transactions are checked against the stored epoch before
// they run, on moving keys (recorded too) and on the others.
TEST_F(ReshardClientTest, StrictFencingChecksScriptsAndTransactions) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::copying, Fencing::strict));
  Client c(layout_a(), no_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const std::string mk = moving_key(), sk = staying_key();
  const Topology a = layout_a(), b = layout_b();
  LayoutPair p(a, &b);
  EXPECT_EQ(c.eval("return redis.call('SET', KEYS[1], ARGV[1])", {mk}, {"x"}).str(), "OK");
  EXPECT_EQ(c.get(mk), "x");
  EXPECT_EQ(
      cluster_->primary(p.shard_for(mk)).command({"SISMEMBER", "flyshard:dirty:m1", mk}).integer(),
      1);
  auto tx = c.transaction();
  tx.command({"SET", sk, "s"});
  EXPECT_TRUE(tx.exec().has_value());
  EXPECT_EQ(c.get(sk), "s");
  // A stale client's script on a staying key: refused by the check, re-read, run again.
  testing::write_record(primaries_a(), migrating(3, MigrationState::copying, Fencing::strict));
  ServerProcess& home = cluster_->primary(p.shard_for(sk));
  EXPECT_EQ(c.eval("return redis.call('SET', KEYS[1], ARGV[1])", {sk}, {"after"}).str(), "OK");
  EXPECT_EQ(c.epoch(), 3u) << "only the check's refusal can have made the client re-read";
  EXPECT_EQ(home.command({"GET", sk}).str(), "after");
}

TEST_F(ReshardClientTest, StrictFencingRefusesAStaleEpochThenTheClientRereadsAndWrites) {
  testing::write_record(primaries_a(), stable(2, layout_a(), Fencing::strict));
  Client c(layout_a(), no_poll());
  ASSERT_EQ(c.epoch(), 2u);
  c.set("a", "1");  // guarded, accepted
  // Epoch 3 behind the client's back (no hint, no poll for 60 s).
  testing::write_record(primaries_a(), stable(3, layout_a(), Fencing::strict));
  c.set("a", "2");
  EXPECT_EQ(c.epoch(), 3u) << "only the guard's refusal can have made the client re-read";
  EXPECT_EQ(c.get("a"), "2");
}

TEST_F(ReshardClientTest, CutoverHoldsMovingKeysUntilTheFlip) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::cutover));
  Client c(layout_a(), fast_poll());
  ASSERT_EQ(c.epoch(), 2u);
  const std::string mk = moving_key();
  const std::string sk = staying_key();
  c.set(sk, "staying");  // not held
  EXPECT_EQ(c.get(sk), "staying");
  std::atomic<bool> flipping{false};
  std::thread migrator([&] {
    std::this_thread::sleep_for(300ms);  // the migrator drains and verifies meanwhile
    TopologyRecord r = stable(3, layout_b());
    r.state = MigrationState::cleanup;
    r.previous = layout_a();
    r.migration_id = "m1";
    flipping = true;  // the first primary may answer the client before the last is written
    testing::write_record(primaries_b(), r);
  });
  c.set(mk, "after");
  const bool flipped_before_reply = flipping.load();
  migrator.join();
  EXPECT_TRUE(flipped_before_reply) << "the write went out before the flip";
  EXPECT_EQ(c.epoch(), 3u);
  EXPECT_EQ(extra_->command({"GET", mk}).str(), "after");  // by layout B
  EXPECT_EQ(c.layout().shards.size(), 4u);
}

TEST_F(ReshardClientTest, CutoverThatOutlastsTheTimeoutFailsRetriably) {
  testing::write_record(primaries_a(), migrating(2, MigrationState::cutover));
  ClientOptions o = fast_poll();
  o.request_timeout = 200ms;
  Client c(layout_a(), o);
  ASSERT_EQ(c.epoch(), 2u);
  try {
    c.set(moving_key(), "x");
    FAIL() << "a frozen key was written";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::migrating) << e.what();
    EXPECT_TRUE(is_retriable(e.value()));
  }
  // Reads are not frozen: the source holds the key's last value until the flip.
  c.command_on_shard(c.shard_for(moving_key()), {"SET", moving_key(), "before"});
  EXPECT_EQ(c.get(moving_key()), "before");
  EXPECT_EQ(c.mget({moving_key(), staying_key()}).at(0), "before");
  c.set(staying_key(), "fine");
  EXPECT_EQ(c.get(staying_key()), "fine");
}

TEST_F(ReshardClientTest, FlipToALayoutWithAnAddedShardRoutesByIt) {
  Client c(layout_a(), fast_poll());
  Subscription sub;
  const std::string mk = moving_key();  // also a channel name that moves to s4
  std::atomic<int> heard{0};
  sub = c.subscribe({mk}, [&](std::string_view, std::string_view) { ++heard; });
  ASSERT_TRUE(eventually(
      [&] {
        c.publish(mk, "before");
        return heard.load() > 0;
      },
      5s));
  testing::write_record(primaries_b(), stable(1, layout_b()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 1; }, 5s));
  ASSERT_EQ(c.layout().shards.size(), 4u);
  const Topology b = layout_b();
  const Distribution d = b.make_distribution();
  std::size_t on_s4 = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string k = "key:" + std::to_string(i);
    c.set(k, "b");
    const std::size_t s = d.shard_for(k);
    EXPECT_EQ(c.shard_for(k), s);
    EXPECT_EQ(server_of(b, s).command({"GET", k}).str(), "b") << k;
    if (b.shards[s].name == "s4") ++on_s4;
  }
  EXPECT_GT(on_s4, 0u);
  // The channel followed its shard to s4: a message published there reaches the subscriber.
  const int before = heard.load();
  EXPECT_TRUE(eventually(
      [&] {
        extra_->command({"PUBLISH", mk, "after"});
        return heard.load() > before;
      },
      5s));
}

TEST_F(ReshardClientTest, ScansCoverTheShardsOfTheLayoutInUse) {
  // Layout B has a fourth shard the configured topology (A) does not: a scan must visit the
  // shards of the layout the client routes by, on both faces.
  Client c(layout_a(), fast_poll());
  testing::write_record(primaries_b(), stable(1, layout_b()));
  ASSERT_TRUE(eventually([&] { return c.epoch() == 1; }, 5s));
  std::set<std::string> written;
  for (int i = 0; i < 300; ++i) {
    const std::string k = "scan:" + std::to_string(i);
    c.set(k, "v");
    written.insert(k);
  }
  ASSERT_GT(std::count_if(written.begin(), written.end(),
                          [&](const std::string& k) { return c.shard_for(k) == 3; }),
            0);
  std::set<std::string> blocking;
  for (const std::string& k : c.scan({.match = "scan:*", .count = 100})) blocking.insert(k);
  EXPECT_EQ(blocking, written);

  AsyncKeyScan scan = c.async().scan({.match = "scan:*", .count = 100});
  std::set<std::string> async;
  for (;;) {
    std::promise<Result<std::optional<std::vector<std::string>>>> p;
    scan.next(
        [&](Result<std::optional<std::vector<std::string>>> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.message();
    if (!r.value()) break;
    async.insert(r.value()->begin(), r.value()->end());
  }
  EXPECT_EQ(async, written);
}

// ---- a client paused across an epoch change --------------------------------------------

class ChildClient {
 public:
  ChildClient(const std::filesystem::path& config, const std::string& key) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const std::string bin = FLYSHARD_RESHARD_CHILD_BIN;
    const std::string cfg = config.string();
    const std::string interval = "60000";  // no poll: only the fence makes it re-read
    char* argv[] = {const_cast<char*>(bin.c_str()), const_cast<char*>(cfg.c_str()),
                    const_cast<char*>(key.c_str()), const_cast<char*>(interval.c_str()), nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv, environ) != 0)
      throw std::runtime_error("posix_spawn " + bin);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    out_ = fdopen(out[0], "r");
  }
  ~ChildClient() {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int status = 0;
    waitpid(pid_, &status, 0);
    if (out_) fclose(out_);
  }
  bool wait_ready() {
    char line[64];
    return fgets(line, sizeof line, out_) != nullptr && std::string(line) == "ready\n";
  }
  void stop() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

// A client writes one moving key over and over in its own process; it is SIGSTOPped, the
// record flips to layout B (the key now on s4) while it sleeps, and it is resumed. Its next
// writes must land on s4; one on the old shard is a write by a stale layout. No hint and no
// poll reach it: only the fence (lease: its expired lease; strict: the guard) can.
void ReshardClientTest::paused_client_writes_by_the_new_layout(Fencing fencing) {
  const std::string k = moving_key();
  TopologyRecord r = stable(1, layout_a(), fencing);
  r.lease_ms = 500;
  testing::write_record(primaries_a(), r);
  const auto cfg = std::filesystem::temp_directory_path() /
                   ("reshard_child_" + std::to_string(getpid()) + ".json");
  cluster_->write_topology(cfg);
  ChildClient child(cfg, k);
  ASSERT_TRUE(child.wait_ready());
  const Topology a = layout_a();
  ServerProcess& source = cluster_->primary(a.make_distribution().shard_for(k));
  ASSERT_TRUE(eventually([&] { return !source.command({"GET", k}).is_nil(); }, 5s));
  child.stop();
  // A write sent just before the stop may still be on its way: wait until the value rests.
  std::string last = source.command({"GET", k}).str();
  ASSERT_TRUE(eventually(
      [&] {
        std::this_thread::sleep_for(50ms);
        const std::string now = source.command({"GET", k}).str();
        const bool rests = now == last;
        last = now;
        return rests;
      },
      5s));
  source.command({"DEL", k});
  // The flip (abridged: a real migration passes prepare..cutover first, waiting out the
  // lease at each step) while the client sleeps.
  TopologyRecord flipped = stable(2, layout_b(), fencing);
  flipped.lease_ms = 500;
  testing::write_record(primaries_b(), flipped);
  // Lease: the migrator would wait the lease out before going on; the client sleeps through it.
  if (fencing == Fencing::lease) std::this_thread::sleep_for(700ms);
  child.resume();
  ASSERT_TRUE(eventually(
      [&] {
        return !extra_->command({"GET", k}).is_nil();
      },
      10s))
      << "the resumed client never wrote by the new layout";
  EXPECT_TRUE(source.command({"GET", k}).is_nil()) << "the resumed client wrote by the old layout";
  std::filesystem::remove(cfg);
}

TEST_F(ReshardClientTest, PausedClientWritesNothingByTheOldLayoutLease) {
  paused_client_writes_by_the_new_layout(Fencing::lease);
}

TEST_F(ReshardClientTest, PausedClientWritesNothingByTheOldLayoutStrict) {
  paused_client_writes_by_the_new_layout(Fencing::strict);
}

}  // namespace
}  // namespace flyshard
