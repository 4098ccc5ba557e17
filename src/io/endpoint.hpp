#pragma once
// One server as the I/O layer sees it: a name, a resolved address, its async links and their
// counters. It knows nothing of shards, roles or health: routing/node.hpp builds a Node on it.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/blocking_connection.hpp"
#include "io/tls_context.hpp"
#include "stats_recorder.hpp"

namespace flyshard::detail {

class Connection;

struct Endpoint {
  // Out of line: Connection is a complete type only there.
  Endpoint(std::string endpoint_name, SocketAddress address);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  const std::string name;  // "host:port", for messages and stats
  const SocketAddress socket;
  /// TLS to this server (no context: plain TCP). Set before its first link opens.
  TlsPeer tls;

  NodeStatsRecorder stats;
  std::atomic<std::size_t> pending{0};  // async requests queued or in flight

  // Loop thread only.
  std::vector<std::unique_ptr<Connection>> connections;
  std::size_t next_connection = 0;
  std::unique_ptr<Connection> subscriber;  // Pub/Sub link, opened on first subscribe

  /// Why the last attempt to open a link failed, "" once one succeeded (any thread). Named in
  /// shard_unavailable messages, so a node that is down for a reason such as a failed TLS
  /// verification says why.
  void set_last_failure(std::string why) {
    std::lock_guard lock(failure_mu_);
    last_failure_ = std::move(why);
  }
  std::string last_failure() const {
    std::lock_guard lock(failure_mu_);
    return last_failure_;
  }

 private:
  mutable std::mutex failure_mu_;
  std::string last_failure_;
};

}  // namespace flyshard::detail
