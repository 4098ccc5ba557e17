// NodeHealth: the thread-safe up/down, role and latency state of one node.

#include "health/node_health.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace flyshard::detail {
namespace {

using namespace std::chrono_literals;

TEST(NodeHealthTest, StartsUpWithUnknownRoleAndNotEligible) {
  NodeHealth h;
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.role(), NodeRole::unknown);
  EXPECT_FALSE(h.read_eligible());
  EXPECT_EQ(h.latency_us(), 0);
}

TEST(NodeHealthTest, FailuresBelowLimitKeepItUp) {
  NodeHealth h;
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_TRUE(h.up());
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_TRUE(h.up());
}

TEST(NodeHealthTest, FailureAtLimitMarksDownExactlyOnce) {
  NodeHealth h;
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_TRUE(h.on_failure(3));
  EXPECT_FALSE(h.up());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(h.on_failure(3)) << i;
  EXPECT_FALSE(h.up());
}

TEST(NodeHealthTest, LimitOfOneOrZeroMarksDownOnFirstFailure) {
  NodeHealth a;
  EXPECT_TRUE(a.on_failure(1));
  EXPECT_FALSE(a.up());
  NodeHealth b;
  EXPECT_TRUE(b.on_failure(0));  // treated as 1
  EXPECT_FALSE(b.up());
}

TEST(NodeHealthTest, SuccessResetsTheFailureStreak) {
  NodeHealth h;
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_FALSE(h.on_failure(3));
  h.on_success();
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.on_failure(3));
  EXPECT_FALSE(h.up());
}

TEST(NodeHealthTest, SuccessDoesNotMarkUp) {
  NodeHealth h;
  EXPECT_TRUE(h.on_failure(1));
  h.on_success();
  EXPECT_FALSE(h.up());
}

TEST(NodeHealthTest, CheckMarksUpOnceAndSetsRoleAndEligibility) {
  NodeHealth h;
  // Up from the start: a check confirms, it does not transition.
  EXPECT_FALSE(h.on_check(NodeRole::primary, false, 1ms));
  EXPECT_EQ(h.role(), NodeRole::primary);
  EXPECT_FALSE(h.read_eligible());

  EXPECT_TRUE(h.on_failure(1));
  EXPECT_FALSE(h.up());
  EXPECT_TRUE(h.on_check(NodeRole::replica, true, 1ms));
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.role(), NodeRole::replica);
  EXPECT_TRUE(h.read_eligible());
  EXPECT_FALSE(h.on_check(NodeRole::replica, false, 1ms));
  EXPECT_TRUE(h.up());
  EXPECT_FALSE(h.read_eligible());
}

TEST(NodeHealthTest, CheckResetsTheFailureStreak) {
  NodeHealth h;
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_FALSE(h.on_failure(3));
  h.on_check(NodeRole::primary, false, 1ms);
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_FALSE(h.on_failure(3));
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.on_failure(3));
}

TEST(NodeHealthTest, LatencyIsSmoothed) {
  NodeHealth h;
  h.on_check(NodeRole::primary, false, 1000us);
  EXPECT_EQ(h.latency_us(), 1000);  // first sample as is
  h.on_check(NodeRole::primary, false, 2000us);
  EXPECT_EQ(h.latency_us(), (3 * 1000 + 2000) / 4);  // 1250
  h.on_check(NodeRole::primary, false, 250us);
  EXPECT_EQ(h.latency_us(), (3 * 1250 + 250) / 4);  // 1000
  // Nanoseconds are truncated to microseconds.
  NodeHealth n;
  n.on_check(NodeRole::primary, false, std::chrono::nanoseconds(1'500'999));
  EXPECT_EQ(n.latency_us(), 1500);
}

TEST(NodeHealthTest, ExpectRoleCheckForgetsTheRole) {
  NodeHealth h;
  h.on_check(NodeRole::replica, true, 1ms);
  ASSERT_EQ(h.role(), NodeRole::replica);
  h.expect_role_check();
  EXPECT_EQ(h.role(), NodeRole::unknown);
  EXPECT_TRUE(h.up());
}

TEST(NodeHealthTest, ConcurrentFailuresSeeOneDownTransition) {
  for (int round = 0; round < 50; ++round) {
    NodeHealth h;
    std::atomic<int> transitions{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 1000; ++i) {
          if (h.on_failure(5)) transitions.fetch_add(1);
        }
      });
    }
    go.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(transitions.load(), 1) << "round " << round;
    EXPECT_FALSE(h.up());
  }
}

TEST(NodeHealthTest, TimeoutsCountOncePerWindow) {
  NodeHealth h;
  const auto t0 = std::chrono::steady_clock::now();
  // A burst of timeouts behind one slow command: one failure, not a hundred.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(h.on_timeout(3, t0 + i * 1ms, 1000ms)) << i;
  EXPECT_TRUE(h.up());
  // Two more windows with timeouts: the third counted failure reaches the limit.
  EXPECT_FALSE(h.on_timeout(3, t0 + 1000ms, 1000ms));
  EXPECT_FALSE(h.on_timeout(3, t0 + 1500ms, 1000ms));  // same window as the last one
  EXPECT_TRUE(h.on_timeout(3, t0 + 2000ms, 1000ms));
  EXPECT_FALSE(h.up());
}

TEST(NodeHealthTest, TimeoutWindowIsSharedByThreads) {
  NodeHealth h;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> marked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (h.on_timeout(2, t0 + std::chrono::microseconds(i), 1000ms)) ++marked;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(marked.load(), 0);  // 4000 timeouts in one window are one failure
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.on_failure(2));  // and that one failure did count
}

}  // namespace
}  // namespace flyshard::detail
