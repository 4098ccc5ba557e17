// The copy engine (src/reshard/key_copy.cpp, copier.cpp, dirty_drain.cpp) against two real
// servers, without the tool: strings take GETRANGE/GET + PTTL and SET [PXAT] instead of
// DUMP/RESTORE, so what DUMP/RESTORE kept by construction is checked here: values of every
// shape (empty, binary, numbers, either side of the string window, big), TTLs, a type or TTL
// the target's older copy had, vanished keys; and keys written, retyped, re-expired and
// deleted while copies run end, after the drain, as their last write left them.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "reshard/checkpoint.hpp"
#include "reshard/copier.hpp"
#include "reshard/dirty_drain.hpp"
#include "reshard/move_plan.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace flyshard::detail;
using namespace flyshard::testing;

namespace {

class ReshardKeyCopyTest : public SharedClusterTest<2> {
 protected:
  void SetUp() override {
    SharedClusterTest::SetUp();
    all_ = cluster_->topology();
    links_ = std::make_unique<ShardLinks>(LinkOptions{});
    links_->add(all_);
  }
  Client& source() { return links_->shard(all_.shards[0].name); }
  Client& target() { return links_->shard(all_.shards[1].name); }

  // Type, value (GET for strings, DUMP otherwise), and TTL of `key` on `node`.
  struct Look {
    std::string type;
    std::string value;
    long long pttl = -2;
  };
  static Look look(Client& node, const std::string& key) {
    Look l;
    l.type = node.command_on_shard(0, {"TYPE", key}).str();
    l.pttl = node.command_on_shard(0, {"PTTL", key}).integer();
    if (l.type == "string") {
      l.value = node.command_on_shard(0, {"GET", key}).str();
    } else if (l.type == "hash") {
      for (const auto& [f, v] : node.command_on_shard(0, {"HGETALL", key})
                                    .as<std::vector<std::pair<std::string, std::string>>>())
        l.value += f + "=" + v + ";";
    } else if (l.type == "list") {
      for (const auto& v :
           node.command_on_shard(0, {"LRANGE", key, 0, -1}).as<std::vector<std::string>>())
        l.value += v + ";";
    }
    return l;
  }
  // The same on both nodes: type, value, TTL within 1 s (none: none).
  void expect_same(const std::string& key) {
    const Look a = look(source(), key), b = look(target(), key);
    EXPECT_EQ(a.type, b.type) << key;
    EXPECT_EQ(a.value, b.value) << key;
    EXPECT_EQ(a.pttl < 0, b.pttl < 0) << key << ": " << a.pttl << " vs " << b.pttl;
    if (a.pttl >= 0 && b.pttl >= 0) {
      EXPECT_NEAR(a.pttl, b.pttl, 1000) << key;
    }
  }

