// Sentinel reply and event parsers (no network).

#include "health/sentinel.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace flyshard::detail {
namespace {

Reply strings(const std::vector<std::string>& items) {
  std::vector<Reply> out;
  for (const auto& s : items) out.push_back(Reply::string(s));
  return Reply::array(std::move(out));
}

// ---- parse_master_addr ----

TEST(SentinelMasterAddrTest, ParsesIpAndPort) {
  auto a = parse_master_addr(strings({"127.0.0.1", "7001"}));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7001);
  auto v6 = parse_master_addr(strings({"::1", "65535"}));
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(*v6, (NodeAddress{"::1", 65535}));
}

TEST(SentinelMasterAddrTest, NilIsNullopt) {
  EXPECT_FALSE(parse_master_addr(Reply::nil()).has_value());
}

TEST(SentinelMasterAddrTest, WrongTypesAreNullopt) {
  EXPECT_FALSE(parse_master_addr(Reply::string("127.0.0.1:7001")).has_value());
  EXPECT_FALSE(parse_master_addr(Reply::error("ERR No such master with that name")).has_value());
  EXPECT_FALSE(parse_master_addr(Reply::integer(7001)).has_value());
  EXPECT_FALSE(parse_master_addr(Reply::array({})).has_value());
  EXPECT_FALSE(parse_master_addr(strings({"127.0.0.1"})).has_value());
  EXPECT_FALSE(parse_master_addr(strings({"127.0.0.1", "7001", "x"})).has_value());
  EXPECT_FALSE(
      parse_master_addr(Reply::array({Reply::integer(1), Reply::integer(7001)})).has_value());
  EXPECT_FALSE(
      parse_master_addr(Reply::array({Reply::string("127.0.0.1"), Reply::nil()})).has_value());
  EXPECT_FALSE(
      parse_master_addr(Reply::array({strings({"127.0.0.1"}), strings({"7001"})})).has_value());
  EXPECT_FALSE(parse_master_addr(strings({"", "7001"})).has_value());
}

TEST(SentinelMasterAddrTest, BadPortIsNullopt) {
  for (const char* port : {"0", "65536", "70000", "-1", "abc", "7001x", " 7001", "", "+7001"}) {
    EXPECT_FALSE(parse_master_addr(strings({"127.0.0.1", port})).has_value()) << port;
  }
}

// ---- parse_sentinel_master ----

TEST(SentinelMasterTest, ParsesAddressAndConfigEpoch) {
  auto m = parse_sentinel_master(strings({"name", "m-s1", "ip", "127.0.0.1", "port", "7001",
                                          "flags", "master", "config-epoch", "42"}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->address, (NodeAddress{"127.0.0.1", 7001}));
  EXPECT_EQ(m->config_epoch, 42u);
  EXPECT_FALSE(m->failover_in_progress);
  // What redis-sentinel 7.0's leader says mid-failover: the new epoch, the old address.
  auto mid = parse_sentinel_master(
      strings({"ip", "127.0.0.1", "port", "7001", "flags",
               "s_down,o_down,master,disconnected,failover_in_progress", "config-epoch", "1"}));
  ASSERT_TRUE(mid.has_value());
  EXPECT_TRUE(mid->failover_in_progress);
}

TEST(SentinelMasterTest, MissingOrBadFieldsAreNullopt) {
  EXPECT_FALSE(parse_sentinel_master(Reply::error("ERR No such master with that name")));
  EXPECT_FALSE(parse_sentinel_master(Reply::nil()));
  // No epoch: an answer that cannot be ordered against the others is not followed.
  EXPECT_FALSE(parse_sentinel_master(strings({"ip", "127.0.0.1", "port", "7001"})));
  EXPECT_FALSE(
      parse_sentinel_master(strings({"ip", "127.0.0.1", "port", "7001", "config-epoch", "x"})));
  EXPECT_FALSE(
      parse_sentinel_master(strings({"ip", "127.0.0.1", "port", "0", "config-epoch", "1"})));
  EXPECT_FALSE(parse_sentinel_master(strings({"port", "7001", "config-epoch", "1"})));
  // Odd length and non-string values are tolerated, not trusted.
  EXPECT_FALSE(parse_sentinel_master(Reply::array({Reply::string("ip"), Reply::integer(1)})));
  EXPECT_TRUE(parse_sentinel_master(
      strings({"ip", "127.0.0.1", "port", "7001", "config-epoch", "0", "dangling"})));
}

// ---- parse_sentinel_replicas ----

Reply replica_entry(const std::string& ip, const std::string& port, const std::string& flags) {
  return strings({"name", ip + ":" + port, "ip", ip, "port", port, "runid", "abc", "flags", flags,
                  "master-link-status", "ok"});
}

TEST(SentinelReplicasTest, ParsesHealthyReplicas) {
  Reply r = Reply::array(
      {replica_entry("127.0.0.1", "7101", "slave"), replica_entry("127.0.0.1", "7201", "slave")});
  auto v = parse_sentinel_replicas(r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (NodeAddress{"127.0.0.1", 7101}));
  EXPECT_EQ(v[1], (NodeAddress{"127.0.0.1", 7201}));
}

TEST(SentinelReplicasTest, SkipsDownAndDisconnected) {
  Reply r = Reply::array({
      replica_entry("127.0.0.1", "7101", "slave,s_down"),
      replica_entry("127.0.0.1", "7102", "s_down,slave,o_down"),
      replica_entry("127.0.0.1", "7103", "slave,disconnected"),
      replica_entry("127.0.0.1", "7104", "slave"),
  });
  auto v = parse_sentinel_replicas(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], (NodeAddress{"127.0.0.1", 7104}));
}

