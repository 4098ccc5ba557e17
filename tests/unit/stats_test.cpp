#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/stats.hpp"
#include "stats_recorder.hpp"

namespace flyshard {
namespace {

using detail::LatencyRecorder;
using detail::NodeStatsRecorder;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

// ---- bucket math --------------------------------------------------------------------------

TEST(LatencyBuckets, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < 8; ++v) {
    EXPECT_EQ(LatencyRecorder::bucket_of(v), v);
    EXPECT_EQ(LatencyRecorder::upper_bound_of(v), v);
  }
}

TEST(LatencyBuckets, KnownValues) {
  EXPECT_EQ(LatencyRecorder::bucket_of(8), 8u);
  EXPECT_EQ(LatencyRecorder::bucket_of(15), 15u);
  EXPECT_EQ(LatencyRecorder::bucket_of(16), 16u);  // [16, 32) in steps of 2
  EXPECT_EQ(LatencyRecorder::bucket_of(17), 16u);
  EXPECT_EQ(LatencyRecorder::bucket_of(18), 17u);
  EXPECT_EQ(LatencyRecorder::bucket_of(31), 23u);
  EXPECT_EQ(LatencyRecorder::bucket_of(32), 24u);
  EXPECT_EQ(LatencyRecorder::upper_bound_of(16), 17u);
  EXPECT_EQ(LatencyRecorder::upper_bound_of(23), 31u);
  EXPECT_EQ(LatencyRecorder::bucket_of(1000), LatencyRecorder::bucket_of(1023));  // [896,1024)
  EXPECT_EQ(LatencyRecorder::upper_bound_of(LatencyRecorder::bucket_of(1000)), 1023u);
}

TEST(LatencyBuckets, BoundsAreContiguousAndTight) {
  constexpr auto n = LatencyRecorder::kBuckets;
  std::uint64_t lower = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t ub = LatencyRecorder::upper_bound_of(i);
    ASSERT_GE(ub, lower) << i;
    EXPECT_EQ(LatencyRecorder::bucket_of(lower), i) << i;
    EXPECT_EQ(LatencyRecorder::bucket_of(ub), i) << i;
    if (i + 1 < n) {
      EXPECT_EQ(LatencyRecorder::bucket_of(ub + 1), i + 1) << i;
    }
    // Width relative to the lower edge: at most 1/8 (the 12.5 % precision promise).
    if (lower >= 8) {
      EXPECT_LE(static_cast<double>(ub + 1 - lower) / static_cast<double>(lower), 0.125 + 1e-12)
          << i;
    }
    lower = ub + 1;
  }
  EXPECT_EQ(LatencyRecorder::upper_bound_of(n - 1), (std::uint64_t{1} << 40) - 1);
}

TEST(LatencyBuckets, HugeValuesClampToTheLastBucket) {
  constexpr auto last = LatencyRecorder::kBuckets - 1;
  EXPECT_EQ(LatencyRecorder::bucket_of(std::uint64_t{1} << 40), last);
  EXPECT_EQ(LatencyRecorder::bucket_of(~std::uint64_t{0}), last);
  EXPECT_EQ(LatencyRecorder::upper_bound_of(last + 100), LatencyRecorder::upper_bound_of(last));
}

TEST(LatencyRecorderTest, RecordConvertsNanosecondsToMicroseconds) {
  LatencyRecorder r;
  r.record(nanoseconds(999));              // 0 us
  r.record(nanoseconds(1000));             // 1 us
  r.record(nanoseconds(-5));               // clock went backwards: 0 us
  r.record(microseconds(100));             // 100 us
  r.record(std::chrono::hours(24 * 365));  // clamps into the last bucket
  const LatencySnapshot s = r.snapshot();
  ASSERT_EQ(s.counts.size(), LatencyRecorder::kBuckets);
  ASSERT_EQ(s.upper_bounds_us.size(), LatencyRecorder::kBuckets);
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[LatencyRecorder::bucket_of(100)], 1u);
  EXPECT_EQ(s.counts.back(), 1u);
  EXPECT_EQ(s.sum_us, 1u + 100u + 365ull * 24 * 3600 * 1000000);
}

