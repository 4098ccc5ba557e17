// Sentinel against scripted fake sentinels and fake data nodes: which answer wins (the newest
// config epoch, not the first or the last to arrive), writes wait for the new primary's role,
// the sentinels get their own credentials and never the data nodes' password, and a
// half-open subscriber link to a sentinel is noticed and reopened.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "fake_server.hpp"
#include "flyshard/flyshard.hpp"
#include "server_process.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::bulk;
using flyshard::testing::FakeScript;
using flyshard::testing::FakeServer;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;
using Clock = std::chrono::steady_clock;

template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds within = 5000ms * kSlow) {
  return flyshard::testing::eventually(cond, within);
}

std::string array_of(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& s : items) out += bulk(s);
  return out;
}

// A data node: answers INFO replication with its current role, SET/GET/PING. While it is not
// a primary, its INFO answer comes `info_delay_while_replica` late (a slow check leaves a
// window in which an unconfirmed node could be written to), and with `readonly` set its SET
// answers READONLY as a demoted primary's would.
struct FakeNode {
  std::shared_ptr<std::atomic<bool>> primary = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<std::atomic<bool>> readonly = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> info_delay_while_replica_ms =
      std::make_shared<std::atomic<int>>(0);
  FakeServer server{
      {FakeScript().answer_all([p = primary, ro = readonly, delay = info_delay_while_replica_ms](
                                   const std::vector<std::string>& w) {
        if (!w.empty() && w[0] == "INFO") {
          if (!*p && *delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(*delay));
          return bulk(*p ? "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
                           "master_replid:0123456789012345678901234567890123456789\r\n"
                           "master_repl_offset:100\r\n"
                         : "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
                           "master_port:1\r\nmaster_link_status:up\r\nslave_repl_offset:100\r\n");
        }
        if (!w.empty() && w[0] == "GET") return std::string("$-1\r\n");
        if (!w.empty() && w[0] == "PING") return std::string("+PONG\r\n");
        if (!w.empty() && w[0] == "SET" && *ro) {
          return std::string("-READONLY You can't write against a read only replica.\r\n");
        }
        return std::string("+OK\r\n");
      })}};
  std::uint16_t port() const { return server.port(); }
  int sets() const {
    int n = 0;
    for (const auto& c : server.commands()) n += c.rfind("SET ", 0) == 0;
    return n;
  }
};

// What a fake sentinel says about master "m-s1" (the one shard of these tests).
struct MasterView {
  std::mutex mu;
  std::uint16_t port = 0;
  std::uint64_t epoch = 0;
  std::vector<std::uint16_t> replicas;  // what SENTINEL replicas lists
};

// A sentinel: answers SENTINEL MASTER / get-master-addr-by-name / replicas from `view`,
// SUBSCRIBE with its confirmations, AUTH with +OK (or an error for a wrong password when
// `password` is set). With `silent_subscriber`, a subscribed link never answers again.
FakeScript sentinel_script(std::shared_ptr<MasterView> view, std::string password = {},
                           bool silent_subscriber = false) {
  return FakeScript().answer_all(
      [view, password, silent_subscriber](const std::vector<std::string>& w) -> std::string {
        if (w.empty()) return "-ERR empty\r\n";
        if (w[0] == "AUTH") {
          if (!password.empty() && w.back() != password) return "-WRONGPASS invalid password\r\n";
          return "+OK\r\n";
        }
        if (w[0] == "SUBSCRIBE") {
          std::string out;
          for (std::size_t i = 1; i < w.size(); ++i) {
            out += "*3\r\n" + bulk("subscribe") + bulk(w[i]) + ":" + std::to_string(i) + "\r\n";
          }
          return out;
        }
        if (w[0] == "PING") {
          if (silent_subscriber) return "";
          return "*2\r\n" + bulk("pong") + bulk("");
        }
        if (w[0] == "SENTINEL" && w.size() >= 3) {
          std::lock_guard lock(view->mu);
          if (w[1] == "MASTER" || w[1] == "master") {
            return array_of({"name", w[2], "ip", "127.0.0.1", "port", std::to_string(view->port),
                             "flags", "master", "config-epoch", std::to_string(view->epoch)});
          }
          if (w[1] == "get-master-addr-by-name") {
            return array_of({"127.0.0.1", std::to_string(view->port)});
          }
          if (w[1] == "replicas") {
            std::string out = "*" + std::to_string(view->replicas.size()) + "\r\n";
            for (auto port : view->replicas) {
              out += array_of({"name", "127.0.0.1:" + std::to_string(port), "ip", "127.0.0.1",
                               "port", std::to_string(port), "flags", "slave"});
            }
            return out;
          }
        }
        return "-ERR unknown\r\n";
      });
}

