#include "flyshard/topology.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "config_error.hpp"
#include "flyshard/error.hpp"

namespace flyshard {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using flyshard::testing::config_error;

std::string json_error(const std::string& json) {
  return config_error([&] { (void)Topology::from_json(json); });
}

std::string address_error(std::string_view text) {
  return config_error([&] { (void)NodeAddress::parse(text); });
}

// A JSON topology with one shard and whatever `extra` adds at the top level.
std::string one_shard(const std::string& extra = "") {
  return R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001"}])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

// ---- NodeAddress ----------------------------------------------------------------------------

TEST(NodeAddressTest, ParsesHostAndPort) {
  auto a = NodeAddress::parse("127.0.0.1:6379");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6379);
  a = NodeAddress::parse("cache-1.internal:1");
  EXPECT_EQ(a.host, "cache-1.internal");
  EXPECT_EQ(a.port, 1);
  EXPECT_EQ(NodeAddress::parse("h:65535").port, 65535);
  EXPECT_EQ(NodeAddress::parse("h:007000").port, 7000);
}

TEST(NodeAddressTest, ParsesBracketedIPv6) {
  auto a = NodeAddress::parse("[::1]:7000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  a = NodeAddress::parse("[fe80::1%eth0]:6380");
  EXPECT_EQ(a.host, "fe80::1%eth0");
  EXPECT_EQ(a.to_string(), "[fe80::1%eth0]:6380");
}

TEST(NodeAddressTest, ToStringRoundTrips) {
  for (const char* text : {"127.0.0.1:7001", "localhost:6379", "[::1]:7000", "[2001:db8::2]:1"}) {
    const auto a = NodeAddress::parse(text);
    EXPECT_EQ(a.to_string(), text);
    EXPECT_EQ(NodeAddress::parse(a.to_string()), a);
  }
}

TEST(NodeAddressTest, Rejects) {
  EXPECT_THAT(address_error(""), HasSubstr("empty address"));
  EXPECT_THAT(address_error("localhost"), HasSubstr("missing port"));
  EXPECT_THAT(address_error("localhost:"), HasSubstr("missing port"));
  EXPECT_THAT(address_error(":6379"), HasSubstr("empty host"));
  EXPECT_THAT(address_error("h:0"), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(address_error("h:65536"), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(address_error("h:99999999999999999999"), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(address_error("h:abc"), HasSubstr("port is not a number"));
  EXPECT_THAT(address_error("h:12a"), HasSubstr("port is not a number"));
  EXPECT_THAT(address_error("h:-1"), HasSubstr("port is not a number"));
  EXPECT_THAT(address_error("h: 80"), HasSubstr("port is not a number"));
  EXPECT_THAT(address_error("::1:6379"), HasSubstr("needs brackets"));
  EXPECT_THAT(address_error("[::1]"), HasSubstr("missing port"));
  EXPECT_THAT(address_error("[::1]:"), HasSubstr("missing port"));
  EXPECT_THAT(address_error("[::1]6379"), HasSubstr("expected ':' after ']'"));
  EXPECT_THAT(address_error("[::1:6379"), HasSubstr("missing ']'"));
  EXPECT_THAT(address_error("[]:6379"), HasSubstr("empty host"));
  EXPECT_THAT(address_error("[localhost]:6379"), HasSubstr("only for IPv6"));
  EXPECT_THAT(address_error("my host:6379"), HasSubstr("invalid character"));
  // The message quotes the input.
  EXPECT_THAT(address_error("nope"), HasSubstr("\"nope\""));
}

// ---- from_json: valid input -----------------------------------------------------------------

TEST(TopologyJson, MinimalDefaults) {
  const Topology t = Topology::from_json(one_shard());
  EXPECT_EQ(t.distribution, "ketama");
  EXPECT_EQ(t.distribution_options.compat, "");
  EXPECT_EQ(t.distribution_options.ketama_points, 160u);
  EXPECT_EQ(t.distribution_options.maglev_table_size, 0u);
  ASSERT_EQ(t.shards.size(), 1u);
  EXPECT_EQ(t.shards[0].name, "s1");
  EXPECT_EQ(t.shards[0].weight, 1u);
  EXPECT_EQ(t.shards[0].primary, (NodeAddress{"127.0.0.1", 7001}));
  EXPECT_TRUE(t.shards[0].replicas.empty());
  EXPECT_FALSE(t.sentinel.has_value());
  EXPECT_EQ(t.auth.username, "");
  EXPECT_EQ(t.auth.password, "");
  EXPECT_EQ(t.database, 0);
}

TEST(TopologyJson, FullExampleWithPasswordEnv) {
  ::setenv("FLYSHARD_TEST_PASSWORD", "s3cret", 1);
  const Topology t = Topology::from_json(R"({
    "distribution": "maglev",
    "maglev_table_size": 65537,
    "shards": [
      { "name": "s1", "weight": 2, "primary": "127.0.0.1:7001", "replicas": ["127.0.0.1:7101"] },
      { "name": "s2", "weight": 1, "primary": "127.0.0.1:7002",
        "replicas": ["127.0.0.1:7102", "[::1]:7202"] }
    ],
    "sentinel": { "addresses": ["127.0.0.1:26379"], "master_prefix": "flyshard-" },
    "auth": { "username": "shop", "password_env": "FLYSHARD_TEST_PASSWORD" },
    "database": 3
  })");
  ::unsetenv("FLYSHARD_TEST_PASSWORD");
  EXPECT_EQ(t.distribution, "maglev");
  EXPECT_EQ(t.distribution_options.maglev_table_size, 65537u);
  ASSERT_EQ(t.shards.size(), 2u);
  EXPECT_EQ(t.shards[0].weight, 2u);
  ASSERT_EQ(t.shards[0].replicas.size(), 1u);
  EXPECT_EQ(t.shards[0].replicas[0].to_string(), "127.0.0.1:7101");
  ASSERT_EQ(t.shards[1].replicas.size(), 2u);
  EXPECT_EQ(t.shards[1].replicas[1].host, "::1");
  ASSERT_TRUE(t.sentinel.has_value());
  ASSERT_EQ(t.sentinel->addresses.size(), 1u);
  EXPECT_EQ(t.sentinel->addresses[0].port, 26379);
  EXPECT_EQ(t.sentinel->master_prefix, "flyshard-");
  EXPECT_EQ(t.auth.username, "shop");
  EXPECT_EQ(t.auth.password, "s3cret");
  EXPECT_EQ(t.database, 3);
}

TEST(TopologyJson, InlinePasswordAndKetamaOptions) {
  const Topology t = Topology::from_json(
      one_shard(R"("compat": "twemproxy", "ketama_points": 100, "auth": {"password": "pw"})"));
  EXPECT_EQ(t.distribution_options.compat, "twemproxy");
  EXPECT_EQ(t.distribution_options.ketama_points, 100u);
  EXPECT_EQ(t.auth.username, "");
  EXPECT_EQ(t.auth.password, "pw");
}

// ---- from_json: errors ----------------------------------------------------------------------

TEST(TopologyJson, SyntaxError) {
  const std::string m = json_error(R"({"shards": [ )");
  EXPECT_THAT(m, StartsWith("(root): invalid JSON at byte "));
  EXPECT_THAT(json_error(""), StartsWith("(root): invalid JSON at byte "));
  EXPECT_THAT(json_error(R"({"shards": []} trailing)"), StartsWith("(root): invalid JSON"));
}

TEST(TopologyJson, RootMustBeAnObject) {
  EXPECT_THAT(json_error("[]"), StartsWith("(root): expected an object"));
  EXPECT_THAT(json_error("42"), StartsWith("(root): expected an object, got 42"));
}

TEST(TopologyJson, Shards) {
  EXPECT_THAT(json_error("{}"), StartsWith("shards: expected a non-empty array"));
  EXPECT_THAT(json_error(R"({"shards": []})"), StartsWith("shards: expected a non-empty array"));
  EXPECT_THAT(json_error(R"({"shards": {}})"), StartsWith("shards: expected a non-empty array"));
  EXPECT_THAT(json_error(R"({"shards": "s1"})"),
              StartsWith("shards: expected a non-empty array, got \"s1\""));
  EXPECT_THAT(json_error(R"({"shards": [42]})"),
              StartsWith("shards[0]: expected an object, got 42"));
}

TEST(TopologyJson, PrimaryNotAString) {
  const std::string m = json_error(R"({"shards": [
      {"name": "s1", "primary": "127.0.0.1:7001"},
      {"name": "s2", "primary": "127.0.0.1:7002"},
      {"name": "s3", "primary": 42}]})");
  EXPECT_THAT(m, StartsWith(R"(shards[2].primary: expected "host:port" or a redis://, rediss:// )"
                            R"(or unix:// URI, got 42)"));
}

TEST(TopologyJson, PrimaryBadAddress) {
  EXPECT_THAT(
      json_error(R"({"shards": [{"name": "s1", "primary": "localhost"}]})"),
      StartsWith(R"(shards[0].primary: expected "host:port", got "localhost" (missing port))"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:0"}]})"),
              StartsWith("shards[0].primary: expected \"host:port\""));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:65536"}]})"),
              HasSubstr("port must be 1..65535"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1"}]})"),
              StartsWith("shards[0].primary: missing"));
}

