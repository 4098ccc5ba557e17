#pragma once
/// \file server_process.hpp
/// One Redis-protocol server (Dragonfly or redis-server) or one redis-sentinel, started by a
/// test, a script or a benchmark on a free loopback port, in a temp folder of its own, and
/// ended by its own PID. Used through LocalCluster most of the time (local_cluster.hpp).
///
/// Test support only: not part of the installed library.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::testing {

/// The server binary the tests run: `$FLYSHARD_SERVER` when set (a path or a name looked up on
/// PATH), else `dragonfly` when it is on PATH, else `redis-server`.
std::string server_binary();

/// True when server_binary() is Dragonfly (its file name contains "dragonfly").
bool server_is_dragonfly();

/// The sentinel binary: `$FLYSHARD_SENTINEL` when set, else `redis-sentinel` when it is on PATH,
/// else `redis-server` (which is then run with `--sentinel`). Dragonfly has no sentinel of its
/// own; redis-sentinel monitors Dragonfly nodes.
std::string sentinel_binary();

/// A TCP port on 127.0.0.1 that is free now (the kernel's pick for a bind to port 0). Another
/// process may take it before the caller binds it: a launcher that gets a bind failure should
/// try another one. Throws std::system_error.
std::uint16_t pick_free_port();

/// The executable `name` names: a path (with a slash) when it is an executable file, else the
/// first executable `<dir>/name` of PATH; nullopt when there is none.
std::optional<std::string> find_on_path(const std::string& name);

/// What a ServerProcess runs.
enum class ProcessKind { server, sentinel };

/// One master a sentinel monitors (a `sentinel monitor` block of its config file).
struct SentinelMonitor {
  std::string name;                ///< master name, e.g. "flyshard-s1"
  NodeAddress primary;             ///< the primary's address when the sentinel starts
  int quorum = 1;                  ///< sentinels that must agree the primary is down, >= 1
  int down_after_ms = 1000;        ///< ms without a valid reply before a node counts as down
  int failover_timeout_ms = 3000;  ///< ms; Sentinel's failover-timeout
};

/// TLS for a ServerProcess: it then also listens on a TLS port (tls_port()), next to its plain
/// port, which stays the harness's own control link on loopback (start-up PING, command()):
/// the code under test is given the TLS addresses. Replication (and a sentinel's links to its
/// nodes and peers) run over TLS (`tls-replication yes`), so a replica and Sentinel name the
/// TLS ports.
struct ServerTls {
  std::string cert_file;      ///< the server's certificate (also its client certificate)
  std::string key_file;       ///< its key
  std::string ca_file;        ///< CA that signs peers' and clients' certificates
  bool auth_clients = false;  ///< `tls-auth-clients yes`: clients must show a certificate
};

/// How to start a ServerProcess. Every field has a usable default.
struct ServerOptions {
  ProcessKind kind = ProcessKind::server;  ///< server (default) or sentinel
  /// Executable, a path or a name looked up on PATH. Empty (default): server_binary() for a
  /// server, sentinel_binary() for a sentinel.
  std::string binary;
  /// Names the process in messages and in its temp folder's name, e.g. "s1-primary".
  /// Empty (default): "server" or "sentinel".
  std::string label;
  /// TCP port on 127.0.0.1. 0 (default): a free port is picked when the process first starts
  /// (and another one is tried if that start fails, up to 4 times).
  std::uint16_t port = 0;
  /// Appended to the server's command line (server kind only), e.g. {"--maxmemory", "64mb"}.
  std::vector<std::string> extra_args;
  /// Sentinel kind only: the masters to monitor, written to the sentinel's config file.
  std::vector<SentinelMonitor> monitors;
  /// Commands sent after every start (the first one and each restart), once the process
  /// answers PING; error replies are ignored. E.g. runtime-only settings such as
  /// {"SENTINEL", "DEBUG", "info-period", "1000"} that a restart would otherwise lose.
  std::vector<std::vector<std::string>> startup_commands;
  /// How long start() waits for the process to answer PING. Default 10 s.
  std::chrono::milliseconds start_timeout{10000};
  /// TLS (see ServerTls). nullopt (default): plain TCP only.
  std::optional<ServerTls> tls;
};