Topology one_shard(std::uint16_t primary, const std::vector<std::string>& sentinels) {
  std::string json = R"({"shards": [{"name": "s1", "primary": "127.0.0.1:)" +
                     std::to_string(primary) + R"("}], "sentinel": {"addresses": [)";
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    json += (i ? ", \"" : "\"") + sentinels[i] + "\"";
  }
  json += R"(], "master_prefix": "m-"}})";
  return Topology::from_json(json);
}

ClientOptions fast_options() {
  ClientOptions o;
  o.request_timeout = 200ms * kSlow;
  o.connect_timeout = 200ms * kSlow;
  o.reconnect_min = 10ms;
  o.reconnect_max = 50ms;
  o.health_interval = 50ms * kSlow;
  o.failure_limit = 2;
  o.wait_for_promotion = 0ms;
  o.log_level = LogLevel::error;
  return o;
}

TEST(SentinelFakeTest, StartupFollowsTheNewestConfigEpochNotTheFirstAnswer) {
  FakeNode old_primary, new_primary;
  auto stale = std::make_shared<MasterView>();
  stale->port = old_primary.port();
  stale->epoch = 1;
  auto fresh = std::make_shared<MasterView>();
  fresh->port = new_primary.port();
  fresh->epoch = 2;
  // The stale sentinel is listed (and answers) first.
  FakeServer s1({sentinel_script(stale)});
  FakeServer s2({sentinel_script(fresh)});
  Client c(one_shard(old_primary.port(), {s1.address(), s2.address()}), fast_options());
  c.set("k", "v");
  EXPECT_EQ(new_primary.sets(), 1);
  EXPECT_EQ(old_primary.sets(), 0);
}

TEST(SentinelFakeTest, WritesWaitUntilThePromotedNodeConfirmsItsRole) {
  FakeNode a, b;
  *b.primary = false;  // Sentinel will name b before b has become a primary
  // b's checks answer slowly while it is a replica: the client must not write to b while the
  // check that would tell it so is still out.
  *b.info_delay_while_replica_ms = 1000 * kSlow;
  auto view = std::make_shared<MasterView>();
  view->port = a.port();
  view->epoch = 1;
  FakeServer s({sentinel_script(view)});
  Client c(one_shard(a.port(), {s.address()}), fast_options());
  c.set("k", "v1");
  ASSERT_EQ(a.sets(), 1);
  // The failover: a steps down, the sentinel names b with a newer epoch; the client learns
  // it when its check finds a demoted.
  {
    std::lock_guard lock(view->mu);
    view->port = b.port();
    view->epoch = 2;
  }
  *a.primary = false;
  ASSERT_TRUE(eventually([&] {
    for (const auto& n : c.stats().nodes) {
      if (n.address == "127.0.0.1:" + std::to_string(b.port()) && n.role == "primary") return true;
    }
    return false;
  }));
  // b's role is not confirmed (its check is still out, and will say replica): no write may
  // reach it.
  EXPECT_THROW(c.set("k", "v2"), Error);
  EXPECT_EQ(b.sets(), 0);
  *b.info_delay_while_replica_ms = 0;
  // Once b reports itself primary, writes go there.
  *b.primary = true;
  EXPECT_TRUE(eventually([&] {
    try {
      c.set("k", "v3");
      return true;
    } catch (const Error&) {
      return false;
    }
  }));
  EXPECT_EQ(b.sets(), 1);
}

