#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "raw_redis.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace flyshard::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kLogName = "server.log";
constexpr const char* kSentinelConf = "sentinel.conf";
constexpr int kPortAttempts = 4;

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

const char* env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,+@") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Socket inodes of the listening TCP sockets bound to `port` (any address).
std::set<std::string> listening_inodes(std::uint16_t port) {
  std::set<std::string> inodes;
  char want[8];
  std::snprintf(want, sizeof(want), "%04X", static_cast<unsigned>(port));
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
            inode))
        continue;
      auto colon = local.rfind(':');
      if (colon == std::string::npos || local.substr(colon + 1) != want) continue;
      if (state != "0A") continue;  // TCP_LISTEN
      inodes.insert(inode);
    }
  }
  return inodes;
}

// True when process `pid` holds a socket listening on `port`: the PONG came from our process,
// not from some other server that already had the port.
bool pid_listens_on(int pid, std::uint16_t port) {
  auto inodes = listening_inodes(port);
  if (inodes.empty()) return false;
  std::error_code ec;
  fs::path fd_dir = fs::path("/proc") / std::to_string(pid) / "fd";
  for (fs::directory_iterator it(fd_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code lec;
    fs::path target = fs::read_symlink(it->path(), lec);
    if (lec) continue;
    std::string t = target.string();
    if (t.rfind("socket:[", 0) == 0 && t.back() == ']') {
      if (inodes.count(t.substr(8, t.size() - 9))) return true;
    }
  }
  return false;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  if (ms < 1ms) ms = 1ms;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

flyshard::Reply convert(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return flyshard::Reply::string(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return flyshard::Reply::status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return flyshard::Reply::error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return flyshard::Reply::integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<flyshard::Reply> elements;
      elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) elements.push_back(convert(r->element[i]));
      return flyshard::Reply::array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      // Newer hiredis (RESP3 types) is not used: these connections speak RESP2 only.
      return flyshard::Reply::nil();
  }
}

// A start that failed in a way another port may cure.
struct PortTrouble : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using ContextPtr = RedisContextPtr;
using ReplyPtr = RedisReplyPtr;

}  // namespace

// A name without a slash is looked up on PATH (as execvp would, but before fork: the child of
// a multithreaded process must only make async-signal-safe calls).
std::optional<std::string> find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (is_executable(name)) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    fs::path candidate = fs::path(dir) / name;
    if (is_executable(candidate)) return candidate.string();
    start = end + 1;
  }
  return std::nullopt;
}

// The kernel hands out a port that is free now; the server binds it a moment later. Another
// process may take it in between: start() notices (the server fails to bind, or the answer to
// PING comes from a process other than ours) and tries another port.
std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string server_binary() {
  if (const char* v = env_or_null("FLYSHARD_SERVER")) return v;
  if (find_on_path("dragonfly")) return "dragonfly";
  return "redis-server";
}

bool server_is_dragonfly() {
  return fs::path(server_binary()).filename().string().find("dragonfly") != std::string::npos;
}

std::string sentinel_binary() {
  if (const char* v = env_or_null("FLYSHARD_SENTINEL")) return v;
  if (find_on_path("redis-sentinel")) return "redis-sentinel";
  return "redis-server";
}

struct ServerProcess::Impl {
  ServerOptions options;
  std::string binary;  // as given (name or path)
  fs::path dir;
  std::uint16_t port = 0;
  std::uint16_t tls_port = 0;
  pid_t pid = 0;
  bool alive = false;
  bool is_stopped = false;
  std::vector<std::string> argv;

  std::mutex conn_mu;
  ContextPtr conn;

  ~Impl() {
    kill_now();
    if (!dir.empty() && !env_or_null("FLYSHARD_KEEP_TEMP")) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }

  bool dragonfly() const {
    return fs::path(binary).filename().string().find("dragonfly") != std::string::npos;
  }

  fs::path log_path() const { return dir / kLogName; }

  void drop_connection() {
    std::lock_guard lock(conn_mu);
    conn.reset();
  }

