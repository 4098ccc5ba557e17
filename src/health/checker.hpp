#pragma once
// The active health checks: a timer on the loop thread that sends INFO replication to every
// routed node each interval, one check per node at a time.

#include <uv.h>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "health/replication.hpp"

namespace flyshard::detail {

class Engine;
struct Node;

/// Runs the active checks on the loop thread: every interval, one INFO replication per node
/// (its role line tells a primary from a replica), never two at once on one node.
class HealthChecker {
 public:
  /// `nodes` lists the routed nodes now; `result` receives each check's outcome (loop thread).
  using NodeList = std::function<std::vector<Node*>()>;
  using Outcome = std::function<void(Node&, std::optional<ReplicationInfo>, std::chrono::nanoseconds)>;

  HealthChecker(Engine& engine, std::chrono::milliseconds interval, NodeList nodes, Outcome outcome);
  /// Starts the timer (loop thread, or before the loop runs); the first round runs at once.
  void start();
  /// Checks one node now (loop thread), e.g. the new primary after a failover.
  void check_now(Node& node);
  /// Closes the timer (loop thread, at shutdown).
  void stop();

 private:
  static void on_timer(uv_timer_t* t);

  Engine& engine_;
  std::chrono::milliseconds interval_;
  NodeList nodes_;
  Outcome outcome_;
  uv_timer_t timer_{};
};

}  // namespace flyshard::detail
