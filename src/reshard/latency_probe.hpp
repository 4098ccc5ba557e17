#pragma once
// The signal of the adaptive copy rate (--adaptive): the round trip a client of the nodes
// sees. A PING to every primary the migration touches, each on a connection of its own (the
// migrator's links carry its batches, so a PING there would wait behind them and measure the
// copy, not the clients): it waits behind the other clients' commands and the copy's, and for
// a CPU, exactly as a client's request does. The baseline is sampled before the copy starts
// (the nodes serving their clients, no migration); then a thread times a round of PINGs every
// probe_every and, every interval, hands the interval's mean to AimdRate and the new rate to
// the RateLimiter. Every rebaseline_every it holds the copy for a moment and samples the
// baseline again: the first run (under two other engineers' builds on the same 2 CPUs) cut
// the rate in 315 of about 350 intervals against a baseline sampled once, although the copy
// ran at about 3,000 keys/s, a rate that cost clients little with --rate.
//
// The mean, not the median: measured with migrate_bench --measure-load, a copy at 20,000
// keys/s cost the clients of keys that stay a quarter of their requests/s while their median
// latency moved by a few µs; what moved was the tail. A closed-loop client's requests/s is
// the inverse of its mean round trip, so the mean is what the rate is held to.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/topology.hpp"
#include "reshard/aimd_rate.hpp"
#include "reshard/rate_limiter.hpp"
#include "reshard/shard_links.hpp"

namespace flyshard::detail {

class LatencyProbe {
 public:
  /// Links of their own to every shard of `layouts`; nothing is sent yet.
  LatencyProbe(const std::vector<Topology>& layouts, const LinkOptions& links,
               const AdaptiveRateOptions& options);
  ~LatencyProbe();

  /// Samples the baseline (`rounds` rounds of PINGs, mean of every node's round trips, µs).
  double sample_baseline(int rounds = 40);

  /// Starts steering `rate` (a thread) from the baseline sampled; `note` (optional) is told
  /// each interval's round trip and new rate, from that thread.
  void steer(RateLimiter& rate, std::function<void(double rtt_us, double rate)> note = {});
  /// Stops the thread (also on destruction).
  void stop();
  /// While `on`, the thread leaves the rate alone (no decision, no hold): the catch-up sets
  /// its own (migrator.cpp says why). Pausing returns once the thread has stopped touching
  /// the rate (at most one hold's length).
  void pause(bool on);

  /// The decision's state: read it before steer() or after stop() only (the thread owns it).
  const AimdRate& aimd() const { return aimd_; }
  /// Intervals that cut the rate so far (any time, any thread).
  unsigned cuts() const { return cuts_.load(); }

 private:
  /// One PING to each node, in turn; the round trips, µs (a failed PING is left out).
  std::vector<double> round();

  AdaptiveRateOptions options_;
  ShardLinks links_;
  std::vector<std::string> names_;
  AimdRate aimd_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> idle_{false};  // the thread saw paused_
  std::atomic<unsigned> cuts_{0};
  std::thread thread_;
};

/// The mean of `v` (0 when empty).
double mean_of(const std::vector<double>& v);

}  // namespace flyshard::detail
