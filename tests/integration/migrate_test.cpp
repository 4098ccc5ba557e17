// `flyshard init` and `flyshard migrate` run as processes against a real 4-shard cluster
// (one replica each, so the cutover's WAIT runs): 3 -> 4 and 4 -> 3 with keys of every type
// and TTLs while writers follow the record, the migrator SIGKILLed in every phase and
// started again, a second migrator refused, abort before the flip, a big key in chunks.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "eventually.hpp"
#include "migrate_support.hpp"
#include "reshard/layout_pair.hpp"
#include "reshard/topology_record.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace flyshard::testing;
namespace fs = std::filesystem;

namespace {

void expect_clean(const std::vector<std::string>& problems) {
  EXPECT_TRUE(problems.empty()) << [&] {
    std::string s;
    for (const auto& p : problems) s += p + "\n";
    return s;
  }();
}

class MigrateTest : public SharedClusterTest<4, 1> {
 protected:
  void SetUp() override {
    SharedClusterTest::SetUp();
    dir_ = fs::temp_directory_path() / ("flyshard-migrate-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    all_ = cluster_->topology();
    three_ = first(3);
    four_ = first(4);
    a_ = write("three.json", three_);
    b_ = write("four.json", four_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Topology first(std::size_t n) const {
    Topology t = all_;
    t.shards.resize(n);
    return t;
  }
  fs::path write(const std::string& name, const Topology& t) const {
    const fs::path p = dir_ / name;
    std::ofstream(p) << t.to_json();
    return p;
  }
  ToolRun tool(const std::string& args) const { return run_flyshard(args, dir_); }
  std::string migrate_args(const fs::path& from, const fs::path& to) const {
    return "migrate --lock-ttl-ms 500 -c " + from.string() + " --to " + to.string();
  }
  // The lock of a killed migrator expires by itself (--lock-ttl-ms 500).
  void wait_lock_free() {
    ASSERT_TRUE(eventually(
        [&] {
          for (std::size_t i = 0; i < 4; ++i)
            if (cluster_->primary(i).command({"EXISTS", "flyshard:migrator"}).integer() != 0)
              return false;
          return true;
        },
        std::chrono::seconds(10)));
  }
  // Runs the migrator until it pauses after `phase`, SIGKILLs it by its PID and waits for
  // its lock to expire.
  void kill_after(const std::string& phase, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"migrate", "--lock-ttl-ms", "500",           "-c", a_.string(),
                                  "--to",    b_.string(),     "--pause-after", phase};
    args.insert(args.end(), extra.begin(), extra.end());
    {
      ToolProcess first(args, dir_);
      ASSERT_TRUE(first.wait_for_stderr("paused after " + phase, std::chrono::seconds(30)))
          << first.err();
      first.kill();
    }
    wait_lock_free();
  }
  // A migration under load, checked: `init` with `from`, `n` keys of every type written through
  // a client of `from_layout`, `writers` GuardedWriters writing while `migrate --json <extra>`
  // runs, then every key and each writer's last acknowledged writes checked against
  // `to_layout`. Returns the tool's run and its JSON summary (null when it failed).
  struct Migrated {
    ToolRun run;
    nlohmann::json summary;
    std::vector<std::string> keys;  // the fixture keys written before the migration
  };
  Migrated migrate_under_writers(const fs::path& from, const Topology& from_layout,
                                 const fs::path& to, const Topology& to_layout, int n,
                                 const std::string& extra, int writers) {
    Migrated m;
    EXPECT_EQ(tool("init -c " + from.string()).rc, 0);
    {
      Client c(from_layout);
      m.keys = fill_every_type(c, n);
    }
    const auto before = snapshot(from_layout, m.keys);
    std::vector<std::unique_ptr<GuardedWriter>> ws;
    for (int i = 0; i < writers; ++i) ws.push_back(std::make_unique<GuardedWriter>(four_, i + 1));
    for (auto& w : ws) w->start();
    m.run = tool(migrate_args(from, to) + " --json " + extra);
    for (auto& w : ws) w->stop();
    EXPECT_EQ(m.run.rc, 0) << m.run.err;
    if (m.run.rc != 0) return m;
    m.summary = nlohmann::json::parse(m.run.out);
    expect_clean(check_layout(all_, to_layout, before));
    long long ops = 0, guarded = 0, frozen = 0;
    for (const auto& w : ws) {
      EXPECT_EQ(w->errors, 0) << w->last_error;
      EXPECT_GT(w->ops, 0);
      expect_clean(check_writer(to_layout, *w));
      ops += w->ops;
      guarded += w->guarded;
      frozen += w->frozen;
    }
    std::cout << m.keys.size() << " keys, " << m.summary["keys_copied"] << " copied; writers: " << ops
              << " ops, " << guarded << " through the guard, " << frozen << " held at cutover\n";
    return m;
  }
  std::uint64_t epoch_on(std::size_t shard) {
    const Reply r = cluster_->primary(shard).command({"HGET", "flyshard:topology", "epoch"});
    return r.is_nil() ? 0 : std::stoull(r.str());
  }

  fs::path dir_;
  Topology all_, three_, four_;
  fs::path a_, b_;
};


TEST_F(MigrateTest, InitWritesTheRecordOnEveryPrimaryAndRefusesAnotherLayout) {
  ToolRun none = tool(migrate_args(a_, b_));
  EXPECT_EQ(none.rc, 3) << none.err;
  EXPECT_NE(none.err.find("flyshard init"), std::string::npos) << none.err;

  ToolRun r = tool("init -c " + a_.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(epoch_on(i), 1u) << i;
  EXPECT_EQ(epoch_on(3), 0u) << "s4 is not in the layout";
  const auto fields = cluster_->primary(1).command({"HGETALL", "flyshard:topology"});
  std::vector<std::pair<std::string, std::string>> pairs =
      fields.as<std::vector<std::pair<std::string, std::string>>>();
  const auto rec = detail::TopologyRecord::from_fields(pairs, three_);
  EXPECT_EQ(rec.state, detail::MigrationState::stable);
  EXPECT_EQ(rec.layout.shards.size(), 3u);

  ToolRun again = tool("init -c " + a_.string());
  EXPECT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("already"), std::string::npos) << again.out;
  ToolRun other = tool("init -c " + b_.string());
  EXPECT_EQ(other.rc, 3);
  EXPECT_NE(other.err.find("another layout"), std::string::npos) << other.err;
  EXPECT_EQ(epoch_on(0), 1u);

  ToolRun status = tool("status --json -c " + a_.string());
  ASSERT_EQ(status.rc, 0) << status.err;
  const auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["epoch"], 1);
  EXPECT_EQ(j["topology_record"]["state"], "stable");
}

// The size (100,000 keys of every type); a tenth in the sanitizer builds, where the
// same run takes about ten times as long and checks the same code paths.
constexpr int kEveryTypeKeys = FLYSHARD_SLOWDOWN > 1 ? 10000 : 100000;

TEST_F(MigrateTest, GrowThreeToFourWithEveryTypeWhileWritersWrite) {
  // A rate keeps the copy long enough for the writers to write during every phase.
  const Migrated m = migrate_under_writers(a_, three_, b_, four_, kEveryTypeKeys, "--rate 20000", 2);
  ASSERT_EQ(m.run.rc, 0);
  const auto& j = m.summary;
  EXPECT_GT(j["keys_copied"].get<long long>(), kEveryTypeKeys / 7);
  // Cleanup unlinked the moved fixture keys (not a count to compare with keys_copied: a
  // writer's key copied and then deleted or expired by its writer is gone before cleanup).
  // check_layout checked that nothing is left on the sources.
  EXPECT_GT(j["keys_unlinked"].get<long long>(), kEveryTypeKeys / 7);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(epoch_on(i), j["epoch"].get<std::uint64_t>());

  ToolRun again = tool(migrate_args(a_, b_));
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("already"), std::string::npos) << again.out;
}

TEST_F(MigrateTest, ShrinkFourToThree) {
  // check_layout also finds no user key left on s4.
  migrate_under_writers(b_, four_, a_, three_, kEveryTypeKeys, "--rate 20000", 1);
}

// Reweighting: keys move between shards that both stay (each a source and a target that holds
// keys of its own), under the same checks as a grow or a shrink.
TEST_F(MigrateTest, ReweightMovesKeysBetweenShardsThatStay) {
  Topology heavier = four_;
  heavier.shards[0].weight = 3;
  const fs::path h = write("heavier.json", heavier);
  const Migrated m = migrate_under_writers(b_, four_, h, heavier, 20000, "--rate 20000", 1);
  ASSERT_EQ(m.run.rc, 0);
  const detail::LayoutPair p(four_, &heavier);
  const auto moving = std::count_if(m.keys.begin(), m.keys.end(),
                                    [&](const std::string& k) { return p.moves(k); });
  EXPECT_GT(moving, 1000) << "the weight moves keys";
  EXPECT_GE(m.summary["keys_copied"].get<long long>(), moving);
  ToolRun status = tool("status --json -c " + b_.string());
  ASSERT_EQ(status.rc, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out)["topology_record"]["state"], "stable");
}

