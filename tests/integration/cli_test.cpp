// The `flyshard` tool run as a process against a real cluster (3 shards, 1 replica each):
// status, locate and plan checked against what the test wrote through a Client and against
// placement computed here with the public Distribution.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "tool_run.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;
namespace fs = std::filesystem;

namespace {

struct ToolRun : flyshard::testing::ToolRun {
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("flyshard-cli-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    cluster_ = new LocalCluster([] {
      ClusterOptions o;
      o.shards = 3;
      o.replicas = 1;
      return o;
    }());
    cluster_->write_topology(config());
    keys_ = new std::vector<std::string>();
    Client client(cluster_->topology());
    auto pipe = client.pipeline();
    for (int i = 0; i < 10000; ++i) {
      // Plain keys, hash-tagged keys (several per tag) and a few hashes with a TTL.
      std::string key = i % 4 == 0 ? "cart:{u" + std::to_string(i / 40) + "}:" + std::to_string(i)
                                   : "key:" + std::to_string(i);
      if (i % 100 == 0) {
        key = "h:" + std::to_string(i);
        pipe.command({"HSET", key, "f", "v"});
        pipe.command({"PEXPIRE", key, "3600000"});
      } else {
        pipe.command({"SET", key, std::string(i % 7 * 10 + 1, 'x')});
      }
      keys_->push_back(key);
      if (pipe.size() >= 500) {
        for (auto& r : pipe.execute()) ASSERT_TRUE(r.ok() && !r->is_error());
      }
    }
    for (auto& r : pipe.execute()) ASSERT_TRUE(r.ok() && !r->is_error());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;
    delete keys_;
  }

  static fs::path config() { return *dir_ / "cluster.json"; }

  // Runs the tool with `args` (shell words, quoted by the caller where needed).
  static ToolRun run(const std::string& args) {
    return {flyshard::testing::run_tool(FLYSHARD_CLI_BIN, args, *dir_)};
  }

  // The layout with `extra` shards appended (their addresses are never contacted by plan).
  static fs::path layout_with(const std::string& file, std::size_t extra) {
    Topology t = cluster_->topology();
    for (std::size_t i = 0; i < extra; ++i) {
      ShardSpec s;
      s.name = "s" + std::to_string(t.shards.size() + 1);
      s.primary = NodeAddress{"127.0.0.1", static_cast<std::uint16_t>(1 + i)};
      t.shards.push_back(s);
    }
    const fs::path p = *dir_ / file;
    std::ofstream(p) << t.to_json();
    return p;
  }

  static LocalCluster* cluster_;
  static fs::path* dir_;
  static std::vector<std::string>* keys_;
};
LocalCluster* CliTest::cluster_ = nullptr;
fs::path* CliTest::dir_ = nullptr;
std::vector<std::string>* CliTest::keys_ = nullptr;

TEST_F(CliTest, StatusListsShardsNodesAndKeyTotals) {
  ToolRun r = run("status --json -c " + config().string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["totals"]["shards"], 3);
  EXPECT_EQ(j["totals"]["nodes"], 6);
  EXPECT_EQ(j["totals"]["nodes_up"], 6);
  EXPECT_EQ(j["totals"]["keys"], 10000);
  EXPECT_EQ(j["epoch"], 0);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& s = j["shards"][i];
    EXPECT_EQ(s["name"], cluster_->shard_name(i));
    EXPECT_EQ(s["keys"], cluster_->primary(i).command({"DBSIZE"}).integer());
    ASSERT_EQ(s["nodes"].size(), 2u);
    EXPECT_EQ(s["nodes"][0]["role"], "master");
    EXPECT_EQ(s["nodes"][1]["role"], "slave");
    EXPECT_EQ(s["nodes"][1]["master_link_status"], "up");
    EXPECT_TRUE(s["nodes"][1]["lag"].is_number());
    EXPECT_FALSE(s["nodes"][0]["used_memory_human"].get<std::string>().empty());
  }

  ToolRun text = run("status -c " + config().string());
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("3 shards, 6 nodes (6 up), epoch 0 (no topology record)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("keys on primaries: 10,000"), std::string::npos) << text.out;
}