TEST(TopologyJson, Names) {
  EXPECT_THAT(json_error(R"({"shards": [{"primary": "h:1"}]})"),
              StartsWith("shards[0].name: missing"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "", "primary": "h:1"}]})"),
              StartsWith("shards[0].name: expected a non-empty string"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": 7, "primary": "h:1"}]})"),
              StartsWith("shards[0].name: expected a non-empty string, got 7"));
  EXPECT_EQ(json_error(R"({"shards": [{"name": "s1", "primary": "h:1"},
                                       {"name": "s1", "primary": "h:2"}]})")
                .rfind(R"(shards[1].name: duplicate shard name "s1" (also shards[0]))", 0),
            0u);
}

TEST(TopologyJson, DuplicateAddress) {
  const std::string m = json_error(R"({"shards": [
      {"name": "s1", "primary": "127.0.0.1:7001"},
      {"name": "s2", "primary": "127.0.0.1:7002"},
      {"name": "s3", "primary": "127.0.0.1:7003"},
      {"name": "s4", "primary": "127.0.0.1:7004", "replicas": ["127.0.0.1:7001"]}]})");
  EXPECT_THAT(m, StartsWith("shards[3].replicas[0]: duplicate address 127.0.0.1:7001 (also "
                            "shards[0].primary)"));
  EXPECT_THAT(
      json_error(R"({"shards": [
      {"name": "s1", "primary": "h:1", "replicas": ["h:2", "h:2"]}]})"),
      StartsWith("shards[0].replicas[1]: duplicate address h:2 (also shards[0].replicas[0])"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:1", "replicas": ["h:1"]}]})"),
              StartsWith("shards[0].replicas[0]: duplicate address h:1 (also shards[0].primary)"));
}

