#include <flyshard/distribution.hpp>
#include <flyshard/error.hpp>

#include "distribution/distribution_impl.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using flyshard::Distribution;
using flyshard::DistributionOptions;
using flyshard::ShardWeight;

const std::vector<std::string> kAlgorithms = {"ketama", "maglev", "jump", "rendezvous"};

// The same 1M keys for every test; tests that do not need a million use a prefix.
const std::vector<std::string>& keys() {
  static const std::vector<std::string> k = [] {
    std::vector<std::string> v;
    v.reserve(1'000'000);
    for (int i = 0; i < 1'000'000; ++i) v.push_back("key:" + std::to_string(i));
    return v;
  }();
  return k;
}

// Designated initializers of DistributionOptions draw -Wmissing-field-initializers from g++ 12.
DistributionOptions compat(std::string value) {
  DistributionOptions o;
  o.compat = std::move(value);
  return o;
}
DistributionOptions twemproxy() {
  return compat("twemproxy");
}
DistributionOptions ketama_points(std::uint32_t points) {
  DistributionOptions o;
  o.ketama_points = points;
  return o;
}
DistributionOptions maglev_size(std::uint64_t size) {
  DistributionOptions o;
  o.maglev_table_size = size;
  return o;
}

std::vector<ShardWeight> named(std::size_t n, std::uint32_t weight = 1) {
  std::vector<ShardWeight> s;
  for (std::size_t i = 1; i <= n; ++i) s.push_back({"s" + std::to_string(i), weight});
  return s;
}

std::vector<std::size_t> counts(const Distribution& d, std::size_t nkeys) {
  std::vector<std::size_t> c(d.size());
  for (std::size_t i = 0; i < nkeys; ++i) ++c[d.shard_for(keys()[i])];
  return c;
}

double max_over_mean(const std::vector<std::size_t>& c) {
  std::size_t total = 0;
  for (auto x : c) total += x;
  const double mean = static_cast<double>(total) / static_cast<double>(c.size());
  return static_cast<double>(*std::max_element(c.begin(), c.end())) / mean;
}

// Fraction of keys whose owning shard NAME differs between a and b.
double moved(const Distribution& a, const Distribution& b, std::size_t nkeys) {
  std::size_t m = 0;
  for (std::size_t i = 0; i < nkeys; ++i) {
    const auto& k = keys()[i];
    if (a.shards()[a.shard_for(k)].name != b.shards()[b.shard_for(k)].name) ++m;
  }
  return static_cast<double>(m) / static_cast<double>(nkeys);
}

void report(const std::string& what, double value) {
  std::printf("[ measured ] %s = %.4f\n", what.c_str(), value);
}

flyshard::errc config_error_of(const std::function<void()>& f, std::string* message) {
  try {
    f();
  } catch (const flyshard::Error& e) {
    *message = e.what();
    return e.value();
  }
  return flyshard::errc{};
}

#define EXPECT_CONFIG_ERROR(expr, substring)                                                   \
  do {                                                                                         \
    std::string msg_;                                                                          \
    EXPECT_EQ(config_error_of([&] { (void)(expr); }, &msg_), flyshard::errc::config) << #expr; \
    EXPECT_NE(msg_.find(substring), std::string::npos) << msg_;                                \
  } while (false)

// ---- creation and errors --------------------------------------------------------------

TEST(Distribution, Accessors) {
  for (const auto& alg : kAlgorithms) {
    const auto shards = std::vector<ShardWeight>{{"b", 1}, {"a", 2}, {"c", 3}};
    const auto d = Distribution::create(alg, shards);
    EXPECT_EQ(d.algorithm(), alg);
    EXPECT_EQ(d.size(), 3u);
    ASSERT_EQ(d.shards().size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(d.shards()[i].name, shards[i].name);
      EXPECT_EQ(d.shards()[i].weight, shards[i].weight);
    }
  }
}

