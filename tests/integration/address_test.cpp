// Addresses as other clients take them: Unix sockets, IPv6 literals, host names, and URIs
// with their own credentials and database. Each path is exercised on the async links and on
// the blocking pool, against real servers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "server_process.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::eventually;
using flyshard::testing::labelled;
using flyshard::testing::ServerOptions;
using flyshard::testing::ServerProcess;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

Topology one_node(const std::string& address) {
  return Topology::from_json(R"({"shards": [{"name": "s1", "primary": ")" + address + R"("}]})");
}

ClientOptions quick() {
  ClientOptions o;
  o.connect_timeout = 300ms * kSlow;
  o.request_timeout = 300ms * kSlow;
  o.health_interval = 50ms;
  o.failure_limit = 2;
  o.reconnect_min = 10ms;
  o.reconnect_max = 50ms;
  return o;
}

// A socket path short enough for sun_path (temp dirs can be long), unique per process.
std::filesystem::path socket_path(const std::string& tag) {
  return std::filesystem::path("/tmp") /
         ("flyshard-" + tag + "-" + std::to_string(::getpid()) + ".sock");
}

void round_trip(Client& c, const std::string& key) {
  c.set(key, "blocking");
  EXPECT_EQ(c.get(key), "blocking");
  EXPECT_EQ(c.async().command({"SET", key, "async"}).get().str(), "OK");
  EXPECT_EQ(c.async().command({"GET", key}).get().str(), "async");
}

bool node_up(const Client& c) {
  const auto s = c.stats();
  return !s.nodes.empty() && s.nodes.front().up;
}

// The server still listens on its TCP port too: the launcher checks readiness and runs its
// own commands there. The client is given only the socket path, so every byte it moves goes
// through the socket; CLIENT LIST shows it.
TEST(AddressTest, UnixSocketDataHealthKillAndRestart) {
  const auto path = socket_path("unix");
  std::filesystem::remove(path);
  ServerOptions so;
  so.label = "unix";
  so.extra_args = {"--unixsocket", path.string(), "--unixsocketperm", "700"};
  ServerProcess server(so);
  server.start();

  Client c(one_node("unix://" + path.string()), quick());
  round_trip(c, "k");
  EXPECT_EQ(server.command({"GET", "k"}).str(), "async");
  EXPECT_TRUE(eventually([&] { return node_up(c); }, 2000ms * kSlow));
  const std::string clients = server.command({"CLIENT", "LIST"}).str();
  EXPECT_NE(clients.find("name=flyshard"), std::string::npos) << clients;
  EXPECT_NE(clients.find(path.string()), std::string::npos) << clients;

  // Killed: both paths fail within their timeouts and the health check marks it down.
  server.kill();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.get("k"), Error);
  EXPECT_THROW(c.async().command({"GET", "k"}).get(), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3 * quick().request_timeout + 500ms * kSlow);
  EXPECT_TRUE(eventually([&] { return !node_up(c); }, 3000ms * kSlow));

  // Back (empty): both paths reconnect.
  server.start();
  EXPECT_TRUE(eventually([&] { return node_up(c); }, 5000ms * kSlow));
  EXPECT_TRUE(eventually(
      [&] {
        try {
          round_trip(c, "again");
          return true;
        } catch (const Error&) {
          return false;
        }
      },
      5000ms * kSlow));
  EXPECT_EQ(server.command({"GET", "again"}).str(), "async");
  server.kill();
  std::filesystem::remove(path);
}

bool ipv6_loopback_usable() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

TEST(AddressTest, IPv6LiteralInBothForms) {
  if (!ipv6_loopback_usable()) GTEST_SKIP() << "::1 cannot be bound on this machine";
  ServerOptions so;
  so.label = "v6";
  so.extra_args = {"--bind", "127.0.0.1", "::1"};
  ServerProcess server(so);
  server.start();
  const std::string port = std::to_string(server.port());
  {
    Client c(one_node("[::1]:" + port), quick());
    round_trip(c, "v6");
    EXPECT_EQ(server.command({"GET", "v6"}).str(), "async");
    // The client's links came from ::1, not from 127.0.0.1.
    const std::string clients = server.command({"CLIENT", "LIST"}).str();
    EXPECT_NE(clients.find("addr=[::1]:"), std::string::npos) << clients;
  }
  {
    Client c(one_node("redis://[::1]:" + port + "/2"), quick());
    round_trip(c, "v6db");
    EXPECT_NE(server.command({"INFO", "keyspace"}).str().find("db2:keys=1"), std::string::npos);
  }
}

TEST(AddressTest, HostNameLocalhost) {
  ServerProcess server(labelled("named"));
  server.start();
  // localhost may resolve to ::1 first (where nothing listens): the next address is tried.
  Client c(one_node("localhost:" + std::to_string(server.port())), quick());
  round_trip(c, "named");
  EXPECT_EQ(server.command({"GET", "named"}).str(), "async");
  EXPECT_TRUE(eventually([&] { return node_up(c); }, 2000ms * kSlow));
}

TEST(AddressTest, UnknownHostNameFailsFastAndRetries) {
  // .invalid never resolves (RFC 6761): a connect error within the timeouts, not a hang.
  Client c(one_node("no-such-node.invalid:6379"), quick());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.get("k"), Error);
  EXPECT_THROW(c.async().command({"GET", "k"}).get(), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0,
            2 * quick().connect_timeout + 2 * quick().request_timeout + 1s * kSlow);
}

TEST(AddressTest, UriCredentialsAndDatabaseOverrideTheTopology) {
  ServerProcess server(labelled("auth"));
  server.start();
  server.command({"ACL", "SETUSER", "app", "on", ">app-secret", "~*", "&*", "+@all"});
  server.command({"CONFIG", "SET", "requirepass", "default-secret"});
  const std::string port = std::to_string(server.port());
  // The topology's auth and database are wrong for this node; the URI's win.
  const std::string json = R"({"shards": [{"name": "s1",
      "primary": "redis://app:app-secret@127.0.0.1:)" +
                           port + R"(/4"}],
      "auth": {"password": "wrong"}, "database": 1})";
  Client c(Topology::from_json(json), quick());
  round_trip(c, "uri");
  const std::string keyspace = server.command({"INFO", "keyspace"}).str();
  EXPECT_NE(keyspace.find("db4:keys=1"), std::string::npos) << keyspace;
  EXPECT_EQ(keyspace.find("db1:"), std::string::npos) << keyspace;
  // The password shows nowhere: not in stats, not in the client's own errors.
  for (const auto& n : c.stats().nodes) EXPECT_EQ(n.address.find("app-secret"), std::string::npos);
  server.kill();
  try {
    c.get("uri");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("app-secret"), std::string::npos) << e.what();
  }
}

}  // namespace