TEST(TopologyJson, Weight) {
  for (const char* w : {"0", "-1", "1.5", "\"2\"", "true", "null", "4294967296"}) {
    const std::string m = json_error(std::string(R"({"shards": [{"name": "s1", "weight": )") + w +
                                     R"(, "primary": "h:1"}]})");
    EXPECT_THAT(m, StartsWith("shards[0].weight: expected a positive integer")) << w;
  }
  EXPECT_EQ(
      Topology::from_json(R"({"shards": [{"name": "s1", "weight": 4294967295, "primary": "h:1"}]})")
          .shards[0]
          .weight,
      4294967295u);
}

TEST(TopologyJson, Replicas) {
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:1", "replicas": "h:2"}]})"),
              StartsWith("shards[0].replicas: expected an array of \"host:port\", got \"h:2\""));
  EXPECT_THAT(
      json_error(R"({"shards": [{"name": "s1", "primary": "h:1", "replicas": ["h:2", 5]}]})"),
      StartsWith("shards[0].replicas[1]: expected \"host:port\" or a redis://, rediss:// or "
                 "unix:// URI, got 5"));
  EXPECT_THAT(
      json_error(R"({"shards": [{"name": "s1", "primary": "h:1", "replicas": ["h:2", "h"]}]})"),
      StartsWith("shards[0].replicas[1]: expected \"host:port\", got \"h\" (missing port)"));
  // An empty replica list is fine.
  EXPECT_TRUE(
      Topology::from_json(R"({"shards": [{"name": "s1", "primary": "h:1", "replicas": []}]})")
          .shards[0]
          .replicas.empty());
}

TEST(TopologyJson, Distribution) {
  EXPECT_THAT(
      json_error(one_shard(R"("distribution": "foo")")),
      StartsWith(R"(distribution: unknown "foo" (expected ketama, maglev, jump, rendezvous))"));
  EXPECT_THAT(json_error(one_shard(R"("distribution": 5)")),
              StartsWith("distribution: expected a string, got 5"));
  for (const char* d : {"ketama", "maglev", "jump", "rendezvous"}) {
    EXPECT_EQ(
        Topology::from_json(one_shard(std::string(R"("distribution": ")") + d + "\"")).distribution,
        d);
  }
}

