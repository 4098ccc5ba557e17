// flyshard-distribution: how evenly each placement algorithm spreads keys, and how many keys
// move when a shard is added or removed.
//
//   build/bench/flyshard-distribution                         # 1,000,000 keys, 3..256 shards
//   build/bench/flyshard-distribution --shards 3,16 --keys 200000 --json dist.json
//   build/bench/flyshard-distribution --twemproxy             # also check against nutcracker
//
// For each algorithm (ketama, maglev, jump, rendezvous, ketama in twemproxy-compat mode) and
// shard count N (shards named s1..sN, weight 1), every key is placed with
// Distribution::shard_for and the program reports:
//
//   max/mean, min/mean  the fullest and the emptiest shard against the mean (ideal 1.000)
//   CV                  stddev / mean of the per-shard loads. Even a perfect hash has
//                       sampling noise: "floor" is the CV a uniform random placement of the
//                       same keys has on average, sqrt((N - 1) * sum(g^2)) / K, g the sizes of
//                       the groups of keys that hash alike (one per hash tag, else one per key)
//   add 1               N -> N+1 (s<N+1> appended): share of keys whose shard changed, that
//                       share over the ideal 1/(N+1), and "stray": the share that moved
//                       between two old shards (0 for a consistent hash; the ideal is 0)
//   rm last             N -> N-1 (s<N> removed): moved share, over the ideal 1/N, stray
//   rm mid              N -> N-1 (s<N/2+1>, a middle one, removed): the same. n/a for jump,
//                       which only supports removing the last bucket
//
// With --twemproxy it also starts real servers (flyshard::testing::LocalCluster, 3 shards, the
// server binary is $FLYSHARD_SERVER, dragonfly or redis-server) and nutcracker in front of them
// (flyshard::testing::TwemproxyProcess: `distribution: ketama`, `hash: fnv1a_64`, `hash_tag:
// "{}"`), writes --twemproxy-keys keys through nutcracker, finds each key on the servers and
// reports the share placed where Distribution("ketama", compat "twemproxy") says.

#include <flyshard/distribution.hpp>

#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench_util.hpp"
#include "local_cluster.hpp"
#include "raw_redis.hpp"
#include "twemproxy_process.hpp"

namespace {

using flyshard::bench::Clock;
using flyshard::bench::fmt;
using json = nlohmann::json;

constexpr const char* kUsage =
    R"(usage: flyshard-distribution [--keys N] [--tagged-share F] [--keys-per-tag N]
                             [--shards LIST] [--algorithms LIST] [--rendezvous-keys N]
                             [--maglev-table-size N]
                             [--twemproxy] [--twemproxy-keys N] [--twemproxy-shards N]
                             [--json PATH]

Load balance and key movement of every placement algorithm (no server needed).

  --keys N              keys placed (default 1000000): "user:<n>:profile", plus the
                        hash-tagged share below
  --tagged-share F      share of keys with a hash tag, "order:{user:<m>}:<j>" (default 0.2)
  --keys-per-tag N      keys sharing each tag, i.e. always placed together (default 4)
  --shards LIST         shard counts, comma-separated (default 3,8,16,64,256)
  --algorithms LIST     any of ketama,maglev,jump,rendezvous,ketama-twemproxy
                        (default: all five)
  --rendezvous-keys N   place only the first N keys for rendezvous at 128 shards and more
                        (its lookup is O(shards)); 0 (default): all keys. The table marks
                        rows computed on fewer keys
  --maglev-table-size N maglev's table size, a prime (default 0: the library's default,
                        the smallest prime >= max(65537, 100 x shards))
  --twemproxy           also check ketama compat "twemproxy" against a real nutcracker
                        in front of real servers (needs nutcracker: $FLYSHARD_NUTCRACKER,
                        /usr/sbin/nutcracker or on PATH)
  --twemproxy-keys N    keys written through nutcracker (default 2000)
  --twemproxy-shards N  servers behind nutcracker (default 3)
  --json PATH           also write every figure as JSON to PATH
  -h, --help            this text
)";

struct Config {
  std::size_t keys = 1'000'000;
  double tagged_share = 0.2;
  std::size_t keys_per_tag = 4;
  std::vector<std::size_t> shards = {3, 8, 16, 64, 256};
  std::vector<std::string> algorithms = {"ketama", "maglev", "jump", "rendezvous",
                                         "ketama-twemproxy"};
  std::size_t rendezvous_keys = 0;
  std::uint64_t maglev_table_size = 0;
  bool twemproxy = false;
  std::size_t twemproxy_keys = 2000;
  std::size_t twemproxy_shards = 3;
  std::string json_path;
};