// --adaptive: the probe holds the copy now and then and pauses for the drains; the migration
// still ends, with every key and every acknowledged write where it belongs.
TEST_F(MigrateTest, AdaptiveRateMigrationEndsWithEveryKeyInPlace) {
  const Migrated m =
      migrate_under_writers(a_, three_, b_, four_, 10000, "--adaptive --rate 50000", 1);
  EXPECT_NE(m.run.err.find("adaptive rate: baseline round trip"), std::string::npos) << m.run.err;
}

TEST_F(MigrateTest, ToolReadsTheRecordsLayoutAfterAMigrationNotTheFilesAnyMore) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  std::string moved;  // a key layout B places on s4
  const Distribution d4 = four_.make_distribution();
  for (int i = 0; moved.empty(); ++i)
    if (d4.shard_for("tool:" + std::to_string(i)) == 3) moved = "tool:" + std::to_string(i);
  {
    Client c(three_);
    c.set(moved, "v");
  }
  ASSERT_EQ(tool(migrate_args(a_, b_)).rc, 0);
  // Every subcommand is given the old file (three shards): each follows the record.
  ToolRun loc = tool("locate --json -c " + a_.string() + " " + moved);
  ASSERT_EQ(loc.rc, 0) << loc.err;
  const auto lj = nlohmann::json::parse(loc.out);
  EXPECT_EQ(lj.at(0).at("shard"), "s4") << loc.out;
  EXPECT_EQ(lj.at(0).at("exists"), true) << loc.out;
  ToolRun st = tool("status --json -c " + a_.string());
  const auto sj = nlohmann::json::parse(st.out);
  EXPECT_EQ(sj.at("totals").at("shards"), 4) << st.out;
  EXPECT_EQ(sj.at("shards").at(3).at("name"), "s4") << st.out;
  ToolRun plan = tool("plan -c " + a_.string() + " --to " + b_.string());
  ASSERT_EQ(plan.rc, 0) << plan.err;
  EXPECT_NE(plan.out.find("moving: 0 of "), std::string::npos) << plan.out;
}

