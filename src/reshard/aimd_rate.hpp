#pragma once
// The adaptive copy rate's decision (--adaptive): additive increase, multiplicative decrease
// on the round trip other clients see. Fed one figure per interval (latency_probe.hpp
// measures it); no clock, no network, so the rule is testable on its own.
//
// Why AIMD: the copy competes with the clients for the nodes' CPU, and what the clients can
// spare changes while the migration runs. Growing the rate by a fixed step while the round
// trip stays near the baseline, and halving it as soon as it does not, settles just under
// what the nodes absorb without hurting clients and backs off within one interval when the
// clients' load grows (the rule TCP uses for a link's capacity, for the same reason: the
// capacity is unknown and changes).

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace flyshard::detail {

struct AdaptiveRateOptions {
  /// Keys/s at the start of the copy. Default 2,000.
  double start = 2000;
  /// Keys/s never cut below, so a migration always ends. Default 500.
  double floor = 500;
  /// Keys/s never exceeded; 0: no ceiling (MigrateOptions::rate sets it). Default 0.
  double ceiling = 0;
  /// Keys/s added after an interval whose round trip stayed within the tolerance. Default 1,000.
  double increase = 1000;
  /// Factor applied after an interval whose round trip did not. Default 0.5.
  double decrease = 0.5;
  /// How much slower than the baseline the round trip may be before the rate is cut, as a
  /// fraction (0.10: 10 %). Default 0.10.
  double tolerance = 0.10;
  /// Also allowed on top of the tolerance, µs: below this a difference is the probe's own
  /// jitter (a loopback round trip is tens of µs, a thread wake-up alone about 60). Default 20.
  double slack_us = 20;
  /// One decision per interval. Default 100 ms.
  std::chrono::milliseconds interval{100};
  /// Time between two probes of the same node. Default 5 ms.
  std::chrono::milliseconds probe_every{5};
  /// The baseline is sampled again this often, with the copy held for `settle` + `interval`:
  /// what the nodes' round trip is without the copy changes while a migration runs (the
  /// clients' load, the guard script their writes of moving keys now take, other processes
  /// on the host), and only the copy's own share is the rate's to answer for. 0: only the
  /// baseline sampled before the copy. Default 2 s.
  std::chrono::milliseconds rebaseline_every{2000};
  /// How long a hold waits for the batches already sent to finish before it samples.
  /// Default 30 ms.
  std::chrono::milliseconds settle{30};
};

class AimdRate {
 public:
  explicit AimdRate(const AdaptiveRateOptions& o) : o_(o), rate_(clamp(o.start)) {}

  /// The round trip with no migration running (µs): what later intervals are held to.
  void set_baseline(double rtt_us) { baseline_us_ = rtt_us; }
  double baseline() const { return baseline_us_; }

  /// The round trip over the interval just ended (µs); returns the rate for the next one.
  double observe(double rtt_us) {
    if (rtt_us > baseline_us_ * (1 + o_.tolerance) + o_.slack_us) {
      rate_ = clamp(rate_ * o_.decrease);
      ++cuts_;
    } else {
      rate_ = clamp(rate_ + o_.increase);
    }
    return rate_;
  }

  double rate() const { return rate_; }
  /// Intervals that cut the rate so far.
  unsigned cuts() const { return cuts_; }

 private:
  double clamp(double r) const {
    r = std::max(r, o_.floor);
    return o_.ceiling > 0 ? std::min(r, o_.ceiling) : r;
  }

  AdaptiveRateOptions o_;
  double rate_;
  double baseline_us_ = 0;
  unsigned cuts_ = 0;
};

}  // namespace flyshard::detail
