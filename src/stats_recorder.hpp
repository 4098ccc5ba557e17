#pragma once
// Lock-free recorders behind the public stats snapshots. Both the loop thread and blocking
// callers' threads record into the same node recorder, so every field is atomic (relaxed:
// a snapshot is a statistic, not a synchronisation point).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "flyshard/stats.hpp"

namespace flyshard::detail {

/// Log-linear latency histogram in microseconds: 8 linear sub-buckets per power of two.
class LatencyRecorder {
 public:
  /// Bucket count: values 0..7 exact, then 8 per power of two up to 2^40 us (~12 days).
  static constexpr std::size_t kBuckets = 8 + 8 * 37;

  void record(std::chrono::nanoseconds latency) noexcept;
  LatencySnapshot snapshot() const;

  /// The bucket index of a value in microseconds (exposed for unit tests).
  static std::size_t bucket_of(std::uint64_t us) noexcept;
  /// The inclusive upper bound, in microseconds, of bucket i.
  static std::uint64_t upper_bound_of(std::size_t i) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

/// Counters of one node.
class NodeStatsRecorder {
 public:
  /// A request was accepted for this node (in_flight + 1).
  void on_start() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  /// A request finished: code 0 for success, else an errc value (in_flight - 1).
  void on_complete(int code, std::chrono::nanoseconds latency) noexcept;
  /// A link was reopened after its first connect.
  void on_reconnect() noexcept { reconnects_.fetch_add(1, std::memory_order_relaxed); }
  /// The node went up or down.
  void on_health_change() noexcept { health_changes_.fetch_add(1, std::memory_order_relaxed); }
  /// Health state as last seen (shown in snapshots).
  void set_up(bool up) noexcept { up_.store(up, std::memory_order_relaxed); }

  /// Fills the counters of `out` (address, shard and role are the caller's).
  void snapshot_into(NodeStats& out) const;

 private:
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::array<std::atomic<std::uint64_t>, errc_count> errors_by_code_{};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> health_changes_{0};
  std::atomic<bool> up_{true};
  LatencyRecorder latency_;
};

}  // namespace flyshard::detail
