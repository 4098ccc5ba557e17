#pragma once
/// \file stats.hpp
/// Per-node counters and latency histograms, and their Prometheus text rendering.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/error.hpp"

namespace flyshard {

/// Number of errc values (errc starts at 1); errors_by_code is indexed by errc value.
inline constexpr std::size_t errc_count = static_cast<std::size_t>(errc::tls) + 1;

/// A latency histogram: log-linear buckets in microseconds (8 linear steps per power of two,
/// so any percentile is within 12.5 % of the true value).
struct LatencySnapshot {
  /// upper_bounds_us[i] is the inclusive upper bound of counts[i], in microseconds.
  std::vector<std::uint64_t> upper_bounds_us;
  std::vector<std::uint64_t> counts;
  std::uint64_t count = 0;   ///< samples in all buckets
  std::uint64_t sum_us = 0;  ///< sum of samples, microseconds

  /// The q-quantile (0 < q <= 1) in microseconds: the upper bound of the bucket that holds
  /// it; 0 when there is no sample.
  std::uint64_t percentile_us(double q) const noexcept;
};

/// Counters of one node since the Client started.
struct NodeStats {
  std::string address;  ///< "host:port"
  std::string shard;    ///< shard name
  std::string role;     ///< "primary" or "replica"
  bool up = true;       ///< the client's current view of the node's health
  std::uint64_t requests = 0;    ///< requests completed (success or failure)
  std::uint64_t errors = 0;      ///< requests completed with an error (any errc)
  std::array<std::uint64_t, errc_count> errors_by_code{};  ///< indexed by errc value
  std::uint64_t timeouts = 0;    ///< = errors_by_code[errc::timeout]
  std::int64_t in_flight = 0;    ///< requests queued or sent, not yet completed
  std::uint64_t reconnects = 0;  ///< links (re)opened after the first
  std::uint64_t health_changes = 0;  ///< times the node was marked down or up
  LatencySnapshot latency;       ///< successful and failed requests alike
};

/// A snapshot of every node's counters.
struct ClientStats {
  std::vector<NodeStats> nodes;
};

/// The name of an errc value as used in logs and metrics labels ("timeout", ...).
std::string_view errc_name(errc e) noexcept;

/// Renders stats in the Prometheus text exposition format (version 0.0.4), metric names
/// prefixed with `prefix` (default "flyshard").
std::string to_prometheus(const ClientStats& stats, std::string_view prefix = "flyshard");

}  // namespace flyshard