TEST(SentinelReplicasTest, FieldOrderDoesNotMatter) {
  Reply r = Reply::array({strings({"flags", "slave", "port", "7101", "ip", "10.0.0.5"})});
  auto v = parse_sentinel_replicas(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], (NodeAddress{"10.0.0.5", 7101}));
}

TEST(SentinelReplicasTest, SkipsIncompleteOrMalformedEntries) {
  Reply r = Reply::array({
      strings({"ip", "127.0.0.1", "flags", "slave"}),                                // no port
      strings({"port", "7101", "flags", "slave"}),                                   // no ip
      strings({"ip", "127.0.0.1", "port", "99999", "flags", "slave"}),               // bad port
      Reply::string("garbage"),                                                      // not an array
      Reply::nil(), strings({"ip", "127.0.0.1", "port", "7105", "flags", "slave"}),  // the good one
  });
  auto v = parse_sentinel_replicas(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], (NodeAddress{"127.0.0.1", 7105}));
}

TEST(SentinelReplicasTest, NonArrayOrEmptyGivesNone) {
  EXPECT_TRUE(parse_sentinel_replicas(Reply::nil()).empty());
  EXPECT_TRUE(parse_sentinel_replicas(Reply::error("ERR No such master with that name")).empty());
  EXPECT_TRUE(parse_sentinel_replicas(Reply::array({})).empty());
}

// ---- parse_sentinel_event ----

TEST(SentinelEventTest, SwitchMaster) {
  auto e = parse_sentinel_event("+switch-master", "flyshard-s1 127.0.0.1 7001 127.0.0.1 7101");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, SentinelEvent::Kind::switch_master);
  EXPECT_EQ(e->master_name, "flyshard-s1");
  EXPECT_EQ(e->address, (NodeAddress{"127.0.0.1", 7101}));
}

TEST(SentinelEventTest, SlaveAdded) {
  auto e = parse_sentinel_event("+slave",
                                "slave 127.0.0.1:7102 127.0.0.1 7102 @ flyshard-s1 127.0.0.1 7101");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, SentinelEvent::Kind::replica_added);
  EXPECT_EQ(e->master_name, "flyshard-s1");
  EXPECT_EQ(e->address, (NodeAddress{"127.0.0.1", 7102}));
  EXPECT_FALSE(e->is_master);
}

TEST(SentinelEventTest, ConvertToSlave) {
  auto e = parse_sentinel_event("+convert-to-slave",
                                "slave 127.0.0.1:7001 127.0.0.1 7001 @ flyshard-s1 127.0.0.1 7101");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, SentinelEvent::Kind::replica_added);
  EXPECT_EQ(e->master_name, "flyshard-s1");
  EXPECT_EQ(e->address, (NodeAddress{"127.0.0.1", 7001}));
}

