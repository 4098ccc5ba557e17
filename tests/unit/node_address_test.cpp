// NodeAddress's text forms: "host:port", "[v6]:port" and the redis://, rediss://, unix://
// URIs, accepted wherever an address is (NodeAddress::parse, the topology JSON, the CLI).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "config_error.hpp"
#include "flyshard/error.hpp"
#include "flyshard/topology.hpp"

namespace flyshard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using flyshard::testing::config_error;

std::string parse_error(std::string_view text) {
  return config_error([&] { (void)NodeAddress::parse(text); });
}

std::string json_error(const std::string& address) {
  return config_error([&] {
    (void)Topology::from_json(R"({"shards": [{"name": "s1", "primary": ")" + address + R"("}]})");
  });
}

TEST(NodeAddressUri, RedisSchemeWithEverything) {
  const auto a = NodeAddress::parse("redis://app:s3cret@cache-1.internal:7000/2");
  EXPECT_EQ(a.host, "cache-1.internal");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.username, "app");
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.db, 2);
  EXPECT_FALSE(a.tls);
  EXPECT_FALSE(a.is_unix());
}

TEST(NodeAddressUri, DefaultsAndOptionalParts) {
  auto a = NodeAddress::parse("redis://10.0.0.5");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6379);  // the URI form's default port
  EXPECT_FALSE(a.db.has_value());
  EXPECT_TRUE(a.username.empty());
  EXPECT_TRUE(a.password.empty());
  EXPECT_EQ(NodeAddress::parse("redis://h:1/").db, std::nullopt);
  EXPECT_EQ(NodeAddress::parse("redis://h:1/0").db, 0);  // explicit 0 overrides "database"
  EXPECT_EQ(NodeAddress::parse("redis://h:1?db=5").db, 5);
  EXPECT_EQ(NodeAddress::parse("REDIS://h:1").port, 1);  // schemes are case-insensitive
  // A password without a user name: AUTH <password> (the default user).
  a = NodeAddress::parse("redis://:pw@h:1");
  EXPECT_TRUE(a.username.empty());
  EXPECT_EQ(a.password, "pw");
}

TEST(NodeAddressUri, PercentEscapesInCredentials) {
  const auto a = NodeAddress::parse("redis://us%40er:p%3Aa%2Fss%25@h:1");
  EXPECT_EQ(a.username, "us@er");
  EXPECT_EQ(a.password, "p:a/ss%");
  // An unescaped '@' in the password still works: the last '@' before the path ends it.
  EXPECT_EQ(NodeAddress::parse("redis://u:p@ss@h:1").password, "p@ss");
}

TEST(NodeAddressUri, RedissSetsTls) {
  const auto a = NodeAddress::parse("rediss://h:6380");
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.to_string(), "rediss://h:6380");
}

TEST(NodeAddressUri, IPv6InBothForms) {
  auto a = NodeAddress::parse("[::1]:6379");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 6379);
  a = NodeAddress::parse("redis://[::1]:6379/2");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.db, 2);
  a = NodeAddress::parse("redis://[fe80::1]");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.to_string(), "[fe80::1]:6379");
  EXPECT_EQ(NodeAddress::parse("redis://u:p@[2001:db8::5]:7000").host, "2001:db8::5");
}

TEST(NodeAddressUri, UnixSockets) {
  auto a = NodeAddress::parse("unix:///run/redis/redis.sock");
  EXPECT_TRUE(a.is_unix());
  EXPECT_EQ(a.path, "/run/redis/redis.sock");
  EXPECT_TRUE(a.host.empty());
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(a.to_string(), "unix:///run/redis/redis.sock");
  a = NodeAddress::parse("unix://app:pw@/tmp/r.sock?db=3");
  EXPECT_EQ(a.path, "/tmp/r.sock");
  EXPECT_EQ(a.username, "app");
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(a.to_string(), "unix://app@/tmp/r.sock?db=3");
  // An '@' after the first '/' belongs to the path.
  EXPECT_EQ(NodeAddress::parse("unix:///tmp/a@b.sock").path, "/tmp/a@b.sock");
}

TEST(NodeAddressUri, ToStringNeverHoldsThePassword) {
  for (const char* text : {"redis://app:hunter22@h:1/2", "redis://:hunter22@h:1",
                           "unix://u:hunter22@/tmp/x.sock", "rediss://u:hunter22@[::1]:2"}) {
    const auto a = NodeAddress::parse(text);
    EXPECT_EQ(a.password, "hunter22") << text;
    EXPECT_THAT(a.to_string(), Not(HasSubstr("hunter22"))) << text;
  }
  EXPECT_EQ(NodeAddress::parse("redis://app:x@h:1/2").to_string(), "redis://app@h:1/2");
  EXPECT_EQ(NodeAddress::parse("redis://:x@h:1").to_string(), "h:1");  // plain form
  EXPECT_EQ(NodeAddress::parse("redis://h:1").to_string(), "h:1");
}