TEST(Distribution, CopiesShareTables) {
  const auto d = Distribution::create("maglev", named(5));
  const Distribution copy = d;  // NOLINT(performance-unnecessary-copy-initialization)
  for (std::size_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(copy.shard_for(keys()[i]), d.shard_for(keys()[i]));
  }
}

TEST(Distribution, UnknownAlgorithmNamesItAndListsTheValidOnes) {
  std::string msg;
  EXPECT_EQ(config_error_of([] { Distribution::create("modula", named(2)); }, &msg),
            flyshard::errc::config);
  EXPECT_NE(msg.find("modula"), std::string::npos) << msg;
  for (const auto& alg : kAlgorithms) EXPECT_NE(msg.find(alg), std::string::npos) << msg;
  EXPECT_CONFIG_ERROR(Distribution::create("", named(2)), "unknown algorithm");
  EXPECT_CONFIG_ERROR(Distribution::create("Ketama", named(2)), "Ketama");
}

TEST(Distribution, BadShardListsAreConfigErrors) {
  for (const auto& alg : kAlgorithms) {
    EXPECT_CONFIG_ERROR(Distribution::create(alg, {}), "empty");
    EXPECT_CONFIG_ERROR(Distribution::create(alg, {{"a", 1}, {"", 1}}), "shards[1]");
    EXPECT_CONFIG_ERROR(Distribution::create(alg, {{"a", 1}, {"b", 1}, {"a", 1}}),
                        "duplicate shard name \"a\"");
    EXPECT_CONFIG_ERROR(Distribution::create(alg, {{"a", 1}, {"b", 0}}), "weight");
  }
}

TEST(Distribution, BadOptionsAreConfigErrors) {
  EXPECT_CONFIG_ERROR(Distribution::create("ketama", named(2), compat("nginx")), "nginx");
  EXPECT_CONFIG_ERROR(Distribution::create("maglev", named(2), twemproxy()), "ketama only");
  EXPECT_CONFIG_ERROR(Distribution::create("ketama", named(2), ketama_points(0)), "ketama_points");
  EXPECT_CONFIG_ERROR(
      Distribution::create("ketama", {{"a", 4'000'000}, {"b", 1}}, ketama_points(160)), "limit");
  EXPECT_CONFIG_ERROR(Distribution::create("maglev", named(2), maglev_size(65536)), "prime");
  EXPECT_CONFIG_ERROR(Distribution::create("maglev", named(5), maglev_size(3)), "prime");
}

