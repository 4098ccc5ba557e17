#pragma once
/// \file shared_cluster_test.hpp
/// A GoogleTest fixture whose suite shares one LocalCluster (started once per suite, flushed
/// before every test): starting servers is the slow part of an integration test.
///
/// Test support only: not part of the installed library.

#include <gtest/gtest.h>

#include <cstddef>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

namespace flyshard::testing {

/// `class FooTest : public SharedClusterTest<3> {};` gives every TEST_F(FooTest, ...) a
/// running 3-shard cluster in `cluster_`, empty at the start of each test.
template <std::size_t Shards, std::size_t Replicas = 0>
class SharedClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions o;
    o.shards = Shards;
    o.replicas = Replicas;
    cluster_ = new LocalCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { cluster_->flush_all(); }
  static inline LocalCluster* cluster_ = nullptr;
};

/// SharedClusterTest with one replica per shard, every replica in sync before each test (the
/// confirmed-write tests: WAIT counts them).
template <std::size_t Shards>
class ReplicatedClusterTest : public SharedClusterTest<Shards, 1> {
 protected:
  void SetUp() override {
    SharedClusterTest<Shards, 1>::SetUp();  // flush
    for (std::size_t s = 0; s < this->cluster_->shards(); ++s) this->cluster_->wait_replicas_up(s);
  }
  // The confirmed-write tests' first batch, {order:1}: SET status paid, INCR version, GET of a
  // missing key, with one replica asked for: its replies in place, and the replica holding
  // the writes once confirmed. One check for both faces.
  void expect_order_batch_confirmed(const Client& c, const AckedReplies& r) {
    ASSERT_EQ(r.replies.size(), 3u);
    EXPECT_EQ(r.replies[0].str(), "OK");
    EXPECT_EQ(r.replies[1].integer(), 1);
    EXPECT_TRUE(r.replies[2].is_nil());
    ASSERT_TRUE(r.acked.has_value());
    EXPECT_GE(*r.acked, 1);
    EXPECT_TRUE(r.confirmed);
    // Confirmed means the replica has applied them.
    auto& replica = this->cluster_->replica(c.shard_for("{order:1}:status"), 0);
    EXPECT_EQ(replica.command({"GET", "{order:1}:status"}).str(), "paid");
    EXPECT_EQ(replica.command({"GET", "{order:1}:version"}).str(), "1");
  }
};

}  // namespace flyshard::testing
