#pragma once
/// \file twemproxy_process.hpp
/// nutcracker (twemproxy) in front of a topology's primaries, started by a test or a benchmark
/// on a free loopback port with its config in a temp folder of its own, and ended by its own
/// PID. Used by the twemproxy-compat test and flyshard-distribution --twemproxy.
///
/// Test support only: not part of the installed library.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "flyshard/topology.hpp"

namespace flyshard::testing {

/// The server pool nutcracker runs. The defaults are what Distribution("ketama", compat
/// "twemproxy") reproduces.
struct TwemproxyOptions {
  std::string hash = "fnv1a_64";        ///< the pool's `hash:`
  std::string distribution = "ketama";  ///< the pool's `distribution:`
  std::string hash_tag = "{}";          ///< the pool's `hash_tag:`, two characters; empty: none
  /// The pool's `timeout:`, how long nutcracker waits for a server. Default 2 s.
  std::chrono::milliseconds server_timeout{2000};
  /// How long the constructor waits for nutcracker to answer PING. Default 10 s.
  std::chrono::milliseconds start_timeout{10000};
};

/// A nutcracker process owned by this object, listening on 127.0.0.1:port().
///
/// Its pool (named "flyshard", `redis: true`, `auto_eject_hosts: false`) has one server per
/// shard of the topology, in order: the shard's primary, its weight, and the shard's name as
/// the server name (nutcracker places keys by that name). Replicas and Sentinel are ignored.
/// Config, pid file and log (nutcracker.yml, nutcracker.pid, nutcracker.log) are in dir(),
/// removed by the destructor unless FLYSHARD_KEEP_TEMP is set. The stats port is another free
/// loopback port.
///
/// The destructor kills a running process (SIGKILL, then waitpid on its PID). Not thread-safe.
class TwemproxyProcess {
 public:
  /// The nutcracker executable: $FLYSHARD_NUTCRACKER when set (a path, or a name looked up on
  /// PATH), else /usr/sbin/nutcracker, else `nutcracker` on PATH. Empty when none of them is an
  /// executable file.
  static std::string binary();
  /// True when binary() found one.
  static bool available();

  /// Writes the config, starts nutcracker and waits until it answers PING over a direct
  /// connection. Throws std::invalid_argument for a topology without shards or a hash tag that
  /// is not two characters, std::runtime_error (quoting nutcracker's log) when nutcracker is
  /// missing, exits at start (on four ports in a row) or does not answer within
  /// options.start_timeout.
  explicit TwemproxyProcess(const flyshard::Topology& topology, TwemproxyOptions options = {});
  ~TwemproxyProcess();
  TwemproxyProcess(const TwemproxyProcess&) = delete;
  TwemproxyProcess& operator=(const TwemproxyProcess&) = delete;

  /// nutcracker's PID; still set after kill().
  int pid() const noexcept { return pid_; }
  /// The port nutcracker listens on (127.0.0.1).
  std::uint16_t port() const noexcept { return port_; }
  /// 127.0.0.1:port().
  NodeAddress address() const { return NodeAddress{"127.0.0.1", port_}; }
  /// SIGKILL, then waitpid on pid(). No-op when it is not running.
  void kill();
  /// The temp folder with the config, pid file and log.
  const std::filesystem::path& dir() const noexcept { return dir_; }
  /// The content of nutcracker's log ("" when there is none).
  std::string log() const;
  /// The command line of the last start, for messages.
  std::string command_line() const;

 private:
  bool start_once(const flyshard::Topology& topology);  // false: exited at start
  void cleanup() noexcept;

  TwemproxyOptions options_;
  std::string binary_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  int pid_ = 0;
  bool running_ = false;
  std::string command_line_;
};

}  // namespace flyshard::testing