TEST(SentinelFakeTest, AnOlderEpochNeverMovesTheShardBack) {
  FakeNode a, b;
  auto fresh = std::make_shared<MasterView>();
  fresh->port = b.port();
  fresh->epoch = 5;
  auto stale = std::make_shared<MasterView>();
  stale->port = a.port();
  stale->epoch = 4;
  FakeServer s1({sentinel_script(fresh)});
  FakeServer s2({sentinel_script(stale)});
  Client c(one_shard(a.port(), {s1.address(), s2.address()}), fast_options());
  c.set("k", "v");
  ASSERT_EQ(b.sets(), 1);
  // b's check now says replica: the client asks every sentinel again. The stale one names
  // a (epoch 4); the fresh one still names b. Nothing may move the shard back to a.
  *b.primary = false;
  std::this_thread::sleep_for(300ms * kSlow);  // several health rounds and refreshes
  for (const auto& n : c.stats().nodes) {
    if (n.address == "127.0.0.1:" + std::to_string(a.port())) {
      EXPECT_EQ(n.role, "replica");
    }
  }
  EXPECT_EQ(a.sets(), 0);
}

TEST(SentinelFakeTest, SentinelsGetTheirOwnPasswordNeverTheDataPassword) {
  FakeNode a;
  auto view = std::make_shared<MasterView>();
  view->port = a.port();
  view->epoch = 1;
  FakeServer s({sentinel_script(view, "sentinel-secret")});
  ::setenv("FLYSHARD_FAKE_DATA_PASSWORD", "data-secret", 1);
  ::setenv("FLYSHARD_FAKE_SENTINEL_PASSWORD", "sentinel-secret", 1);
  std::string json = R"({"shards": [{"name": "s1", "primary": "127.0.0.1:)" +
                     std::to_string(a.port()) + R"("}], "sentinel": {"addresses": [")" +
                     s.address() +
                     R"("], "master_prefix": "m-", "auth": {"username": "watcher",
                        "password_env": "FLYSHARD_FAKE_SENTINEL_PASSWORD"}},
                        "auth": {"password_env": "FLYSHARD_FAKE_DATA_PASSWORD"}})";
  Topology t = Topology::from_json(json);
  EXPECT_EQ(t.sentinel->auth.username, "watcher");
  EXPECT_EQ(t.sentinel->auth.password, "sentinel-secret");
  {
    Client c(t, fast_options());
    c.set("k", "v");
    // Startup question, command link and subscriber link: all three authenticate.
    ASSERT_TRUE(eventually([&] {
      int auths = 0;
      for (const auto& cmd : s.commands()) auths += cmd.rfind("AUTH ", 0) == 0;
      return auths >= 3;
    }));
  }
  for (const auto& cmd : s.commands()) {
    EXPECT_EQ(cmd.find("data-secret"), std::string::npos) << cmd;
    if (cmd.rfind("AUTH ", 0) == 0) {
      EXPECT_EQ(cmd, "AUTH watcher sentinel-secret");
    }
  }
  // The data node got the data password.
  bool data_auth = false;
  for (const auto& cmd : a.server.commands()) data_auth |= cmd == "AUTH data-secret";
  EXPECT_TRUE(data_auth);
}

TEST(SentinelFakeTest, SentinelAuthInTopologyJsonNeverEchoesThePassword) {
  try {
    Topology::from_json(R"({"shards": [{"name": "s1", "primary": "127.0.0.1:1"}],
      "sentinel": {"addresses": ["127.0.0.1:2"], "auth": {"password": 12345678}}})");
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sentinel.auth.password"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("12345678"), std::string::npos) << e.what();
  }
}

