#include "twemproxy_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "raw_redis.hpp"
#include "server_process.hpp"

extern char** environ;

namespace flyshard::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDefaultPath = "/usr/sbin/nutcracker";
constexpr int kPortAttempts = 4;

// True when something answers PING with PONG on `address`.
bool answers_ping(const NodeAddress& address) {
  auto c = connect_raw(address, 200ms);
  if (!c) return false;
  RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
  return r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG";
}

std::string pool_yaml(const flyshard::Topology& topology, const TwemproxyOptions& o,
                      std::uint16_t port) {
  std::ostringstream yaml;
  yaml << "flyshard:\n"
       << "  listen: 127.0.0.1:" << port << "\n"
       << "  hash: " << o.hash << "\n";
  if (!o.hash_tag.empty()) yaml << "  hash_tag: \"" << o.hash_tag << "\"\n";
  yaml << "  distribution: " << o.distribution << "\n"
       << "  auto_eject_hosts: false\n"
       << "  redis: true\n"
       << "  timeout: " << o.server_timeout.count() << "\n"
       << "  servers:\n";
  for (const auto& s : topology.shards) {
    yaml << "   - " << s.primary.host << ":" << s.primary.port << ":" << s.weight << " " << s.name
         << "\n";
  }
  return yaml.str();
}

}  // namespace

std::string TwemproxyProcess::binary() {
  if (const char* v = std::getenv("FLYSHARD_NUTCRACKER"); v != nullptr && *v != '\0')
    return find_on_path(v).value_or("");
  if (auto p = find_on_path(kDefaultPath)) return *p;
  return find_on_path("nutcracker").value_or("");
}

bool TwemproxyProcess::available() {
  return !binary().empty();
}

TwemproxyProcess::TwemproxyProcess(const flyshard::Topology& topology, TwemproxyOptions options)
    : options_(std::move(options)) {
  if (topology.shards.empty())
    throw std::invalid_argument("flyshard test support: nutcracker needs at least one shard");
  if (!options_.hash_tag.empty() && options_.hash_tag.size() != 2)
    throw std::invalid_argument("flyshard test support: hash_tag: expected two characters, got '" +
                                options_.hash_tag + "'");
  binary_ = binary();
  if (binary_.empty())
    throw std::runtime_error("flyshard test support: nutcracker not found ($FLYSHARD_NUTCRACKER, " +
                             std::string(kDefaultPath) + ", PATH)");
  std::string tmpl = (fs::temp_directory_path() / "flyshard-twemproxy-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  dir_ = tmpl;
  try {
    // A port picked free may be taken before nutcracker binds it; nutcracker then exits, and
    // another port is tried.
    for (int attempt = 1; !start_once(topology); ++attempt) {
      if (attempt >= kPortAttempts) {
        throw std::runtime_error("flyshard test support: nutcracker exited at start (" +
                                 command_line_ + "); log:\n" + log());
      }
    }
  } catch (...) {
    cleanup();
    throw;
  }
}

TwemproxyProcess::~TwemproxyProcess() {
  cleanup();
}

bool TwemproxyProcess::start_once(const flyshard::Topology& topology) {
  port_ = pick_free_port();
  const std::uint16_t stats_port = pick_free_port();
  const fs::path conf = dir_ / "nutcracker.yml";
  {
    std::ofstream out(conf, std::ios::trunc);
    out << pool_yaml(topology, options_, port_);
    if (!out) throw std::runtime_error("flyshard test support: cannot write " + conf.string());
  }
  const std::vector<std::string> args = {binary_,
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
  command_line_.clear();
  for (const auto& a : args) command_line_ += (command_line_.empty() ? "" : " ") + a;
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Default signal dispositions and no blocked signals, whatever the caller set up.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, binary_.c_str(), nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw std::system_error(rc, std::generic_category(), "flyshard test support: spawn " + binary_);
  pid_ = pid;
  running_ = true;

  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      running_ = false;
      return false;
    }
    if (answers_ping(address())) return true;
    std::this_thread::sleep_for(20ms);
  }
  kill();
  throw std::runtime_error("flyshard test support: nutcracker (" + command_line_ +
                           ") did not answer PING within " +
                           std::to_string(options_.start_timeout.count()) + " ms; log:\n" + log());
}

void TwemproxyProcess::kill() {
  if (!running_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  running_ = false;
}

void TwemproxyProcess::cleanup() noexcept {
  kill();
  if (!dir_.empty() && std::getenv("FLYSHARD_KEEP_TEMP") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string TwemproxyProcess::log() const {
  std::ifstream in(dir_ / "nutcracker.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TwemproxyProcess::command_line() const {
  return command_line_;
}

}  // namespace flyshard::testing
