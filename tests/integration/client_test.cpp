// The blocking Client against three real servers started by the test.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::eventually;
using flyshard::testing::LocalCluster;

namespace {

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new LocalCluster([] { ClusterOptions o; o.shards = 3; return o; }()); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { cluster_->flush_all(); }

  static ClientOptions options() {
    ClientOptions o;
    o.request_timeout = std::chrono::milliseconds(2000);
    return o;
  }
  // The direct view: does `key` exist on shard i's primary?
  static bool exists_on(std::size_t shard, const std::string& key) {
    return cluster_->primary(shard).command({"EXISTS", key}).integer() == 1;
  }
  static LocalCluster* cluster_;
};
LocalCluster* ClientTest::cluster_ = nullptr;

TEST_F(ClientTest, EveryKeyLandsOnTheNodeTheDistributionNames) {
  Client client(cluster_->topology(), options());
  Distribution d = cluster_->topology().make_distribution();
  std::vector<std::size_t> per_shard(3, 0);
  for (int i = 0; i < 3000; ++i) {
    std::string key = (i % 3 == 0) ? "user:{" + std::to_string(i % 50) + "}:" + std::to_string(i)
                                   : "key:" + std::to_string(i);
    client.set(key, "v" + std::to_string(i));
    std::size_t owner = d.shard_for(key);
    ASSERT_EQ(client.shard_for(key), owner);
    ++per_shard[owner];
    for (std::size_t s = 0; s < 3; ++s) {
      ASSERT_EQ(exists_on(s, key), s == owner) << key << " on shard " << s;
    }
  }
  for (auto n : per_shard) EXPECT_GT(n, 500u);  // every shard got a share
}

TEST_F(ClientTest, StringsHashesListsSetsSortedSetsAndExpiry) {
  Client c(cluster_->topology(), options());
  EXPECT_FALSE(c.get("nope").has_value());
  EXPECT_TRUE(c.set("k", "v"));
  EXPECT_EQ(c.get("k"), "v");
  EXPECT_FALSE(c.set("k", "w", {.only_if_absent = true}));
  EXPECT_TRUE(c.set("k2", "w", {.ttl = std::chrono::seconds(100), .only_if_absent = true}));
  auto ttl = c.pttl("k2");
  ASSERT_TRUE(ttl.has_value());
  EXPECT_GT(ttl->count(), 90000);
  EXPECT_TRUE(c.persist("k2"));
  EXPECT_FALSE(c.pttl("k2").has_value());
  EXPECT_TRUE(c.expire("k2", std::chrono::seconds(50)));
  EXPECT_EQ(c.incr("n"), 1);
  EXPECT_EQ(c.incr("n", 10), 11);
  EXPECT_EQ(c.decr("n", 2), 9);
  EXPECT_DOUBLE_EQ(c.incrbyfloat("f", 1.5), 1.5);
  EXPECT_EQ(c.append("s", "ab"), 2);
  EXPECT_EQ(c.strlen("s"), 2);
  EXPECT_EQ(c.getdel("s"), "ab");
  EXPECT_FALSE(c.get("s").has_value());

  EXPECT_EQ(c.hset("h", {{"a", "1"}, {"b", "2"}}), 2);
  EXPECT_EQ(c.hget("h", "a"), "1");
  EXPECT_EQ(c.hincrby("h", "a", 5), 6);
  EXPECT_EQ(c.hlen("h"), 2);
  auto all = c.hgetall("h");
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(c.hdel("h", {"a"}), 1);

  EXPECT_EQ(c.rpush("l", {"a", "b", "c"}), 3);
  EXPECT_EQ(c.lpush("l", {"z"}), 4);
  EXPECT_EQ(c.lrange("l", 0, -1), (std::vector<std::string>{"z", "a", "b", "c"}));
  EXPECT_EQ(c.lpop("l"), "z");
  EXPECT_EQ(c.rpop("l"), "c");
  EXPECT_EQ(c.llen("l"), 2);

  EXPECT_EQ(c.sadd("set", {"x", "y"}), 2);
  EXPECT_TRUE(c.sismember("set", "x"));
  EXPECT_EQ(c.scard("set"), 2);
  EXPECT_EQ(c.srem("set", {"x"}), 1);
  EXPECT_EQ(c.smembers("set"), std::vector<std::string>{"y"});

  EXPECT_EQ(c.zadd("z", {{1.0, "a"}, {2.5, "b"}}), 2);
  EXPECT_EQ(c.zscore("z", "b"), 2.5);
  EXPECT_FALSE(c.zscore("z", "nope").has_value());
  EXPECT_DOUBLE_EQ(c.zincrby("z", 2.0, "a"), 3.0);
  EXPECT_EQ(c.zrange("z", 0, -1), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(c.zrem("z", {"a"}), 1);
  EXPECT_EQ(c.zcard("z"), 1);
}

TEST_F(ClientTest, MgetMsetOverTenThousandKeysKeepTheCallersOrder) {
  Client c(cluster_->topology(), options());
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> keys;
  for (int i = 0; i < 10000; ++i) {
    keys.push_back("mk:" + std::to_string(i));
    pairs.emplace_back(keys.back(), "value-" + std::to_string(i * 7));
  }
  c.mset(pairs);
  keys.push_back("mk:absent");
  auto values = c.mget(keys);
  ASSERT_EQ(values.size(), keys.size());
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(values[i], "value-" + std::to_string(i * 7)) << i;
  EXPECT_FALSE(values.back().has_value());
  // The keys really are spread over the shards.
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_GT(cluster_->primary(s).command({"DBSIZE"}).integer(), 2000);
  }
  EXPECT_EQ(c.exists(keys), 10000);
  EXPECT_EQ(c.touch({"mk:1", "mk:2", "mk:absent"}), 2);
  EXPECT_EQ(c.del({"mk:1", "mk:2", "mk:absent"}), 2);
  EXPECT_EQ(c.unlink({"mk:3", "mk:4"}), 2);
  EXPECT_EQ(c.exists(keys), 10000 - 4);
}

