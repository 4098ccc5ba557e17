// command(), command_routed(), pipeline() and the async face against three real servers:
// every key of a command is routed (keys on two shards: cross_shard, nothing changed), a
// keyless or unknown command is refused unless the caller names where it goes, a command
// that would change a shared connection's state is refused and the link keeps serving, and
// PUBLISH goes where subscribe() listens.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

class CommandRoutingTest : public ::testing::Test {
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
  void SetUp() override {
    cluster_->flush_all();
    ClientOptions o;
    o.request_timeout = 2000ms * FLYSHARD_SLOWDOWN;
    client_ = std::make_unique<Client>(cluster_->topology(), o);
  }
  void TearDown() override { client_.reset(); }

  Client& c() { return *client_; }

  // A key named `prefix` + n whose shard is `shard`, or not `not_shard`.
  std::string key_on(const std::string& prefix, std::size_t shard) {
    for (int n = 0;; ++n) {
      std::string k = prefix + std::to_string(n);
      if (c().shard_for(k) == shard) return k;
    }
  }
  // The value of a command on one shard's primary, directly (not through flyshard).
  Reply direct(std::size_t shard, const std::vector<std::string>& args) {
    return cluster_->primary(shard).command(args);
  }
  long long dbsize(std::size_t shard) { return direct(shard, {"DBSIZE"}).integer(); }
  bool exists_anywhere(const std::string& key) {
    for (std::size_t s = 0; s < 3; ++s) {
      if (direct(s, {"EXISTS", key}).integer() == 1) return true;
    }
    return false;
  }
  // A hash tag whose shard differs from the shard of every word in `avoid` (the words the old
  // routing took for a key: "OR" of BITOP OR, "1" of LMPOP 1 ...).
  std::string tag_avoiding(const std::vector<std::string>& avoid) {
    for (int n = 0;; ++n) {
      std::string tag = "{t" + std::to_string(n) + "}";
      bool ok = true;
      for (const auto& w : avoid) ok = ok && c().shard_for(w) != c().shard_for(tag);
      if (ok) return tag;
    }
  }

  static errc error_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
      f();
    } catch (const Error& e) {
      if (message != nullptr) *message = e.what();
      return e.value();
    }
    return errc{};
  }

  static LocalCluster* cluster_;
  std::unique_ptr<Client> client_;
};
LocalCluster* CommandRoutingTest::cluster_ = nullptr;

// Waits for an async future with a deadline, so a lost callback fails instead of hanging.
Reply get_within(std::future<Reply>& f) {
  if (f.wait_for(10s * FLYSHARD_SLOWDOWN) != std::future_status::ready) {
    throw std::runtime_error("no async result in time");
  }
  return f.get();
}

TEST_F(CommandRoutingTest, KeysOnTwoShardsAreCrossShardAndChangeNothing) {
  const std::string src = key_on("src:", 0);
  const std::string dst = key_on("dst:", 1);
  c().rpush(src, {"a", "b", "c"});
  const std::string set_src = key_on("set:", 0);
  c().sadd(set_src, {"m1", "m2"});
  const std::string hll_src = key_on("hll:", 0);
  c().command({"PFADD", hll_src, "x", "y"});
  const std::string z_src = key_on("z:", 0);
  c().zadd(z_src, {{1, "a"}});
  const long long before0 = dbsize(0), before1 = dbsize(1), before2 = dbsize(2);

  const std::vector<std::vector<std::string>> commands = {
      {"RPOPLPUSH", src, dst},
      {"LMOVE", src, dst, "LEFT", "RIGHT"},
      {"SMOVE", set_src, dst, "m1"},
      {"RENAME", src, dst},
      {"RENAMENX", src, dst},
      {"COPY", src, dst},
      {"SUNIONSTORE", dst, set_src},
      {"SINTERSTORE", dst, set_src},
      {"BITOP", "OR", dst, src},
      {"PFMERGE", dst, hll_src},
      {"ZUNIONSTORE", dst, "1", z_src},
      {"ZRANGESTORE", dst, z_src, "0", "-1"},
      {"SORT", src, "ALPHA", "STORE", dst},
      {"LMPOP", "2", src, dst, "LEFT"},
      {"MSETNX", key_on("msetnx:", 0), "1", dst, "2"},
  };
  for (const auto& cmd : commands) {
    std::string message;
    EXPECT_EQ(error_of([&] { c().command(Args(cmd)); }, &message), errc::cross_shard)
        << cmd[0] << ": " << message;
    // The same through the async face and a pipeline.
    auto f = c().async().command(Args(cmd));
    EXPECT_EQ(error_of([&] { get_within(f); }), errc::cross_shard) << cmd[0] << " (async)";
    auto results = c().pipeline().command(Args(cmd)).execute();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].ok() ? errc{} : results[0].error(), errc::cross_shard)
        << cmd[0] << " (pipeline)";
  }
  EXPECT_FALSE(exists_anywhere(dst));
  EXPECT_EQ(c().lrange(src, 0, -1), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c().scard(set_src), 2);
  EXPECT_EQ(dbsize(0), before0);
  EXPECT_EQ(dbsize(1), before1);
  EXPECT_EQ(dbsize(2), before2);
}

