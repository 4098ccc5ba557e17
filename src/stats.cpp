#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "flyshard/stats.hpp"
#include "stats_recorder.hpp"

namespace flyshard {
namespace detail {

namespace {
// Values at or above 2^kTopPower microseconds all land in the last bucket.
constexpr unsigned kTopPower = 40;
constexpr std::uint64_t kMaxTracked = (std::uint64_t{1} << kTopPower) - 1;
static_assert(LatencyRecorder::kBuckets == 8 + 8 * (kTopPower - 3));
}  // namespace

std::size_t LatencyRecorder::bucket_of(std::uint64_t us) noexcept {
  if (us < 8) return static_cast<std::size_t>(us);
  if (us > kMaxTracked) return kBuckets - 1;
  // us lies in [2^k, 2^(k+1)) with k >= 3; that range is split in 8 equal steps of 2^(k-3).
  const unsigned k = static_cast<unsigned>(std::bit_width(us)) - 1;
  const std::uint64_t sub = (us >> (k - 3)) & 7;
  return 8 + static_cast<std::size_t>(k - 3) * 8 + static_cast<std::size_t>(sub);
}

std::uint64_t LatencyRecorder::upper_bound_of(std::size_t i) noexcept {
  if (i < 8) return i;
  if (i >= kBuckets) i = kBuckets - 1;
  const unsigned k = static_cast<unsigned>((i - 8) / 8) + 3;
  const std::uint64_t sub = (i - 8) % 8;
  const std::uint64_t step = std::uint64_t{1} << (k - 3);
  return (std::uint64_t{1} << k) + (sub + 1) * step - 1;
}

void LatencyRecorder::record(std::chrono::nanoseconds latency) noexcept {
  const auto ns = latency.count();
  const std::uint64_t us = ns > 0 ? static_cast<std::uint64_t>(ns) / 1000 : 0;
  counts_[bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
}

LatencySnapshot LatencyRecorder::snapshot() const {
  LatencySnapshot s;
  s.upper_bounds_us.resize(kBuckets);
  s.counts.resize(kBuckets);
  for (std::size_t i = 0; i < kBuckets; ++i) {
    s.upper_bounds_us[i] = upper_bound_of(i);
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    // The total is summed from the buckets rather than read from count_, so that a snapshot
    // taken while other threads record is still self-consistent (+Inf bucket == count).
    s.count += s.counts[i];
  }
  s.sum_us = sum_us_.load(std::memory_order_relaxed);
  return s;
}

void NodeStatsRecorder::on_complete(int code, std::chrono::nanoseconds latency) noexcept {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (code != 0) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (code > 0 && static_cast<std::size_t>(code) < errc_count) {
      errors_by_code_[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
    }
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  latency_.record(latency);
}

void NodeStatsRecorder::snapshot_into(NodeStats& out) const {
  out.up = up_.load(std::memory_order_relaxed);
  out.requests = requests_.load(std::memory_order_relaxed);
  out.errors = errors_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < errc_count; ++i) {
    out.errors_by_code[i] = errors_by_code_[i].load(std::memory_order_relaxed);
  }
  out.timeouts = out.errors_by_code[static_cast<std::size_t>(errc::timeout)];
  out.in_flight = in_flight_.load(std::memory_order_relaxed);
  out.reconnects = reconnects_.load(std::memory_order_relaxed);
  out.health_changes = health_changes_.load(std::memory_order_relaxed);
  out.latency = latency_.snapshot();
}

}  // namespace detail

std::uint64_t LatencySnapshot::percentile_us(double q) const noexcept {
  std::uint64_t total = 0;
  for (std::uint64_t c : counts) total += c;
  if (total == 0) return 0;
  // The rank of the q-quantile sample, 1-based: the smallest r with r >= q * total.
  double want = std::ceil(q * static_cast<double>(total));
  if (!(want >= 1)) want = 1;  // also catches NaN
  const std::uint64_t rank =
      want >= static_cast<double>(total) ? total : static_cast<std::uint64_t>(want);
  std::uint64_t seen = 0;
  const std::size_t n = std::min(counts.size(), upper_bounds_us.size());
  for (std::size_t i = 0; i < n; ++i) {
    seen += counts[i];
    if (seen >= rank) return upper_bounds_us[i];
  }
  return upper_bounds_us.empty() ? 0 : upper_bounds_us.back();
}

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::timeout:
      return "timeout";
    case errc::connection_lost:
      return "connection_lost";
    case errc::shard_unavailable:
      return "shard_unavailable";
    case errc::overloaded:
      return "overloaded";
    case errc::cross_shard:
      return "cross_shard";
    case errc::server_error:
      return "server_error";
    case errc::protocol_error:
      return "protocol_error";
    case errc::config:
      return "config";
    case errc::shutting_down:
      return "shutting_down";
    case errc::unknown_command:
      return "unknown_command";
    case errc::watch_conflict:
      return "watch_conflict";
    case errc::tls:
      return "tls";
  }
  return "unknown";
}