  // Reaps the child if it has exited; returns whether it is still alive.
  bool poll_alive() {
    if (!alive) return false;
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      alive = false;
      is_stopped = false;
    }
    return alive;
  }

  void reap_blocking() {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    alive = false;
    is_stopped = false;
  }

  void kill_now() {
    if (!alive) return;
    ::kill(pid, SIGKILL);
    reap_blocking();
    drop_connection();
  }

  void write_sentinel_config() {
    std::ofstream out(dir / kSentinelConf, std::ios::trunc);
    out << "port " << port << "\n"
        << "bind 127.0.0.1\n"
        << "protected-mode no\n"
        << "daemonize no\n"
        // stdout is the log file (see spawn): early errors land in it too.
        << "logfile \"\"\n"
        << "dir " << dir.string() << "\n";
    for (const auto& m : options.monitors) {
      out << "sentinel monitor " << m.name << ' ' << m.primary.host << ' ' << m.primary.port << ' '
          << m.quorum << "\n"
          << "sentinel down-after-milliseconds " << m.name << ' ' << m.down_after_ms << "\n"
          << "sentinel failover-timeout " << m.name << ' ' << m.failover_timeout_ms << "\n"
          << "sentinel parallel-syncs " << m.name << " 1\n";
    }
    if (options.tls) {
      // Sentinel reads TLS settings from its config only (not from the command line).
      out << "tls-port " << tls_port << "\n"
          << "tls-cert-file " << options.tls->cert_file << "\n"
          << "tls-key-file " << options.tls->key_file << "\n"
          << "tls-ca-cert-file " << options.tls->ca_file << "\n"
          << "tls-auth-clients " << (options.tls->auth_clients ? "yes" : "no") << "\n"
          << "tls-replication yes\n";
    }
    if (!out) throw std::runtime_error("cannot write " + (dir / kSentinelConf).string());
  }

  std::vector<std::string> build_argv(const std::string& exe) {
    std::vector<std::string> a{exe};
    const std::string p = std::to_string(port);
    if (options.kind == ProcessKind::sentinel) {
      a.push_back((dir / kSentinelConf).string());
      if (fs::path(exe).filename() != "redis-sentinel") a.push_back("--sentinel");
      // The config is written once, possibly for a port that was then taken: the command line
      // wins over it.
      a.insert(a.end(), {"--port", p});
      if (options.tls) a.insert(a.end(), {"--tls-port", std::to_string(tls_port)});
      return a;
    }
    if (options.tls) {
      a.insert(a.end(), {"--tls-port", std::to_string(tls_port), "--tls-cert-file",
                         options.tls->cert_file, "--tls-key-file", options.tls->key_file,
                         "--tls-ca-cert-file", options.tls->ca_file, "--tls-auth-clients",
                         options.tls->auth_clients ? "yes" : "no", "--tls-replication", "yes"});
    }
    if (dragonfly()) {
      // Untested here (no Dragonfly binary): flags as Dragonfly's own test harness uses them.
      a.insert(a.end(),
               {"--port=" + p, "--bind=127.0.0.1", "--dir=" + dir.string(),
                "--dbfilename=", "--logtostderr", "--proactor_threads=1", "--noversion_check"});
    } else {
      a.insert(a.end(),
               {"--port", p, "--bind", "127.0.0.1", "--protected-mode", "no", "--daemonize", "no",
                "--dir", dir.string(), "--save", "", "--appendonly", "no", "--logfile", "",
                // Full syncs through a (tiny) RDB file, not diskless: a diskless primary waits
                // 5 s for more replicas before it starts, and after the transfer it streams
                // writes only once the replica's first REPLCONF ACK arrives, which can take
                // a second. Tests want a replica that is in sync to stay in sync.
                "--repl-diskless-sync", "no"});
    }
    a.insert(a.end(), options.extra_args.begin(), options.extra_args.end());
    return a;
  }

  void spawn() {
    auto exe = find_on_path(binary);
    if (!exe)
      throw std::runtime_error("flyshard test support: '" + binary +
                               "' not found (not an executable file, nor a name on PATH)");
    // Written once: Sentinel rewrites its config as it learns (replicas, peers, the primary
    // after a failover), and a restarted sentinel must come back with that knowledge.
    if (options.kind == ProcessKind::sentinel && !fs::exists(dir / kSentinelConf))
      write_sentinel_config();
    argv = build_argv(*exe);
    argv[0] = binary;  // shown in messages as given; exec uses the resolved path

    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);

    int log_fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
      throw std::system_error(errno, std::generic_category(), "open " + log_path().string());
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    {
      std::string banner = "---- flyshard: starting " + command_line() + "\n";
      [[maybe_unused]] auto n = ::write(log_fd, banner.data(), banner.size());
    }

    const pid_t parent = ::getpid();
    const std::string exe_path = *exe;
    const std::string dir_str = dir.string();
    pid_t child = ::fork();
    if (child < 0) {
      int e = errno;
      ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      throw std::system_error(e, std::generic_category(), "fork");
    }
    if (child == 0) {
      // Only async-signal-safe calls from here on.
      ::setpgid(0, 0);  // a terminal's Ctrl-C reaches the launcher, which ends us in order
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
      // The launcher blocks signals for sigwait and tests may ignore SIGPIPE: exec keeps both.
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) ::signal(sig, SIG_DFL);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      // Leak none of the test's sockets into the server.
      ::close_range(3, ~0U, 0);
      if (::chdir(dir_str.c_str()) != 0) ::_exit(126);
      ::execv(exe_path.c_str(), cargv.data());
      const char msg[] = "flyshard: exec failed\n";
      [[maybe_unused]] auto n = ::write(2, msg, sizeof(msg) - 1);
      ::_exit(127);
    }
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    pid = child;
    alive = true;
    is_stopped = false;
  }

  std::string command_line() const {
    std::string out;
    for (const auto& a : argv) {
      if (!out.empty()) out += ' ';
      out += shell_quote(a);
    }
    return out;
  }

  std::string tail(std::size_t lines) const {
    std::ifstream in(log_path(), std::ios::binary);
    std::vector<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
      last.push_back(std::move(line));
      if (last.size() > lines) last.erase(last.begin());
    }
    std::string out;
    for (const auto& l : last) out += l + "\n";
    return out;
  }

  // Ready means: our process is alive, something on the port answers PING, and that something
  // is our process (it holds the listening socket).
  enum class Wait { ready, exited, timed_out, foreign };
  Wait wait_ready() {
    auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
    bool saw_foreign = false;
    for (;;) {
      if (!poll_alive()) return saw_foreign ? Wait::foreign : Wait::exited;
      timeval tv = to_timeval(200ms);
      ContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
      if (c && !c->err) {
        redisSetTimeout(c.get(), tv);
        ReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
        if (r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)) {
          if (pid_listens_on(pid, port)) return Wait::ready;
          saw_foreign = true;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return saw_foreign ? Wait::foreign : Wait::timed_out;
      std::this_thread::sleep_for(10ms);
    }
  }

  void run_startup_commands() {
    if (options.startup_commands.empty()) return;
    timeval tv = to_timeval(2000ms);
    ContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
    if (!c || c->err)
      throw std::runtime_error("flyshard test support: " + describe() + ": cannot connect");
    redisSetTimeout(c.get(), tv);
    for (const auto& cmd : options.startup_commands) {
      if (cmd.empty()) continue;
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (const auto& a : cmd) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      ReplyPtr r(static_cast<redisReply*>(
          redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
      if (!r)
        throw std::runtime_error("flyshard test support: " + describe() + ": " + cmd.at(0) + ": " +
                                 c->errstr);
    }
  }

  std::string describe() const {
    return options.label + " (" + command_line() + ", pid " + std::to_string(pid) + ", dir " +
           dir.string() + ")";
  }

  void start_on_port() {
    spawn();
    Wait w = wait_ready();
    if (w == Wait::ready) {
      try {
        run_startup_commands();
      } catch (...) {
        kill_now();
        throw;
      }
      return;
    }
    kill_now();
    std::string why =
        w == Wait::exited ? "exited before answering PING"
        : w == Wait::foreign
            ? "another process answers on its port"
            : "did not answer PING within " + std::to_string(options.start_timeout.count()) + " ms";
    std::string msg =
        "flyshard test support: " + describe() + " " + why + "; log tail:\n" + tail(20);
    // A process that exited may have lost its port to another process, and a foreign answer
    // says so: worth another port. A hang is not.
    if (w == Wait::timed_out) throw std::runtime_error(msg);
    throw PortTrouble(msg);
  }
};

ServerProcess::ServerProcess(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  if (s.options.label.empty())
    s.options.label = s.options.kind == ProcessKind::sentinel ? "sentinel" : "server";
  s.binary = !s.options.binary.empty()                 ? s.options.binary
             : s.options.kind == ProcessKind::sentinel ? sentinel_binary()
                                                       : server_binary();
  s.port = s.options.port;
  std::string safe_label = s.options.label;
  for (char& c : safe_label)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  std::string tmpl = (fs::temp_directory_path() / ("flyshard-" + safe_label + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  s.dir = tmpl;
}

ServerProcess::~ServerProcess() = default;
ServerProcess::ServerProcess(ServerProcess&&) noexcept = default;
ServerProcess& ServerProcess::operator=(ServerProcess&&) noexcept = default;

void ServerProcess::start() {
  Impl& s = *impl_;
  if (s.poll_alive())
    throw std::logic_error("flyshard test support: " + s.options.label + " is already running");
  if (s.port != 0) {
    if (s.options.tls && s.tls_port == 0) s.tls_port = pick_free_port();
    s.start_on_port();
    return;
  }
  for (int attempt = 1;; ++attempt) {
    s.port = pick_free_port();
    if (s.options.tls) {
      do {
        s.tls_port = pick_free_port();
      } while (s.tls_port == s.port);
    }
    try {
      s.start_on_port();
      return;
    } catch (const PortTrouble&) {
      if (attempt >= kPortAttempts) throw;
    }
  }
}

void ServerProcess::kill() {
  impl_->kill_now();
}

void ServerProcess::terminate(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (!s.poll_alive()) return;
  ::kill(s.pid, SIGTERM);
  ::kill(s.pid, SIGCONT);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.poll_alive()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      s.kill_now();
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  s.drop_connection();
}

void ServerProcess::stop() {
  Impl& s = *impl_;
  if (!s.poll_alive()) throw std::logic_error("flyshard test support: stop(): not running");
  ::kill(s.pid, SIGSTOP);
  s.is_stopped = true;
}

void ServerProcess::resume() {
  Impl& s = *impl_;
  if (!s.poll_alive()) throw std::logic_error("flyshard test support: resume(): not running");
  ::kill(s.pid, SIGCONT);
  s.is_stopped = false;
}

void ServerProcess::restart() {
  Impl& s = *impl_;
  s.kill_now();
  if (s.port == 0) throw std::logic_error("flyshard test support: restart() before start()");
  // Nothing persists by configuration, but a Redis primary writes an RDB file for each full
  // sync and a replica stores the one it receives (repl-diskless-load is off by default); a
  // restarted node would load it again: empty the folder.
  std::error_code ec;
  for (fs::directory_iterator it(s.dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename();
    if (name == kLogName || name == kSentinelConf) continue;
    std::error_code rec;
    fs::remove_all(it->path(), rec);
  }
  s.start_on_port();
}

int ServerProcess::pid() const noexcept {
  return impl_->pid;
}
std::uint16_t ServerProcess::port() const noexcept {
  return impl_->port;
}

std::uint16_t ServerProcess::tls_port() const noexcept {
  return impl_->tls_port;
}

std::uint16_t ServerProcess::client_port() const noexcept {
  return impl_->options.tls ? impl_->tls_port : impl_->port;
}

NodeAddress ServerProcess::client_address() const {
  return NodeAddress{"127.0.0.1", client_port()};
}
NodeAddress ServerProcess::address() const {
  return NodeAddress{"127.0.0.1", impl_->port};
}
bool ServerProcess::running() const {
  return impl_->poll_alive();
}
bool ServerProcess::stopped() const noexcept {
  return impl_->alive && impl_->is_stopped;
}
ProcessKind ServerProcess::kind() const noexcept {
  return impl_->options.kind;
}
const std::string& ServerProcess::label() const noexcept {
  return impl_->options.label;
}
const fs::path& ServerProcess::dir() const noexcept {
  return impl_->dir;
}
fs::path ServerProcess::log_path() const {
  return impl_->log_path();
}
std::string ServerProcess::log_tail(std::size_t lines) const {
  return impl_->tail(lines);
}
std::string ServerProcess::command_line() const {
  return impl_->command_line();
}

flyshard::Reply ServerProcess::command(const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (args.empty()) throw std::invalid_argument("flyshard test support: empty command");
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  const timeval tv = to_timeval(timeout);
  const std::string where = s.options.label + " 127.0.0.1:" + std::to_string(s.port);

  std::lock_guard lock(s.conn_mu);
  for (int attempt = 0;; ++attempt) {
    bool reused = static_cast<bool>(s.conn);
    if (!s.conn) {
      ContextPtr c(redisConnectWithTimeout("127.0.0.1", s.port, tv));
      if (!c) throw std::runtime_error(where + ": cannot allocate a connection");
      if (c->err) throw std::runtime_error(where + ": connect: " + c->errstr);
      s.conn = std::move(c);
    }
    redisSetTimeout(s.conn.get(), tv);
    ReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(s.conn.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (r) return convert(r.get());
    const int err = s.conn->err;
    std::string msg = s.conn->errstr;
    s.conn.reset();  // the stream is out of step now
    // A cached connection that the server closed meanwhile (EOF, reset) is retried once on a
    // new one; a timeout is not (the server may be hung, and waiting twice helps nobody).
    const bool stale =
        err == REDIS_ERR_EOF ||
        (err == REDIS_ERR_IO && (msg == std::strerror(ECONNRESET) || msg == std::strerror(EPIPE)));
    if (reused && stale && attempt == 0) continue;
    throw std::runtime_error(where + ": " + args[0] + ": " + msg);
  }
}

std::optional<std::string> ServerProcess::info_field(std::string_view section,
                                                     std::string_view field,
                                                     std::chrono::milliseconds timeout) {
  Reply r = command({"INFO", std::string(section)}, timeout);
  if (!r.is_string()) return std::nullopt;
  std::istringstream in(r.str());
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':')
      return line.substr(field.size() + 1);
  }
  return std::nullopt;
}

}  // namespace flyshard::testing