TEST_F(CliTest, StatusShowsAKilledAndAHungReplicaDownWithoutHanging) {
  cluster_->replica(0, 0).kill();
  cluster_->replica(1, 0).stop();
  const auto start = std::chrono::steady_clock::now();
  ToolRun r = run("status --json --timeout-ms 300 -c " + config().string());
  const auto took = std::chrono::steady_clock::now() - start;
  cluster_->replica(1, 0).resume();

  EXPECT_EQ(r.rc, 1) << "a node down is a runtime failure";
  auto j = r.json();
  EXPECT_EQ(j["totals"]["nodes_up"], 4);
  EXPECT_EQ(j["totals"]["keys"], 10000);
  EXPECT_FALSE(j["shards"][0]["nodes"][1]["up"].get<bool>());
  EXPECT_FALSE(j["shards"][1]["nodes"][1]["up"].get<bool>());
  EXPECT_TRUE(j["shards"][2]["nodes"][1]["up"].get<bool>());
  const std::string killed = cluster_->replica(0, 0).address().to_string();
  EXPECT_NE(r.err.find(killed), std::string::npos) << r.err;
  // Not a speed check: a bound far above the 300 ms timeout that only a hang would cross.
  EXPECT_LT(took, std::chrono::seconds(20));

  // Put the cluster back for the tests after this one.
  cluster_->replica(0, 0).start();
  cluster_->replica(0, 0).command(
      {"REPLICAOF", "127.0.0.1", std::to_string(cluster_->primary(0).port())});
  cluster_->wait_replicas_up(0);
  cluster_->wait_replicas_up(1);
}

TEST_F(CliTest, LocateAgreesWithTheClientAndReportsExistence) {
  Client client(cluster_->topology());
  std::vector<std::string> keys{(*keys_)[4], (*keys_)[1], (*keys_)[100], (*keys_)[8],
                                "missing:key"};
  std::string args = "locate --json -c " + config().string();
  for (const auto& k : keys) args += " " + quote(k);
  ToolRun r = run(args);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = r.json();
  ASSERT_EQ(j.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::size_t shard = client.shard_for(keys[i]);
    EXPECT_EQ(j[i]["key"], keys[i]);
    EXPECT_EQ(j[i]["shard"], cluster_->shard_name(shard)) << keys[i];
    EXPECT_EQ(j[i]["primary"], cluster_->primary(shard).address().to_string());
    EXPECT_EQ(j[i]["replicas"][0], cluster_->replica(shard, 0).address().to_string());
    EXPECT_EQ(j[i]["exists"], keys[i] != "missing:key") << keys[i];
  }
  EXPECT_EQ(j[0]["hash_tag"], "u0");  // cart:{u0}:4
  EXPECT_TRUE(j[1]["hash_tag"].is_null());
  EXPECT_EQ(j[1]["type"], "string");
  EXPECT_TRUE(j[1]["pttl_ms"].is_null());
  EXPECT_EQ(j[2]["type"], "hash");  // h:100, with a TTL of an hour
  EXPECT_GT(j[2]["pttl_ms"].get<long long>(), 0);

  ToolRun text = run("locate -c " + config().string() + " " + quote((*keys_)[0]));
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("exists    yes"), std::string::npos) << text.out;
}

TEST_F(CliTest, PlanToFourShardsCountsExactlyTheKeysThatMove) {
  const fs::path four = layout_with("four.json", 1);
  const Distribution now = cluster_->topology().make_distribution();
  const Distribution next = Topology::from_json_file(four).make_distribution();
  std::map<std::pair<std::string, std::string>, long long> expected;
  long long moving = 0;
  for (const auto& k : *keys_) {
    const std::string& from = now.shards()[now.shard_for(k)].name;
    const std::string& to = next.shards()[next.shard_for(k)].name;
    if (from != to) {
      ++expected[{from, to}];
      ++moving;
    }
  }

  ToolRun r = run("plan --json -c " + config().string() + " --to " + four.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["totals"]["keys"], 10000);
  EXPECT_EQ(j["totals"]["keys_moving"], moving);
  EXPECT_NEAR(static_cast<double>(moving) / 10000, 0.25, 0.08);  // about a quarter
  EXPECT_TRUE(j["bytes_known"].get<bool>());
  EXPECT_GT(j["totals"]["bytes_moving"].get<long long>(), 0);
  std::map<std::pair<std::string, std::string>, long long> reported;
  for (const auto& m : j["moves"]) {
    reported[{m["from"].get<std::string>(), m["to"].get<std::string>()}] =
        m["keys"].get<long long>();
  }
  EXPECT_EQ(reported, expected);
  EXPECT_DOUBLE_EQ(j["expected_share"]["ideal"].get<double>(), 0.25);

  // Sampling sizes leaves the key counts exact and says the bytes are an estimate.
  ToolRun sampled =
      run("plan --json --sample 7 -c " + config().string() + " --to " + four.string());
  ASSERT_EQ(sampled.rc, 0) << sampled.err;
  EXPECT_EQ(sampled.json()["totals"]["keys_moving"], moving);
  EXPECT_TRUE(sampled.json()["bytes_estimated"].get<bool>());

  ToolRun text = run("plan -c " + config().string() + " --to " + four.string());
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("nothing was changed"), std::string::npos) << text.out;

  // Nothing was written: every node still holds what it held.
  long long total = 0;
  for (std::size_t i = 0; i < 3; ++i) total += cluster_->primary(i).command({"DBSIZE"}).integer();
  EXPECT_EQ(total, 10000);
}