TEST(SentinelFakeTest, HalfOpenSubscriberLinkToASentinelIsReopened) {
  FakeNode a;
  auto view = std::make_shared<MasterView>();
  view->port = a.port();
  view->epoch = 1;
  // Subscribed links never answer PING: to the client the link looks half-open.
  FakeServer s({sentinel_script(view, {}, true)});
  Client c(one_shard(a.port(), {s.address()}), fast_options());
  c.set("k", "v");
  const int first = s.accepted();
  // Keepalive PINGs go unanswered: the subscriber link is closed and opened again.
  EXPECT_TRUE(eventually([&] { return s.accepted() >= first + 2; }));
}

TEST(SentinelFakeTest, AReadonlyReplyTriggersARoleCheckAtOnce) {
  FakeNode a;
  Topology t = Topology::from_json(R"({"shards": [{"name": "s1", "primary": "127.0.0.1:)" +
                                   std::to_string(a.port()) + R"("}]})");
  ClientOptions o = fast_options();
  o.health_interval = 30000ms;  // the first round runs at start; the next one is far away
  Client c(t, o);
  c.set("k", "v1");
  // Demoted behind the client's back: it answers writes with READONLY and checks with
  // role:slave, and never drops a link (nothing else would make the client look).
  *a.primary = false;
  *a.readonly = true;
  try {
    c.set("k", "v2");
    ADD_FAILURE() << "expected READONLY";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error) << e.what();
  }
  // The READONLY answer made the client check the node's role now: its writes stop going
  // there long before the next health round.
  EXPECT_TRUE(eventually([&] {
    try {
      c.set("k", "v3");
      return false;
    } catch (const Error& e) {
      return e.value() == errc::shard_unavailable;
    }
  }));
}

// Issue 9: a node Sentinel no longer names (a replica removed from its view, as SENTINEL
// RESET does after the replica died) was kept forever, checked and linked to. It is retired:
// out of stats, no more checks, its links closed; named again, it is used again.
TEST(SentinelFakeTest, AReplicaSentinelForgetsIsRetiredAndComesBackWhenNamedAgain) {
  FakeNode p, r;
  *r.primary = false;
  auto view = std::make_shared<MasterView>();
  view->port = p.port();
  view->epoch = 1;
  view->replicas = {r.port()};
  FakeServer s({sentinel_script(view)});
  ClientOptions o = fast_options();
  o.read_from = ReadFrom::replica;
  Client c(one_shard(p.port(), {s.address()}), o);
  const std::string replica = "127.0.0.1:" + std::to_string(r.port());
  auto in_stats = [&] {
    for (const auto& n : c.stats().nodes) {
      if (n.address == replica) return true;
    }
    return false;
  };
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const auto& cmd : r.server.commands()) n += cmd.rfind(prefix, 0) == 0;
    return n;
  };
  auto read_from_replica = [&] {
    const int before = count("GET");
    try {
      c.get("k");
    } catch (const Error&) {
      return false;
    }
    return count("GET") > before;
  };
  EXPECT_TRUE(in_stats());
  EXPECT_TRUE(eventually([&] { return count("INFO") >= 2; }));
  EXPECT_TRUE(eventually(read_from_replica));

  // Sentinel forgets the replica.
  {
    std::lock_guard lock(view->mu);
    view->replicas.clear();
  }
  EXPECT_TRUE(eventually([&] { return !in_stats(); }));
  // No check reaches it any more (one may have been on its way when it left).
  std::this_thread::sleep_for(o.health_interval * 2);
  const int checks = count("INFO");
  std::this_thread::sleep_for(o.health_interval * 8);
  EXPECT_EQ(count("INFO"), checks);
  // Nothing is routed to it: with reads from replicas only, the shard has none.
  try {
    c.get("k");
    ADD_FAILURE() << "expected shard_unavailable";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::shard_unavailable) << e.what();
  }
  const int accepted = r.server.accepted();

  // Named again: back in stats, checked, links reopened, reads go to it.
  {
    std::lock_guard lock(view->mu);
    view->replicas = {r.port()};
  }
  EXPECT_TRUE(eventually(in_stats));
  EXPECT_TRUE(eventually([&] { return count("INFO") > checks; }));
  EXPECT_GT(r.server.accepted(), accepted);
  EXPECT_TRUE(eventually(read_from_replica));
}

}  // namespace

