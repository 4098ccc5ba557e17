#pragma once
/// \file shared_cluster_test.hpp
/// A GoogleTest fixture whose suite shares one LocalCluster (started once per suite, flushed
/// before every test): starting servers is the slow part of an integration test.
///
/// Test support only: not part of the installed library.

#include <gtest/gtest.h>

#include <cstddef>

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
};

}  // namespace flyshard::testing