TEST_F(CommandRoutingTest, KeysOnOneShardByHashTagWorkOnThatShard) {
  // The tag's shard differs from the shards of the non-key words the old routing used.
  const std::string t = tag_avoiding({"OR", "1", "2"});
  const std::size_t shard = c().shard_for(t);
  const std::string a = "a" + t, b = "b" + t, d = "d" + t, s = "s" + t, h = "h" + t;
  c().rpush(a, {"x", "y"});
  EXPECT_EQ(c().command({"RPOPLPUSH", a, b}).str(), "y");
  EXPECT_EQ(c().command({"LMOVE", a, b, "LEFT", "LEFT"}).str(), "x");
  EXPECT_EQ(c().lrange(b, 0, -1), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c().command({"COPY", b, a}).integer(), 1);
  EXPECT_EQ(c().command({"RENAME", a, "r" + t}).str(), "OK");
  c().sadd(s, {"m1", "m2"});
  EXPECT_EQ(c().command({"SMOVE", s, d, "m1"}).integer(), 1);
  EXPECT_EQ(c().command({"SUNIONSTORE", "u" + t, s, d}).integer(), 2);
  c().set("bits1" + t, "a");
  EXPECT_EQ(c().command({"BITOP", "OR", "bits2" + t, "bits1" + t}).integer(), 1);
  c().command({"PFADD", h, "x"});
  EXPECT_EQ(c().command({"PFMERGE", "hm" + t, h}).str(), "OK");
  c().zadd("z" + t, {{1, "a"}});
  EXPECT_EQ(c().command({"ZUNIONSTORE", "zu" + t, "1", "z" + t}).integer(), 1);
  Reply popped = c().command({"LMPOP", "1", b, "LEFT"});
  ASSERT_TRUE(popped.is_array()) << popped.to_string();
  EXPECT_EQ(popped.elements().at(0).str(), b);
  // Everything landed on the tag's shard.
  for (const std::string& k : {"r" + t, b, d, "u" + t, "bits2" + t, "hm" + t, "zu" + t}) {
    EXPECT_EQ(direct(shard, {"EXISTS", k}).integer(), 1) << k;
  }
  for (std::size_t other = 0; other < 3; ++other) {
    if (other != shard) {
      EXPECT_EQ(dbsize(other), 0) << "shard " << other;
    }
  }
}

TEST_F(CommandRoutingTest, KeylessCommandsNeedTheCallerToNameTheShard) {
  const std::string k0 = key_on("keep:", 0);
  c().set(k0, "v");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"DBSIZE"},
                                             {"SCAN", "0"},
                                             {"KEYS", "*"},
                                             {"RANDOMKEY"},
                                             {"FLUSHDB"},
                                             {"FLUSHALL"},
                                             {"INFO", "keyspace"},
                                             {"CONFIG", "GET", "maxmemory"}}) {
    std::string message;
    EXPECT_EQ(error_of([&] { c().command(Args(cmd)); }, &message), errc::config) << cmd[0];
    EXPECT_NE(message.find("command_on_shard"), std::string::npos) << message;
    EXPECT_NE(message.find("command_on_all"), std::string::npos) << message;
    auto f = c().async().command(Args(cmd));
    EXPECT_EQ(error_of([&] { get_within(f); }), errc::config) << cmd[0] << " (async)";
  }
  EXPECT_EQ(c().get(k0), "v") << "FLUSHDB through command() must not reach any shard";
  // Where the caller names the shard, they run there.
  EXPECT_EQ(c().command_on_shard(0, {"DBSIZE"}).integer(), 1);
  EXPECT_EQ(c().command_on_shard(1, {"DBSIZE"}).integer(), 0);
  EXPECT_EQ(c().command_routed(k0, {"DBSIZE"}).integer(), 1);
  EXPECT_EQ(c().command_routed(k0, {"RANDOMKEY"}).str(), k0);
  EXPECT_EQ(c().command_on_all({"DBSIZE"}).size(), 3u);
  // PING, ECHO and TIME mean the same on every node: the first shard answers.
  EXPECT_EQ(c().command({"PING"}).str(), "PONG");
  EXPECT_EQ(c().command({"ECHO", "hi"}).str(), "hi");
  EXPECT_TRUE(c().command({"TIME"}).is_array());
  auto ping = c().async().command({"PING"});
  EXPECT_EQ(get_within(ping).str(), "PONG");
}