TEST_F(MigrateTest, KilledInEveryPhaseResumesToTheSameResult) {
  for (const std::string phase : {"preparing", "copying", "catchup", "cutover", "cleanup"}) {
    SCOPED_TRACE(phase);
    cluster_->flush_all();
    ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
    std::vector<std::string> keys;
    {
      Client c(three_);
      keys = fill_every_type(c, 3000);
    }
    const auto before = snapshot(three_, keys);
    GuardedWriter w(four_, 4);
    w.start();
    kill_after(phase, {"--batch", "100"});
    ToolRun r = tool(migrate_args(a_, b_));
    w.stop();
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
    expect_clean(check_layout(all_, four_, before));
    EXPECT_EQ(w.errors, 0) << w.last_error;
    expect_clean(check_writer(four_, w));
  }
}

TEST_F(MigrateTest, SecondMigratorAndAnotherTargetAreRefused) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  {
    Client c(three_);
    fill_every_type(c, 2000);
  }
  ToolProcess first({"migrate", "--lock-ttl-ms", "500", "--batch", "100", "-c", a_.string(), "--to",
                     b_.string(), "--pause-after", "copying"},
                    dir_);
  ASSERT_TRUE(first.wait_for_stderr("paused after copying", std::chrono::seconds(30)))
      << first.err();
  // The first one is alive and renews its lock: the second must be refused, naming it.
  ToolRun second = tool(migrate_args(a_, b_));
  EXPECT_EQ(second.rc, 3) << second.err;
  EXPECT_NE(second.err.find("another migrator is running"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid())), std::string::npos) << second.err;
  first.kill();
  wait_lock_free();

  Topology heavier = four_;
  heavier.shards[3].weight = 2;
  const fs::path other = write("heavier.json", heavier);
  ToolRun different = tool(migrate_args(a_, other));
  EXPECT_EQ(different.rc, 3) << different.err;
  EXPECT_NE(different.err.find("to another layout"), std::string::npos) << different.err;

  ToolRun done = tool(migrate_args(a_, b_));
  EXPECT_EQ(done.rc, 0) << done.err;
}

