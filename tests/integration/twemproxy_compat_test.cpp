// ketama with compat "twemproxy" against the real thing: keys are written through nutcracker
// (distribution: ketama, hash: fnv1a_64, hash_tag: "{}") in front of real servers, then read
// back from each server directly; every key must sit on the shard Distribution names.
//
// Skipped when /usr/sbin/nutcracker (Debian package `nutcracker`) is absent.

#include <flyshard/distribution.hpp>

#include "local_cluster.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

constexpr const char* kNutcracker = "/usr/sbin/nutcracker";

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot pick a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct RedisContextDeleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, RedisContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

Context connect(std::uint16_t port) {
  const timeval tv{2, 0};
  Context c(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (!c || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

// nutcracker in front of the given servers, run as our own child and ended by its PID.
class Nutcracker {
 public:
  struct Server {
    std::uint16_t port;
    std::uint32_t weight;
    std::string name;
  };

  explicit Nutcracker(const std::vector<Server>& servers) {
    char tmpl[] = "/tmp/flyshard-twemproxy-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    const std::uint16_t stats_port = free_port();

    std::ostringstream yaml;
    yaml << "flyshard:\n"
         << "  listen: 127.0.0.1:" << port_ << "\n"
         << "  hash: fnv1a_64\n"
         << "  hash_tag: \"{}\"\n"
         << "  distribution: ketama\n"
         << "  auto_eject_hosts: false\n"
         << "  redis: true\n"
         << "  timeout: 2000\n"
         << "  servers:\n";
    for (const auto& s : servers) {
      yaml << "   - 127.0.0.1:" << s.port << ":" << s.weight << " " << s.name << "\n";
    }
    const fs::path conf = dir_ / "nutcracker.yml";
    std::ofstream(conf) << yaml.str();

    const std::vector<std::string> args = {kNutcracker,
                                           "-c",
                                           conf.string(),
                                           "-p",
                                           (dir_ / "nutcracker.pid").string(),
                                           "-o",
                                           (dir_ / "nutcracker.log").string(),
                                           "-s",
                                           std::to_string(stats_port),
                                           "-a",
                                           "127.0.0.1"};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, kNutcracker, nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = 0;
      throw std::runtime_error("cannot spawn nutcracker");
    }
    wait_ready();
  }

  ~Nutcracker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (std::getenv("FLYSHARD_KEEP_TEMP") == nullptr) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  Nutcracker(const Nutcracker&) = delete;
  Nutcracker& operator=(const Nutcracker&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  std::string log() const {
    std::ifstream in(dir_ / "nutcracker.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        throw std::runtime_error("nutcracker exited at start:\n" + log());
      }
      if (auto c = connect(port_)) {
        ReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
        if (r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG") return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nutcracker did not answer PING within 10 s:\n" + log());
  }

  fs::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = 0;
};

// 2000 keys: plain, hash-tagged (several keys per tag), empty and unbalanced braces, bytes
// >= 0x80 (nutcracker sign-extends them in its FNV), long keys.
std::vector<std::string> test_keys() {
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 2000; ++i) {
    switch (i % 8) {
      case 0:
        keys.push_back("key:" + std::to_string(i));
        break;
      case 1:
        keys.push_back("cart:{u" + std::to_string(i % 97) + "}:" + std::to_string(i));
        break;
      case 2:
        keys.push_back("{order-" + std::to_string(i % 31) + "}" + std::to_string(i));
        break;
      case 3:
        keys.push_back("a{}b" + std::to_string(i));
        break;
      case 4:
        keys.push_back("}{" + std::to_string(i) + "{");
        break;
      case 5:
        keys.push_back("\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87:" + std::to_string(i));  // "ключ:"
        break;
      case 6:
        keys.push_back(std::string("\xff\x80\x01 ") + std::to_string(i) + "\xfe");
        break;
      default:
        keys.push_back(std::string(150, 'k') + std::to_string(i));
        break;
    }
  }
  return keys;
}

// Writes every key through nutcracker, then checks that each one is on exactly the server the
// twemproxy-compat distribution names.
void check_placement(const std::vector<std::uint32_t>& weights) {
  if (::access(kNutcracker, X_OK) != 0) GTEST_SKIP() << kNutcracker << " is not installed";

  ClusterOptions options;
  options.shards = weights.size();
  options.replicas = 0;
  LocalCluster cluster(options);

  std::vector<Nutcracker::Server> servers;
  std::vector<flyshard::ShardWeight> shards;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    servers.push_back({cluster.primary(i).port(), weights[i], cluster.shard_name(i)});
    shards.push_back({cluster.shard_name(i), weights[i]});
  }
  Nutcracker proxy(servers);
  flyshard::DistributionOptions dopts;
  dopts.compat = "twemproxy";
  const auto dist = flyshard::Distribution::create("ketama", shards, dopts);

  const auto keys = test_keys();
  auto c = connect(proxy.port());
  ASSERT_TRUE(c) << "cannot connect to nutcracker";
  for (const auto& k : keys) {
    const char* argv[] = {"SET", k.data(), "v"};
    const std::size_t lens[] = {3, k.size(), 1};
    ASSERT_EQ(redisAppendCommandArgv(c.get(), 3, argv, lens), REDIS_OK);
  }
  for (const auto& k : keys) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK) << c->errstr;
    ReplyPtr r(static_cast<redisReply*>(raw));
    ASSERT_EQ(r->type, REDIS_REPLY_STATUS) << k << ": " << std::string(r->str, r->len);
  }

  // Where each key really is.
  std::map<std::string, std::vector<std::size_t>> found;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const auto reply = cluster.primary(i).command({"KEYS", "*"});
    ASSERT_TRUE(reply.is_array()) << reply.to_string();
    for (const auto& e : reply.elements()) found[e.str()].push_back(i);
  }
  EXPECT_EQ(found.size(), keys.size());

  std::size_t mismatches = 0;
  std::vector<std::size_t> per_shard(weights.size());
  for (const auto& k : keys) {
    const std::size_t expected = dist.shard_for(k);
    const auto it = found.find(k);
    ASSERT_NE(it, found.end()) << "key not found on any server: " << k;
    ASSERT_EQ(it->second.size(), 1u) << "key on several servers: " << k;
    ++per_shard[it->second.front()];
    if (it->second.front() != expected) {
      ++mismatches;
      ADD_FAILURE() << "key " << k << ": nutcracker put it on "
                    << cluster.shard_name(it->second.front()) << ", Distribution says "
                    << cluster.shard_name(expected);
      if (mismatches > 10) break;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // Every server got a fair part, so the check covered every server's ring arcs.
  for (std::size_t i = 0; i < weights.size(); ++i) EXPECT_GT(per_shard[i], 0u) << i;
}

TEST(TwemproxyCompat, EqualWeightsPlaceKeysLikeNutcracker) {
  check_placement({1, 1, 1});
}

// Weights whose shares are not multiples of 1/40: nutcracker's float formula rounds the
// points down (40, 128, 304 points), which Distribution must repeat.
TEST(TwemproxyCompat, UnequalWeightsPlaceKeysLikeNutcracker) {
  check_placement({1, 3, 7});
}

// 25 equal servers: float rounding gives each 156 points instead of 160.
TEST(TwemproxyCompat, TwentyFiveServersPlaceKeysLikeNutcracker) {
  check_placement(std::vector<std::uint32_t>(25, 1));
}

}  // namespace