TEST_F(CliTest, PlanToTheSameLayoutMovesNothing) {
  ToolRun r = run("plan --json -c " + config().string() + " --to " + config().string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = r.json();
  EXPECT_EQ(j["totals"]["keys"], 10000);
  EXPECT_EQ(j["totals"]["keys_moving"], 0);
  EXPECT_TRUE(j["moves"].empty());
}

TEST_F(CliTest, BadConfigExitsTwoNamingTheJsonPath) {
  const fs::path bad = *dir_ / "bad.json";
  std::ofstream(bad) << R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001"},
                                      {"name": "s2", "primary": "no-port"}]})";
  for (const std::string& cmd :
       std::vector<std::string>{"status", "locate k", "plan --to " + config().string()}) {
    ToolRun r = run(cmd + " -c " + bad.string());
    EXPECT_EQ(r.rc, 2) << cmd;
    EXPECT_NE(r.err.find("shards[1].primary"), std::string::npos) << cmd << ": " << r.err;
  }
  ToolRun to_bad = run("plan -c " + config().string() + " --to " + bad.string());
  EXPECT_EQ(to_bad.rc, 2);
  EXPECT_NE(to_bad.err.find("shards[1].primary"), std::string::npos) << to_bad.err;

  EXPECT_EQ(run("status -c " + (*dir_ / "absent.json").string()).rc, 2);
  EXPECT_EQ(run("plan -c " + config().string()).rc, 2) << "--to is required";
  EXPECT_EQ(run("migrate").rc, 2);
  ToolRun help = run("--help");
  EXPECT_EQ(help.rc, 0);
  for (const char* sub : {"status", "locate", "plan"}) {
    EXPECT_NE(help.out.find(sub), std::string::npos) << sub;
  }
}

TEST_F(CliTest, UnreachablePrimaryIsARuntimeFailureNamingTheNode) {
  Topology t = cluster_->topology();
  t.shards[0].primary = NodeAddress{"127.0.0.1", 1};  // nothing listens on port 1
  const fs::path broken = *dir_ / "broken.json";
  std::ofstream(broken) << t.to_json();
  ToolRun r = run("plan --timeout-ms 300 -c " + broken.string() + " --to " + config().string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
}

}  // namespace

namespace {

// Sentinel's view, shown by status: a cluster of its own, since CliTest runs without sentinels.
TEST(CliSentinelTest, StatusShowsWhatTheSentinelsSay) {
  LocalCluster cluster([] {
    ClusterOptions o;
    o.shards = 2;
    o.replicas = 1;
    o.sentinels = 1;
    return o;
  }());
  const fs::path dir =
      fs::temp_directory_path() / ("flyshard-cli-sentinel-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  cluster.write_topology(dir / "cluster.json");
  const std::string cmd = std::string(FLYSHARD_CLI_BIN) + " status --json -c " +
                          (dir / "cluster.json").string() + " >" + (dir / "out.json").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto j = nlohmann::json::parse(flyshard::testing::slurp(dir / "out.json"));
  fs::remove_all(dir);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& s = j["shards"][i]["sentinel"];
    EXPECT_EQ(s["master_name"], cluster.master_name(i));
    EXPECT_EQ(s["primary"], cluster.primary(i).address().to_string());
    ASSERT_EQ(s["answers"].size(), 1u);
    ASSERT_EQ(s["replicas"].size(), 1u);
    EXPECT_EQ(s["replicas"][0]["address"], cluster.replica(i, 0).address().to_string());
  }
}

}  // namespace