TEST(TopologyJson, DistributionOptions) {
  EXPECT_THAT(json_error(one_shard(R"("compat": "nutcracker")")),
              StartsWith(R"(compat: unknown "nutcracker")"));
  EXPECT_THAT(json_error(one_shard(R"("distribution": "maglev", "compat": "twemproxy")")),
              StartsWith("compat: \"twemproxy\" applies only to the ketama distribution"));
  EXPECT_THAT(json_error(one_shard(R"("compat": 1)")), StartsWith("compat: expected a string"));
  EXPECT_THAT(json_error(one_shard(R"("ketama_points": 0)")),
              StartsWith("ketama_points: expected a positive integer"));
  EXPECT_THAT(json_error(one_shard(R"("maglev_table_size": -3)")),
              StartsWith("maglev_table_size: expected a non-negative integer"));
}

TEST(TopologyJson, Database) {
  EXPECT_THAT(json_error(one_shard(R"("database": -1)")),
              StartsWith("database: expected a non-negative integer, got -1"));
  EXPECT_THAT(json_error(one_shard(R"("database": "0")")),
              StartsWith("database: expected a non-negative integer"));
  EXPECT_THAT(json_error(one_shard(R"("database": 3000000000)")), StartsWith("database: "));
  EXPECT_EQ(Topology::from_json(one_shard(R"("database": 15)")).database, 15);
}

TEST(TopologyJson, UnknownKeys) {
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primry": "h:1"}]})"),
              StartsWith("shards[0].primry: unknown key"));
  EXPECT_THAT(json_error(one_shard(R"("distrib": "maglev")")), StartsWith("distrib: unknown key"));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {"addresses": ["h:9"], "prefix": "x"})")),
              StartsWith("sentinel.prefix: unknown key"));
  EXPECT_THAT(json_error(one_shard(R"("auth": {"user": "x", "password": "y"})")),
              StartsWith("auth.user: unknown key"));
  // The message lists what is allowed.
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:1", "replica": []}]})"),
              HasSubstr("replicas"));
}

TEST(TopologyJson, DuplicateKeys) {
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "name": "s2", "primary": "h:1"}]})"),
              StartsWith("shards[0].name: duplicate key"));
  EXPECT_THAT(json_error(R"({"shards": [{"name": "s1", "primary": "h:1"},
                                       {"name": "s2", "primary": "h:2", "primary": "h:3"}]})"),
              StartsWith("shards[1].primary: duplicate key"));
  EXPECT_THAT(json_error(one_shard(R"("database": 1, "database": 2)")),
              StartsWith("database: duplicate key"));
}

TEST(TopologyJson, Sentinel) {
  EXPECT_THAT(json_error(one_shard(R"("sentinel": [])")),
              StartsWith("sentinel: expected an object"));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {})")),
              StartsWith("sentinel.addresses: missing"));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {"addresses": []})")),
              StartsWith("sentinel.addresses: expected a non-empty array"));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {"addresses": ["h:9", "x"]})")),
              StartsWith("sentinel.addresses[1]: expected \"host:port\""));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {"addresses": ["h:9"], "master_prefix": 1})")),
              StartsWith("sentinel.master_prefix: expected a string"));
  EXPECT_THAT(json_error(one_shard(R"("sentinel": {"addresses": ["127.0.0.1:7001"]})")),
              StartsWith("sentinel.addresses[0]: duplicate address 127.0.0.1:7001 (also "
                         "shards[0].primary)"));
  const Topology t = Topology::from_json(one_shard(R"("sentinel": {"addresses": ["h:9"]})"));
  ASSERT_TRUE(t.sentinel);
  EXPECT_EQ(t.sentinel->master_prefix, "");
}

TEST(TopologyJson, Auth) {
  ::unsetenv("FLYSHARD_TEST_UNSET_VAR");
  EXPECT_THAT(
      json_error(one_shard(R"("auth": {"password_env": "FLYSHARD_TEST_UNSET_VAR"})")),
      StartsWith("auth.password_env: environment variable FLYSHARD_TEST_UNSET_VAR is not set"));
  EXPECT_THAT(json_error(one_shard(R"("auth": {"password_env": ""})")),
              StartsWith("auth.password_env: expected the name of an environment variable"));
  EXPECT_THAT(json_error(one_shard(R"("auth": {"password_env": 3})")),
              StartsWith("auth.password_env: expected a string"));
  EXPECT_THAT(json_error(one_shard(R"("auth": {"password": "a", "password_env": "B"})")),
              StartsWith("auth.password_env: give either password or password_env"));
  EXPECT_THAT(json_error(one_shard(R"("auth": {"username": "shop"})")),
              StartsWith("auth: username \"shop\" given without password"));
  EXPECT_THAT(json_error(one_shard(R"("auth": "pw")")), StartsWith("auth: expected an object"));
  // Set but empty is allowed: it means no AUTH.
  ::setenv("FLYSHARD_TEST_EMPTY_VAR", "", 1);
  EXPECT_EQ(Topology::from_json(one_shard(R"("auth": {"password_env": "FLYSHARD_TEST_EMPTY_VAR"})"))
                .auth.password,
            "");
  ::unsetenv("FLYSHARD_TEST_EMPTY_VAR");
}