const std::vector<std::string>& known_algorithms() {
  static const std::vector<std::string> all = {"ketama", "maglev", "jump", "rendezvous",
                                               "ketama-twemproxy"};
  return all;
}

Config parse_args(int argc, char** argv) {
  Config c;
  flyshard::bench::CommandLine cl("flyshard-distribution", kUsage, argc, argv);
  while (cl.next()) {
    const std::string_view a = cl.flag();
    if (a == "--keys") {
      c.keys = cl.count(1, 1'000'000'000);
    } else if (a == "--tagged-share") {
      c.tagged_share = cl.number(0, 1);
    } else if (a == "--keys-per-tag") {
      c.keys_per_tag = cl.count(1, 1'000'000);
    } else if (a == "--shards") {
      c.shards.clear();
      for (const auto& s : flyshard::bench::split_list(cl.value()))
        c.shards.push_back(cl.count(a, s, 2, 100000));
      if (c.shards.empty()) cl.fail("--shards: expected a list such as 3,16,64");
    } else if (a == "--algorithms") {
      c.algorithms = flyshard::bench::split_list(cl.value());
      if (c.algorithms.empty()) cl.fail("--algorithms: expected a list such as ketama,jump");
      for (const auto& name : c.algorithms) {
        const auto& all = known_algorithms();
        if (std::find(all.begin(), all.end(), name) == all.end()) {
          cl.fail("--algorithms: unknown algorithm '" + name + "'");
        }
      }
    } else if (a == "--maglev-table-size") {
      c.maglev_table_size = cl.count(0, std::uint64_t{1} << 28);
    } else if (a == "--rendezvous-keys") {
      c.rendezvous_keys = cl.count(0, 1'000'000'000);
    } else if (a == "--twemproxy") {
      c.twemproxy = true;
    } else if (a == "--twemproxy-keys") {
      c.twemproxy_keys = cl.count(1, 10'000'000);
    } else if (a == "--twemproxy-shards") {
      c.twemproxy_shards = cl.count(1, 64);
    } else if (a == "--json") {
      c.json_path = cl.value();
    } else {
      cl.unknown();
    }
  }
  return c;
}

// ---- keys ---------------------------------------------------------------------------------

// Keys packed in one buffer (a vector of a million std::strings would be a million heap blocks
// scattered over memory: the walk would measure cache misses on the keys, not placement).
class KeySet {
 public:
  void add(std::string_view k) {
    offsets_.push_back(static_cast<std::uint64_t>(bytes_.size()));
    bytes_.append(k);
  }
  std::size_t size() const noexcept { return offsets_.size(); }
  std::string_view operator[](std::size_t i) const noexcept {
    const std::uint64_t begin = offsets_[i];
    const std::uint64_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size();
    return std::string_view(bytes_).substr(begin, end - begin);
  }
  void reserve(std::size_t keys, std::size_t bytes) {
    offsets_.reserve(keys);
    bytes_.reserve(bytes);
  }
  /// Sizes of the groups of keys that always share a shard (what the CV floor needs).
  std::vector<std::size_t> group_sizes;

 private:
  std::string bytes_;
  std::vector<std::uint64_t> offsets_;
};

// `count` keys: a share `tagged_share` of them "order:{user:<m>}:<j>" (keys_per_tag per tag
// m), the others "user:<n>:profile". Tagged and plain keys are interleaved evenly.
KeySet make_keys(std::size_t count, double tagged_share, std::size_t keys_per_tag) {
  KeySet keys;
  keys.reserve(count, count * 24);
  const auto tagged_total =
      static_cast<std::size_t>(std::llround(static_cast<double>(count) * tagged_share));
  std::size_t tagged = 0;
  std::size_t plain = 0;
  std::string k;
  for (std::size_t i = 0; i < count; ++i) {
    // Tagged when the running quota says so: i-th key tagged iff floor((i+1)*T/K) grew.
    const bool is_tagged =
        tagged_total > 0 && ((i + 1) * tagged_total) / count > (i * tagged_total) / count;
    if (is_tagged) {
      const std::size_t tag = tagged / keys_per_tag;
      const std::size_t j = tagged % keys_per_tag;
      k = "order:{user:" + std::to_string(tag) + "}:" + std::to_string(j);
      if (j == 0) keys.group_sizes.push_back(0);
      ++keys.group_sizes.back();
      ++tagged;
    } else {
      k = "user:" + std::to_string(plain) + ":profile";
      ++plain;
    }
    keys.add(k);
  }
  // Plain keys are groups of one.
  keys.group_sizes.resize(keys.group_sizes.size() + plain, 1);
  return keys;
}

// ---- one algorithm at one shard count ------------------------------------------------------

struct Variant {
  std::string name;       // as printed: ketama, ..., ketama-twemproxy
  std::string algorithm;  // as given to Distribution::create
  flyshard::DistributionOptions options;
};

Variant variant_of(const std::string& name, const Config& cfg) {
  Variant v{name, name, {}};
  if (name == "maglev") v.options.maglev_table_size = cfg.maglev_table_size;
  if (name == "ketama-twemproxy") {
    v.algorithm = "ketama";
    v.options.compat = "twemproxy";
  }
  return v;
}

std::vector<flyshard::ShardWeight> shard_list(std::size_t n) {
  std::vector<flyshard::ShardWeight> s;
  s.reserve(n);
  for (std::size_t i = 1; i <= n; ++i) s.push_back({"s" + std::to_string(i), 1});
  return s;
}

struct Movement {
  bool applicable = false;
  double moved = 0;  // share of keys whose shard changed
  double ideal = 0;  // 1/(N+1) for an add, 1/N for a removal
  double stray = 0;  // share that moved between two shards present before and after
  double ratio() const { return ideal > 0 ? moved / ideal : 0; }
};

struct Row {
  std::string variant;
  std::size_t shards = 0;
  std::size_t keys = 0;  // keys placed for this row
  double max_over_mean = 0;
  double min_over_mean = 0;
  double cv = 0;
  double cv_floor = 0;
  Movement add;
  Movement remove_last;
  Movement remove_middle;
  double ns_per_lookup = 0;
  double build_ms = 0;
};

// Places keys [0, count) with `d` into `out`; returns ns per lookup.
double place(const flyshard::Distribution& d, const KeySet& keys, std::size_t count,
             std::vector<std::uint32_t>& out) {
  out.resize(count);
  // Untimed: brings the tables and the first keys into the caches.
  for (std::size_t i = 0; i < std::min<std::size_t>(count, 65536); ++i) {
    out[i] = static_cast<std::uint32_t>(d.shard_for(keys[i]));
  }
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<std::uint32_t>(d.shard_for(keys[i]));
  const auto t1 = Clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(count);
}

// `before` is the placement on the N base shards; `after` maps a base index to its index in the
// changed list (or -1 when that shard was removed); `added` is the index of a new shard in the
// changed list, or -1.
Movement compare(const std::vector<std::uint32_t>& before, const flyshard::Distribution& changed,
                 const KeySet& keys, const std::vector<long>& after, long added, double ideal) {
  Movement m;
  m.applicable = true;
  m.ideal = ideal;
  std::size_t moved = 0;
  std::size_t stray = 0;
  const std::size_t count = before.size();
  for (std::size_t i = 0; i < count; ++i) {
    const long was = after[before[i]];
    const auto now = static_cast<long>(changed.shard_for(keys[i]));
    if (was == now) continue;
    ++moved;
    // A key that left a surviving shard for another old shard (not the added one).
    if (was >= 0 && now != added) ++stray;
  }
  m.moved = static_cast<double>(moved) / static_cast<double>(count);
  m.stray = static_cast<double>(stray) / static_cast<double>(count);
  return m;
}

double cv_floor(const KeySet& keys, std::size_t count, std::size_t shards) {
  // Groups are laid out in key order only approximately (tagged and plain interleave), so for
  // a prefix of the keys scale the full set's sum of squares by the share of keys used.
  double sum_sq = 0;
  for (const std::size_t g : keys.group_sizes) sum_sq += static_cast<double>(g) * g;
  sum_sq *= static_cast<double>(count) / static_cast<double>(keys.size());
  return std::sqrt(static_cast<double>(shards - 1) * sum_sq) / static_cast<double>(count);
}

Row measure(const Variant& v, std::size_t n, const KeySet& keys, std::size_t count) {
  Row row;
  row.variant = v.name;
  row.shards = n;
  row.keys = count;

  const auto base_shards = shard_list(n);
  const auto b0 = Clock::now();
  const auto base = flyshard::Distribution::create(v.algorithm, base_shards, v.options);
  row.build_ms = flyshard::bench::ms_between(b0, Clock::now());

  std::vector<std::uint32_t> before;
  row.ns_per_lookup = place(base, keys, count, before);

  std::vector<std::size_t> load(n, 0);
  for (const std::uint32_t s : before) ++load[s];
  const double mean = static_cast<double>(count) / static_cast<double>(n);
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  double var = 0;
  for (const std::size_t l : load) var += (static_cast<double>(l) - mean) * (l - mean);
  var /= static_cast<double>(n);
  row.max_over_mean = static_cast<double>(*hi) / mean;
  row.min_over_mean = static_cast<double>(*lo) / mean;
  row.cv = std::sqrt(var) / mean;
  row.cv_floor = cv_floor(keys, count, n);

  // N -> N+1: s<N+1> appended; old indexes unchanged.
  {
    auto shards = base_shards;
    shards.push_back({"s" + std::to_string(n + 1), 1});
    const auto d = flyshard::Distribution::create(v.algorithm, shards, v.options);
    std::vector<long> map(n);
    for (std::size_t i = 0; i < n; ++i) map[i] = static_cast<long>(i);
    row.add = compare(before, d, keys, map, static_cast<long>(n), 1.0 / static_cast<double>(n + 1));
  }
  // N -> N-1, one shard removed: the last, then a middle one.
  auto removal = [&](std::size_t removed) {
    auto shards = base_shards;
    shards.erase(shards.begin() + static_cast<std::ptrdiff_t>(removed));
    const auto d = flyshard::Distribution::create(v.algorithm, shards, v.options);
    std::vector<long> map(n);
    for (std::size_t i = 0; i < n; ++i) {
      map[i] = i < removed ? static_cast<long>(i) : i == removed ? -1 : static_cast<long>(i - 1);
    }
    return compare(before, d, keys, map, -1, 1.0 / static_cast<double>(n));
  };
  row.remove_last = removal(n - 1);
  // Jump hash only supports removing the last bucket: removing another renumbers every bucket
  // after it, which no one would do on purpose.
  if (v.algorithm != "jump") row.remove_middle = removal(n / 2);
  return row;
}

// ---- printing ------------------------------------------------------------------------------

std::string pad(const std::string& s, std::size_t width, bool left = false) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

std::string movement_cells(const Movement& m) {
  if (!m.applicable) return pad("n/a", 8) + pad("", 7) + pad("", 8);
  return pad(fmt("%.2f%%", 100 * m.moved), 8) + pad(fmt("%.2fx", m.ratio()), 7) +
         pad(fmt("%.2f%%", 100 * m.stray), 8);
}

void print_table(const std::vector<Row>& rows, std::size_t all_keys) {
  const std::string head1 = pad("", 17, true) + pad("", 7) + pad("", 9) + pad("", 9) + "  " +
                            pad("", 16) + " |" + pad("add 1 shard", 22) + " |" +
                            pad("remove last", 22) + " |" + pad("remove middle", 22) + " |";
  const std::string head2 =
      pad("algorithm", 17, true) + pad("shards", 7) + pad("max/mean", 9) + pad("min/mean", 9) +
      "  " + pad("CV (floor)", 16) + " |" + pad("moved", 8) + pad("/ideal", 7) + pad("stray", 8) +
      " |" + pad("moved", 8) + pad("/ideal", 7) + pad("stray", 8) + " |" + pad("moved", 8) +
      pad("/ideal", 7) + pad("stray", 8) + " |" + pad("ns/key", 8) + pad("build ms", 10);
  std::cout << head1 << "\n" << head2 << "\n" << std::string(head2.size(), '-') << "\n";
  std::string last;
  for (const auto& r : rows) {
    if (!last.empty() && last != r.variant) std::cout << "\n";
    last = r.variant;
    std::string name = r.variant + (r.keys != all_keys ? "*" : "");
    std::cout << pad(name, 17, true) << pad(std::to_string(r.shards), 7)
              << pad(fmt("%.3f", r.max_over_mean), 9) << pad(fmt("%.3f", r.min_over_mean), 9)
              << "  " << pad(fmt("%.4f", r.cv) + " (" + fmt("%.4f", r.cv_floor) + ")", 16) << " |"
              << movement_cells(r.add) << " |" << movement_cells(r.remove_last) << " |"
              << movement_cells(r.remove_middle) << " |" << pad(fmt("%.1f", r.ns_per_lookup), 8)
              << pad(fmt("%.2f", r.build_ms), 10) << "\n";
  }
}

json movement_json(const Movement& m) {
  if (!m.applicable) return nullptr;
  return json{{"moved", m.moved}, {"ideal", m.ideal}, {"ratio", m.ratio()}, {"stray", m.stray}};
}

json row_json(const Row& r) {
  return json{{"algorithm", r.variant},
              {"shards", r.shards},
              {"keys", r.keys},
              {"max_over_mean", r.max_over_mean},
              {"min_over_mean", r.min_over_mean},
              {"cv", r.cv},
              {"cv_floor", r.cv_floor},
              {"add_one", movement_json(r.add)},
              {"remove_last", movement_json(r.remove_last)},
              {"remove_middle", movement_json(r.remove_middle)},
              {"ns_per_lookup", r.ns_per_lookup},
              {"build_ms", r.build_ms}};
}

// ---- twemproxy agreement -------------------------------------------------------------------

struct Agreement {
  std::size_t keys = 0;
  std::size_t shards = 0;
  std::size_t agree = 0;
  std::size_t disagree = 0;
  std::size_t missing = 0;  // on no server, or on several
  std::vector<std::size_t> per_shard;
  std::vector<std::string> examples;  // a few disagreements
  std::string server;
  double percent() const { return keys ? 100.0 * static_cast<double>(agree) / keys : 0; }
};

Agreement check_twemproxy(const Config& cfg) {
  Agreement a;
  a.keys = cfg.twemproxy_keys;
  a.shards = cfg.twemproxy_shards;
  flyshard::testing::ClusterOptions options;
  options.shards = cfg.twemproxy_shards;
  options.replicas = 0;
  flyshard::testing::LocalCluster cluster(options);
  a.server = flyshard::testing::server_binary();

  // nutcracker in front of the primaries: servers named s1..sN, weight 1.
  const flyshard::Topology topology = cluster.topology();
  flyshard::testing::TwemproxyOptions popts;
  popts.server_timeout = std::chrono::milliseconds(5000);
  flyshard::testing::TwemproxyProcess proxy(topology, popts);
  std::vector<flyshard::ShardWeight> shards;
  for (const auto& s : topology.shards) shards.push_back({s.name, s.weight});
  flyshard::DistributionOptions dopts;
  dopts.compat = "twemproxy";
  const auto dist = flyshard::Distribution::create("ketama", shards, dopts);

  const KeySet keys = make_keys(cfg.twemproxy_keys, cfg.tagged_share, cfg.keys_per_tag);
  auto c = flyshard::testing::connect_raw(proxy.address(), std::chrono::seconds(5));
  if (!c) throw std::runtime_error("cannot connect to nutcracker");
  // Pipelined SETs through nutcracker, in windows of 1000.
  constexpr std::size_t kWindow = 1000;
  for (std::size_t start = 0; start < keys.size(); start += kWindow) {
    const std::size_t end = std::min(keys.size(), start + kWindow);
    for (std::size_t i = start; i < end; ++i) {
      const std::string_view k = keys[i];
      const char* argv[] = {"SET", k.data(), "v"};
      const std::size_t lens[] = {3, k.size(), 1};
      if (redisAppendCommandArgv(c.get(), 3, argv, lens) != REDIS_OK) {
        throw std::runtime_error("redisAppendCommandArgv failed");
      }
    }
    for (std::size_t i = start; i < end; ++i) {
      void* raw = nullptr;
      if (redisGetReply(c.get(), &raw) != REDIS_OK) {
        throw std::runtime_error(std::string("SET through nutcracker: ") + c->errstr);
      }
      flyshard::testing::RedisReplyPtr r(static_cast<redisReply*>(raw));
      if (r->type != REDIS_REPLY_STATUS) {
        throw std::runtime_error("SET " + std::string(keys[i]) +
                                 " through nutcracker: " + std::string(r->str, r->len));
      }
    }
  }

  // Where each key really is.
  std::unordered_map<std::string, std::vector<std::size_t>> found;
  for (std::size_t i = 0; i < cluster.shards(); ++i) {
    const auto reply = cluster.primary(i).command({"KEYS", "*"}, std::chrono::seconds(30));
    if (!reply.is_array()) throw std::runtime_error("KEYS *: " + reply.to_string());
    for (const auto& e : reply.elements()) found[e.str()].push_back(i);
  }
  a.per_shard.assign(cluster.shards(), 0);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string k(keys[i]);
    const auto it = found.find(k);
    if (it == found.end() || it->second.size() != 1) {
      ++a.missing;
      continue;
    }
    const std::size_t real = it->second.front();
    ++a.per_shard[real];
    if (real == dist.shard_for(k)) {
      ++a.agree;
    } else {
      ++a.disagree;
      if (a.examples.size() < 5) {
        a.examples.push_back(k + ": nutcracker " + cluster.shard_name(real) + ", flyshard " +
                             cluster.shard_name(dist.shard_for(k)));
      }
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    const auto t_start = Clock::now();
    const KeySet keys = make_keys(cfg.keys, cfg.tagged_share, cfg.keys_per_tag);
    std::cout << "flyshard-distribution: " << keys.size() << " keys (" << cfg.tagged_share * 100
              << "% hash-tagged, " << cfg.keys_per_tag << " keys per tag), shards named s1..sN,"
              << " weight 1";
    if (cfg.maglev_table_size != 0) std::cout << ", maglev table " << cfg.maglev_table_size;
    std::cout << "\n\n";

    std::vector<Row> rows;
    for (const auto& name : cfg.algorithms) {
      const Variant v = variant_of(name, cfg);
      for (const std::size_t n : cfg.shards) {
        std::size_t count = keys.size();
        if (v.algorithm == "rendezvous" && n >= 128 && cfg.rendezvous_keys > 0) {
          count = std::min(count, cfg.rendezvous_keys);
        }
        rows.push_back(measure(v, n, keys, count));
        std::cerr << "  done: " << name << " " << n << " shards\n";
      }
    }
    std::cout << "\n";
    print_table(rows, keys.size());
    std::cout << "\nmoved: share of all keys whose shard changed; /ideal: moved over 1/(N+1) (add)"
                 " or 1/N (remove);\nstray: share of all keys moved between two shards that exist"
                 " before and after (ideal 0);\nCV floor: the CV of a uniform random placement of"
                 " these keys (sampling noise); ns/key: shard_for,\none thread, on a shared"
                 " machine (bench_distribution measures lookups properly).\n";
    bool reduced = false;
    for (const auto& r : rows) reduced = reduced || r.keys != keys.size();
    if (reduced) {
      std::cout << "* computed on the first " << cfg.rendezvous_keys
                << " keys only (--rendezvous-keys)\n";
    }

    json out{{"keys", keys.size()},
             {"tagged_share", cfg.tagged_share},
             {"keys_per_tag", cfg.keys_per_tag},
             {"maglev_table_size", cfg.maglev_table_size},
             {"rows", json::array()}};
    for (const auto& r : rows) out["rows"].push_back(row_json(r));

    int rc = 0;
    if (cfg.twemproxy) {
      std::cout << "\ntwemproxy agreement (ketama, compat \"twemproxy\"): ";
      std::cout.flush();
      if (!flyshard::testing::TwemproxyProcess::available()) {
        std::cout << "skipped, nutcracker is not installed\n";
        out["twemproxy"] = json{{"skipped", "nutcracker not installed"}};
      } else {
        const Agreement a = check_twemproxy(cfg);
        std::cout << a.agree << " / " << a.keys << " keys = " << fmt("%.2f%%", a.percent()) << " ("
                  << a.shards << " servers: " << a.server << ", nutcracker "
                  << flyshard::testing::TwemproxyProcess::binary() << "; disagree " << a.disagree
                  << ", not found " << a.missing << ")\n  keys per server:";
        for (std::size_t i = 0; i < a.per_shard.size(); ++i) {
          std::cout << " s" << i + 1 << "=" << a.per_shard[i];
        }
        std::cout << "\n";
        for (const auto& e : a.examples) std::cout << "  disagreement: " << e << "\n";
        out["twemproxy"] = json{{"keys", a.keys},           {"servers", a.shards},
                                {"agree", a.agree},         {"disagree", a.disagree},
                                {"missing", a.missing},     {"agreement_percent", a.percent()},
                                {"per_shard", a.per_shard}, {"server_binary", a.server}};
        if (a.agree != a.keys) rc = 1;
      }
    }
    const double total_s = flyshard::bench::seconds_since(t_start);
    out["seconds"] = total_s;
    std::cout << "\ntotal " << fmt("%.1f", total_s) << " s\n";
    if (!cfg.json_path.empty()) flyshard::bench::write_file(cfg.json_path, out.dump(2) + "\n");
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "flyshard-distribution: " << e.what() << "\n";
    return 1;
  }
}
