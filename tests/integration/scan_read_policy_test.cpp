// Client::scan follows ClientOptions::read_from: SCAN goes to a replica when the policy reads
// from replicas and one is eligible, else to the primary. A replica holds the same keys, so
// the evidence is the servers' own count of SCAN calls (INFO commandstats).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::eventually;
using flyshard::testing::ServerProcess;
using flyshard::testing::SharedClusterTest;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

// cmdstat_scan's calls= on `p` (0 before the first SCAN).
long long scan_calls(ServerProcess& p) {
  const std::string s = p.command({"INFO", "commandstats"}).str();
  const auto at = s.find("cmdstat_scan:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(s.substr(at + std::strlen("cmdstat_scan:calls=")));
}

std::set<std::string> scan_all(Client& c) {
  std::set<std::string> keys;
  for (const std::string& k : c.scan({.count = 7})) keys.insert(k);
  return keys;
}

// Two shards, one replica each, shared by the suite and flushed before every test.
class ScanReadPolicyTest : public SharedClusterTest<2, 1> {};

TEST_F(ScanReadPolicyTest, ReplicaPolicyScansReplicas) {
  ClientOptions o;
  o.read_from = ReadFrom::replica;
  o.health_interval = 50ms;
  Client c(cluster_->topology(), o);
  std::set<std::string> written;
  for (int i = 0; i < 50; ++i) {
    written.insert("key:" + std::to_string(i));
    c.set("key:" + std::to_string(i), "v");
  }
  // Replicated, and the replicas found eligible by the health checks.
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return scan_all(c) == written;
        } catch (const Error&) {
          return false;
        }
      },
      10s * kSlow));

  std::vector<long long> primary_before, replica_before;
  for (std::size_t s = 0; s < 2; ++s) {
    primary_before.push_back(scan_calls(cluster_->primary(s)));
    replica_before.push_back(scan_calls(cluster_->replica(s, 0)));
  }
  EXPECT_EQ(scan_all(c), written);
  for (std::size_t s = 0; s < 2; ++s) {
    EXPECT_GT(scan_calls(cluster_->replica(s, 0)), replica_before[s]) << "shard " << s;
    EXPECT_EQ(scan_calls(cluster_->primary(s)), primary_before[s]) << "shard " << s;
  }
}

TEST_F(ScanReadPolicyTest, PrimaryPolicyScansPrimaries) {
  Client c(cluster_->topology());  // read_from = primary (default)
  c.set("p", "v");
  std::vector<long long> primary_before, replica_before;
  for (std::size_t s = 0; s < 2; ++s) {
    primary_before.push_back(scan_calls(cluster_->primary(s)));
    replica_before.push_back(scan_calls(cluster_->replica(s, 0)));
  }
  EXPECT_TRUE(scan_all(c).count("p"));
  for (std::size_t s = 0; s < 2; ++s) {
    EXPECT_GT(scan_calls(cluster_->primary(s)), primary_before[s]) << "shard " << s;
    EXPECT_EQ(scan_calls(cluster_->replica(s, 0)), replica_before[s]) << "shard " << s;
  }
}

TEST_F(ScanReadPolicyTest, ReplicaPreferredFallsBackToThePrimary) {
  ClientOptions o;
  o.read_from = ReadFrom::replica_preferred;
  o.health_interval = 50ms;
  o.failure_limit = 1;
  o.request_timeout = 300ms * kSlow;
  o.connect_timeout = 300ms * kSlow;
  Client c(cluster_->topology(), o);
  c.set("q", "v");
  ASSERT_TRUE(eventually([&] { return scan_all(c).count("q") == 1; }, 10s * kSlow));
  // Shard 0's replica hangs: the health checks take it out of reads, and SCAN goes to the
  // primary for that shard.
  cluster_->replica(0, 0).stop();
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& n : c.stats().nodes) {
          if (n.address == cluster_->replica(0, 0).address().to_string()) return !n.up;
        }
        return false;
      },
      5s * kSlow));
  const long long before = scan_calls(cluster_->primary(0));
  EXPECT_EQ(scan_all(c).count("q"), 1u);
  EXPECT_GT(scan_calls(cluster_->primary(0)), before);
  cluster_->replica(0, 0).resume();
}

}  // namespace