TEST_F(CommandRoutingTest, UnknownCommandsAreRefusedUnlessRoutedByTheCaller) {
  const std::string k = key_on("obj:", 2);
  c().set(k, "12345");
  std::string message;
  // OBJECT ENCODING: Redis has it, Dragonfly does not, so the table does not know it.
  EXPECT_EQ(error_of(
                [&] {
                  c().command({"OBJECT", "ENCODING", k});
                },
                &message),
            errc::unknown_command);
  EXPECT_NE(message.find("command_routed"), std::string::npos) << message;
  auto f = c().async().command({"FOO.BAR", k});
  EXPECT_EQ(error_of([&] { get_within(f); }), errc::unknown_command);
  auto results = c().pipeline().command({"FOO.BAR", k}).command({"GET", k}).execute();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].ok() ? errc{} : results[0].error(), errc::unknown_command);
  ASSERT_TRUE(results[1].ok());
  EXPECT_EQ(results[1].value().str(), "12345");
  // Named by the caller, it goes to that key's shard.
  EXPECT_EQ(c().command_routed(k, {"OBJECT", "ENCODING", k}).str(), "int");
  auto routed = c().async().command_routed(k, {"OBJECT", "ENCODING", k});
  EXPECT_EQ(get_within(routed).str(), "int");
  // The routing key, not the command's words, decides: on another shard there is no such key.
  EXPECT_TRUE(c().command_routed(key_on("obj:", 0), {"OBJECT", "ENCODING", k}).is_nil());
  // A command the table knows must keep its keys on the routing key's shard.
  const std::string other = key_on("other:", 0);
  EXPECT_EQ(error_of([&] { c().command_routed(k, {"RPOPLPUSH", k, other}); }), errc::cross_shard);
  EXPECT_FALSE(exists_anywhere(other));
  EXPECT_EQ(error_of([&] { c().command_on_shard(0, {"NOSUCHCOMMAND"}); }), errc::server_error);
}

TEST_F(CommandRoutingTest, AConnectionThatRanAnUnknownCommandIsNotPooled) {
  // Its state afterwards is unknown (a module command may change it or answer twice), so the
  // pooled blocking connection it used is closed, not handed to the next caller.
  const std::string k = key_on("pool:", 1);
  c().set(k, "1");
  auto id = [&] { return c().command_on_shard(1, {"CLIENT", "ID"}).integer(); };
  const long long first = id();
  ASSERT_EQ(id(), first) << "one caller: the pool hands the same idle connection back";
  EXPECT_TRUE(c().command_routed(k, {"OBJECT", "REFCOUNT", k}).is_integer());
  const long long second = id();
  EXPECT_NE(second, first);
  ASSERT_EQ(id(), second);
  c().command_on_shard(1, {"OBJECT", "REFCOUNT", k});
  const long long third = id();
  EXPECT_NE(third, second);
  c().command_on_all({"OBJECT", "REFCOUNT", k});
  EXPECT_NE(id(), third);
  // A command the table knows leaves its connection pooled.
  const long long fourth = id();
  EXPECT_EQ(c().get(k), "1");
  EXPECT_EQ(c().command_routed(k, {"GET", k}).str(), "1");
  EXPECT_EQ(id(), fourth);
}

