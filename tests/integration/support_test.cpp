// The test support itself: LocalCluster and ServerProcess start, wire, break and restore real
// servers the way every other integration test relies on.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "flyshard/topology.hpp"
#include "local_cluster.hpp"
#include "server_process.hpp"

namespace {

using namespace std::chrono_literals;
using flyshard::Reply;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;
using flyshard::testing::ProcessKind;
using flyshard::testing::ServerOptions;
using flyshard::testing::ServerProcess;

// Polls `get` until it returns `want` or `timeout` passes; returns the last value seen.
template <typename F>
std::string eventually(F get, const std::string& want, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    last = get();
    if (last == want || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(10ms);
  }
}

std::string get(ServerProcess& p, const std::string& key) {
  Reply r = p.command({"GET", key});
  return r.is_nil() ? "(nil)" : r.str();
}

class ReplicatedCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions o;
    o.shards = 2;
    o.replicas = 1;
    cluster_ = new LocalCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    // Each test leaves its nodes running and attached.
    for (auto* p : cluster_->all()) ASSERT_TRUE(p->running()) << p->label();
  }
  static LocalCluster* cluster_;
};
LocalCluster* ReplicatedCluster::cluster_ = nullptr;

TEST_F(ReplicatedCluster, ShapeAndTopology) {
  LocalCluster& c = *cluster_;
  EXPECT_EQ(c.shards(), 2u);
  EXPECT_EQ(c.replicas(), 1u);
  EXPECT_EQ(c.sentinels(), 0u);
  EXPECT_EQ(c.all().size(), 4u);

  flyshard::Topology t = c.topology();
  EXPECT_EQ(t.distribution, "ketama");
  ASSERT_EQ(t.shards.size(), 2u);
  EXPECT_EQ(t.shards[0].name, "s1");
  EXPECT_EQ(t.shards[1].name, "s2");
  EXPECT_EQ(t.shards[0].primary, c.primary(0).address());
  ASSERT_EQ(t.shards[1].replicas.size(), 1u);
  EXPECT_EQ(t.shards[1].replicas[0], c.replica(1, 0).address());
  EXPECT_FALSE(t.sentinel.has_value());

  // Every node on its own port, each with its own folder.
  std::set<std::uint16_t> ports;
  std::set<std::string> dirs;
  for (auto* p : c.all()) {
    EXPECT_NE(p->port(), 0);
    EXPECT_GT(p->pid(), 0);
    ports.insert(p->port());
    dirs.insert(p->dir().string());
    EXPECT_TRUE(std::filesystem::is_directory(p->dir()));
  }
  EXPECT_EQ(ports.size(), 4u);
  EXPECT_EQ(dirs.size(), 4u);

  EXPECT_EQ(&c.current_primary(0), &c.primary(0));
  EXPECT_EQ(&c.current_primary(1), &c.primary(1));
  EXPECT_NE(c.describe().find("s2 replica 127.0.0.1:" + std::to_string(c.replica(1, 0).port())),
            std::string::npos)
      << c.describe();
}

TEST_F(ReplicatedCluster, WriteTopologyRoundTrips) {
  auto path = std::filesystem::temp_directory_path() /
              ("flyshard-support-test-" + std::to_string(::getpid()) + ".json");
  cluster_->write_topology(path);
  flyshard::Topology back = flyshard::Topology::from_json_file(path);
  std::filesystem::remove(path);
  flyshard::Topology want = cluster_->topology();
  ASSERT_EQ(back.shards.size(), want.shards.size());
  for (std::size_t i = 0; i < want.shards.size(); ++i) {
    EXPECT_EQ(back.shards[i].name, want.shards[i].name);
    EXPECT_EQ(back.shards[i].primary, want.shards[i].primary);
    EXPECT_EQ(back.shards[i].replicas, want.shards[i].replicas);
  }
  EXPECT_EQ(back.distribution, want.distribution);
}