TEST_F(ClientTest, CrossShardTransactionIsRefusedBeforeAnythingIsSent) {
  Client c(cluster_->topology(), options());
  // Find two keys on different shards.
  std::string a = "tx:a", b;
  for (int i = 0; b.empty(); ++i) {
    std::string k = "tx:b" + std::to_string(i);
    if (c.shard_for(k) != c.shard_for(a)) b = k;
  }
  // Commands that could carry the transaction (health checks send INFO meanwhile).
  auto before = [&] {
    long long total = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      for (const char* cmd : {"cmdstat_multi", "cmdstat_set", "cmdstat_exec"}) {
        auto v = cluster_->primary(s).info_field("commandstats", cmd);
        if (v) total += std::stoll(v->substr(v->find("calls=") + 6));
      }
    }
    return total;
  };
  long long commands_before = before();
  auto tx = c.transaction();
  tx.command({"SET", a, "1"}).command({"SET", b, "2"});
  try {
    tx.exec();
    FAIL() << "expected cross_shard";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::cross_shard);
  }
  EXPECT_EQ(before() - commands_before, 0);
  EXPECT_FALSE(c.get(a).has_value());
  EXPECT_FALSE(c.get(b).has_value());
  EXPECT_THROW(c.eval("return 1", {a, b}), Error);
  EXPECT_THROW(c.command({"MGET", a, b}), Error);
}

TEST_F(ClientTest, TransactionsOnOneShardWithAndWithoutWatch) {
  Client c(cluster_->topology(), options());
  auto tx = c.transaction();
  tx.command({"SET", "cart:{u1}", "x"}).command({"INCR", "orders:{u1}"});
  auto r = tx.exec();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].integer(), 1);

  // WATCH: a change by someone else between WATCH and EXEC aborts the transaction.
  auto tx2 = c.transaction();
  tx2.watch({"orders:{u1}"});
  EXPECT_EQ(tx2.read({"GET", "orders:{u1}"}).str(), "1");
  c.set("orders:{u1}", "5");  // another connection
  tx2.command({"SET", "orders:{u1}", "2"});
  EXPECT_FALSE(tx2.exec().has_value());
  EXPECT_EQ(c.get("orders:{u1}"), "5");

  auto tx3 = c.transaction();
  tx3.watch({"orders:{u1}"});
  tx3.command({"INCR", "orders:{u1}"});
  auto ok = tx3.exec();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)[0].integer(), 6);
}

