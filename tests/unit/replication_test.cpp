#include "health/replication.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kDragonflyDir = FLYSHARD_SOURCE_DIR "/tests/fixtures/dragonfly/";
const std::string kRedisDir = FLYSHARD_SOURCE_DIR "/tests/fixtures/redis/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Reply read_resp(const std::string& path) {
  std::string bytes = read_file(path);
  ReplyReader r;
  r.feed(bytes.data(), bytes.size());
  std::optional<Reply> reply = r.next();
  EXPECT_TRUE(reply.has_value()) << "incomplete RESP in " << path;
  EXPECT_FALSE(r.next().has_value()) << "trailing bytes in " << path;
  return reply.value_or(Reply());
}

Reply parse_bytes(const std::string& bytes) {
  ReplyReader r;
  r.feed(bytes.data(), bytes.size());
  std::optional<Reply> reply = r.next();
  EXPECT_TRUE(reply.has_value());
  return reply.value_or(Reply());
}

// capture-env.txt: key=value lines written by tests/fixtures/redis/capture.sh, so a new
// capture (new ports) needs no change here.
std::map<std::string, std::string> capture_env() {
  std::map<std::string, std::string> env;
  std::istringstream in(read_file(kRedisDir + "capture-env.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

std::uint16_t env_port(const char* name) {
  auto env = capture_env();
  EXPECT_TRUE(env.count(name)) << name << " missing from capture-env.txt";
  return static_cast<std::uint16_t>(std::stoi(env[name]));
}

bool is_replid(const std::string& s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

const std::string kDflyReplid = "c7e5d3a91f0b4e2d86a1f93b7c05e4d2a8b61f90";

// ---- Dragonfly fixtures (from source reading, see tests/fixtures/dragonfly/README.md) --------

TEST(DragonflyInfo, Master) {
  ReplicationInfo i =
      parse_info_replication(read_file(kDragonflyDir + "dragonfly-info-replication-master.txt"));
  EXPECT_EQ(i.role, NodeRole::primary);
  EXPECT_EQ(i.master_replid, kDflyReplid);
  EXPECT_FALSE(i.primary_offset.has_value());  // no master_repl_offset in Dragonfly
  EXPECT_FALSE(i.offsets_comparable);
  EXPECT_TRUE(i.master_host.empty());
  EXPECT_FALSE(i.replica_offset.has_value());
  ASSERT_EQ(i.replicas.size(), 1u);
  EXPECT_EQ(i.replicas[0].host, "127.0.0.1");
  EXPECT_EQ(i.replicas[0].port, 7102);
  EXPECT_EQ(i.replicas[0].state, "online");
  EXPECT_FALSE(i.replicas[0].offset.has_value());  // no offset= in Dragonfly
  EXPECT_EQ(i.replicas[0].lag, 0);
}

TEST(DragonflyInfo, ReplicaStableSync) {
  ReplicationInfo i =
      parse_info_replication(read_file(kDragonflyDir + "dragonfly-info-replication-replica.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);  // role:slave
  EXPECT_EQ(i.master_host, "127.0.0.1");
  EXPECT_EQ(i.master_port, 7101);
  EXPECT_TRUE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_EQ(i.last_io_seconds_ago, 0);
  EXPECT_EQ(i.replica_offset, 2437);
  EXPECT_EQ(i.master_replid, kDflyReplid);
  EXPECT_FALSE(i.primary_offset.has_value());
  EXPECT_FALSE(i.offsets_comparable);
  EXPECT_TRUE(i.replicas.empty());
}

TEST(DragonflyInfo, ReplicaSyncing) {
  ReplicationInfo i = parse_info_replication(
      read_file(kDragonflyDir + "dragonfly-info-replication-replica-syncing.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_host, "127.0.0.1");
  EXPECT_EQ(i.master_port, 7101);
  EXPECT_TRUE(i.link_up);
  EXPECT_TRUE(i.sync_in_progress);
  EXPECT_EQ(i.last_io_seconds_ago, 2);
  EXPECT_FALSE(i.replica_offset.has_value());  // appears only after the full sync
  EXPECT_EQ(i.master_replid, kDflyReplid);
  EXPECT_FALSE(i.offsets_comparable);
}

TEST(DragonflyInfo, ReplicaLinkDown) {
  ReplicationInfo i = parse_info_replication(
      read_file(kDragonflyDir + "dragonfly-info-replication-replica-link-down.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_port, 7101);
  EXPECT_FALSE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_EQ(i.last_io_seconds_ago, 9);
  EXPECT_EQ(i.replica_offset, 2437);  // kept while the link is down (v1.37+)
  EXPECT_EQ(i.master_replid, kDflyReplid);
}

TEST(DragonflyInfo, ReplicaConnecting) {
  ReplicationInfo i = parse_info_replication(
      read_file(kDragonflyDir + "dragonfly-info-replication-replica-connecting.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_host, "127.0.0.1");
  EXPECT_EQ(i.master_port, 7101);
  EXPECT_FALSE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_EQ(i.last_io_seconds_ago, 1787400123);  // "now - 0": never had any I/O
  EXPECT_FALSE(i.replica_offset.has_value());
  EXPECT_EQ(i.master_replid, "");  // "master_replid:" with nothing after it
}

TEST(DragonflyRole, Master) {
  std::optional<RoleInfo> r = parse_role(read_resp(kDragonflyDir + "dragonfly-role-master.resp"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, NodeRole::primary);
  EXPECT_FALSE(r->offset.has_value());
  ASSERT_EQ(r->replicas.size(), 1u);
  EXPECT_EQ(r->replicas[0].host, "127.0.0.1");
  EXPECT_EQ(r->replicas[0].port, 7102);  // a bulk string on the wire
  EXPECT_EQ(r->replicas[0].state, "online");
  EXPECT_FALSE(r->replicas[0].offset.has_value());
}

TEST(DragonflyRole, Replica) {
  std::optional<RoleInfo> r = parse_role(read_resp(kDragonflyDir + "dragonfly-role-replica.resp"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, NodeRole::replica);
  EXPECT_EQ(r->master_host, "127.0.0.1");
  EXPECT_EQ(r->master_port, 7101);  // a bulk string on the wire
  EXPECT_EQ(r->state, "online");
  EXPECT_FALSE(r->offset.has_value());  // no 5th element
  EXPECT_TRUE(r->replicas.empty());
}

TEST(DragonflyRole, OtherStatesAndShapesFromTheReadme) {
  auto link_down = parse_role(
      parse_bytes("*4\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n$4\r\n7101\r\n$10\r\nconnecting\r\n"));
  ASSERT_TRUE(link_down.has_value());
  EXPECT_EQ(link_down->state, "connecting");
  EXPECT_EQ(link_down->master_port, 7101);

  auto syncing = parse_role(
      parse_bytes("*4\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n$4\r\n7101\r\n$9\r\nfull_sync\r\n"));
  ASSERT_TRUE(syncing.has_value());
  EXPECT_EQ(syncing->state, "full_sync");

  auto no_replicas = parse_role(parse_bytes("*2\r\n$6\r\nmaster\r\n*0\r\n"));
  ASSERT_TRUE(no_replicas.has_value());
  EXPECT_EQ(no_replicas->role, NodeRole::primary);
  EXPECT_TRUE(no_replicas->replicas.empty());
  EXPECT_FALSE(no_replicas->offset.has_value());

  // role:replica flavour (--info_replication_valkey_compatible=false).
  auto valkey_off = parse_role(Reply::array({Reply::string("replica"), Reply::string("h"),
                                             Reply::string("7101"), Reply::string("stable_sync")}));
  ASSERT_TRUE(valkey_off.has_value());
  EXPECT_EQ(valkey_off->role, NodeRole::replica);
  EXPECT_EQ(valkey_off->state, "stable_sync");

  // ADDREPLICAOF: 3 more elements per extra source; the first source is the one returned.
  auto multi = parse_role(
      Reply::array({Reply::string("slave"), Reply::string("10.0.0.1"), Reply::string("7101"),
                    Reply::string("online"), Reply::string("10.0.0.2"), Reply::string("7201"),
                    Reply::string("full_sync")}));
  ASSERT_TRUE(multi.has_value());
  EXPECT_EQ(multi->master_host, "10.0.0.1");
  EXPECT_EQ(multi->master_port, 7101);
  EXPECT_EQ(multi->state, "online");
  EXPECT_FALSE(multi->offset.has_value());
}

// ---- Redis 7 fixtures (captured from redis-server by tests/fixtures/redis/capture.sh) --------

TEST(RedisInfo, MasterNoReplicas) {
  ReplicationInfo i = parse_info_replication(
      read_file(kRedisDir + "redis-info-replication-master-no-replicas.txt"));
  EXPECT_EQ(i.role, NodeRole::primary);
  EXPECT_TRUE(i.replicas.empty());
  EXPECT_EQ(i.primary_offset, 0);
  EXPECT_TRUE(i.offsets_comparable);
  EXPECT_TRUE(is_replid(i.master_replid)) << i.master_replid;
  EXPECT_TRUE(i.master_host.empty());
  EXPECT_FALSE(i.replica_offset.has_value());
}

TEST(RedisInfo, MasterWithOneReplica) {
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-master.txt"));
  EXPECT_EQ(i.role, NodeRole::primary);
  EXPECT_TRUE(i.offsets_comparable);
  ASSERT_TRUE(i.primary_offset.has_value());
  EXPECT_GT(*i.primary_offset, 0);
  EXPECT_TRUE(is_replid(i.master_replid));
  ASSERT_EQ(i.replicas.size(), 1u);
  const ReplicaEntry& e = i.replicas[0];
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, env_port("replica_port"));
  EXPECT_EQ(e.state, "online");
  EXPECT_EQ(e.offset, i.primary_offset);  // the capture waited for the replica's ACK
  EXPECT_EQ(e.lag, 0);                    // seconds since the last ACK, in Redis
}

TEST(RedisInfo, MasterDuringFullSync) {
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-master-syncing.txt"));
  EXPECT_EQ(i.role, NodeRole::primary);
  ASSERT_EQ(i.replicas.size(), 1u);
  EXPECT_EQ(i.replicas[0].port, env_port("syncing_replica_port"));
  EXPECT_TRUE(i.replicas[0].state == "wait_bgsave" || i.replicas[0].state == "send_bulk")
      << i.replicas[0].state;
  EXPECT_EQ(i.replicas[0].offset, 0);
}

TEST(RedisInfo, ReplicaLinkUp) {
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-replica.txt"));
  ReplicationInfo m =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-master.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_host, "127.0.0.1");
  EXPECT_EQ(i.master_port, env_port("primary_port"));
  EXPECT_TRUE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  ASSERT_TRUE(i.last_io_seconds_ago.has_value());
  EXPECT_LE(*i.last_io_seconds_ago, 10);  // the primary pings every 10 s
  EXPECT_EQ(i.replica_offset, m.primary_offset);
  EXPECT_EQ(i.master_replid, m.master_replid);  // a Redis replica takes its primary's replid
  // A Redis replica has a master_repl_offset of its own (its stream for sub-replicas).
  EXPECT_EQ(i.primary_offset, i.replica_offset);
  EXPECT_TRUE(i.replicas.empty());
}

TEST(RedisInfo, ReplicaNeverConnected) {
  ReplicationInfo i = parse_info_replication(
      read_file(kRedisDir + "redis-info-replication-replica-connecting.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_host, "127.0.0.1");
  EXPECT_EQ(i.master_port, env_port("closed_master_port"));
  EXPECT_FALSE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_FALSE(i.last_io_seconds_ago.has_value());  // -1
  EXPECT_EQ(i.replica_offset, 0);                   // Redis always reports one
}

TEST(RedisInfo, ReplicaLinkDownAfterPrimaryCrash) {
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-replica-link-down.txt"));
  ReplicationInfo m =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-master.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_port, env_port("primary_port"));
  EXPECT_FALSE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_FALSE(i.last_io_seconds_ago.has_value());  // -1 while down
  ASSERT_TRUE(i.replica_offset.has_value());
  EXPECT_GE(*i.replica_offset, *m.primary_offset);  // kept (plus the pings since)
  EXPECT_EQ(i.master_replid, m.master_replid);
}

TEST(RedisInfo, ReplicaDuringFullSync) {
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-replica-syncing.txt"));
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_port, env_port("syncing_primary_port"));
  EXPECT_FALSE(i.link_up);  // Redis: link "down" until the sync is done
  EXPECT_TRUE(i.sync_in_progress);
  EXPECT_FALSE(i.last_io_seconds_ago.has_value());
  EXPECT_EQ(i.replica_offset, 0);
}

TEST(RedisRole, MasterNoReplicas) {
  auto r = parse_role(read_resp(kRedisDir + "redis-role-master-no-replicas.resp"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, NodeRole::primary);
  EXPECT_EQ(r->offset, 0);
  EXPECT_TRUE(r->replicas.empty());
}

TEST(RedisRole, MasterWithOneReplica) {
  auto r = parse_role(read_resp(kRedisDir + "redis-role-master.resp"));
  ReplicationInfo m =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-master.txt"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, NodeRole::primary);
  EXPECT_EQ(r->offset, m.primary_offset);
  ASSERT_EQ(r->replicas.size(), 1u);
  EXPECT_EQ(r->replicas[0].host, "127.0.0.1");
  EXPECT_EQ(r->replicas[0].port, env_port("replica_port"));  // a bulk string on the wire
  EXPECT_EQ(r->replicas[0].offset, m.primary_offset);        // a bulk string on the wire
  EXPECT_EQ(r->replicas[0].state, "");
}

TEST(RedisRole, ReplicaConnected) {
  auto r = parse_role(read_resp(kRedisDir + "redis-role-replica.resp"));
  ReplicationInfo i =
      parse_info_replication(read_file(kRedisDir + "redis-info-replication-replica.txt"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, NodeRole::replica);
  EXPECT_EQ(r->master_host, "127.0.0.1");
  EXPECT_EQ(r->master_port, env_port("primary_port"));  // an integer on the wire
  EXPECT_EQ(r->state, "connected");
  EXPECT_EQ(r->offset, i.replica_offset);
}

TEST(RedisRole, ReplicaNotConnected) {
  auto connecting = parse_role(read_resp(kRedisDir + "redis-role-replica-connecting.resp"));
  ASSERT_TRUE(connecting.has_value());
  EXPECT_EQ(connecting->role, NodeRole::replica);
  EXPECT_EQ(connecting->master_port, env_port("closed_master_port"));
  EXPECT_TRUE(connecting->state == "connect" || connecting->state == "connecting")
      << connecting->state;
  EXPECT_FALSE(connecting->offset.has_value());  // -1

  auto down = parse_role(read_resp(kRedisDir + "redis-role-replica-link-down.resp"));
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->master_port, env_port("primary_port"));
  EXPECT_TRUE(down->state == "connect" || down->state == "connecting") << down->state;
  EXPECT_FALSE(down->offset.has_value());

  auto syncing = parse_role(read_resp(kRedisDir + "redis-role-replica-syncing.resp"));
  ASSERT_TRUE(syncing.has_value());
  EXPECT_EQ(syncing->master_port, env_port("syncing_primary_port"));
  EXPECT_EQ(syncing->state, "sync");
  EXPECT_FALSE(syncing->offset.has_value());
}

// ---- parser tolerance ----------------------------------------------------------------------

TEST(ParseInfo, LfNoHeaderRoleReplicaUnknownLinesAndBadNumbers) {
  ReplicationInfo i = parse_info_replication(
      "role:replica\n"
      "something_new:42\n"
      "master_host:db.example\n"
      "master_port:99999\n"  // out of range -> 0
      "master_link_status:up\n"
      "master_last_io_seconds_ago:x\n"
      "master_sync_in_progress:0\n"
      "slave_repl_offset:12abc\n"
      "not a field\n"
      "\n");
  EXPECT_EQ(i.role, NodeRole::replica);
  EXPECT_EQ(i.master_host, "db.example");
  EXPECT_EQ(i.master_port, 0);
  EXPECT_TRUE(i.link_up);
  EXPECT_FALSE(i.last_io_seconds_ago.has_value());
  EXPECT_FALSE(i.replica_offset.has_value());
}

TEST(ParseInfo, EmptyAndUnknownRole) {
  EXPECT_EQ(parse_info_replication("").role, NodeRole::unknown);
  EXPECT_EQ(parse_info_replication("role:sentinel\r\n").role, NodeRole::unknown);
  EXPECT_EQ(parse_info_replication("role:master").role, NodeRole::primary);  // no final newline
}

TEST(ParseInfo, SectionOfAFullInfo) {
  ReplicationInfo i = parse_info_replication(
      "# Server\r\nredis_version:7.0.15\r\n\r\n# Replication\r\nrole:master\r\n"
      "connected_slaves:2\r\n"
      "slave0:ip=::1,port=7102,state=online,offset=10,lag=1\r\n"
      "slave1:ip=10.0.0.3,port=7103,state=send_bulk,offset=0,lag=0\r\n"
      "master_repl_offset:10\r\n\r\n# CPU\r\nused_cpu_sys:1.0\r\n");
  EXPECT_EQ(i.role, NodeRole::primary);
  EXPECT_EQ(i.primary_offset, 10);
  EXPECT_TRUE(i.offsets_comparable);
  ASSERT_EQ(i.replicas.size(), 2u);
  EXPECT_EQ(i.replicas[0].host, "::1");
  EXPECT_EQ(i.replicas[0].port, 7102);
  EXPECT_EQ(i.replicas[0].lag, 1);
  EXPECT_EQ(i.replicas[1].host, "10.0.0.3");
  EXPECT_EQ(i.replicas[1].state, "send_bulk");
}

TEST(ParseInfo, DragonflyMultiSourceReadsTheFirstBlock) {
  ReplicationInfo i = parse_info_replication(
      "# Replication\r\nrole:slave\r\n"
      "master_host:10.0.0.1\r\nmaster_port:7101\r\nmaster_link_status:up\r\n"
      "master_last_io_seconds_ago:0\r\nmaster_sync_in_progress:0\r\nmaster_replid:aaa\r\n"
      "slave_repl_offset:5\r\n"
      "master_host:10.0.0.2\r\nmaster_port:7201\r\nmaster_link_status:down\r\n"
      "master_last_io_seconds_ago:30\r\nmaster_sync_in_progress:1\r\nmaster_replid:bbb\r\n");
  EXPECT_EQ(i.master_host, "10.0.0.1");
  EXPECT_EQ(i.master_port, 7101);
  EXPECT_TRUE(i.link_up);
  EXPECT_FALSE(i.sync_in_progress);
  EXPECT_EQ(i.last_io_seconds_ago, 0);
  EXPECT_EQ(i.master_replid, "aaa");
  EXPECT_EQ(i.replica_offset, 5);
}

TEST(ParseRole, RejectsWhatIsNotARoleReply) {
  EXPECT_FALSE(parse_role(Reply::error("ERR unknown command 'ROLE'")).has_value());
  EXPECT_FALSE(parse_role(Reply::nil()).has_value());
  EXPECT_FALSE(parse_role(Reply::array({})).has_value());
  EXPECT_FALSE(parse_role(Reply::array({Reply::integer(1)})).has_value());
  EXPECT_FALSE(parse_role(Reply::array({Reply::string("sentinel"), Reply::array({})})));
  EXPECT_FALSE(parse_role(Reply::array({Reply::string("master")})).has_value());
  EXPECT_FALSE(parse_role(Reply::array({Reply::string("slave"), Reply::string("h")})));
  EXPECT_FALSE(parse_role(Reply::array(
      {Reply::string("master"), Reply::integer(3), Reply::array({Reply::string("x")})})));
}

// ---- ReplicaLagTracker ---------------------------------------------------------------------

ReplicationInfo redis_primary(long long offset, std::string replid = "r1") {
  ReplicationInfo i;
  i.role = NodeRole::primary;
  i.primary_offset = offset;
  i.offsets_comparable = true;
  i.master_replid = std::move(replid);
  return i;
}

ReplicationInfo redis_replica(long long offset, long long last_io = 0, std::string replid = "r1") {
  ReplicationInfo i;
  i.role = NodeRole::replica;
  i.master_host = "10.0.0.1";
  i.master_port = 6379;
  i.link_up = true;
  i.last_io_seconds_ago = last_io;
  i.replica_offset = offset;
  i.primary_offset = offset;
  i.offsets_comparable = true;
  i.master_replid = std::move(replid);
  return i;
}

ReplicationInfo dfly_replica(std::optional<long long> offset, long long last_io = 0) {
  ReplicationInfo i;
  i.role = NodeRole::replica;
  i.master_host = "10.0.0.1";
  i.master_port = 7101;
  i.link_up = true;
  i.last_io_seconds_ago = last_io;
  i.replica_offset = offset;
  i.master_replid = "d1";
  return i;
}

ReplicationInfo dfly_primary(std::vector<ReplicaEntry> replicas) {
  ReplicationInfo i;
  i.role = NodeRole::primary;
  i.master_replid = "d1";
  i.replicas = std::move(replicas);
  return i;
}

ReplicaEntry dfly_entry(std::string host, std::uint16_t port, long long lag,
                        std::string state = "online") {
  ReplicaEntry e;
  e.host = std::move(host);
  e.port = port;
  e.state = std::move(state);
  e.lag = lag;
  return e;
}

const Clock::time_point t0 = Clock::time_point() + 1h;

TEST(LagTracker, NotAReplica) {
  ReplicaLagTracker t;
  auto v = t.update(redis_primary(10), std::nullopt, t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_NE(v.reason.find("not a replica"), std::string::npos) << v.reason;
  v = t.update(ReplicationInfo{}, std::nullopt, t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_NE(v.reason.find("not a replica"), std::string::npos) << v.reason;
}

// Found by replication_fuzz: a huge master_last_io_seconds_ago overflowed the seconds -> ms
// conversion (UBSan aborts on it); it must read as stale.
TEST(LagTracker, HugeLastIoIsStaleWithoutOverflow) {
  ReplicaLagTracker t;
  auto v = t.update(dfly_replica(5, 17087400123000123LL), std::nullopt, t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_NE(v.reason.find("last I/O"), std::string::npos) << v.reason;
}

TEST(LagTracker, LinkDownAndSyncing) {
  ReplicaLagTracker t;
  ReplicationInfo down = redis_replica(100);
  down.link_up = false;
  auto v = t.update(down, redis_primary(100), t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "link down");

  ReplicationInfo syncing = redis_replica(0);
  syncing.link_up = false;  // as Redis reports it during a full sync
  syncing.sync_in_progress = true;
  v = t.update(syncing, redis_primary(100), t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "full sync in progress");

  ReplicationInfo dfly_syncing = dfly_replica(std::nullopt);
  dfly_syncing.sync_in_progress = true;  // Dragonfly: link up while syncing
  v = t.update(dfly_syncing, std::nullopt, t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "full sync in progress");
}

TEST(LagTracker, CaughtUpUnderSteadyWrites) {
  ReplicaLagTracker t;
  // The replica trails the current primary offset at every check, but always reaches what the
  // primary had one check earlier.
  auto v = t.update(redis_replica(100), redis_primary(100), t0, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;
  EXPECT_EQ(t.offset_lag(), 0ms);
  for (int k = 1; k <= 5; ++k) {
    v = t.update(redis_replica(100 * k + 50), redis_primary(100 * (k + 1)), t0 + k * 1s, 1s);
    EXPECT_TRUE(v.eligible) << k << ": " << v.reason;
    EXPECT_EQ(t.offset_lag(), 0ms);
  }
}

TEST(LagTracker, FallingBehindPastMaxLagThenRecovering) {
  ReplicaLagTracker t;
  const auto max_lag = 1500ms;
  EXPECT_TRUE(t.update(redis_replica(100), redis_primary(100), t0, max_lag).eligible);
  // Reaches the previous check's 100: caught up.
  EXPECT_TRUE(t.update(redis_replica(100), redis_primary(200), t0 + 1s, max_lag).eligible);
  // Below the previous 200: lag 1 s since the last caught-up check, still within 1.5 s.
  auto v = t.update(redis_replica(150), redis_primary(300), t0 + 2s, max_lag);
  EXPECT_TRUE(v.eligible) << v.reason;
  EXPECT_EQ(t.offset_lag(), 1000ms);
  // Below 300: 2 s.
  v = t.update(redis_replica(180), redis_primary(400), t0 + 3s, max_lag);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(t.offset_lag(), 2000ms);
  EXPECT_EQ(v.reason.rfind("lag 2 s > 1.5 s", 0), 0u) << v.reason;
  v = t.update(redis_replica(250), redis_primary(500), t0 + 3200ms, 1s);
  EXPECT_EQ(v.reason.rfind("lag 2.2 s > 1 s", 0), 0u) << v.reason;
  // Catches up with the previous 500: eligible again at once.
  v = t.update(redis_replica(520), redis_primary(600), t0 + 4s, max_lag);
  EXPECT_TRUE(v.eligible) << v.reason;
  EXPECT_EQ(t.offset_lag(), 0ms);
}

TEST(LagTracker, FirstCheckBehindIsNotYetEligible) {
  ReplicaLagTracker t;
  auto v = t.update(redis_replica(50), redis_primary(100), t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason.rfind("not caught up yet", 0), 0u) << v.reason;
  EXPECT_FALSE(t.offset_lag().has_value());
  // Next check it reaches the 100 seen before.
  EXPECT_TRUE(t.update(redis_replica(120), redis_primary(200), t0 + 1s, 1s).eligible);
}

TEST(LagTracker, LinkDownKeepsTheBaseline) {
  ReplicaLagTracker t;
  EXPECT_TRUE(t.update(redis_replica(100), redis_primary(100), t0, 1s).eligible);
  ReplicationInfo down = redis_replica(100);
  down.link_up = false;
  EXPECT_FALSE(t.update(down, redis_primary(1000), t0 + 1s, 1s).eligible);
  // Back up but below what the primary had at the previous check (1000): lag counts from t0.
  auto v = t.update(redis_replica(900), redis_primary(1100), t0 + 2s, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(t.offset_lag(), 2000ms);
  EXPECT_TRUE(t.update(redis_replica(1100), redis_primary(1200), t0 + 3s, 1s).eligible);
}

TEST(LagTracker, PrimaryStreamRestartDropsTheBaseline) {
  ReplicaLagTracker t;
  EXPECT_TRUE(t.update(redis_replica(5000), redis_primary(5000), t0, 1s).eligible);
  // The primary restarted empty (offset back near 0, new replid) and the replica resynced.
  auto v = t.update(redis_replica(40, 0, "r2"), redis_primary(40, "r2"), t0 + 1s, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;
  // Offset went backwards without a replid change: compared with the current value only.
  v = t.update(redis_replica(20, 0, "r2"), redis_primary(30, "r2"), t0 + 2s, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;  // lag 1 s since t0+1s, not > 1 s
  EXPECT_EQ(t.offset_lag(), 1000ms);
}

TEST(LagTracker, ReplidMismatchFallsBackToLastIo) {
  ReplicaLagTracker t;
  auto v = t.update(redis_replica(10, 0, "other"), redis_primary(1000), t0, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;  // offsets of different streams are not compared
  EXPECT_NE(v.reason.find("last I/O"), std::string::npos) << v.reason;
  EXPECT_FALSE(t.offset_lag().has_value());
}

TEST(LagTracker, PrimaryUnknownUsesLastIo) {
  ReplicaLagTracker t;
  auto v = t.update(redis_replica(100, 1), std::nullopt, t0, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;
  v = t.update(redis_replica(100, 2), std::nullopt, t0 + 1s, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;  // the 2 s floor
  v = t.update(redis_replica(100, 5), std::nullopt, t0 + 2s, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "last I/O with primary 5 s ago > 2 s");
  v = t.update(redis_replica(100, 5), std::nullopt, t0 + 3s, 10s);
  EXPECT_TRUE(v.eligible) << v.reason;
  ReplicationInfo no_io = redis_replica(100);
  no_io.last_io_seconds_ago.reset();
  EXPECT_FALSE(t.update(no_io, std::nullopt, t0 + 4s, 10s).eligible);
}

TEST(LagTracker, LosingThePrimaryForgetsOffsetHistory) {
  ReplicaLagTracker t;
  EXPECT_TRUE(t.update(redis_replica(100), redis_primary(100), t0, 1s).eligible);
  EXPECT_TRUE(t.update(redis_replica(100, 1), std::nullopt, t0 + 1s, 1s).eligible);
  // Primary known again: no stale baseline, and no old caught-up time to count lag from.
  auto v = t.update(redis_replica(150), redis_primary(200), t0 + 10s, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason.rfind("not caught up yet", 0), 0u) << v.reason;
}

TEST(LagTracker, NewPrimaryForgetsOffsetHistory) {
  ReplicaLagTracker t;
  EXPECT_TRUE(t.update(redis_replica(100), redis_primary(100), t0, 1s).eligible);
  ReplicationInfo moved = redis_replica(150);
  moved.master_host = "10.0.0.9";
  auto v = t.update(moved, redis_primary(200), t0 + 5s, 1s);
  EXPECT_FALSE(v.eligible);  // compared with 200 (no baseline), and no caught-up time
  EXPECT_EQ(v.reason.rfind("not caught up yet", 0), 0u) << v.reason;
}

TEST(LagTracker, DragonflyWithoutOffsetIsPreparing) {
  ReplicaLagTracker t("10.0.0.2", 7102);
  auto v = t.update(dfly_replica(std::nullopt), std::nullopt, t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason.rfind("no replication offset yet", 0), 0u) << v.reason;
  v = t.update(dfly_replica(std::nullopt), dfly_primary({dfly_entry("10.0.0.2", 7102, 0)}), t0 + 1s,
               1s);
  EXPECT_FALSE(v.eligible);
  // The offset appears after the full sync.
  v = t.update(dfly_replica(2437), dfly_primary({dfly_entry("10.0.0.2", 7102, 0)}), t0 + 2s, 1s);
  EXPECT_TRUE(v.eligible) << v.reason;
}

TEST(LagTracker, DragonflyLastIo) {
  ReplicaLagTracker t("10.0.0.2", 7102);
  EXPECT_TRUE(t.update(dfly_replica(10, 1), std::nullopt, t0, 500ms).eligible);
  auto v = t.update(dfly_replica(10, 3), std::nullopt, t0 + 1s, 500ms);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "last I/O with primary 3 s ago > 2 s");
  EXPECT_TRUE(t.update(dfly_replica(10, 3), std::nullopt, t0 + 2s, 3s).eligible);
}

TEST(LagTracker, DragonflyLagRecordsFromThePrimary) {
  ReplicaLagTracker t("10.0.0.2", 7102, 1000);
  auto primary = [](long long lag, std::string state = "online") {
    return dfly_primary({dfly_entry("10.0.0.3", 7102, 999999),
                         dfly_entry("10.0.0.2", 7102, lag, std::move(state))});
  };
  EXPECT_TRUE(t.update(dfly_replica(10), primary(0), t0, 1s).eligible);
  EXPECT_TRUE(t.update(dfly_replica(10), primary(1000), t0, 1s).eligible);
  auto v = t.update(dfly_replica(10), primary(1001), t0, 1s);
  EXPECT_FALSE(v.eligible);
  EXPECT_EQ(v.reason, "lag 1001 records > 1000 records");
  // lag= means nothing outside stable sync (Dragonfly prints 0 there); stable_sync counts.
  EXPECT_TRUE(t.update(dfly_replica(10), primary(5000, "full_sync"), t0, 1s).eligible);
  EXPECT_FALSE(t.update(dfly_replica(10), primary(5000, "stable_sync"), t0, 1s).eligible);
}

TEST(LagTracker, DragonflyFindsItselfByPortWhenTheHostDiffers) {
  // The topology says "replica-a", the primary shows the IP.
  ReplicaLagTracker t("replica-a", 7102, 1000);
  EXPECT_FALSE(
      t.update(dfly_replica(10), dfly_primary({dfly_entry("10.0.0.2", 7102, 5000)}), t0, 1s)
          .eligible);
  // Two entries with that port and neither host matches: no guess.
  EXPECT_TRUE(t.update(dfly_replica(10),
                       dfly_primary({dfly_entry("10.0.0.2", 7102, 5000),
                                     dfly_entry("10.0.0.3", 7102, 5000)}),
                       t0, 1s)
                  .eligible);
  // A tracker without an address never applies the rule.
  ReplicaLagTracker anonymous;
  EXPECT_TRUE(
      anonymous.update(dfly_replica(10), dfly_primary({dfly_entry("10.0.0.2", 7102, 5000)}), t0, 1s)
          .eligible);
}

TEST(LagTracker, DragonflyReplicaOfRedisPrimaryUsesOffsets) {
  // Dragonfly replicating from Redis reports Redis byte offsets, and no replid of its own kind
  // that differs: the offset rule applies.
  ReplicaLagTracker t;
  ReplicationInfo r = dfly_replica(100);
  r.master_replid = "r1";
  EXPECT_TRUE(t.update(r, redis_primary(100), t0, 1s).eligible);
  EXPECT_EQ(t.offset_lag(), 0ms);
}

// The tracker over the captured/derived fixtures themselves.
TEST(LagTracker, OnFixtures) {
  auto info = [](const std::string& path) { return parse_info_replication(read_file(path)); };
  const auto redis_master = info(kRedisDir + "redis-info-replication-master.txt");
  {
    ReplicaLagTracker t("127.0.0.1", env_port("replica_port"));
    auto v = t.update(info(kRedisDir + "redis-info-replication-replica.txt"), redis_master, t0, 1s);
    EXPECT_TRUE(v.eligible) << v.reason;
    EXPECT_EQ(t.offset_lag(), 0ms);
    v = t.update(info(kRedisDir + "redis-info-replication-replica-link-down.txt"), std::nullopt,
                 t0 + 1s, 1s);
    EXPECT_EQ(v.reason, "link down");
  }
  {
    ReplicaLagTracker t;
    EXPECT_EQ(t.update(info(kRedisDir + "redis-info-replication-replica-syncing.txt"),
                       info(kRedisDir + "redis-info-replication-master-syncing.txt"), t0, 1s)
                  .reason,
              "full sync in progress");
    EXPECT_EQ(t.update(info(kRedisDir + "redis-info-replication-replica-connecting.txt"),
                       std::nullopt, t0, 1s)
                  .reason,
              "link down");
    EXPECT_FALSE(
        t.update(redis_master, std::nullopt, t0, 1s).eligible);  // a primary is not a replica
  }
  {
    const auto dfly_master = info(kDragonflyDir + "dragonfly-info-replication-master.txt");
    ReplicaLagTracker t("127.0.0.1", 7102);
    auto v = t.update(info(kDragonflyDir + "dragonfly-info-replication-replica.txt"), dfly_master,
                      t0, 1s);
    EXPECT_TRUE(v.eligible) << v.reason;
    EXPECT_FALSE(t.offset_lag().has_value());  // journal records: never compared
    EXPECT_EQ(t.update(info(kDragonflyDir + "dragonfly-info-replication-replica-syncing.txt"),
                       dfly_master, t0, 1s)
                  .reason,
              "full sync in progress");
    EXPECT_EQ(t.update(info(kDragonflyDir + "dragonfly-info-replication-replica-link-down.txt"),
                       std::nullopt, t0, 1s)
                  .reason,
              "link down");
    EXPECT_EQ(t.update(info(kDragonflyDir + "dragonfly-info-replication-replica-connecting.txt"),
                       std::nullopt, t0, 1s)
                  .reason,
              "link down");
  }
}

}  // namespace
}  // namespace flyshard::detail