TEST_F(ReplicatedCluster, ReplicationWorks) {
  LocalCluster& c = *cluster_;
  for (std::size_t i = 0; i < c.shards(); ++i) {
    const std::string key = "support:repl:" + std::to_string(i);
    Reply ok = c.primary(i).command({"SET", key, "v" + std::to_string(i)});
    ASSERT_TRUE(ok.is_status()) << ok.to_string();
    EXPECT_EQ(eventually([&] { return get(c.replica(i, 0), key); }, "v" + std::to_string(i)),
              "v" + std::to_string(i));
    // The other shard is a different server: it does not have the key.
    EXPECT_EQ(get(c.primary(1 - i), key), "(nil)");
    Reply ro = c.replica(i, 0).command({"SET", key, "x"});
    EXPECT_TRUE(ro.is_error()) << "a replica must be read-only: " << ro.to_string();
  }
  EXPECT_EQ(c.replica(0, 0).info_field("replication", "master_link_status"), "up");
  EXPECT_EQ(c.replica(0, 0).info_field("replication", "no_such_field"), std::nullopt);

  c.flush_all();
  EXPECT_EQ(c.primary(0).command({"DBSIZE"}).integer(), 0);
  EXPECT_EQ(c.primary(1).command({"DBSIZE"}).integer(), 0);
}

TEST_F(ReplicatedCluster, ReplyTypesConvert) {
  ServerProcess& p = cluster_->primary(0);
  EXPECT_EQ(p.command({"PING"}), Reply::status("PONG"));
  EXPECT_EQ(p.command({"DEL", "support:types:l"}).type(), Reply::Type::integer);
  EXPECT_EQ(p.command({"RPUSH", "support:types:l", "a", "", "c"}), Reply::integer(3));
  EXPECT_EQ(p.command({"LRANGE", "support:types:l", "0", "-1"}),
            Reply::array({Reply::string("a"), Reply::string(""), Reply::string("c")}));
  EXPECT_EQ(p.command({"GET", "support:types:none"}), Reply::nil());
  std::string binary("a\0b\r\nc", 6);
  p.command({"SET", "support:types:bin", binary});
  EXPECT_EQ(p.command({"GET", "support:types:bin"}), Reply::string(binary));
  EXPECT_TRUE(p.command({"NOSUCHCOMMAND"}).is_error());
  EXPECT_THROW(p.command({}), std::invalid_argument);
  p.command({"DEL", "support:types:l", "support:types:bin"});
}