TEST(NodeAddressUri, ToStringParsesBack) {
  for (const char* text : {"h:1", "[::1]:2", "redis://h:1/2", "rediss://[::1]:3/0",
                           "unix:///tmp/x.sock", "unix:///tmp/x.sock?db=4"}) {
    const auto a = NodeAddress::parse(text);
    EXPECT_EQ(NodeAddress::parse(a.to_string()), a) << text;
  }
}

TEST(NodeAddressUri, MovedToKeepsCredentialsAndDatabase) {
  const auto configured = NodeAddress::parse("redis://app:pw@10.0.0.1:7000/3");
  const auto moved = configured.moved_to(NodeAddress{"10.0.0.2", 7001});
  EXPECT_EQ(moved.host, "10.0.0.2");
  EXPECT_EQ(moved.port, 7001);
  EXPECT_EQ(moved.username, "app");
  EXPECT_EQ(moved.password, "pw");
  EXPECT_EQ(moved.db, 3);
  EXPECT_TRUE(moved.same_endpoint(NodeAddress{"10.0.0.2", 7001}));
  EXPECT_FALSE(moved.same_endpoint(configured));
}

TEST(NodeAddressUri, Malformed) {
  EXPECT_THAT(parse_error("redis://h:abc"), HasSubstr("port is not a number"));
  EXPECT_THAT(parse_error("redis://h:0"), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(parse_error("redis://h:65536"), HasSubstr("port must be 1..65535"));
  EXPECT_THAT(parse_error("redis://h:"), HasSubstr("missing port"));
  EXPECT_THAT(parse_error("redis://"), HasSubstr("empty host"));
  EXPECT_THAT(parse_error("redis://:6379"), HasSubstr("empty host"));
  EXPECT_THAT(parse_error("redis:///2"), HasSubstr("empty host"));
  EXPECT_THAT(parse_error("redis://u:p@"), HasSubstr("empty host"));
  EXPECT_THAT(parse_error("http://h:1"), HasSubstr("unknown URI scheme \"http\""));
  EXPECT_THAT(parse_error("://h:1"), HasSubstr("empty URI scheme"));
  EXPECT_THAT(parse_error("red is://h:1"), HasSubstr("invalid URI scheme"));
  EXPECT_THAT(parse_error("redis://h:1/x"), HasSubstr("database is not a number"));
  EXPECT_THAT(parse_error("redis://h:1/-1"), HasSubstr("database is not a number"));
  EXPECT_THAT(parse_error("redis://h:1/99999999999"), HasSubstr("database must be 0.."));
  EXPECT_THAT(parse_error("redis://h:1/2/3"), HasSubstr("database is not a number"));
  EXPECT_THAT(parse_error("redis://h:1/2?db=3"), HasSubstr("database given twice"));
  EXPECT_THAT(parse_error("redis://h:1?timeout=5"), HasSubstr("unknown URI parameter"));
  EXPECT_THAT(parse_error("redis://h:1?db="), HasSubstr("database is empty"));
  EXPECT_THAT(parse_error("redis://::1:6379"), HasSubstr("needs brackets"));
  EXPECT_THAT(parse_error("redis://[::1"), HasSubstr("missing ']'"));
  EXPECT_THAT(parse_error("redis://[localhost]:1"), HasSubstr("only for IPv6"));
  EXPECT_THAT(parse_error("redis://my host:1"), HasSubstr("invalid character in host"));
  EXPECT_THAT(parse_error("redis://user@h:1"), HasSubstr("user name given without a password"));
  EXPECT_THAT(parse_error("redis://@h:1"), HasSubstr("empty credentials"));
  EXPECT_THAT(parse_error("redis://u:p%4@h:1"), HasSubstr("invalid %-escape in the password"));
  EXPECT_THAT(parse_error("redis://u%zz:p@h:1"), HasSubstr("invalid %-escape in the user name"));
  EXPECT_THAT(parse_error("unix://"), HasSubstr("empty unix socket path"));
  EXPECT_THAT(parse_error("unix://tmp/x.sock"), HasSubstr("must be absolute"));
  EXPECT_THAT(parse_error("unix://u:p@tmp/x.sock"), HasSubstr("must be absolute"));
  EXPECT_THAT(parse_error("unix:///" + std::string(200, 'a')), HasSubstr("longer than 107 bytes"));
  EXPECT_THAT(parse_error("unix:///tmp/x?db=z"), HasSubstr("database is not a number"));
  EXPECT_THAT(parse_error("unix:///tmp/x\x01"), HasSubstr("invalid character"));
  // "host:port" without a scheme keeps its own messages.
  EXPECT_THAT(parse_error("h"), HasSubstr("expected \"host:port\" (missing port)"));
}

TEST(NodeAddressUri, ErrorsNeverQuoteThePassword) {
  for (const char* text :
       {"redis://app:hunter22@h:abc", "redis://app:hunter22@h:1/x", "http://app:hunter22@h:1",
        "unix://app:hunter22@tmp/x", "app:hunter22@h:1"}) {
    const std::string m = parse_error(text);
    EXPECT_THAT(m, Not(HasSubstr("hunter22"))) << m;
    EXPECT_THAT(m, HasSubstr("***@")) << m;
    const std::string j = json_error(text);
    EXPECT_THAT(j, Not(HasSubstr("hunter22"))) << j;
  }
}

TEST(NodeAddressUri, TopologyJsonTakesUrisEverywhere) {
  const Topology t = Topology::from_json(R"({
    "shards": [
      {"name": "s1", "primary": "redis://app:pw@10.0.0.1:7001/2",
       "replicas": ["redis://[::1]:7101", "unix:///tmp/s1-r.sock?db=2"]},
      {"name": "s2", "primary": "unix:///tmp/s2.sock"}],
    "sentinel": {"addresses": ["redis://:spw@127.0.0.1:26379", "[::1]:26380"]},
    "database": 1})");
  EXPECT_EQ(t.shards[0].primary.password, "pw");
  EXPECT_EQ(t.shards[0].primary.db, 2);
  EXPECT_EQ(t.shards[0].replicas[0].host, "::1");
  EXPECT_EQ(t.shards[0].replicas[1].path, "/tmp/s1-r.sock");
  EXPECT_EQ(t.shards[1].primary.path, "/tmp/s2.sock");
  EXPECT_EQ(t.sentinel->addresses[0].password, "spw");
  EXPECT_EQ(t.database, 1);
  // to_json() leaves credentials out, as it does the auth section.
  EXPECT_THAT(t.to_json(), Not(HasSubstr("pw")));
  EXPECT_THAT(t.to_json(), HasSubstr("\"redis://10.0.0.1:7001/2\""));
  EXPECT_THAT(t.to_json(), HasSubstr("\"unix:///tmp/s1-r.sock?db=2\""));
  const Topology again = Topology::from_json(t.to_json());
  EXPECT_TRUE(again.shards[0].primary.same_endpoint(t.shards[0].primary));
  EXPECT_EQ(again.shards[0].primary.db, 2);
}