TEST(Distribution, MaglevTableSize) {
  EXPECT_EQ(flyshard::detail::maglev_default_table_size(1), 65537u);
  EXPECT_EQ(flyshard::detail::maglev_default_table_size(655), 65537u);
  EXPECT_EQ(flyshard::detail::maglev_default_table_size(1000), 100003u);
  EXPECT_TRUE(flyshard::detail::is_prime(65537));
  EXPECT_FALSE(flyshard::detail::is_prime(65539 * 3));
  // An explicit prime size is taken as is, and every shard gets slots.
  const auto d = Distribution::create("maglev", named(3), maglev_size(101));
  const auto c = counts(d, 10'000);
  for (auto x : c) EXPECT_GT(x, 2'500u);
}

TEST(Distribution, SingleShardOwnsEverything) {
  for (const auto& alg : kAlgorithms) {
    const auto d = Distribution::create(alg, {{"only", 3}});
    for (std::size_t i = 0; i < 1000; ++i) EXPECT_EQ(d.shard_for(keys()[i]), 0u);
    EXPECT_EQ(d.shard_for(""), 0u);
  }
  const auto t = Distribution::create("ketama", {{"only", 1}}, twemproxy());
  EXPECT_EQ(t.shard_for("foo"), 0u);
}

TEST(Distribution, AnyKeyIsAccepted) {
  for (const auto& alg : kAlgorithms) {
    const auto d = Distribution::create(alg, named(7));
    for (std::string_view k : {"", "{", "}", "{}", "\xff\xfe", "a{}b"}) {
      EXPECT_LT(d.shard_for(k), 7u);
    }
    EXPECT_LT(d.shard_for(std::string(10'000, 'x')), 7u);
  }
}

// ---- natural order (jump) ---------------------------------------------------------------

TEST(Distribution, NaturalOrder) {
  using flyshard::detail::natural_less;
  EXPECT_TRUE(natural_less("s2", "s10"));
  EXPECT_FALSE(natural_less("s10", "s2"));
  EXPECT_TRUE(natural_less("s9", "s10"));
  EXPECT_TRUE(natural_less("a", "b"));
  EXPECT_TRUE(natural_less("s1", "s1a"));
  EXPECT_TRUE(natural_less("shard-2-b", "shard-10-a"));
  EXPECT_TRUE(natural_less("node", "node1"));
  EXPECT_TRUE(natural_less("s01", "s1"));  // numerically equal: byte order decides
  EXPECT_FALSE(natural_less("s1", "s01"));
  EXPECT_FALSE(natural_less("s1", "s1"));
  EXPECT_TRUE(natural_less("s2x", "s10"));
  EXPECT_TRUE(natural_less("s99999999999999999999", "s100000000000000000000"));

  std::vector<std::string> names = {"s10", "s2", "s1", "s100", "s20", "s3", "s02"};
  std::sort(names.begin(), names.end(), natural_less);
  EXPECT_EQ(names, (std::vector<std::string>{"s1", "s02", "s2", "s3", "s10", "s20", "s100"}));
}

// ---- determinism, hash tags, order independence -----------------------------------------

TEST(Distribution, DeterministicAcrossBuilds) {
  for (const auto& alg : kAlgorithms) {
    const auto shards = std::vector<ShardWeight>{{"a", 1}, {"b", 2}, {"c", 1}, {"d", 3}};
    const auto d1 = Distribution::create(alg, shards);
    const auto d2 = Distribution::create(alg, shards);
    for (std::size_t i = 0; i < 20'000; ++i) {
      ASSERT_EQ(d1.shard_for(keys()[i]), d2.shard_for(keys()[i])) << alg << " " << keys()[i];
    }
  }
}

// Pins a few placements so that a change of any algorithm (or of a seed) is noticed: it would
// move users' data. Update only on purpose.
TEST(Distribution, PlacementIsStableAcrossVersions) {
  const auto shards = named(5);
  std::string got;
  for (const auto& alg : kAlgorithms) {
    const auto d = Distribution::create(alg, shards);
    got += alg + ":";
    for (const char* k : {"foo", "bar", "user:1", "user:2", "cart:{u42}", "", "key:99"}) {
      got += d.shards()[d.shard_for(k)].name + ",";
    }
    got += " ";
  }
  EXPECT_EQ(got,
            "ketama:s3,s5,s2,s3,s3,s1,s5, maglev:s3,s2,s2,s4,s5,s4,s4, "
            "jump:s3,s4,s2,s5,s1,s1,s1, rendezvous:s2,s2,s3,s4,s1,s4,s4, ");
}

TEST(Distribution, HashTaggedKeysShareAShard) {
  for (const auto& alg : kAlgorithms) {
    const auto d = Distribution::create(alg, named(16));
    for (int u = 0; u < 500; ++u) {
      const std::string tag = "u" + std::to_string(u);
      const auto owner = d.shard_for("cart:{" + tag + "}");
      EXPECT_EQ(d.shard_for("orders:{" + tag + "}"), owner);
      EXPECT_EQ(d.shard_for("order:{" + tag + "}:17"), owner);
      EXPECT_EQ(d.shard_for("{" + tag + "}"), owner);
      EXPECT_EQ(d.shard_for(tag), owner);
    }
  }
}

TEST(Distribution, ListOrderNeverChangesTheOwningName) {
  std::vector<ShardWeight> shards;
  for (int i = 1; i <= 12; ++i) {
    shards.push_back({"node-" + std::to_string(i), static_cast<std::uint32_t>(1 + i % 3)});
  }
  std::mt19937 rng(7);
  struct Case {
    std::string algorithm;
    DistributionOptions options;
  };
  std::vector<Case> cases;
  for (const auto& alg : kAlgorithms) cases.push_back({alg, {}});
  cases.push_back({"ketama", twemproxy()});
  for (const auto& c : cases) {
    const auto base = Distribution::create(c.algorithm, shards, c.options);
    for (int round = 0; round < 3; ++round) {
      auto shuffled = shards;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      const auto other = Distribution::create(c.algorithm, shuffled, c.options);
      EXPECT_EQ(moved(base, other, 50'000), 0.0) << c.algorithm << c.options.compat;
    }
  }
}

// ---- balance ----------------------------------------------------------------------------

TEST(Distribution, MaglevAndJumpBalanceWithinThreePercent) {
  for (const char* alg : {"maglev", "jump"}) {
    for (std::size_t n : {3u, 16u, 64u}) {
      const auto d = Distribution::create(alg, named(n));
      const double r = max_over_mean(counts(d, 1'000'000));
      report(std::string(alg) + " max/mean, 1M keys, " + std::to_string(n) + " shards", r);
      EXPECT_LE(r, 1.03) << alg << " " << n;
    }
  }
}

// Ketama's balance is limited by its 160 points per shard (one shard's share of the ring has
// a standard deviation of about 1/sqrt(160) = 8%); rendezvous's only by the key sample
// (3125 keys per shard at 64 shards). Bounds: the max/mean measured over these 200k keys
// (ketama 1.140 / 1.134 / 1.181, rendezvous 1.001 / 1.014 / 1.044 at 3 / 16 / 64 shards) plus
// a little margin.
TEST(Distribution, KetamaAndRendezvousBalance) {
  struct Bound {
    const char* algorithm;
    std::size_t shards;
    double max_over_mean;
  };
  for (const Bound& b : std::initializer_list<Bound>{{"ketama", 3, 1.17},
                                                     {"ketama", 16, 1.17},
                                                     {"ketama", 64, 1.21},
                                                     {"rendezvous", 3, 1.02},
                                                     {"rendezvous", 16, 1.03},
                                                     {"rendezvous", 64, 1.06}}) {
    const auto d = Distribution::create(b.algorithm, named(b.shards));
    const double r = max_over_mean(counts(d, 200'000));
    report(
        std::string(b.algorithm) + " max/mean, 200k keys, " + std::to_string(b.shards) + " shards",
        r);
    EXPECT_LE(r, b.max_over_mean) << b.algorithm << " " << b.shards;
  }
}

TEST(Distribution, WeightsAreRespected) {
  const std::vector<ShardWeight> shards = {{"a", 1}, {"b", 2}, {"c", 1}, {"d", 1}};
  struct Case {
    const char* algorithm;
    DistributionOptions options;
  };
  for (const Case& c : {Case{"ketama", {}}, Case{"ketama", twemproxy()}, Case{"maglev", {}},
                        Case{"rendezvous", {}}}) {
    const auto d = Distribution::create(c.algorithm, shards, c.options);
    const auto n = counts(d, 200'000);
    const double light = static_cast<double>(n[0] + n[2] + n[3]) / 3.0;
    const double ratio = static_cast<double>(n[1]) / light;
    report(std::string(c.algorithm) + c.options.compat + " weight-2 / weight-1 share", ratio);
    // nutcracker gives these weight-1 servers only 128 points each, so its ring is coarser
    // (measured 2.25 here); the native modes measured 2.06 (ketama), 2.00 (maglev, rendezvous).
    const double tolerance = c.options.compat.empty() ? 0.2 : 0.4;
    EXPECT_GT(ratio, 2.0 - tolerance) << c.algorithm << c.options.compat;
    EXPECT_LT(ratio, 2.0 + tolerance) << c.algorithm << c.options.compat;
  }
  // Jump ignores weights.
  const auto j = Distribution::create("jump", shards);
  EXPECT_LE(max_over_mean(counts(j, 200'000)), 1.03);
}

// ---- keys moved when a shard is added -------------------------------------------------

TEST(Distribution, AddingAShardMovesAboutItsShare) {
  struct Bound {
    const char* algorithm;
    double factor;  // moved fraction / ideal 1/(n+1), for each n
    double mean;    // the same, averaged over the three n
  };
  // Measured moved/ideal at n = 3 / 16 / 64 (200k keys):
  //   jump        0.995 / 1.013 / 0.983
  //   rendezvous  1.000 / 1.000 / 1.045
  //   ketama      1.024 / 0.966 / 1.117
  //   maglev      1.006 / 1.048 / 1.297
  // Jump and rendezvous move only the new shard's share, which is 1/(n+1) up to sampling:
  // within 1.1 x ideal. Ketama also moves exactly the new shard's share, but that share is
  // the sum of 160 random arcs, about +-8% (1 sd) around the ideal: 64 -> 65 happens to give
  // s65 11.7% more than its share, so the per-step bound is 1.15 and the mean over the three
  // steps is held to 1.1. Maglev refills its table, and some slots change hands between old
  // shards too; the bound is its measured worst (1.30 at 64 -> 65) plus margin: 1.4.
  for (const Bound& b : std::initializer_list<Bound>{{"jump", 1.1, 1.1},
                                                     {"rendezvous", 1.1, 1.1},
                                                     {"ketama", 1.15, 1.1},
                                                     {"maglev", 1.4, 1.4}}) {
    double sum = 0;
    for (std::size_t n : {3u, 16u, 64u}) {
      const auto before = Distribution::create(b.algorithm, named(n));
      const auto after = Distribution::create(b.algorithm, named(n + 1));
      const double ideal = 1.0 / static_cast<double>(n + 1);
      const double f = moved(before, after, 200'000) / ideal;
      report(std::string(b.algorithm) + " moved/ideal, " + std::to_string(n) + " -> " +
                 std::to_string(n + 1),
             f);
      EXPECT_LE(f, b.factor) << b.algorithm << " " << n;
      sum += f;
    }
    EXPECT_LE(sum / 3, b.mean) << b.algorithm;
  }
}

TEST(Distribution, AddingAShardMovesKeysOnlyToIt) {
  for (const char* alg : {"ketama", "jump", "rendezvous"}) {
    const auto before = Distribution::create(alg, named(10));
    const auto after = Distribution::create(alg, named(11));
    for (std::size_t i = 0; i < 100'000; ++i) {
      const auto& k = keys()[i];
      const auto& was = before.shards()[before.shard_for(k)].name;
      const auto& now = after.shards()[after.shard_for(k)].name;
      if (was != now) {
        ASSERT_EQ(now, "s11") << alg << " " << k;
      }
    }
  }
}

TEST(Distribution, AddingAWeightedShardMovesItsWeightedShare) {
  std::vector<ShardWeight> shards;
  for (int i = 1; i <= 9; ++i) {
    shards.push_back({"w" + std::to_string(i), static_cast<std::uint32_t>(1 + i % 3)});
  }
  auto grown = shards;
  grown.push_back({"w10", 3});
  const double ideal = 3.0 / (18.0 + 3.0);  // the new shard's weight over the new total
  for (const char* alg : {"ketama", "rendezvous"}) {
    const auto before = Distribution::create(alg, shards);
    const auto after = Distribution::create(alg, grown);
    std::size_t moved_keys = 0;
    for (std::size_t i = 0; i < 100'000; ++i) {
      const auto& k = keys()[i];
      const auto& was = before.shards()[before.shard_for(k)].name;
      const auto& now = after.shards()[after.shard_for(k)].name;
      if (was != now) {
        ASSERT_EQ(now, "w10") << alg << " " << k;
        ++moved_keys;
      }
    }
    const double f = static_cast<double>(moved_keys) / 100'000 / ideal;
    report(std::string(alg) + " weighted moved/ideal, 9 -> 10 shards", f);
    EXPECT_GT(f, 0.85) << alg;
    EXPECT_LT(f, 1.15) << alg;
  }
}

// ---- twemproxy compat --------------------------------------------------------------------

TEST(Twemproxy, Fnv1a64IsThirtyTwoBit) {
  // FNV-1a in 32 bits with the 64-bit basis (0xcbf29ce484222325 -> 0x84222325) and prime
  // (0x100000001b3 -> 0x1b3), computed here step by step for "foo".
  std::uint32_t h = 0x84222325u;
  for (unsigned char c : std::string("foo")) {
    h ^= c;
    h *= 0x1b3u;
  }
  EXPECT_EQ(h, 0xfed9d577u);
  EXPECT_EQ(flyshard::detail::twemproxy_fnv1a_64("foo"), 0xfed9d577u);
  EXPECT_EQ(flyshard::detail::twemproxy_fnv1a_64(""), 0x84222325u);
  // Bytes >= 0x80 are sign-extended (nutcracker reads them through a signed char).
  EXPECT_EQ(flyshard::detail::twemproxy_fnv1a_64("\xc3\xa9"), 0xb4cc3001u);
}

TEST(Twemproxy, PointsPerServer) {
  using flyshard::detail::twemproxy_points;
  EXPECT_EQ(twemproxy_points(1, 3, 3), 160u);
  EXPECT_EQ(twemproxy_points(1, 1, 1), 160u);
  // float rounding: 1/25 * 40 * 25 lands just under 40, so nutcracker gives 156, not 160.
  EXPECT_EQ(twemproxy_points(1, 25, 25), 156u);
  EXPECT_EQ(twemproxy_points(1, 8, 3), 60u);
  EXPECT_EQ(twemproxy_points(2, 8, 3), 120u);
  EXPECT_EQ(twemproxy_points(5, 8, 3), 300u);
}

TEST(Twemproxy, KetamaHashIsLittleEndianMd5Words) {
  // MD5("s1-0") = 4b762698 784b0045 c38cd842 1707a59a
  using flyshard::detail::twemproxy_ketama_hash;
  EXPECT_EQ(twemproxy_ketama_hash("s1-0", 0), 0x9826764bu);
  EXPECT_EQ(twemproxy_ketama_hash("s1-0", 1), 0x45004b78u);
  EXPECT_EQ(twemproxy_ketama_hash("s1-0", 2), 0x42d88cc3u);
  EXPECT_EQ(twemproxy_ketama_hash("s1-0", 3), 0x9aa50717u);
}

// Expected owners from an independent model of nc_ketama.c (Python: hashlib.md5, float32
// via struct, bisect), for servers s1 s2 s3 with weights 1 1 1 and 1 2 5.
TEST(Twemproxy, KnownPlacements) {
  const auto equal = Distribution::create("ketama", {{"s1", 1}, {"s2", 1}, {"s3", 1}}, twemproxy());
  const auto weighted =
      Distribution::create("ketama", {{"s1", 1}, {"s2", 2}, {"s3", 5}}, twemproxy());
  struct Expect {
    std::string key;
    const char* equal;
    const char* weighted;
  };
  const Expect expected[] = {
      {"foo", "s3", "s3"},       {"bar", "s3", "s3"},
      {"hello", "s2", "s3"},     {"user:1", "s2", "s2"},
      {"user:2", "s2", "s2"},    {"cart:{u42}", "s2", "s2"},
      {"{u42}", "s2", "s2"},     {"u42", "s2", "s2"},
      {"", "s3", "s3"},          {"\xc3\xa9t\xc3\xa9", "s1", "s3"},
      {"key:12345", "s3", "s3"}, {"a{}b", "s1", "s1"},
  };
  for (const auto& e : expected) {
    EXPECT_EQ(equal.shards()[equal.shard_for(e.key)].name, e.equal) << e.key;
    EXPECT_EQ(weighted.shards()[weighted.shard_for(e.key)].name, e.weighted) << e.key;
  }
}

}  // namespace