// ---- percentiles --------------------------------------------------------------------------

TEST(Percentile, EmptyIsZero) {
  LatencyRecorder r;
  EXPECT_EQ(r.snapshot().percentile_us(0.5), 0u);
  EXPECT_EQ(LatencySnapshot{}.percentile_us(0.99), 0u);
}

TEST(Percentile, SingleSample) {
  LatencyRecorder r;
  r.record(microseconds(250));
  const auto s = r.snapshot();
  const auto ub = LatencyRecorder::upper_bound_of(LatencyRecorder::bucket_of(250));
  EXPECT_EQ(s.percentile_us(0.01), ub);
  EXPECT_EQ(s.percentile_us(0.5), ub);
  EXPECT_EQ(s.percentile_us(1.0), ub);
  EXPECT_EQ(s.percentile_us(0.0), ub);  // out-of-range q is clamped
  EXPECT_EQ(s.percentile_us(2.0), ub);
}

TEST(Percentile, UniformWithinBucketPrecision) {
  LatencyRecorder r;
  for (int us = 1; us <= 10000; ++us) r.record(microseconds(us));
  const auto s = r.snapshot();
  EXPECT_EQ(s.count, 10000u);
  EXPECT_EQ(s.sum_us, 10000ull * 10001 / 2);
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
    const double truth = q * 10000;
    const auto got = static_cast<double>(s.percentile_us(q));
    EXPECT_GE(got, truth) << q;  // the bucket's upper bound, never below the true value
    EXPECT_LE(got, truth * 1.125 + 1) << q;
  }
}

TEST(Percentile, Bimodal) {
  LatencyRecorder r;
  for (int i = 0; i < 990; ++i) r.record(microseconds(100));
  for (int i = 0; i < 10; ++i) r.record(microseconds(5000));
  const auto s = r.snapshot();
  const auto fast = LatencyRecorder::upper_bound_of(LatencyRecorder::bucket_of(100));
  const auto slow = LatencyRecorder::upper_bound_of(LatencyRecorder::bucket_of(5000));
  EXPECT_EQ(s.percentile_us(0.5), fast);
  EXPECT_EQ(s.percentile_us(0.99), fast);  // rank 990 is the last fast sample
  EXPECT_EQ(s.percentile_us(0.991), slow);
  EXPECT_EQ(s.percentile_us(0.999), slow);
  EXPECT_GE(slow, 5000u);
  EXPECT_LE(slow, 5000u * 1.125);
}

// ---- node counters ------------------------------------------------------------------------

TEST(NodeStatsRecorderTest, CountsByCode) {
  NodeStatsRecorder r;
  for (int i = 0; i < 4; ++i) r.on_start();
  r.on_complete(0, microseconds(10));
  r.on_complete(static_cast<int>(errc::timeout), microseconds(200000));
  r.on_complete(static_cast<int>(errc::server_error), microseconds(30));
  r.on_reconnect();
  r.on_reconnect();
  r.set_up(false);

  NodeStats s;
  s.address = "127.0.0.1:7001";
  r.snapshot_into(s);
  EXPECT_EQ(s.address, "127.0.0.1:7001");  // untouched
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.errors_by_code[static_cast<std::size_t>(errc::timeout)], 1u);
  EXPECT_EQ(s.errors_by_code[static_cast<std::size_t>(errc::server_error)], 1u);
  EXPECT_EQ(s.errors_by_code[static_cast<std::size_t>(errc::connection_lost)], 0u);
  EXPECT_EQ(s.in_flight, 1);
  EXPECT_EQ(s.reconnects, 2u);
  EXPECT_FALSE(s.up);
  EXPECT_EQ(s.latency.count, 3u);
  EXPECT_EQ(s.latency.sum_us, 200040u);
}

TEST(NodeStatsRecorderTest, OutOfRangeCodeCountsAsAnError) {
  NodeStatsRecorder r;
  r.on_start();
  r.on_complete(9999, microseconds(1));
  NodeStats s;
  r.snapshot_into(s);
  EXPECT_EQ(s.errors, 1u);
  std::uint64_t by_code = 0;
  for (auto c : s.errors_by_code) by_code += c;
  EXPECT_EQ(by_code, 0u);
}