// ---- files ----------------------------------------------------------------------------------

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = std::filesystem::temp_directory_path() /
            ("flyshard_topology_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter_++) + ".json");
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(TopologyFile, Loads) {
  TempFile f(one_shard(R"("distribution": "jump")"));
  const Topology t = Topology::from_json_file(f.path());
  EXPECT_EQ(t.distribution, "jump");
  EXPECT_EQ(t.shards.size(), 1u);
}

TEST(TopologyFile, ErrorsNameTheFile) {
  TempFile f(R"({"shards": [{"name": "s1", "primary": "h:1"}, {"name": "s2", "primary": "h:2"},
                           {"name": "s3", "primary": 42}]})");
  const std::string m = config_error([&] { (void)Topology::from_json_file(f.path()); });
  EXPECT_THAT(m, StartsWith(f.path().string() +
                            R"(: shards[2].primary: expected "host:port" or a redis://)"));

  TempFile dup(
      R"({"shards": [{"name": "s1", "primary": "h:1"}, {"name": "s1", "primary": "h:2"}]})");
  EXPECT_THAT(config_error([&] { (void)Topology::from_json_file(dup.path()); }),
              StartsWith(dup.path().string() + ": shards[1].name: duplicate shard name"));

  TempFile syntax("{");
  EXPECT_THAT(config_error([&] { (void)Topology::from_json_file(syntax.path()); }),
              StartsWith(syntax.path().string() + ": (root): invalid JSON at byte "));
}

TEST(TopologyFile, Unreadable) {
  const std::string missing = "/nonexistent/flyshard/cluster.json";
  EXPECT_THAT(config_error([&] { (void)Topology::from_json_file(missing); }),
              StartsWith(missing + ": cannot open"));
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_THAT(config_error([&] { (void)Topology::from_json_file(dir); }),
              StartsWith(dir.string() + ": cannot read"));
}

// ---- to_json --------------------------------------------------------------------------------

Topology sample_topology() {
  Topology t;
  t.distribution = "rendezvous";
  t.distribution_options.maglev_table_size = 0;
  t.shards.push_back({"alpha", 3, {"10.0.0.1", 7001}, {{"10.0.0.2", 7001}, {"::1", 7002}}});
  t.shards.push_back({"beta", 1, {"db-2.internal", 6379}, {}});
  t.sentinel = SentinelSpec{{{"10.0.0.9", 26379}, {"10.0.0.10", 26379}}, "shop-"};
  t.database = 2;
  return t;
}

void expect_same(const Topology& a, const Topology& b) {
  EXPECT_EQ(a.distribution, b.distribution);
  EXPECT_EQ(a.distribution_options.compat, b.distribution_options.compat);
  EXPECT_EQ(a.distribution_options.ketama_points, b.distribution_options.ketama_points);
  EXPECT_EQ(a.distribution_options.maglev_table_size, b.distribution_options.maglev_table_size);
  ASSERT_EQ(a.shards.size(), b.shards.size());
  for (std::size_t i = 0; i < a.shards.size(); ++i) {
    EXPECT_EQ(a.shards[i].name, b.shards[i].name);
    EXPECT_EQ(a.shards[i].weight, b.shards[i].weight);
    EXPECT_EQ(a.shards[i].primary, b.shards[i].primary);
    EXPECT_EQ(a.shards[i].replicas, b.shards[i].replicas);
  }
  ASSERT_EQ(a.sentinel.has_value(), b.sentinel.has_value());
  if (a.sentinel) {
    EXPECT_EQ(a.sentinel->addresses, b.sentinel->addresses);
    EXPECT_EQ(a.sentinel->master_prefix, b.sentinel->master_prefix);
  }
  EXPECT_EQ(a.database, b.database);
}

