#include "io/ring_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace flyshard::detail {
namespace {

// Counts live instances, so that a leak or a double destruction shows.
struct Tracked {
  static inline int live = 0;
  std::unique_ptr<std::string> text;
  explicit Tracked(std::string s) : text(std::make_unique<std::string>(std::move(s))) { ++live; }
  Tracked(Tracked&& o) noexcept : text(std::move(o.text)) { ++live; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --live; }
};

class RingQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { Tracked::live = 0; }
  void TearDown() override { EXPECT_EQ(Tracked::live, 0); }
};

TEST_F(RingQueueTest, FirstInFirstOut) {
  RingQueue<Tracked> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 5; ++i) q.push_back(Tracked(std::to_string(i)));
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(*q.back().text, "4");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(*q.front().text, std::to_string(i));
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
}

TEST_F(RingQueueTest, SteadyStateReusesItsSlots) {
  RingQueue<Tracked> q;
  for (int i = 0; i < 10; ++i) q.push_back(Tracked("x"));
  const std::size_t capacity = q.capacity();
  // A queue moving along (one in, one out) goes round the ring many times without growing.
  for (int i = 0; i < 1000; ++i) {
    q.pop_front();
    q.push_back(Tracked(std::to_string(i)));
  }
  EXPECT_EQ(q.capacity(), capacity);
  EXPECT_EQ(q.size(), 10u);
  EXPECT_EQ(*q.front().text, "990");
  EXPECT_EQ(*q[9].text, "999");
}

TEST_F(RingQueueTest, GrowsWhileWrappedKeepingOrder) {
  RingQueue<Tracked> q;
  for (int i = 0; i < 16; ++i) q.push_back(Tracked(std::to_string(i)));
  ASSERT_EQ(q.capacity(), 16u);  // exactly full
  for (int i = 0; i < 10; ++i) q.pop_front();
  for (int i = 16; i < 26; ++i) q.push_back(Tracked(std::to_string(i)));  // wraps round
  EXPECT_EQ(q.capacity(), 16u);
  q.push_back(Tracked("26"));  // one over: grows, the wrapped elements move in order
  EXPECT_EQ(q.capacity(), 32u);
  ASSERT_EQ(q.size(), 17u);
  for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(*q[i].text, std::to_string(10 + i));
}

TEST_F(RingQueueTest, ClearDestroysAndKeepsCapacity) {
  RingQueue<Tracked> q;
  for (int i = 0; i < 20; ++i) q.push_back(Tracked("y"));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(Tracked::live, 0);
  EXPECT_EQ(q.capacity(), 32u);
  q.push_back(Tracked("z"));
  EXPECT_EQ(*q.front().text, "z");
}

TEST_F(RingQueueTest, SwapAndMoveTakeTheElements) {
  RingQueue<Tracked> a;
  for (int i = 0; i < 3; ++i) a.push_back(Tracked(std::to_string(i)));
  RingQueue<Tracked> b;
  b.swap(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.capacity(), 0u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(*b.front().text, "0");
  a.push_back(Tracked("after swap"));  // the emptied queue is usable again
  EXPECT_EQ(*a.front().text, "after swap");

  RingQueue<Tracked> c(std::move(b));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by design
  EXPECT_EQ(*c[2].text, "2");
  c = std::move(a);  // drops c's elements, takes a's
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(*c.front().text, "after swap");
}

}  // namespace
}  // namespace flyshard::detail