/// A server or sentinel process owned by this object.
///
/// The process runs with `--daemonize no`, bound to 127.0.0.1, protected mode off, no
/// persistence, its stdout and stderr appended to `dir()/server.log`. It is spawned with
/// fork/exec in its own process group and gets SIGKILL when the thread that started it dies
/// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind. Because of that, start
/// servers from a thread that outlives them (the main thread, a test body), not from a
/// short-lived worker thread.
///
/// The destructor kills a running process (by its PID) and removes the temp folder, unless
/// the environment variable FLYSHARD_KEEP_TEMP is set (then the folder and its log stay).
///
/// Not thread-safe, except command(), which may be called from several threads at once (calls
/// are serialized over one cached connection).
///
/// Dragonfly: the command line for Dragonfly (`--port --bind --dir --dbfilename= --logtostderr
/// --proactor_threads=1 --noversion_check`) follows Dragonfly's own test harness but has not
/// been run here (Dragonfly was not installed where this was written).
class ServerProcess {
 public:
  /// Prepares the process (creates its temp folder); does not start it. Call start().
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();
  ServerProcess(ServerProcess&&) noexcept;
  ServerProcess& operator=(ServerProcess&&) noexcept;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Starts the process and waits until it answers PING (ServerOptions::start_timeout). The
  /// first start picks a free port unless one was given; a later start (after kill() or
  /// terminate()) reuses the same port. Throws std::runtime_error naming the command line and
  /// quoting the tail of the log when the process does not come up; std::logic_error when it
  /// is already running.
  void start();

  /// SIGKILL (a crash), then reaps the process. No-op when it is not running.
  void kill();
  /// SIGTERM (a clean shutdown; SIGCONT too, in case it is stopped), waits up to `grace` for it
  /// to exit, then SIGKILL. No-op when it is not running.
  void terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
  /// SIGSTOP: the process hangs (accepts connections, answers nothing) until resume().
  void stop();
  /// SIGCONT after stop().
  void resume();
  /// kill() if running, then start again on the same port with an emptied data folder: the
  /// node comes back empty and, for a former replica, as a standalone primary (nobody sends it
  /// REPLICAOF again; Sentinel will, if it monitors that shard). A sentinel keeps its config.
  void restart();

  /// The PID, or 0 before the first start. Still set after the process ended.
  int pid() const noexcept;
  /// The port (0 before the first start when none was given).
  std::uint16_t port() const noexcept;
  /// 127.0.0.1:port().
  NodeAddress address() const;
  /// The TLS port (0 without ServerOptions::tls, or before the first start).
  std::uint16_t tls_port() const noexcept;
  /// The port clients and peers use: tls_port() with TLS, else port().
  std::uint16_t client_port() const noexcept;
  /// 127.0.0.1:client_port().
  NodeAddress client_address() const;
  /// True while the process is alive (a stopped process is alive). Notices a process that
  /// exited by itself (reaps it).
  bool running() const;
  /// True between stop() and resume().
  bool stopped() const noexcept;
  ProcessKind kind() const noexcept;
  const std::string& label() const noexcept;
  /// The process's own temp folder (its working directory and data dir).
  const std::filesystem::path& dir() const noexcept;
  /// dir()/server.log: stdout and stderr of every run of this process.
  std::filesystem::path log_path() const;
  /// The last `lines` lines of the log ("" when there is none).
  std::string log_tail(std::size_t lines = 30) const;
  /// The full command line of the last start, quoted for a shell (for messages).
  std::string command_line() const;

  /// Sends one command over a direct blocking connection to this process (cached and reused;
  /// replaced after a failure) and returns the reply; an error reply is returned, not thrown.
  /// `timeout` bounds the connect and the wait for the reply. Throws std::runtime_error when
  /// the process cannot be reached or does not answer in time.
  flyshard::Reply command(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(2));

  /// One field of `INFO <section>` (e.g. info_field("replication", "master_link_status")), or
  /// nullopt when the reply has no such field. Throws like command().
  std::optional<std::string> info_field(
      std::string_view section, std::string_view field,
      std::chrono::milliseconds timeout = std::chrono::seconds(2));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flyshard::testing