TEST_F(ReplicatedCluster, StopAndResume) {
  ServerProcess& p = cluster_->primary(1);
  p.command({"SET", "support:stop", "1"});
  p.stop();
  EXPECT_TRUE(p.running());
  EXPECT_TRUE(p.stopped());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(p.command({"GET", "support:stop"}, 50ms), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  p.resume();
  EXPECT_FALSE(p.stopped());
  EXPECT_EQ(get(p, "support:stop"), "1");
  cluster_->wait_replicas_up(1);
}

// Kill and restart a replica: it comes back empty, on the same port, as a standalone primary;
// attaching it again restores replication.
TEST_F(ReplicatedCluster, KillAndRestartReplica) {
  LocalCluster& c = *cluster_;
  ServerProcess& r = c.replica(0, 0);
  c.primary(0).command({"SET", "support:restart", "kept"});
  ASSERT_EQ(eventually([&] { return get(r, "support:restart"); }, "kept"), "kept");

  const auto port = r.port();
  const int old_pid = r.pid();
  r.kill();
  EXPECT_FALSE(r.running());
  EXPECT_THROW(r.command({"PING"}, 200ms), std::runtime_error);
  EXPECT_THROW(r.stop(), std::logic_error);

  r.restart();
  EXPECT_TRUE(r.running());
  EXPECT_EQ(r.port(), port);
  EXPECT_NE(r.pid(), old_pid);
  EXPECT_EQ(r.command({"DBSIZE"}).integer(), 0) << "a restarted node comes back empty";
  EXPECT_EQ(r.command({"ROLE"}).elements().at(0).str(), "master");

  r.command({"REPLICAOF", "127.0.0.1", std::to_string(c.primary(0).port())});
  c.wait_replicas_up(0);
  EXPECT_EQ(eventually([&] { return get(r, "support:restart"); }, "kept"), "kept");
}

// Kill the primary: the shard has no primary until it comes back (no Sentinel here).
TEST_F(ReplicatedCluster, KillAndRestartPrimary) {
  LocalCluster& c = *cluster_;
  ServerProcess& p = c.primary(1);
  p.kill();
  EXPECT_FALSE(p.running());
  EXPECT_THROW(p.command({"PING"}, 200ms), std::runtime_error);
  EXPECT_THROW(c.current_primary(1), std::runtime_error);
  p.restart();
  EXPECT_EQ(p.command({"DBSIZE"}).integer(), 0);
  EXPECT_EQ(&c.current_primary(1), &p);
  // The replica reconnects to the same port by itself.
  c.wait_replicas_up(1);
}

TEST(ServerProcessTest, LifecycleAndCleanup) {
  std::filesystem::path dir;
  int pid = 0;
  {
    ServerOptions o;
    o.label = "solo";
    ServerProcess p(o);
    EXPECT_FALSE(p.running());
    EXPECT_EQ(p.pid(), 0);
    dir = p.dir();
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    p.start();
    pid = p.pid();
    EXPECT_TRUE(p.running());
    EXPECT_THROW(p.start(), std::logic_error);
    EXPECT_EQ(p.command({"PING"}).str(), "PONG");
    EXPECT_TRUE(std::filesystem::exists(p.log_path()));
    // "--port N" for redis-server, "--port=N" for Dragonfly.
    EXPECT_NE(p.command_line().find(
                  "--port" + std::string(flyshard::testing::server_is_dragonfly() ? "=" : " ") +
                  std::to_string(p.port())),
              std::string::npos)
        << p.command_line();

    p.terminate();
    EXPECT_FALSE(p.running());
    EXPECT_NE(p.log_tail().find("flyshard: starting"), std::string::npos) << p.log_tail();

    // Moving keeps the one process.
    ServerProcess moved(std::move(p));
    moved.start();
    EXPECT_EQ(moved.command({"PING"}).str(), "PONG");
    pid = moved.pid();
  }
  // The destructor killed the process and removed the folder.
  EXPECT_NE(::kill(pid, 0), 0);
  if (!std::getenv("FLYSHARD_KEEP_TEMP")) {
    EXPECT_FALSE(std::filesystem::exists(dir));
  }
}

TEST(ServerProcessTest, FailedStartReportsTheLog) {
  ServerOptions o;
  o.label = "broken";
  o.extra_args = {"--no-such-option", "1"};
  ServerProcess p(o);
  try {
    p.start();
    FAIL() << "start() should fail";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("broken"), std::string::npos) << what;
    EXPECT_NE(what.find("log tail"), std::string::npos) << what;
    EXPECT_NE(what.find("no-such-option"), std::string::npos) << what;
  }
  EXPECT_FALSE(p.running());
}

// A server whose port is taken must not mistake the other server's PONG for its own.
TEST(ServerProcessTest, TakenPortIsNotMistakenForOurs) {
  ServerOptions a_opts;
  a_opts.label = "owner";
  ServerProcess a(a_opts);
  a.start();
  ServerOptions b_opts;
  b_opts.label = "intruder";
  b_opts.port = a.port();
  b_opts.start_timeout = 3s;
  ServerProcess b(b_opts);
  EXPECT_THROW(b.start(), std::runtime_error);
  EXPECT_FALSE(b.running());
  EXPECT_TRUE(a.running());
  EXPECT_EQ(a.command({"PING"}).str(), "PONG");
}

