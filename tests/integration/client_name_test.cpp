// ClientOptions::client_name: every connection the client opens (async links, the blocking
// pool, Pub/Sub links, Sentinel links) names itself with CLIENT SETNAME, so operators find it
// in CLIENT LIST.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "server_process.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::eventually;
using flyshard::testing::labelled;
using flyshard::testing::LocalCluster;
using flyshard::testing::ServerOptions;
using flyshard::testing::ServerProcess;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

std::vector<std::string> client_lines(ServerProcess& p) {
  std::vector<std::string> out;
  std::istringstream in(p.command({"CLIENT", "LIST"}).str());
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::size_t named(const std::vector<std::string>& lines, const std::string& name,
                  const std::string& also = "") {
  std::size_t n = 0;
  for (const auto& l : lines) {
    if (l.find(" name=" + name + " ") != std::string::npos &&
        (also.empty() || l.find(also) != std::string::npos)) {
      ++n;
    }
  }
  return n;
}

TEST(ClientNameTest, EveryDataConnectionIsNamed) {
  ServerProcess server(labelled("named"));
  server.start();
  const std::size_t before = client_lines(server).size();  // the launcher's own connection
  ClientOptions o;
  o.client_name = "shop-api";
  o.connections_per_node = 2;
  Topology t = Topology::from_json(R"({"shards": [{"name": "s1", "primary": ")" +
                                   server.address().to_string() + R"("}], "database": 2})");
  Client c(t, o);
  c.set("k", "v");                                              // a pooled blocking connection
  EXPECT_EQ(c.async().command({"GET", "k"}).get().str(), "v");  // the async links
  Subscription sub = c.async().subscribe({"news"}, [](std::string_view, std::string_view) {});
  // 2 async links + 1 blocking + 1 subscriber, all named, one of them subscribed; nobody
  // else on the server but the launcher.
  EXPECT_TRUE(eventually(
      [&] {
        const auto lines = client_lines(server);
        return lines.size() == before + 4 && named(lines, "shop-api") == 4 &&
               named(lines, "shop-api", " sub=1 ") == 1;
      },
      3s * kSlow))
      << server.command({"CLIENT", "LIST"}).str();
  // SETNAME rode in the handshake with SELECT: the database is still the topology's.
  for (const auto& l : client_lines(server)) {
    if (l.find("name=shop-api") != std::string::npos) {
      EXPECT_NE(l.find(" db=2 "), std::string::npos) << l;
    }
  }
}

TEST(ClientNameTest, DefaultNameAndNone) {
  ServerProcess server(labelled("default-name"));
  server.start();
  const Topology t = Topology::from_json(R"({"shards": [{"name": "s1", "primary": ")" +
                                         server.address().to_string() + R"("}]})");
  const std::size_t launcher = client_lines(server).size();
  {
    Client c(t);
    c.set("k", "v");
    // The async link connects on the loop thread: wait for it as well as the blocking one.
    EXPECT_TRUE(
        eventually([&] { return named(client_lines(server), "flyshard") == 2; }, 3s * kSlow))
        << server.command({"CLIENT", "LIST"}).str();
  }
  ClientOptions o;
  o.client_name = "";
  Client c(t, o);
  c.set("k", "v");
  // The new client's two links are there, none of them named (and the old client's closed).
  EXPECT_TRUE(eventually(
      [&] {
        const auto lines = client_lines(server);
        return lines.size() == launcher + 2 && named(lines, "flyshard") == 0;
      },
      3s * kSlow))
      << server.command({"CLIENT", "LIST"}).str();
  o.client_name = "has space";
  EXPECT_THROW(Client(t, o), Error);
}

TEST(ClientNameTest, SentinelLinksAreNamed) {
  ClusterOptions co;
  co.shards = 1;
  co.sentinels = 1;
  LocalCluster cluster(co);
  ClientOptions o;
  o.client_name = "shop-api";
  Client c(cluster.topology(), o);
  c.set("k", "v");
  // The watcher's question link and its subscriber link.
  EXPECT_TRUE(eventually(
      [&] {
        const auto lines = client_lines(cluster.sentinel(0));
        std::size_t subscribed = 0;  // the subscriber: sub= not 0
        for (const auto& l : lines) {
          if (l.find(" name=shop-api ") != std::string::npos &&
              l.find(" sub=0 ") == std::string::npos) {
            ++subscribed;
          }
        }
        return named(lines, "shop-api") >= 2 && subscribed >= 1;
      },
      3s * kSlow))
      << cluster.sentinel(0).command({"CLIENT", "LIST"}).str();
}

}  // namespace