TEST_F(MigrateTest, AbortBeforeTheFlipLeavesLayoutAIntactAndTargetsClean) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  std::vector<std::string> keys;
  {
    Client c(three_);
    keys = fill_every_type(c, 3000);
  }
  const auto before = snapshot(three_, keys);
  kill_after("cutover");
  EXPECT_GT(cluster_->primary(3).command({"DBSIZE"}).integer(), 100) << "s4 holds the copies";
  const std::uint64_t epoch = epoch_on(0);
  ToolRun r = tool("migrate --abort --lock-ttl-ms 500 -c " + a_.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("aborted"), std::string::npos) << r.out;
  expect_clean(check_layout(all_, three_, before));
  EXPECT_EQ(cluster_->primary(3).command({"DBSIZE"}).integer(), 1) << "only the record on s4";
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(epoch_on(i), epoch + 1) << i;
  ToolRun status = tool("status --json -c " + a_.string());
  const auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["topology_record"]["state"], "stable");
  EXPECT_EQ(j["topology_record"]["layout_shards"], 3);
  EXPECT_EQ(tool("migrate --abort -c " + a_.string()).rc, 0) << "nothing to abort";

  // After the flip an abort is refused; the migration finishes instead.
  kill_after("cleanup");
  ToolRun late = tool("migrate --abort --lock-ttl-ms 500 -c " + a_.string());
  EXPECT_EQ(late.rc, 3) << late.err;
  EXPECT_NE(late.err.find("cannot be aborted"), std::string::npos) << late.err;
  ASSERT_EQ(tool(migrate_args(a_, b_)).rc, 0);
  expect_clean(check_layout(all_, four_, before));
}