TEST(NodeStatsRecorderTest, ConcurrentRecordingSumsCorrectly) {
  NodeStatsRecorder r;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < kPerThread; ++i) {
        r.on_start();
        const int code = (i % 10 == 0)   ? static_cast<int>(errc::timeout)
                         : (i % 10 == 1) ? static_cast<int>(errc::connection_lost)
                                         : 0;
        r.on_complete(code, microseconds((i % 1000) + t));
        if (i % 1000 == 0) r.on_reconnect();
      }
    });
  }
  for (auto& th : threads) th.join();

  NodeStats s;
  r.snapshot_into(s);
  const std::uint64_t total = std::uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(s.requests, total);
  EXPECT_EQ(s.errors, total / 5);
  EXPECT_EQ(s.timeouts, total / 10);
  EXPECT_EQ(s.errors_by_code[static_cast<std::size_t>(errc::connection_lost)], total / 10);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_EQ(s.reconnects, std::uint64_t{kThreads} * (kPerThread / 1000));
  EXPECT_EQ(s.latency.count, total);
  std::uint64_t expected_sum = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kPerThread; ++i) expected_sum += static_cast<std::uint64_t>(i % 1000 + t);
  EXPECT_EQ(s.latency.sum_us, expected_sum);
  std::uint64_t bucket_total = 0;
  for (auto c : s.latency.counts) bucket_total += c;
  EXPECT_EQ(bucket_total, total);
}

TEST(ErrcName, MatchesEnumNames) {
  EXPECT_EQ(errc_name(errc::timeout), "timeout");
  EXPECT_EQ(errc_name(errc::connection_lost), "connection_lost");
  EXPECT_EQ(errc_name(errc::shard_unavailable), "shard_unavailable");
  EXPECT_EQ(errc_name(errc::overloaded), "overloaded");
  EXPECT_EQ(errc_name(errc::cross_shard), "cross_shard");
  EXPECT_EQ(errc_name(errc::server_error), "server_error");
  EXPECT_EQ(errc_name(errc::protocol_error), "protocol_error");
  EXPECT_EQ(errc_name(errc::config), "config");
  EXPECT_EQ(errc_name(errc::shutting_down), "shutting_down");
  EXPECT_EQ(errc_name(static_cast<errc>(0)), "unknown");
}

// ---- Prometheus text ------------------------------------------------------------------------

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  std::string value;
};

// Parses one sample line of the text format strictly; returns false when malformed.
bool parse_sample(const std::string& line, Sample& out) {
  std::size_t i = 0;
  auto name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i == 0) return false;
  out.name = line.substr(0, i);
  out.labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t start = i;
      while (i < line.size() && name_char(line[i], i == start)) ++i;
      if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
      const std::string key = line.substr(start, i - start);
      i += 2;
      std::string value;
      for (;;) {
        if (i >= line.size()) return false;
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= line.size()) return false;
          const char e = line[i++];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            return false;
          }
        } else if (c == '\n') {
          return false;
        } else {
          value += c;
        }
      }
      if (!out.labels.emplace(key, value).second) return false;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return false;
  out.value = line.substr(i + 1);
  if (out.value.empty() || out.value.find(' ') != std::string::npos) return false;
  if (out.value != "+Inf" && out.value != "-Inf" && out.value != "NaN") {
    std::size_t used = 0;
    try {
      (void)std::stod(out.value, &used);
    } catch (...) {
      return false;
    }
    if (used != out.value.size()) return false;
  }
  return true;
}

double le_value(const std::string& le) {
  return le == "+Inf" ? INFINITY : std::stod(le);
}