// The same with a process that stays alive but never listens: only the listening socket, not
// the PONG, proves which process answers.
TEST(ServerProcessTest, PongFromAnotherProcessIsNotReady) {
  ServerOptions a_opts;
  a_opts.label = "owner";
  ServerProcess a(a_opts);
  a.start();
  auto script = a.dir() / "sleeper.sh";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexec sleep 30\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  ServerOptions b_opts;
  b_opts.label = "sleeper";
  b_opts.binary = script.string();
  b_opts.port = a.port();
  b_opts.start_timeout = 300ms;
  ServerProcess b(b_opts);
  try {
    b.start();
    FAIL() << "start() should fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another process answers on its port"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(b.running());
  EXPECT_TRUE(a.running());
}

TEST(ServerProcessTest, BinaryChoice) {
  EXPECT_FALSE(flyshard::testing::server_binary().empty());
  EXPECT_EQ(flyshard::testing::server_is_dragonfly(),
            flyshard::testing::server_binary().find("dragonfly") != std::string::npos);
}

TEST(SentinelClusterTest, SentinelReportsThePrimary) {
  ClusterOptions o;
  o.shards = 1;
  o.replicas = 1;
  o.sentinels = 1;
  o.distribution = "maglev";
  LocalCluster c(o);
  EXPECT_EQ(c.sentinels(), 1u);
  EXPECT_EQ(c.sentinel(0).kind(), ProcessKind::sentinel);
  EXPECT_EQ(c.master_name(0), "flyshard-s1");

  Reply addr = c.sentinel(0).command({"SENTINEL", "get-master-addr-by-name", "flyshard-s1"});
  ASSERT_TRUE(addr.is_array()) << addr.to_string();
  ASSERT_EQ(addr.elements().size(), 2u);
  EXPECT_EQ(addr.elements()[0].str(), "127.0.0.1");
  EXPECT_EQ(addr.elements()[1].str(), std::to_string(c.primary(0).port()));
  Reply reps = c.sentinel(0).command({"SENTINEL", "replicas", "flyshard-s1"});
  EXPECT_EQ(reps.elements().size(), 1u) << reps.to_string();
  EXPECT_EQ(&c.current_primary(0), &c.primary(0));

  flyshard::Topology t = c.topology();
  EXPECT_EQ(t.distribution, "maglev");
  ASSERT_TRUE(t.sentinel.has_value());
  EXPECT_EQ(t.sentinel->master_prefix, "flyshard-");
  ASSERT_EQ(t.sentinel->addresses.size(), 1u);
  EXPECT_EQ(t.sentinel->addresses[0], c.sentinel(0).address());
}

// Killing a primary makes Sentinel promote the replica; current_primary() follows.
TEST(SentinelClusterTest, FailoverMovesCurrentPrimary) {
  ClusterOptions o;
  o.shards = 1;
  o.replicas = 1;
  o.sentinels = 1;
  o.down_after_ms = 300;
  o.failover_timeout_ms = 2000;
  LocalCluster c(o);
  c.primary(0).kill();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  ServerProcess* now = nullptr;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      now = &c.current_primary(0);
      if (now == &c.replica(0, 0)) break;
    } catch (const std::runtime_error&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(now, &c.replica(0, 0)) << c.sentinel(0).log_tail();
  EXPECT_EQ(eventually([&] { return c.replica(0, 0).command({"ROLE"}).elements().at(0).str(); },
                       "master", 10s),
            "master");
  EXPECT_TRUE(c.replica(0, 0).command({"SET", "support:after", "1"}).is_status());

  // A restarted sentinel keeps what it learned (its config file is kept and rewritten by it).
  c.sentinel(0).restart();
  EXPECT_EQ(&c.current_primary(0), &c.replica(0, 0));

  // The old primary comes back empty and Sentinel turns it into a replica of the new one.
  c.primary(0).restart();
  EXPECT_EQ(eventually([&] { return c.primary(0).command({"ROLE"}).elements().at(0).str(); },
                       "slave", 15s),
            "slave")
      << c.sentinel(0).log_tail();
  EXPECT_EQ(eventually([&] { return get(c.primary(0), "support:after"); }, "1", 10s), "1");
}

}  // namespace