TEST(SentinelEventTest, MasterSdown) {
  auto e = parse_sentinel_event("+sdown", "master flyshard-s1 127.0.0.1 7001");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, SentinelEvent::Kind::down);
  EXPECT_TRUE(e->is_master);
  EXPECT_EQ(e->master_name, "flyshard-s1");
  EXPECT_EQ(e->address, (NodeAddress{"127.0.0.1", 7001}));
}

TEST(SentinelEventTest, SlaveSdownAndBackUp) {
  const char* msg = "slave 127.0.0.1:7102 127.0.0.1 7102 @ flyshard-s1 127.0.0.1 7101";
  auto down = parse_sentinel_event("+sdown", msg);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->kind, SentinelEvent::Kind::down);
  EXPECT_FALSE(down->is_master);
  auto up = parse_sentinel_event("-sdown", msg);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->kind, SentinelEvent::Kind::up);
  EXPECT_FALSE(up->is_master);
  EXPECT_EQ(up->master_name, "flyshard-s1");
  EXPECT_EQ(up->address, (NodeAddress{"127.0.0.1", 7102}));
}

TEST(SentinelEventTest, MasterBackUp) {
  auto e = parse_sentinel_event("-sdown", "master flyshard-s2 127.0.0.1 7002");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, SentinelEvent::Kind::up);
  EXPECT_TRUE(e->is_master);
  EXPECT_EQ(e->master_name, "flyshard-s2");
}

TEST(SentinelEventTest, SentinelInstancesAreIgnored) {
  const char* msg = "sentinel 1f2e3d4c5b6a 127.0.0.1 26380 @ flyshard-s1 127.0.0.1 7001";
  EXPECT_FALSE(parse_sentinel_event("+sdown", msg).has_value());
  EXPECT_FALSE(parse_sentinel_event("-sdown", msg).has_value());
}

TEST(SentinelEventTest, MalformedIsNullopt) {
  // +switch-master needs exactly 5 words and a valid new port.
  EXPECT_FALSE(parse_sentinel_event("+switch-master", "").has_value());
  EXPECT_FALSE(
      parse_sentinel_event("+switch-master", "flyshard-s1 127.0.0.1 7001 127.0.0.1").has_value());
  EXPECT_FALSE(
      parse_sentinel_event("+switch-master", "flyshard-s1 127.0.0.1 7001 127.0.0.1 x").has_value());
  EXPECT_FALSE(
      parse_sentinel_event("+switch-master", "flyshard-s1 127.0.0.1 7001 127.0.0.1 0").has_value());
  EXPECT_FALSE(
      parse_sentinel_event("+switch-master", "flyshard-s1 127.0.0.1 7001 127.0.0.1 7101 extra")
          .has_value());
  // Instance messages.
  EXPECT_FALSE(parse_sentinel_event("+sdown", "").has_value());
  EXPECT_FALSE(parse_sentinel_event("+sdown", "master flyshard-s1 127.0.0.1").has_value());
  EXPECT_FALSE(parse_sentinel_event("+sdown", "master flyshard-s1 127.0.0.1 port").has_value());
  EXPECT_FALSE(parse_sentinel_event("+slave", "slave 127.0.0.1:7102 127.0.0.1 7102").has_value());
  EXPECT_FALSE(
      parse_sentinel_event("+slave", "slave 127.0.0.1:7102 127.0.0.1 7102 # flyshard-s1 x y")
          .has_value());
  // A channel the parser does not handle.
  EXPECT_FALSE(
      parse_sentinel_event("+odown", "master flyshard-s1 127.0.0.1 7001 #quorum 2/2").has_value());
}

TEST(SentinelEventTest, ExtraSpacesAreTolerated) {
  auto e =
      parse_sentinel_event("+switch-master", "  flyshard-s1  127.0.0.1 7001 127.0.0.1   7101 ");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->address, (NodeAddress{"127.0.0.1", 7101}));
}

}  // namespace
}  // namespace flyshard::detail