ClientStats sample_stats() {
  ClientStats cs;
  {
    NodeStatsRecorder r;
    for (int i = 0; i < 100; ++i) r.on_start();
    for (int i = 0; i < 90; ++i) r.on_complete(0, microseconds(100));
    for (int i = 0; i < 9; ++i)
      r.on_complete(static_cast<int>(errc::timeout), microseconds(200000));
    r.on_reconnect();
    NodeStats n;
    n.address = "127.0.0.1:7001";
    n.shard = "s1";
    n.role = "primary";
    r.snapshot_into(n);
    cs.nodes.push_back(n);
  }
  {
    NodeStatsRecorder r;
    r.set_up(false);
    r.on_start();
    r.on_complete(static_cast<int>(errc::connection_lost), std::chrono::seconds(100));  // > 16 s
    NodeStats n;
    n.address = "[::1]:7101";
    n.shard = "we\"ird\\sh\nard";
    n.role = "replica";
    r.snapshot_into(n);
    cs.nodes.push_back(n);
  }
  return cs;
}

TEST(Prometheus, EveryLineIsWellFormed) {
  const std::string text = to_prometheus(sample_stats());
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string line;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  std::set<std::string> finished;  // families whose samples have ended
  std::string current;
  int samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(helped.insert(name).second) << "two HELP lines for " << name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name, type;
      f >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_TRUE(types.emplace(name, type).second) << "two TYPE lines for " << name;
      EXPECT_TRUE(helped.count(name)) << "TYPE before HELP for " << name;
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    Sample s;
    ASSERT_TRUE(parse_sample(line, s)) << "malformed: " << line;
    ++samples;
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string suf = suffix;
      if (family.size() > suf.size() &&
          family.compare(family.size() - suf.size(), suf.size(), suf) == 0 &&
          types.count(family.substr(0, family.size() - suf.size())) &&
          types[family.substr(0, family.size() - suf.size())] == "histogram") {
        family = family.substr(0, family.size() - suf.size());
      }
    }
    ASSERT_TRUE(types.count(family)) << "sample before its TYPE: " << line;
    if (family != current) {
      EXPECT_FALSE(finished.count(family)) << "samples of " << family << " are not contiguous";
      if (!current.empty()) finished.insert(current);
      current = family;
    }
  }
  EXPECT_GT(samples, 0);
  for (const char* name :
       {"flyshard_requests_total", "flyshard_errors_total", "flyshard_in_flight",
        "flyshard_reconnects_total", "flyshard_node_up", "flyshard_request_duration_seconds"}) {
    EXPECT_TRUE(types.count(name)) << name;
  }
  EXPECT_EQ(types["flyshard_requests_total"], "counter");
  EXPECT_EQ(types["flyshard_in_flight"], "gauge");
  EXPECT_EQ(types["flyshard_node_up"], "gauge");
  EXPECT_EQ(types["flyshard_request_duration_seconds"], "histogram");
}

std::vector<Sample> samples_of(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    EXPECT_TRUE(parse_sample(line, s)) << line;
    out.push_back(s);
  }
  return out;
}

const Sample* find(const std::vector<Sample>& all, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const Sample& s : all) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) return &s;
  }
  return nullptr;
}

TEST(Prometheus, ValuesAndEscapedLabels) {
  const ClientStats cs = sample_stats();
  const auto all = samples_of(to_prometheus(cs));
  const std::map<std::string, std::string> n1 = {
      {"node", "127.0.0.1:7001"}, {"shard", "s1"}, {"role", "primary"}};
  const std::map<std::string, std::string> n2 = {
      {"node", "[::1]:7101"}, {"shard", "we\"ird\\sh\nard"}, {"role", "replica"}};

  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) {
    const Sample* s = find(all, name, labels);
    EXPECT_NE(s, nullptr) << name;
    return s ? s->value : std::string("<missing>");
  };
  EXPECT_EQ(value("flyshard_requests_total", n1), "99");
  EXPECT_EQ(value("flyshard_requests_total", n2), "1");  // escaping round-trips
  EXPECT_EQ(value("flyshard_in_flight", n1), "1");
  EXPECT_EQ(value("flyshard_reconnects_total", n1), "1");
  EXPECT_EQ(value("flyshard_node_up", n1), "1");
  EXPECT_EQ(value("flyshard_node_up", n2), "0");
  auto with_code = [](std::map<std::string, std::string> l, const char* code) {
    l["code"] = code;
    return l;
  };
  EXPECT_EQ(value("flyshard_errors_total", with_code(n1, "timeout")), "9");
  EXPECT_EQ(value("flyshard_errors_total", with_code(n1, "connection_lost")), "0");
  EXPECT_EQ(value("flyshard_errors_total", with_code(n2, "connection_lost")), "1");
  EXPECT_EQ(value("flyshard_request_duration_seconds_count", n1), "99");
  EXPECT_DOUBLE_EQ(std::stod(value("flyshard_request_duration_seconds_sum", n1)),
                   (90 * 100 + 9 * 200000) / 1e6);
  EXPECT_EQ(value("flyshard_request_duration_seconds_sum", n2), "100");
}