namespace {

// Label values: backslash, double quote and line feed are escaped (text format 0.0.4).
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*; anything else in the prefix becomes '_'.
std::string sanitize_prefix(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    out += ok ? c : '_';
  }
  if (out.empty()) return "flyshard";
  if (out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

// Microseconds as an exact decimal number of seconds ("0.000016", "2", "16.777216"), so the
// le labels are the same strings on every scrape and never suffer from float rounding.
std::string seconds_from_us(std::uint64_t us) {
  std::string out = std::to_string(us / 1000000);
  std::uint64_t frac = us % 1000000;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(digits.begin(), 6 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

void append_labels(std::string& out, const NodeStats& n) {
  out += "node=\"";
  append_label_value(out, n.address);
  out += "\",shard=\"";
  append_label_value(out, n.shard);
  out += "\",role=\"";
  append_label_value(out, n.role);
  out += '"';
}

void append_header(std::string& out, const std::string& name, std::string_view type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <typename Value>
void append_sample(std::string& out, const std::string& name, const NodeStats& n, Value v) {
  out += name;
  out += '{';
  append_labels(out, n);
  out += "} ";
  out += std::to_string(v);
  out += '\n';
}

// The exported histogram merges the recorder's fine buckets into one bucket per power of
// two, from 1 us to 2^24 us (~16.8 s): 25 lines per node instead of 304. Every power of two
// is a boundary of the fine buckets, so the merge loses nothing but resolution.
constexpr unsigned kExportedPowers = 25;

}  // namespace

std::string to_prometheus(const ClientStats& stats, std::string_view prefix_in) {
  const std::string prefix = sanitize_prefix(prefix_in);
  std::string out;
  out.reserve(512 + stats.nodes.size() * (kExportedPowers + 24) * 96);

  const std::string requests = prefix + "_requests_total";
  append_header(out, requests, "counter", "Requests completed by the node (success or failure).");
  for (const NodeStats& n : stats.nodes) append_sample(out, requests, n, n.requests);

  const std::string errors = prefix + "_errors_total";
  append_header(out, errors, "counter", "Requests completed with an error, by error code.");
  for (const NodeStats& n : stats.nodes) {
    for (std::size_t code = 1; code < errc_count; ++code) {
      out += errors;
      out += '{';
      append_labels(out, n);
      out += ",code=\"";
      out += errc_name(static_cast<errc>(code));
      out += "\"} ";
      out += std::to_string(n.errors_by_code[code]);
      out += '\n';
    }
  }

  const std::string in_flight = prefix + "_in_flight";
  append_header(out, in_flight, "gauge", "Requests queued or sent to the node, not yet completed.");
  for (const NodeStats& n : stats.nodes) append_sample(out, in_flight, n, n.in_flight);

  const std::string reconnects = prefix + "_reconnects_total";
  append_header(out, reconnects, "counter", "Links to the node reopened after the first connect.");
  for (const NodeStats& n : stats.nodes) append_sample(out, reconnects, n, n.reconnects);

  const std::string health = prefix + "_health_changes_total";
  append_header(out, health, "counter", "Times the node was marked down or up.");
  for (const NodeStats& n : stats.nodes) append_sample(out, health, n, n.health_changes);

  const std::string node_up = prefix + "_node_up";
  append_header(out, node_up, "gauge", "1 when the client considers the node healthy, else 0.");
  for (const NodeStats& n : stats.nodes) append_sample(out, node_up, n, n.up ? 1 : 0);

  const std::string duration = prefix + "_request_duration_seconds";
  append_header(out, duration, "histogram", "Request latency as seen by the client, in seconds.");
  for (const NodeStats& n : stats.nodes) {
    const LatencySnapshot& h = n.latency;
    const std::size_t fine = std::min(h.counts.size(), h.upper_bounds_us.size());
    std::size_t i = 0;
    std::uint64_t cumulative = 0;
    std::uint64_t total = 0;
    for (std::size_t j = 0; j < fine; ++j) total += h.counts[j];
    for (unsigned p = 0; p < kExportedPowers; ++p) {
      // A fine bucket with inclusive bound ub holds samples truncated to whole microseconds,
      // so its true values are < ub + 1; it belongs under le = 2^p us when ub + 1 <= 2^p.
      const std::uint64_t le_us = std::uint64_t{1} << p;
      while (i < fine && h.upper_bounds_us[i] < le_us) cumulative += h.counts[i++];
      out += duration;
      out += "_bucket{";
      append_labels(out, n);
      out += ",le=\"";
      out += seconds_from_us(le_us);
      out += "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += duration;
    out += "_bucket{";
    append_labels(out, n);
    out += ",le=\"+Inf\"} ";
    out += std::to_string(total);
    out += '\n';

    out += duration;
    out += "_sum{";
    append_labels(out, n);
    out += "} ";
    out += seconds_from_us(h.sum_us);
    out += '\n';

    out += duration;
    out += "_count{";
    append_labels(out, n);
    out += "} ";
    out += std::to_string(total);
    out += '\n';
  }
  return out;
}

}  // namespace flyshard