// A failover that lands between subscribe() and the subscription's registration on the loop
// must not lose the subscription (it would be registered on the old primary, whose link
// nobody reads any more). Subscriptions are made back to back from a thread while the shard's
// primary moves along six real servers; afterwards every one of them receives. A demoted
// server replicates from an unrelated server and never becomes primary again, so a message
// published on the newest primary cannot reach a lost subscription by any path.
TEST(SentinelFakeTest, SubscriptionsMadeWhileTheShardFailsOverAllReceive) {
  using flyshard::testing::ServerOptions;
  using flyshard::testing::ServerProcess;
  constexpr int kNodes = 6;
  std::vector<ServerProcess> nodes;
  for (int i = 0; i <= kNodes; ++i) {  // the last one is the unrelated server
    ServerOptions o;
    o.label = i < kNodes ? "n" + std::to_string(i) : "elsewhere";
    nodes.emplace_back(o).start();
  }
  const std::string elsewhere = std::to_string(nodes.back().port());
  auto view = std::make_shared<MasterView>();
  view->port = nodes[0].port();
  view->epoch = 1;
  FakeServer s({sentinel_script(view)});
  Client c(one_shard(nodes[0].port(), {s.address()}), fast_options());

  std::mutex mu;
  std::vector<Subscription> subs;
  std::vector<std::string> channels;
  std::set<std::string> received;
  std::atomic<bool> stop{false};
  std::thread subscriber([&] {
    for (int i = 0; !stop; ++i) {
      std::string ch = "race-" + std::to_string(i);
      Subscription sub = c.subscribe({ch}, [&](std::string_view channel, std::string_view) {
        std::lock_guard lock(mu);
        received.insert(std::string(channel));
      });
      {
        std::lock_guard lock(mu);
        subs.push_back(std::move(sub));
        channels.push_back(ch);
      }
      std::this_thread::sleep_for(200us);
    }
  });

  auto is_primary = [&](std::uint16_t port) {
    for (const auto& n : c.stats().nodes) {
      if (n.address == "127.0.0.1:" + std::to_string(port) && n.role == "primary") return true;
    }
    return false;
  };
  for (int i = 1; i < kNodes; ++i) {
    nodes[i].command({"REPLICAOF", "NO", "ONE"});
    {
      std::lock_guard lock(view->mu);
      view->port = nodes[i].port();
      ++view->epoch;
    }
    nodes[i - 1].command({"REPLICAOF", "127.0.0.1", elsewhere});
    ASSERT_TRUE(eventually([&] { return is_primary(nodes[i].port()); })) << "failover " << i;
  }
  stop = true;
  subscriber.join();

  // Publish on every channel that has not received yet, until all have or time runs out.
  std::vector<std::string> missing;
  const auto deadline = Clock::now() + 10s * kSlow;
  do {
    {
      std::lock_guard lock(mu);
      missing.clear();
      for (const auto& ch : channels)
        if (!received.count(ch)) missing.push_back(ch);
    }
    for (const auto& ch : missing) {
      try {
        c.publish(ch, "m");
      } catch (const Error&) {
      }
    }
    if (!missing.empty()) std::this_thread::sleep_for(50ms);
  } while (!missing.empty() && Clock::now() < deadline);
  EXPECT_GT(channels.size(), 50u);  // the race needs subscriptions across every failover
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << channels.size()
                               << " subscriptions lost, e.g. " << missing.front();
}