  Topology all_;
  std::unique_ptr<ShardLinks> links_;
};

TEST_F(ReshardKeyCopyTest, StringsKeepValueTypeAndTtlWithoutDumpWhateverTheirLength) {
  CopyOptions o;
  o.string_window = 1024;
  o.big_bytes = 64 * 1024;  // over this: chunks of chunk_bytes
  o.chunk_bytes = 16 * 1024;
  std::string binary("a\0b\r\n$3\r\nxyz\xff", 13);
  const std::vector<std::pair<std::string, std::string>> strings{
      {"empty", ""},
      {"number", "12345"},
      {"negative", "-7"},
      {"binary", binary},
      {"under-window", std::string(1023, 'u')},
      {"at-window", std::string(1024, 'w')},
      {"over-window", std::string(5000, 'o')},
      {"big", std::string(100 * 1024, 'b')},
  };
  Pipeline p = source().pipeline();
  for (const auto& [k, v] : strings) p.command({"SET", k, v});
  for (const auto& [k, v] : strings) p.command({"SET", k + ":ttl", v, "PX", 3600000});
  p.command({"HSET", "hash", "f", "v"});
  p.command({"RPUSH", "list", "a", "b"});
  p.command({"PEXPIRE", "list", 60000});
  for (auto& r : p.execute()) ASSERT_TRUE(r.ok()) << r.message();
  // The target's older copies: another type with a TTL, a string with a TTL the source no
  // longer has, and a key the source no longer has at all.
  Pipeline t = target().pipeline();
  t.command({"HSET", "number", "old", "copy"});
  t.command({"PEXPIRE", "number", 100000});
  t.command({"SET", "empty", "old", "PX", 100000});
  t.command({"SET", "gone", "old"});
  for (auto& r : t.execute()) ASSERT_TRUE(r.ok()) << r.message();

  std::vector<std::string> keys{"hash", "list", "gone"};
  for (const auto& [k, v] : strings) {
    keys.push_back(k);
    keys.push_back(k + ":ttl");
  }
  const CopyCounts c = copy_keys(source(), target(), keys, true, o, "m1");
  EXPECT_EQ(c.keys, keys.size() - 1);
  EXPECT_EQ(c.big, 2u) << "the two 100 KiB strings";
  EXPECT_EQ(c.vanished, 1u);
  EXPECT_EQ(c.deleted, 1u);
  for (const auto& k : keys) expect_same(k);
  EXPECT_EQ(look(target(), "number").pttl, -1) << "the older copy's TTL is gone";
  EXPECT_EQ(look(target(), "gone").type, "none");
  EXPECT_EQ(look(target(), "binary").value, binary);

  // Without the window every key goes through DUMP/RESTORE, to the same result.
  ASSERT_EQ(target().command_on_shard(0, {"FLUSHALL"}).str(), "OK");
  o.string_window = 0;
  EXPECT_EQ(copy_keys(source(), target(), keys, true, o, "m1").keys, keys.size() - 1);
  for (const auto& k : keys) expect_same(k);
}

// A writer as the client side's contract has it (MULTI: the write and the SADD into the dirty
// set) overwrites, retypes, re-expires and deletes keys while the copy runs again and again
// with several pages in flight; after it stops, the drain leaves every key as the writer's
// last write did.
TEST_F(ReshardKeyCopyTest, KeysChangedDuringTheCopyEndWithTheirLastWrite) {
  Topology a = all_;
  a.shards.resize(1);
  const MovePlan plan(a, all_);
  const std::string source_name = all_.shards[0].name;
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 200; ++i) {
    const std::string k = "race:" + std::to_string(i);
    if (plan.moves(k)) keys.push_back(k);
  }
  Pipeline p = source().pipeline();
  for (const auto& k : keys) p.command({"SET", k, std::string(300, 'x')});
  for (auto& r : p.execute()) ASSERT_TRUE(r.ok()) << r.message();

  RateLimiter rate(0);
  MoveContext ctx{*links_, plan, "m1", CopyOptions{}, {}, rate};
  ctx.copy.string_window = 256;  // both string paths: 300 bytes is over it, short values under
  const std::string dirty = dirty_key("m1");

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    std::mt19937 rng(7);
    while (!stop.load()) {
      const std::string& k = keys[rng() % keys.size()];
      Transaction tx = source().transaction();
      switch (rng() % 6) {
        case 0:
          tx.command({"SET", k, "v" + std::to_string(rng())});
          break;
        case 1:
          tx.command({"SET", k, std::string(rng() % 600, 'y'), "PX", 50000 + rng() % 50000});
          break;
        case 2:
          tx.command({"DEL", k});
          break;
        case 3:
          tx.command({"DEL", k}).command({"HSET", k, "f", std::to_string(rng())});
          break;
        case 4:
          tx.command({"PEXPIRE", k, 100000 + rng() % 100000});
          break;
        default:
          tx.command({"PERSIST", k});
          break;
      }
      tx.command({"SADD", dirty, k});
      ASSERT_TRUE(tx.exec().has_value());
      ++writes;
    }
  });
  // The first copy, over and over, with pages of 50 keys on four threads (what run_pass's
  // window does), while the writer writes: at least five rounds, and until the writer has
  // written 200 times (how many writes five rounds overlap depends on the machine's load: a
  // CI run saw 44), within 20 s.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0;
       round < 5 || (writes.load() < 200 && std::chrono::steady_clock::now() < give_up); ++round) {
    std::vector<std::thread> pages;
    for (std::size_t from = 0; from < keys.size(); from += 50) {
      pages.emplace_back([&, from] {
        const std::vector<std::string> page(keys.begin() + static_cast<std::ptrdiff_t>(from),
                                            keys.begin() + static_cast<std::ptrdiff_t>(from + 50));
        copy_moving(ctx, source_name, page, false);
      });
    }
    for (auto& t : pages) t.join();
  }
  stop = true;
  writer.join();
  EXPECT_GE(writes.load(), 200);
  // The catch-up and the cutover's drain, writes stopped as the freeze stops them.
  const DrainCounts d = drain_dirty(ctx, source_name, 64, 0);
  EXPECT_GT(d.keys, 0u);
  EXPECT_EQ(dirty_count(ctx, source_name), 0u);
  for (const auto& k : keys) expect_same(k);
}

}  // namespace
