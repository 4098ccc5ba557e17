#pragma once
// Node health: what the client believes about each node (up or down, its role, whether a
// replica may serve reads), fed by active checks on the loop thread and by the outcome of
// live requests on any thread. A plain state machine: no I/O (the checks are in checker.hpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "health/replication.hpp"

namespace flyshard::detail {

/// Thread-safe view of one node's health.
class NodeHealth {
 public:
  bool up() const noexcept { return up_.load(std::memory_order_acquire); }
  NodeRole role() const noexcept { return role_.load(std::memory_order_acquire); }
  bool read_eligible() const noexcept { return eligible_.load(std::memory_order_acquire); }
  /// Smoothed round trip of the health checks, in microseconds (0 before the first).
  std::int64_t latency_us() const noexcept { return latency_us_.load(std::memory_order_relaxed); }

  /// A failed check or a transport error. True when this failure marked the node down.
  bool on_failure(unsigned failure_limit) noexcept;
  /// A live request timed out at `now`. Counts as one failure at most once per `window`:
  /// one slow command (a long script) with a burst queued behind it times out many requests
  /// at once, and that must not mark a node down that answers its checks. True when this
  /// timeout marked the node down.
  bool on_timeout(unsigned failure_limit, std::chrono::steady_clock::time_point now,
                  std::chrono::nanoseconds window) noexcept;
  /// A request succeeded: the failure streak ends (the node is not marked up: only a check,
  /// which confirms the role, does that).
  void on_success() noexcept { failures_.store(0, std::memory_order_relaxed); }
  /// A successful check. True when it marked the node up.
  bool on_check(NodeRole role, bool read_eligible, std::chrono::nanoseconds rtt) noexcept;
  /// Forget the role until the next check (after a failover re-pointed the shard).
  void expect_role_check() noexcept { role_.store(NodeRole::unknown, std::memory_order_release); }
  /// The node comes back after it left the topology: what was known of it is stale, so it
  /// serves nothing until a check says what it is now.
  void forget() noexcept {
    eligible_.store(false, std::memory_order_release);
    role_.store(NodeRole::unknown, std::memory_order_release);
  }
  /// Sentinel named this node its shard's new primary: no writes until a check confirms the
  /// role (a sentinel's view can run ahead of the node's own, or lag behind it).
  void expect_promotion() noexcept {
    awaiting_promotion_.store(true, std::memory_order_release);
    expect_role_check();
  }
  /// A reply hinted at a role change: true when no role check is pending yet (the caller
  /// then asks for one, and calls role_check_done() when it starts).
  bool request_role_check() noexcept {
    return !role_check_requested_.exchange(true, std::memory_order_acq_rel);
  }
  void role_check_done() noexcept { role_check_requested_.store(false, std::memory_order_release); }
  /// True between expect_promotion() and a check that found the node a primary.
  bool awaiting_promotion() const noexcept {
    return awaiting_promotion_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<bool> up_{true};  // optimistic until checks say otherwise
  std::atomic<NodeRole> role_{NodeRole::unknown};
  std::atomic<bool> eligible_{false};  // replicas serve reads only after a good check
  std::atomic<bool> awaiting_promotion_{false};
  std::atomic<bool> role_check_requested_{false};
  std::atomic<unsigned> failures_{0};
  // When a timeout last counted (steady_clock ticks since epoch; min: never).
  std::atomic<std::int64_t> last_timeout_counted_{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::int64_t> latency_us_{0};
};

}  // namespace flyshard::detail