TEST_F(ClientTest, ScriptsRunOnTheKeysShard) {
  Client c(cluster_->topology(), options());
  const char* script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[2])";
  c.set("{p}:b", "old");
  Reply r = c.eval(script, {"{p}:a", "{p}:b"}, {"new"});
  EXPECT_EQ(r.str(), "old");
  EXPECT_EQ(c.get("{p}:a"), "new");
  std::string sha = c.script_load("return ARGV[1]");
  EXPECT_EQ(sha.size(), 40u);
  EXPECT_EQ(c.evalsha(sha, {"any"}, {"hello"}).str(), "hello");
}

TEST_F(ClientTest, PipelineAcrossShardsKeepsOrder) {
  Client c(cluster_->topology(), options());
  auto p = c.pipeline();
  for (int i = 0; i < 500; ++i) p.command({"SET", "p:" + std::to_string(i), std::to_string(i)});
  for (int i = 0; i < 500; ++i) p.command({"GET", "p:" + std::to_string(i)});
  p.command({"HSET", "p:0", "f", "v"});  // WRONGTYPE: a per-command error
  auto results = p.execute();
  ASSERT_EQ(results.size(), 1001u);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(results[i].ok());
    ASSERT_TRUE(results[500 + i].ok());
    EXPECT_EQ(results[500 + i].value().str(), std::to_string(i));
  }
  EXPECT_FALSE(results[1000].ok());
  EXPECT_EQ(results[1000].error(), errc::server_error);
  EXPECT_EQ(p.size(), 0u);
}

