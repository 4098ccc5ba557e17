#include "reshard/latency_probe.hpp"

#include <chrono>

namespace flyshard::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

LatencyProbe::LatencyProbe(const std::vector<Topology>& layouts, const LinkOptions& links,
                           const AdaptiveRateOptions& options)
    : options_(options), links_(links), aimd_(options) {
  for (const auto& l : layouts) links_.add(l);
  names_ = links_.names();
}

LatencyProbe::~LatencyProbe() {
  stop();
}

std::vector<double> LatencyProbe::round() {
  std::vector<double> out;
  out.reserve(names_.size());
  for (const auto& name : names_) {
    const auto t0 = SteadyClock::now();
    try {
      links_.run(name, {"PING"});
    } catch (const Error&) {
      // A node that fails a PING is the migrator's problem (its own links see it), not a
      // round trip.
      continue;
    }
    out.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
  }
  return out;
}

double LatencyProbe::sample_baseline(int rounds) {
  std::vector<double> all;
  for (int i = 0; i < rounds; ++i) {
    const auto r = round();
    all.insert(all.end(), r.begin(), r.end());
    std::this_thread::sleep_for(options_.probe_every);
  }
  const double b = mean_of(all);
  aimd_.set_baseline(b);
  return b;
}

void LatencyProbe::steer(RateLimiter& rate, std::function<void(double, double)> note) {
  rate.set_rate(aimd_.rate());
  thread_ = std::thread([this, &rate, note = std::move(note)] {
    std::vector<double> samples;
    const auto start = SteadyClock::now();
    auto next = start + options_.interval;
    auto rebase = start + options_.rebaseline_every;
    while (!stop_.load()) {
      idle_ = paused_.load();
      if (idle_) {
        samples.clear();
        next = SteadyClock::now() + options_.interval;
        std::this_thread::sleep_for(options_.probe_every);
        continue;
      }
      if (options_.rebaseline_every.count() > 0 && SteadyClock::now() >= rebase) {
        // The copy held: what the nodes' clients see now without it.
        rate.hold(true);
        std::this_thread::sleep_for(options_.settle);
        std::vector<double> quiet;
        const auto until = SteadyClock::now() + options_.interval;
        while (!stop_.load() && SteadyClock::now() < until) {
          const auto r = round();
          quiet.insert(quiet.end(), r.begin(), r.end());
          std::this_thread::sleep_for(options_.probe_every);
        }
        rate.hold(false);
        if (!quiet.empty()) aimd_.set_baseline(mean_of(quiet));
        rebase = SteadyClock::now() + options_.rebaseline_every;
        next = SteadyClock::now() + options_.interval;
        samples.clear();
        continue;
      }
      const auto r = round();
      samples.insert(samples.end(), r.begin(), r.end());
      if (SteadyClock::now() >= next) {
        next += options_.interval;
        if (!samples.empty()) {
          const double rtt = mean_of(samples);
          const double now = aimd_.observe(rtt);
          rate.set_rate(now);
          cuts_ = aimd_.cuts();
          if (note) note(rtt, now);
        }
        samples.clear();
      }
      std::this_thread::sleep_for(options_.probe_every);
    }
    rate.hold(false);
  });
}

void LatencyProbe::pause(bool on) {
  paused_ = on;
  if (!on) return;
  while (thread_.joinable() && !idle_.load() && !stop_.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void LatencyProbe::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace flyshard::detail