TEST(NodeAddressUri, TopologyJsonErrorsNameThePath) {
  EXPECT_THAT(json_error("redis://h:99999"),
              StartsWith(R"(shards[0].primary: invalid URI "redis://h:99999" (port must be)"));
  EXPECT_THAT(json_error("ftp://h:1"), StartsWith("shards[0].primary: invalid URI"));
  EXPECT_THAT(json_error("ftp://h:1"), HasSubstr("unknown URI scheme \"ftp\""));
  EXPECT_THAT(json_error("unix://relative.sock"),
              StartsWith("shards[0].primary: invalid URI \"unix://relative.sock\" (unix socket "
                         "path must be absolute"));
  EXPECT_THAT(config_error([] {
                (void)Topology::from_json(R"({"shards": [{"name": "s1", "primary": "h:1",
                  "replicas": ["redis://h:2/x"]}]})");
              }),
              StartsWith("shards[0].replicas[0]: invalid URI \"redis://h:2/x\" (database is not "
                         "a number)"));
  EXPECT_THAT(config_error([] {
                (void)Topology::from_json(R"({"shards": [{"name": "s1", "primary": "h:1"}],
                  "sentinel": {"addresses": ["redis://s:1/2"]}})");
              }),
              StartsWith("sentinel.addresses[0]: a sentinel has no databases"));
  // The same server named twice is a duplicate, whatever credentials or database it has.
  EXPECT_THAT(config_error([] {
                (void)Topology::from_json(R"({"shards": [{"name": "s1", "primary": "h:1",
                  "replicas": ["redis://u:p@h:1/3"]}]})");
              }),
              StartsWith("shards[0].replicas[0]: duplicate address redis://u@h:1/3 (also "
                         "shards[0].primary)"));
}

TEST(NodeAddressUri, RedissIsAcceptedWithoutATlsSection) {
  // The URI asks for TLS itself; the defaults apply (tls_test connects to one).
  const auto t =
      Topology::from_json(R"({"shards": [{"name": "s1", "primary": "rediss://h:6380"}]})");
  EXPECT_TRUE(t.shards[0].primary.tls);
  EXPECT_FALSE(t.tls.has_value());
}

TEST(NodeAddressUri, ValidateChecksHandBuiltAddresses) {
  Topology t;
  NodeAddress a;
  a.path = "relative.sock";
  t.shards.push_back(ShardSpec{"s1", 1, a, {}});
  EXPECT_THAT(config_error([&] { t.validate(); }), HasSubstr("must be absolute"));
  a = NodeAddress{"h", 1};
  a.username = "app";
  t.shards[0].primary = a;
  EXPECT_THAT(config_error([&] { t.validate(); }), HasSubstr("user name given without a password"));
  a.password = "pw";
  t.shards[0].primary = a;
  EXPECT_NO_THROW(t.validate());
}

}  // namespace
}  // namespace flyshard
