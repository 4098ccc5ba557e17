#include "health/node_health.hpp"

#include <algorithm>

namespace flyshard::detail {

bool NodeHealth::on_failure(unsigned failure_limit) noexcept {
  unsigned n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < std::max(1u, failure_limit)) return false;
  bool was_up = true;
  return up_.compare_exchange_strong(was_up, false, std::memory_order_acq_rel);
}

bool NodeHealth::on_timeout(unsigned failure_limit, std::chrono::steady_clock::time_point now,
                            std::chrono::nanoseconds window) noexcept {
  const std::int64_t t = now.time_since_epoch().count();
  std::int64_t last = last_timeout_counted_.load(std::memory_order_relaxed);
  const std::int64_t span =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(window).count();
  // Whoever moves the stamp forward counts; every other timeout of the same window is free.
  do {
    if (last != std::numeric_limits<std::int64_t>::min() && t - last < span) return false;
  } while (!last_timeout_counted_.compare_exchange_weak(last, t, std::memory_order_relaxed));
  return on_failure(failure_limit);
}

bool NodeHealth::on_check(NodeRole role, bool read_eligible, std::chrono::nanoseconds rtt) noexcept {
  failures_.store(0, std::memory_order_relaxed);
  if (role == NodeRole::primary) awaiting_promotion_.store(false, std::memory_order_release);
  role_.store(role, std::memory_order_release);
  eligible_.store(read_eligible, std::memory_order_release);
  // Exponentially weighted (1/4 new sample): steady enough for `nearest`, quick to follow.
  auto sample = std::chrono::duration_cast<std::chrono::microseconds>(rtt).count();
  auto old = latency_us_.load(std::memory_order_relaxed);
  latency_us_.store(old == 0 ? sample : (3 * old + sample) / 4, std::memory_order_relaxed);
  bool was_down = false;
  return up_.compare_exchange_strong(was_down, true, std::memory_order_acq_rel);
}

}  // namespace flyshard::detail