TEST(Prometheus, HistogramBucketsAreCumulativeAndEndWithInf) {
  const ClientStats cs = sample_stats();
  const auto all = samples_of(to_prometheus(cs));
  for (const NodeStats& n : cs.nodes) {
    std::vector<std::pair<double, std::uint64_t>> buckets;
    std::uint64_t count = 0;
    for (const Sample& s : all) {
      if (s.labels.count("node") == 0 || s.labels.at("node") != n.address) continue;
      if (s.name == "flyshard_request_duration_seconds_bucket") {
        ASSERT_TRUE(s.labels.count("le"));
        buckets.emplace_back(le_value(s.labels.at("le")), std::stoull(s.value));
      } else if (s.name == "flyshard_request_duration_seconds_count") {
        count = std::stoull(s.value);
      }
    }
    ASSERT_GE(buckets.size(), 2u);
    for (std::size_t i = 1; i < buckets.size(); ++i) {
      EXPECT_LT(buckets[i - 1].first, buckets[i].first) << n.address;
      EXPECT_LE(buckets[i - 1].second, buckets[i].second) << n.address;
    }
    EXPECT_TRUE(std::isinf(buckets.back().first));
    EXPECT_EQ(buckets.back().second, count);
    EXPECT_EQ(count, n.latency.count);
    // Every bucket holds exactly the samples at or below its bound.
    for (const auto& [le, c] : buckets) {
      std::uint64_t want = 0;
      for (std::size_t i = 0; i < n.latency.counts.size(); ++i) {
        if (static_cast<double>(n.latency.upper_bounds_us[i] + 1) / 1e6 <= le + 1e-12)
          want += n.latency.counts[i];
      }
      EXPECT_EQ(c, want) << "le=" << le;
    }
  }
}

TEST(Prometheus, LeBoundsInSeconds) {
  const ClientStats cs = sample_stats();  // node 1: 90 samples at 100 us, 9 at 200 ms
  const auto all = samples_of(to_prometheus(cs));
  auto bucket = [&](const char* le) {
    const Sample* s = find(all, "flyshard_request_duration_seconds_bucket",
                           {{"node", "127.0.0.1:7001"}, {"le", le}});
    EXPECT_NE(s, nullptr) << le;
    return s ? s->value : std::string();
  };
  EXPECT_EQ(bucket("0.000064"), "0");
  EXPECT_EQ(bucket("0.000128"), "90");
  EXPECT_EQ(bucket("0.131072"), "90");
  EXPECT_EQ(bucket("0.262144"), "99");
  EXPECT_EQ(bucket("+Inf"), "99");
}

TEST(Prometheus, CustomPrefixAndEmptyStats) {
  const std::string text = to_prometheus(sample_stats(), "shop_db");
  EXPECT_NE(text.find("shop_db_requests_total{"), std::string::npos);
  EXPECT_EQ(text.find("flyshard_"), std::string::npos);
  const std::string empty = to_prometheus(ClientStats{});
  EXPECT_NE(empty.find("# TYPE flyshard_requests_total counter"), std::string::npos);
  for (const Sample& s : samples_of(empty)) ADD_FAILURE() << "sample without nodes: " << s.name;
}

}  // namespace
}  // namespace flyshard
