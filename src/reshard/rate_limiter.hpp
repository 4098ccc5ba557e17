#pragma once
// --rate: keys per second over every source together. Each batch reserves its share of time
// before it runs; a batch that finds the budget spent sleeps until its turn. Thread-safe.
// With --adaptive the rate is set again every interval (latency_probe.hpp).

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

namespace flyshard::detail {

class RateLimiter {
 public:
  /// `keys_per_second` 0 means no limit.
  explicit RateLimiter(double keys_per_second) : rate_(keys_per_second) {}

  /// Lifts the limit while `on` (the cutover's final drain: moving keys are frozen, so the
  /// rate would only stretch the pause every client waits out) and sets it again after.
  void lift(bool on) {
    std::lock_guard lock(mu_);
    lifted_ = on;
  }

  /// A new rate from now on (0: no limit); a batch already waiting keeps its turn.
  void set_rate(double keys_per_second) {
    std::lock_guard lock(mu_);
    rate_ = keys_per_second;
  }
  double rate() const {
    std::lock_guard lock(mu_);
    return rate_;
  }

  /// While `on`, no batch starts (batches already running finish): the adaptive rate's probe
  /// samples the nodes without the copy. A lifted limit (the final drain) is never held.
  void hold(bool on) {
    std::lock_guard lock(mu_);
    held_ = on;
  }

  /// A further hold, asked before each batch while not lifted: no batch starts while it
  /// answers false (MigrateOptions::copy_gate, a benchmark's). Set before any acquire().
  void gate(std::function<bool()> open) { gate_ = std::move(open); }

  /// Waits until `keys` more keys fit in the rate.
  void acquire(std::size_t keys) {
    if (keys == 0) return;
    using Clock = std::chrono::steady_clock;
    Clock::time_point start;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (lifted_ || (!held_ && (!gate_ || gate_()))) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    {
      std::lock_guard lock(mu_);
      if (lifted_ || rate_ <= 0) return;
      const auto now = Clock::now();
      // Idle time is not saved up: a burst after a pause still keeps to the rate.
      start = next_ < now ? now : next_;
      next_ = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(static_cast<double>(keys) / rate_));
    }
    std::this_thread::sleep_until(start);
  }

 private:
  double rate_;
  mutable std::mutex mu_;
  bool lifted_ = false;
  bool held_ = false;
  std::function<bool()> gate_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace flyshard::detail