TEST_F(ClientTest, ServerErrorCarriesTheServersMessage) {
  Client c(cluster_->topology(), options());
  c.set("str", "x");
  try {
    c.command({"LPUSH", "str", "a"});
    FAIL() << "expected server_error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
    EXPECT_NE(std::string(e.what()).find("WRONGTYPE"), std::string::npos) << e.what();
  }
  // An unknown command is refused before sending by command() (its keys are unknown); named
  // to a key's shard, the server's own error comes back.
  try {
    c.command_routed("k", {"NOSUCHCOMMAND", "k"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
    EXPECT_NE(std::string(e.what()).find("unknown command"), std::string::npos) << e.what();
  }
}

TEST_F(ClientTest, EightThreadsMixedOpsEachReplyMatchesItsRequest) {
  Client c(cluster_->topology(), options());
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 10000; ++i) {
        std::string key = "t" + std::to_string(t) + ":" + std::to_string(rng() % 200);
        std::string value = key + "=" + std::to_string(i);
        try {
          switch (i % 4) {
            case 0:
            case 1: {
              c.set(key, value);
              auto got = c.get(key);  // only this thread writes this key
              if (got != value) ++mismatches;
              break;
            }
            case 2: {
              long long n = c.incr("ctr:" + std::to_string(t));
              if (n != i / 4 + 1) ++mismatches;
              break;
            }
            case 3: {
              auto v = c.mget({key, "t" + std::to_string(t) + ":missing"});
              if (v.size() != 2 || v[1].has_value()) ++mismatches;
              if (v[0].has_value() && v[0]->rfind(key + "=", 0) != 0) ++mismatches;
              break;
            }
          }
        } catch (const Error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  auto stats = c.stats();
  std::uint64_t requests = 0;
  for (const auto& n : stats.nodes) requests += n.requests;
  EXPECT_GE(requests, 80000u);
}

TEST_F(ClientTest, StatsCountRequestsAndRenderAsPrometheus) {
  Client c(cluster_->topology(), options());
  for (int i = 0; i < 100; ++i) c.set("s" + std::to_string(i), "v");
  EXPECT_THROW(c.command({"LPUSH", "s1", "x"}), Error);
  auto stats = c.stats();
  ASSERT_EQ(stats.nodes.size(), 3u);
  std::uint64_t total = 0, errors = 0;
  for (const auto& n : stats.nodes) {
    total += n.requests;
    errors += n.errors_by_code[static_cast<int>(errc::server_error)];
    EXPECT_EQ(n.in_flight, 0);
    EXPECT_EQ(n.latency.count, n.requests);
  }
  EXPECT_EQ(total, 101u);
  EXPECT_EQ(errors, 1u);
  std::string text = to_prometheus(stats);
  EXPECT_NE(text.find("flyshard_requests_total"), std::string::npos);
}

TEST_F(ClientTest, StatsLeaveOutTheLibrarysOwnRecordPolls) {
  // The topology record is read from every primary each poll interval; those reads are the
  // library's, not the program's, and must not show in its request counts (a CI run under
  // load counted a poll round's three reads in the test above).
  auto hgetalls = [] {
    long long n = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string info = cluster_->primary(i).command({"INFO", "commandstats"}).str();
      const auto at = info.find("cmdstat_hgetall:calls=");
      if (at != std::string::npos) n += std::stoll(info.substr(at + 22));
    }
    return n;
  };
  ClientOptions o = options();
  o.topology_poll_interval = std::chrono::milliseconds(20);
  Client c(cluster_->topology(), o);
  for (int i = 0; i < 10; ++i) c.set("p" + std::to_string(i), "v");
  const long long polls_before = hgetalls();
  EXPECT_TRUE(eventually([&] { return hgetalls() >= polls_before + 9; }, std::chrono::seconds(5)))
      << "three poll rounds should have read the record";
  std::uint64_t total = 0;
  for (const auto& n : c.stats().nodes) total += n.requests;
  EXPECT_EQ(total, 10u);
}

TEST_F(ClientTest, BadTopologyFilesAreRefusedWithThePath) {
  auto path = std::filesystem::temp_directory_path() / "flyshard-bad-topology.json";
  {
    std::ofstream f(path);
    f << R"({"shards": [{"name": "s1", "primary": "127.0.0.1:1"}, {"name": "s2", "primary": 42}]})";
  }
  try {
    Client c(Topology::from_json_file(path));
    FAIL() << "expected config error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config);
    EXPECT_NE(std::string(e.what()).find("shards[1].primary"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace

namespace {

TEST_F(ClientTest, BlockingReadsWaitTheirOwnTimeAndNeverStallTheSharedLink) {
  ClientOptions o = options();
  o.request_timeout = std::chrono::milliseconds(200);
  Client c(cluster_->topology(), o);
  // BLPOP's own timeout (1 s) is longer than request_timeout: the call waits for it.
  std::thread pusher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    c.rpush("queue:{q}", {"job"});
  });
  auto start = std::chrono::steady_clock::now();
  Reply r = c.command({"BLPOP", "queue:{q}", "1"});
  auto took = std::chrono::steady_clock::now() - start;
  pusher.join();
  ASSERT_TRUE(r.is_array());
  EXPECT_EQ(r.elements()[1].str(), "job");
  EXPECT_GE(took, std::chrono::milliseconds(500));
  // Nothing arrives: nil after its own timeout, not errc::timeout.
  EXPECT_TRUE(c.command({"BLPOP", "queue:{q}", "0.3"}).is_nil());
  // On the async face it would block the node's shared link: refused, with the reason.
  auto f = c.async().command({"BLPOP", "queue:{q}", "1"});
  try {
    f.get();
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config);
    EXPECT_NE(std::string(e.what()).find("blocking Client"), std::string::npos) << e.what();
  }
  // XREAD without BLOCK does not block: allowed on the async face.
  c.command({"XADD", "stream:{q}", "*", "f", "v"});
  EXPECT_TRUE(c.async().command({"XREAD", "COUNT", "1", "STREAMS", "stream:{q}", "0"}).get().is_array());
}

}  // namespace
