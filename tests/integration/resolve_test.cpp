// Host names are resolved again on every reconnect, off the loop thread. A DNS record cannot be
// moved safely from a test (/etc/hosts is shared with everything else on the machine), so the
// test swaps the resolver through the I/O layer's test hook; the servers are real.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "io/resolver.hpp"
#include "server_process.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::eventually;
using flyshard::testing::labelled;
using flyshard::testing::ServerOptions;
using flyshard::testing::ServerProcess;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

// "node.test" -> 127.0.0.1:<target port>. Real DNS moves a name to another host at the same
// port; both servers here share 127.0.0.1, so the moved record carries the port too. It also
// notes every thread that resolved.
class MovableName {
 public:
  explicit MovableName(std::uint16_t port) : port_(port) {
    detail::set_resolver_for_testing([this](const std::string& host, std::uint16_t) {
      std::lock_guard lock(mu_);
      threads_.insert(std::this_thread::get_id());
      ++calls_;
      if (host != "node.test") {
        return Result<std::vector<detail::SocketAddress>>(errc::connection_lost, "unknown name");
      }
      detail::SocketAddress a;
      auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(port_);
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.length = sizeof(sockaddr_in);
      return Result<std::vector<detail::SocketAddress>>(std::vector{a});
    });
  }
  ~MovableName() { detail::set_resolver_for_testing({}); }
  void move_to(std::uint16_t port) {
    std::lock_guard lock(mu_);
    port_ = port;
  }
  bool resolved_on(std::thread::id id) {
    std::lock_guard lock(mu_);
    return threads_.count(id) != 0;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::uint16_t port_;
  std::set<std::thread::id> threads_;
  int calls_ = 0;
};

TEST(ResolveTest, ReconnectFollowsAMovedName) {
  ServerProcess a(labelled("a"));
  ServerProcess b(labelled("b"));
  a.start();
  b.start();
  MovableName name(a.port());

  ClientOptions o;
  o.connect_timeout = 300ms * kSlow;
  o.request_timeout = 300ms * kSlow;
  o.health_interval = 50ms;
  o.reconnect_min = 10ms;
  o.reconnect_max = 50ms;
  Client c(Topology::from_json(R"({"shards": [{"name": "s1", "primary": "node.test:1"}]})"), o);
  c.set("k", "on-a");
  EXPECT_EQ(c.async().command({"SET", "ka", "on-a"}).get().str(), "OK");
  EXPECT_EQ(a.command({"GET", "k"}).str(), "on-a");
  EXPECT_EQ(a.command({"GET", "ka"}).str(), "on-a");

  // The loop thread never resolves: an async callback runs there, so its id is the loop's.
  std::atomic<std::thread::id> loop_thread;
  c.async().command({"PING"}, [&](Result<Reply>) { loop_thread = std::this_thread::get_id(); });
  ASSERT_TRUE(eventually([&] { return loop_thread.load() != std::thread::id(); }, 2s * kSlow));

  // The name moves to b and a dies: the next connects resolve again and land on b.
  name.move_to(b.port());
  a.kill();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          c.set("k", "on-b");
          return c.async().command({"SET", "ka", "on-b"}).get().str() == "OK";
        } catch (const Error&) {
          return false;
        }
      },
      5s * kSlow));
  EXPECT_EQ(b.command({"GET", "k"}).str(), "on-b");
  EXPECT_EQ(b.command({"GET", "ka"}).str(), "on-b");
  EXPECT_GE(name.calls(), 2);
  EXPECT_FALSE(name.resolved_on(loop_thread.load()));
  EXPECT_FALSE(name.resolved_on(std::this_thread::get_id()));  // blocking: a helper thread
}

}  // namespace