TEST_F(CommandRoutingTest, StateChangingCommandsAreRefusedAndTheSharedLinkKeepsServing) {
  const std::string k = key_on("state:", 0);
  c().set(k, "v0");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"SUBSCRIBE", "ch"}, "subscribe()"},
      {{"PSUBSCRIBE", "ch*"}, "subscribe()"},
      {{"UNSUBSCRIBE"}, "subscribe()"},
      {{"MULTI"}, "transaction()"},
      {{"EXEC"}, "transaction()"},
      {{"DISCARD"}, "transaction()"},
      {{"WATCH", k}, "transaction()"},
      {{"UNWATCH"}, "transaction()"},
      {{"SELECT", "1"}, "\"database\""},
      {{"HELLO", "3"}, "\"auth\""},
      {{"AUTH", "secret"}, "\"auth\""},
      {{"CLIENT", "REPLY", "OFF"}, "share"},
      {{"CLIENT", "SETNAME", "x"}, "share"},
      {{"CLIENT", "TRACKING", "ON"}, "share"},
      {{"MONITOR"}, "share"},
      {{"QUIT"}, "destroy the Client"},
      {{"RESET"}, "destroy the Client"},
      {{"READONLY"}, "share"},
  };
  for (const auto& [cmd, api] : refused) {
    std::string message;
    EXPECT_EQ(error_of([&] { c().command(Args(cmd)); }, &message), errc::config) << cmd[0];
    EXPECT_NE(message.find(api), std::string::npos) << message;
    auto f = c().async().command(Args(cmd));
    message.clear();
    EXPECT_EQ(error_of([&] { get_within(f); }, &message), errc::config) << cmd[0] << " (async)";
    EXPECT_NE(message.find(api), std::string::npos) << message;
    auto results = c().pipeline().command(Args(cmd)).command({"GET", k}).execute();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].ok() ? errc{} : results[0].error(), errc::config) << cmd[0];
    ASSERT_TRUE(results[1].ok()) << results[1].message();
    EXPECT_EQ(results[1].value().str(), "v0");
    EXPECT_EQ(error_of([&] { c().command_on_shard(0, Args(cmd)); }), errc::config) << cmd[0];
    EXPECT_EQ(error_of([&] { c().command_on_all(Args(cmd)); }), errc::config) << cmd[0];
    EXPECT_EQ(error_of([&] { c().command_routed(k, Args(cmd)); }), errc::config) << cmd[0];
    auto routed = c().async().command_routed(k, Args(cmd));
    EXPECT_EQ(error_of([&] { get_within(routed); }), errc::config) << cmd[0];
    // The shared async link and the pooled blocking links still serve database 0, in
    // ordinary (not subscriber, not queued) mode.
    auto got = c().async().command({"GET", k});
    EXPECT_EQ(get_within(got).str(), "v0") << "after " << cmd[0];
    EXPECT_EQ(c().get(k), "v0") << "after " << cmd[0];
    EXPECT_EQ(c().command_on_shard(0, {"GET", k}).str(), "v0") << "after " << cmd[0];
  }
  // Inside a transaction too: SELECT would outlive EXEC on the pooled connection.
  auto tx = c().transaction();
  tx.command({"SET", k, "v1"}).command({"SELECT", "1"});
  EXPECT_EQ(error_of([&] { tx.exec(); }), errc::config);
  EXPECT_EQ(c().get(k), "v0");
  // transaction() is the way: MULTI/EXEC through it still work.
  auto tx2 = c().transaction();
  tx2.watch({k});
  tx2.command({"SET", k, "v2"});
  ASSERT_TRUE(tx2.exec().has_value());
  EXPECT_EQ(c().get(k), "v2");
}

TEST_F(CommandRoutingTest, PublishThroughCommandReachesTheSubscriberOfItsChannel) {
  // A channel on another shard than the first (where PUBLISH through command() went).
  const std::string ch = key_on("events:", 2);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got;
  Subscription sub = c().subscribe({ch}, [&](std::string_view, std::string_view msg) {
    std::lock_guard l(mu);
    got.emplace_back(msg);
    cv.notify_all();
  });
  auto seen = [&](const std::string& m) {
    std::unique_lock l(mu);
    return cv.wait_for(l, 25ms, [&] { return std::find(got.begin(), got.end(), m) != got.end(); });
  };
  // SUBSCRIBE is asynchronous: publish until the subscriber has it, up to a deadline.
  bool blocking_seen = false, async_seen = false;
  for (auto until = std::chrono::steady_clock::now() + 10s * FLYSHARD_SLOWDOWN;
       !blocking_seen && std::chrono::steady_clock::now() < until;) {
    c().command({"PUBLISH", ch, "via-command"});
    blocking_seen = seen("via-command");
  }
  EXPECT_TRUE(blocking_seen);
  for (auto until = std::chrono::steady_clock::now() + 10s * FLYSHARD_SLOWDOWN;
       !async_seen && std::chrono::steady_clock::now() < until;) {
    auto f = c().async().command({"PUBLISH", ch, "via-async"});
    get_within(f);
    async_seen = seen("via-async");
  }
  EXPECT_TRUE(async_seen);
  EXPECT_EQ(c().command({"PUBLISH", ch, "counted"}).integer(), 1);
}

}  // namespace