// An abort after the copy: moving keys written, deleted and created since (by a client that
// follows the record, so through the guard to the source) keep those writes under layout A,
// and the target keeps none of its copies (they are stale now).
TEST_F(MigrateTest, AbortAfterTheCopyKeepsLaterWritesAndDropsTheStaleCopies) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  const detail::LayoutPair p(three_, &four_);
  std::vector<std::string> keys, moving;
  {
    Client c(three_);
    keys = fill_every_type(c, 2000);
    for (int i = 0; i < 1000; ++i) {
      const std::string k = "late:" + std::to_string(i);
      c.set(k, "old");
      keys.push_back(k);
      if (p.moves(k)) moving.push_back(k);
    }
  }
  ASSERT_GE(moving.size(), 30u);
  kill_after("copying", {"--batch", "5000"});
  ServerProcess& s4 = cluster_->primary(3);
  // The pause line comes from the first source to finish a page; the others may be killed
  // before theirs landed, so only some moving keys need to be on s4 (each source's page is
  // the whole source, so at least one source's third of them).
  const auto copied = std::count_if(moving.begin(), moving.end(), [&](const std::string& k) {
    return s4.command({"GET", k}).str() == "old";
  });
  ASSERT_GE(copied, static_cast<long>(moving.size() / 6)) << "the copy took the moving keys";
  std::vector<std::string> deleted;
  {
    Client c(three_);
    ASSERT_GT(c.epoch(), 1u);
    for (std::size_t i = 0; i < moving.size(); ++i) {
      if (i % 3 == 0) {
        c.del({moving[i]});
        deleted.push_back(moving[i]);
      } else {
        c.set(moving[i], "new");
      }
    }
    for (int i = 0; i < 200; ++i) {  // created after the copy: never copied
      const std::string k = "born:" + std::to_string(i);
      c.set(k, "fresh");
      keys.push_back(k);
    }
  }
  std::erase_if(keys, [&](const std::string& k) {
    return std::find(deleted.begin(), deleted.end(), k) != deleted.end();
  });
  const auto expected = snapshot(three_, keys);  // layout A's shards hold the truth now
  ToolRun r = tool("migrate --abort --lock-ttl-ms 500 -c " + a_.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_clean(check_layout(all_, three_, expected));
  EXPECT_EQ(s4.command({"DBSIZE"}).integer(), 1) << "only the record on s4";
  Client c(three_);
  for (const auto& k : deleted) EXPECT_FALSE(c.get(k).has_value()) << k << " came back";
  EXPECT_EQ(c.get(moving[1]), "new");
}

// The library's own client during the copy: a script and a transaction overwrite moving keys
// the copy already took to s4. They are recorded in the source's dirty set atomically with
// the write (MULTI/EXEC), so the catch-up carries the new values over: nothing is lost.
TEST_F(MigrateTest, ScriptsAndTransactionsOnCopiedKeysReachTheTarget) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  const detail::LayoutPair p(three_, &four_);
  std::vector<std::string> tags;  // hash tags that move to s4: "{g<i>}a" and "{g<i>}b" move
  {
    Client c(three_);
    for (int i = 0; i < 1500; ++i) {
      const std::string tag = "{g" + std::to_string(i) + "}";
      c.set(tag + "a", "old");
      c.set(tag + "b", "old");
      if (p.moves(tag + "a")) tags.push_back(tag);
    }
  }
  ASSERT_GE(tags.size(), 2u);
  // One page holds a whole source: the copy is done (or nearly) where the migrator stops.
  kill_after("copying", {"--batch", "5000"});
  ASSERT_EQ(cluster_->primary(0).command({"HGET", "flyshard:topology", "state"}).str(), "copying");
  ServerProcess& s4 = cluster_->primary(3);
  auto copied = [&](const std::string& tag) {
    return s4.command({"GET", tag + "a"}).str() == "old" &&
           s4.command({"GET", tag + "b"}).str() == "old";
  };
  std::vector<std::string> chosen;
  for (const auto& t : tags) {
    if (copied(t)) chosen.push_back(t);
    if (chosen.size() == 2) break;
  }
  ASSERT_EQ(chosen.size(), 2u) << "the copy took no pair of moving keys to s4";
  const std::string script_tag = chosen[0], tx_tag = chosen[1];

  ClientOptions o;
  o.health_interval = std::chrono::milliseconds(100);
  o.topology_poll_interval = std::chrono::milliseconds(100);
  Client c(three_, o);
  ASSERT_GT(c.epoch(), 1u);
  // (a) a Script (EVALSHA, NOSCRIPT, then EVAL) on a moving key.
  const Script set("return redis.call('SET', KEYS[1], ARGV[1])");
  EXPECT_EQ(set.run(c, {script_tag + "a"}, {"script-new"}).str(), "OK");
  // (b) a transaction on two moving keys (one tag: one source, one target).
  auto tx = c.transaction();
  tx.command({"SET", tx_tag + "a", "tx-new"}).command({"APPEND", tx_tag + "b", "+tx"});
  const auto replies = tx.exec();
  ASSERT_TRUE(replies.has_value());
  ASSERT_EQ(replies->size(), 2u);
  EXPECT_EQ((*replies)[0].str(), "OK");
  EXPECT_EQ((*replies)[1].integer(), 6);
  // Written on the source only, and each key in the source's dirty set.
  for (const std::string& k : {script_tag + "a", tx_tag + "a", tx_tag + "b"}) {
    ServerProcess& source = cluster_->primary(p.shard_for(k));
    const Reply dirty_sets = source.command({"KEYS", "flyshard:dirty:*"});
    ASSERT_EQ(dirty_sets.elements().size(), 1u) << k;
    EXPECT_EQ(source.command({"SISMEMBER", dirty_sets.elements()[0].str(), k}).integer(), 1) << k;
    EXPECT_EQ(s4.command({"GET", k}).str(), "old") << k << ": the copy is older than the write";
  }
  // (c) the migration finishes: the new values are on s4, nothing left on the sources.
  ToolRun r = tool(migrate_args(a_, b_));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(s4.command({"GET", script_tag + "a"}).str(), "script-new");
  EXPECT_EQ(s4.command({"GET", tx_tag + "a"}).str(), "tx-new");
  EXPECT_EQ(s4.command({"GET", tx_tag + "b"}).str(), "old+tx");
  for (const std::string& k : {script_tag + "a", tx_tag + "a", tx_tag + "b"}) {
    EXPECT_EQ(cluster_->primary(p.shard_for(k)).command({"EXISTS", k}).integer(), 0) << k;
  }
  ASSERT_TRUE(eventually([&] { return c.epoch() == epoch_on(0); }, std::chrono::seconds(5)));
  EXPECT_EQ(c.get(tx_tag + "b"), "old+tx");
}