TEST(TopologyToJson, RoundTrips) {
  const Topology t = sample_topology();
  const Topology back = Topology::from_json(t.to_json());
  expect_same(t, back);

  Topology k;
  k.distribution_options.compat = "twemproxy";
  k.distribution_options.ketama_points = 40;
  k.shards.push_back({"only", 1, {"127.0.0.1", 7001}, {}});
  expect_same(k, Topology::from_json(k.to_json()));

  Topology m;
  m.distribution = "maglev";
  m.distribution_options.maglev_table_size = 65537;
  m.shards.push_back({"a", 1, {"h", 1}, {}});
  expect_same(m, Topology::from_json(m.to_json()));
}

TEST(TopologyToJson, NeverWritesThePassword) {
  Topology t = sample_topology();
  t.auth.username = "shop";
  t.auth.password = "hunter2";
  const std::string json = t.to_json();
  EXPECT_EQ(json.find("hunter2"), std::string::npos);
  EXPECT_EQ(json.find("password"), std::string::npos);
}

// ---- validate -------------------------------------------------------------------------------

std::string validate_error(const Topology& t) {
  return config_error([&] { t.validate(); });
}

TEST(TopologyValidate, AcceptsAGoodTopology) {
  EXPECT_NO_THROW(sample_topology().validate());
}

TEST(TopologyValidate, Rejects) {
  Topology t;
  EXPECT_THAT(validate_error(t), StartsWith("shards: expected a non-empty array"));

  t = sample_topology();
  t.shards[1].name = "alpha";
  EXPECT_THAT(validate_error(t),
              StartsWith(R"(shards[1].name: duplicate shard name "alpha" (also shards[0]))"));

  t = sample_topology();
  t.shards[1].name.clear();
  EXPECT_THAT(validate_error(t), StartsWith("shards[1].name: expected a non-empty string"));

  t = sample_topology();
  t.shards[0].weight = 0;
  EXPECT_THAT(validate_error(t), StartsWith("shards[0].weight: expected a positive integer"));

  t = sample_topology();
  t.shards[1].primary.port = 0;
  EXPECT_THAT(validate_error(t), StartsWith("shards[1].primary: invalid address"));
  EXPECT_THAT(validate_error(t), HasSubstr("port must be 1..65535"));

  t = sample_topology();
  t.shards[0].replicas[0].host.clear();
  EXPECT_THAT(validate_error(t), StartsWith("shards[0].replicas[0]: invalid address"));

  t = sample_topology();
  t.shards[1].replicas.push_back(t.shards[0].replicas[1]);
  EXPECT_THAT(validate_error(t),
              StartsWith("shards[1].replicas[0]: duplicate address [::1]:7002 (also "
                         "shards[0].replicas[1])"));

  t = sample_topology();
  t.distribution = "consistent";
  EXPECT_THAT(validate_error(t), StartsWith(R"(distribution: unknown "consistent")"));

  t = sample_topology();
  t.sentinel->addresses.clear();
  EXPECT_THAT(validate_error(t), StartsWith("sentinel.addresses: expected a non-empty array"));

  t = sample_topology();
  t.database = -1;
  EXPECT_THAT(validate_error(t), StartsWith("database: expected a non-negative integer"));

  t = sample_topology();
  t.distribution_options.ketama_points = 0;
  EXPECT_THAT(validate_error(t), StartsWith("ketama_points: expected a positive integer"));
}

// ---- make_distribution ----------------------------------------------------------------------

TEST(TopologyDistribution, FollowsTheShardList) {
  const Topology t = sample_topology();
  const Distribution d = t.make_distribution();
  EXPECT_EQ(d.algorithm(), "rendezvous");
  ASSERT_EQ(d.size(), 2u);
  ASSERT_EQ(d.shards().size(), 2u);
  EXPECT_EQ(d.shards()[0].name, "alpha");
  EXPECT_EQ(d.shards()[0].weight, 3u);
  EXPECT_EQ(d.shards()[1].name, "beta");
  for (const char* key : {"a", "b", "cart:{u42}"}) EXPECT_LT(d.shard_for(key), 2u);
}

TEST(TopologyDistribution, ValidatesFirst) {
  Topology t = sample_topology();
  t.shards[1].name = "alpha";
  EXPECT_THAT(config_error([&] { (void)t.make_distribution(); }),
              StartsWith("shards[1].name: duplicate shard name"));
}

}  // namespace
}  // namespace flyshard