TEST_F(MigrateTest, BigKeyMovesInChunks) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  const Distribution da = three_.make_distribution();
  const Distribution db = four_.make_distribution();
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "big:" + std::to_string(i);
    if (da.shards()[da.shard_for(k)].name != db.shards()[db.shard_for(k)].name) key = k;
  }
  const std::string set_key = "{" + key + "}:set";  // same tag, same move
  {
    ClientOptions o;
    o.request_timeout = std::chrono::seconds(10);  // 230 commands of 1,000 elements each
    Client c(three_, o);
    Pipeline p = c.pipeline();
    for (int i = 0; i < 200000; i += 1000) {
      std::vector<std::string> words{"HSET", key};
      for (int f = i; f < i + 1000; ++f) {
        words.push_back("field:" + std::to_string(f));
        words.push_back("value:" + std::to_string(f));
      }
      p.command(Args(words));
    }
    for (int i = 0; i < 30000; i += 1000) {
      std::vector<std::string> words{"SADD", set_key};
      for (int m = i; m < i + 1000; ++m) words.push_back("m" + std::to_string(m));
      p.command(Args(words));
    }
    p.command({"PEXPIRE", key, 3600000});
    for (auto& r : p.execute()) ASSERT_TRUE(r.ok()) << r.message();
  }
  const auto before = snapshot(three_, {key, set_key});
  ToolRun r = tool(migrate_args(a_, b_) + " --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["big_keys"], 2);
  std::cout << "longest single chunk command: " << j["longest_chunk_us"] << " us\n";
  expect_clean(check_layout(all_, four_, before));
}

}  // namespace

namespace {

TEST_F(MigrateTest, ACopyThatDiffersIsCaughtBeforeTheFlipAndRolledBack) {
  ASSERT_EQ(tool("init -c " + a_.string()).rc, 0);
  std::vector<std::string> keys;
  {
    Client c(three_);
    keys = fill_every_type(c, 2000);
  }
  const auto before = snapshot(three_, keys);
  kill_after("catchup");
  // Damage every copy behind the migrator's back (no client wrote them, so no dirty set
  // will bring them back): a TTL far from the source's.
  const auto on = keys_by_shard(four_);
  ASSERT_FALSE(on.at("s4").empty());
  for (const auto& k : on.at("s4"))
    if (!k.starts_with("flyshard:")) cluster_->primary(3).command({"PEXPIRE", k, "99999999"});
  ToolRun r = tool(migrate_args(a_, b_));
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.out.find("aborted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("differ"), std::string::npos) << r.out;
  expect_clean(check_layout(all_, three_, before));
}

}  // namespace
