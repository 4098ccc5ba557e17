// AsyncClient's stream helpers against three real servers started by the test: the words and
// reply parsing of the blocking ones, callbacks on the loop thread, and no BLOCK ever sent.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include "client_helpers.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::loop_thread;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSlow = FLYSHARD_SLOWDOWN;

using Fields = std::vector<std::pair<std::string, std::string>>;
using Entries = std::vector<StreamEntry>;

class AsyncStreamsTest : public flyshard::testing::SharedClusterTest<3> {
 protected:
  static ClientOptions options() {
    ClientOptions o;
    o.request_timeout = 500ms * kSlow;
    o.log_level = LogLevel::error;
    return o;
  }
};

// Runs one async call and waits for its Result; `thread` receives the callback's thread.
template <typename T, typename F>
Result<T> wait_for(F&& start, std::thread::id* thread = nullptr) {
  std::promise<Result<T>> p;
  start([&p, thread](Result<T> r) {
    if (thread != nullptr) *thread = std::this_thread::get_id();
    p.set_value(std::move(r));
  });
  return p.get_future().get();
}

}  // namespace

TEST_F(AsyncStreamsTest, EntriesRoundTripWithFieldsInOrderOnTheLoopThread) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::thread::id loop = loop_thread(a);
  ASSERT_NE(loop, std::this_thread::get_id());
  const std::string s = "orders";
  // Field order differs from sorted order: it must come back as written.
  const Fields f1{{"sku", "z"}, {"order", "1"}, {"amount", "12.50"}};
  std::thread::id on;
  auto id1 = wait_for<std::string>([&](auto cb) { a.xadd(s, f1, cb); }, &on);
  ASSERT_TRUE(id1.ok()) << id1.message();
  EXPECT_EQ(on, loop);
  auto id2 = wait_for<std::string>([&](auto cb) { a.xadd(s, {{"order", "2"}}, cb); });
  auto id3 = wait_for<std::string>([&](auto cb) {
    a.xadd(s, {{"order", "3"}}, cb, "9999999999999-5");
  });
  ASSERT_TRUE(id2.ok() && id3.ok());
  EXPECT_NE(*id1, *id2);
  EXPECT_EQ(*id3, "9999999999999-5");
  // On the shard the key names.
  EXPECT_EQ(cluster_->primary(c.shard_for(s)).command({"XLEN", s}).integer(), 3);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.xlen(s, cb); }, &on), 3);
  EXPECT_EQ(on, loop);

  auto all = wait_for<Entries>([&](auto cb) { a.xrange(s, cb); }, &on);
  ASSERT_TRUE(all.ok()) << all.message();
  EXPECT_EQ(on, loop);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], (StreamEntry{*id1, f1}));
  EXPECT_EQ((*all)[1], (StreamEntry{*id2, Fields{{"order", "2"}}}));
  EXPECT_EQ((*all)[2].id, "9999999999999-5");
  auto first = wait_for<Entries>([&](auto cb) { a.xrange(s, cb, "-", "+", 1); });
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().id, *id1);
  EXPECT_EQ(wait_for<Entries>([&](auto cb) { a.xrange(s, cb, *id2, *id2); })->size(), 1u);
  EXPECT_TRUE(wait_for<Entries>([&](auto cb) { a.xrange("no-such-stream", cb); })->empty());
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.xlen("no-such-stream", cb); }), 0);

  // MAXLEN ~ trims, approximately (radix-tree nodes go whole).
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(wait_for<std::string>([&](auto cb) {
                  a.xadd("capped", {{"i", std::to_string(i)}}, cb, "*", 10);
                }).ok());
  }
  const long long capped = *wait_for<long long>([&](auto cb) { a.xlen("capped", cb); });
  EXPECT_LT(capped, 1000);
  EXPECT_GE(capped, 10);

  // An error reply is the Result's error, on the loop thread, not an exception.
  c.set("plain", "x");
  auto bad = wait_for<std::string>([&](auto cb) { a.xadd("plain", {{"a", "b"}}, cb); }, &on);
  EXPECT_EQ(bad.error(), errc::server_error);
  EXPECT_EQ(server_error_kind(bad), ServerErrorKind::wrongtype);
  EXPECT_EQ(on, loop);
  auto wrongtype = wait_for<Entries>([&](auto cb) { a.xrange("plain", cb); });
  EXPECT_EQ(server_error_kind(wrongtype), ServerErrorKind::wrongtype);
}

TEST_F(AsyncStreamsTest, GroupReadAckAutoclaimAndBusygroup) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  const std::thread::id loop = loop_thread(a);
  const std::string s = "jobs";
  std::thread::id on;
  auto created = wait_for<bool>([&](auto cb) { a.xgroup_create(s, "workers", cb, "0"); }, &on);
  ASSERT_TRUE(created.ok()) << created.message();
  EXPECT_TRUE(*created);  // MKSTREAM
  EXPECT_EQ(on, loop);
  auto again = wait_for<bool>([&](auto cb) { a.xgroup_create(s, "workers", cb, "0"); }, &on);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(*again);  // BUSYGROUP
  EXPECT_EQ(on, loop);
  // Without MKSTREAM a missing stream is an error, not "exists".
  auto missing = wait_for<bool>([&](auto cb) { a.xgroup_create("missing", "g", cb, "$", false); });
  EXPECT_EQ(missing.error(), errc::server_error);

  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(*wait_for<std::string>([&](auto cb) {
      a.xadd(s, {{"job", std::to_string(i)}}, cb);
    }));
  auto got = wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w1", s, cb, ">", 3); }, &on);
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(on, loop);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], (StreamEntry{ids[0], Fields{{"job", "0"}}}));
  EXPECT_EQ((*got)[2].id, ids[2]);
  auto rest = wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w2", s, cb); });
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].id, ids[4]);

  // w1's pending entries, re-read with "0"; acked ones leave the list.
  EXPECT_EQ(wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w1", s, cb, "0"); })->size(),
            3u);
  EXPECT_EQ(*wait_for<long long>(
                [&](auto cb) {
                  a.xack(s, "workers", {ids[0], ids[1]}, cb);
                },
                &on),
            2);
  EXPECT_EQ(on, loop);
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.xack(s, "workers", {ids[0]}, cb); }), 0);
  auto none = wait_for<long long>([&](auto cb) { a.xack(s, "workers", {}, cb); }, &on);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(on, loop);  // answered without sending, still never inside the call
  auto pending = wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w1", s, cb, "0"); });
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, ids[2]);

  // w2 "dies" with ids[3], ids[4] pending; a second consumer takes them over.
  auto early =
      wait_for<AutoClaimed>([&](auto cb) { a.xautoclaim(s, "workers", "w3", 5000ms, cb); });
  ASSERT_TRUE(early.ok()) << early.message();
  EXPECT_TRUE(early->entries.empty());  // not idle long enough
  std::this_thread::sleep_for(300ms);
  auto claimed =
      wait_for<AutoClaimed>([&](auto cb) { a.xautoclaim(s, "workers", "w3", 200ms, cb); }, &on);
  ASSERT_TRUE(claimed.ok()) << claimed.message();
  EXPECT_EQ(on, loop);
  EXPECT_EQ(claimed->next_id, "0-0");
  // w1's ids[2] is as idle as w2's entries: all three move to w3.
  ASSERT_EQ(claimed->entries.size(), 3u);
  EXPECT_EQ(claimed->entries[0], (StreamEntry{ids[2], Fields{{"job", "2"}}}));
  EXPECT_EQ(claimed->entries[2], (StreamEntry{ids[4], Fields{{"job", "4"}}}));
  EXPECT_EQ(wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w3", s, cb, "0"); })->size(),
            3u);
  EXPECT_TRUE(
      wait_for<Entries>([&](auto cb) { a.xreadgroup("workers", "w2", s, cb, "0"); })->empty());
  EXPECT_EQ(*wait_for<long long>([&](auto cb) {
    a.xack(s, "workers", {ids[2], ids[3], ids[4]}, cb);
  }),
            3);
  // COUNT and the cursor.
  for (int i = 0; i < 5; ++i) c.xadd(s, {{"more", std::to_string(i)}});
  ASSERT_EQ(c.xreadgroup("workers", "gone", s).size(), 5u);
  std::this_thread::sleep_for(50ms);
  auto part =
      wait_for<AutoClaimed>([&](auto cb) { a.xautoclaim(s, "workers", "w3", 10ms, cb, "0-0", 2); });
  ASSERT_EQ(part->entries.size(), 2u);
  EXPECT_NE(part->next_id, "0-0");
  auto next = wait_for<AutoClaimed>(
      [&](auto cb) { a.xautoclaim(s, "workers", "w3", 10ms, cb, part->next_id, 10); });
  EXPECT_EQ(next->entries.size(), 3u);
}

// The async face never sends BLOCK: on an empty stream it answers at once, and a concurrent
// caller on the same link is not held up. A BLOCK on the shared link would stall both for
// the block time; the blocking Client is the one for that.
TEST_F(AsyncStreamsTest, XreadgroupOnAnEmptyStreamAnswersPromptly) {
  ClientOptions o = options();
  o.request_timeout = 5000ms;  // a stall would show long before a timeout ended it
  Client c(cluster_->topology(), o);
  AsyncClient& a = c.async();
  const std::string s = "quiet";
  ASSERT_TRUE(*wait_for<bool>([&](auto cb) { a.xgroup_create(s, "g", cb); }));
  for (int round = 0; round < 3; ++round) {
    const auto t0 = Clock::now();
    auto empty = wait_for<Entries>([&](auto cb) { a.xreadgroup("g", "c1", s, cb); });
    ASSERT_TRUE(empty.ok()) << empty.message();
    EXPECT_TRUE(empty->empty());
    EXPECT_LT(Clock::now() - t0, 250ms * kSlow);
  }
  // The same on a stream that does not exist: the server's error, not a wait.
  const auto t0 = Clock::now();
  auto nogroup = wait_for<Entries>([&](auto cb) { a.xreadgroup("g", "c1", "no-stream", cb); });
  EXPECT_EQ(nogroup.error(), errc::server_error);
  EXPECT_LT(Clock::now() - t0, 250ms * kSlow);
  // And the blocking face's BLOCK still is the way to wait.
  const auto t1 = Clock::now();
  EXPECT_TRUE(c.xreadgroup("g", "c1", s, ">", 10, 300ms).empty());
  EXPECT_GE(Clock::now() - t1, 280ms);
}

// On the same data every async stream helper answers what its blocking counterpart answers.
TEST_F(AsyncStreamsTest, AsyncHelpersAgreeWithTheBlockingOnes) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  for (const std::string s : {"agree:a", "agree:b", "agree:c"}) {
    EXPECT_EQ(*wait_for<bool>([&](auto cb) { a.xgroup_create(s, "g", cb, "0"); }), true);
    EXPECT_EQ(c.xgroup_create(s, "g", "0"),
              *wait_for<bool>([&](auto cb) { a.xgroup_create(s, "g", cb, "0"); }));
    for (int i = 0; i < 4; ++i) {
      c.xadd(s, {{"b", std::to_string(i)}, {"a", "x"}});
      ASSERT_TRUE(wait_for<std::string>([&](auto cb) {
                    a.xadd(s, {{"b", std::to_string(i)}, {"a", "y"}}, cb);
                  }).ok());
    }
    EXPECT_EQ(c.xlen(s), *wait_for<long long>([&](auto cb) { a.xlen(s, cb); }));
    EXPECT_EQ(c.xrange(s), *wait_for<Entries>([&](auto cb) { a.xrange(s, cb); }));
    EXPECT_EQ(c.xrange(s, "-", "+", 3),
              *wait_for<Entries>([&](auto cb) { a.xrange(s, cb, "-", "+", 3); }));
    // Two consumers read the same number; their pending lists agree entry for entry.
    const Entries sync_read = c.xreadgroup("g", "sync", s, ">", 4);
    const Entries async_read =
        *wait_for<Entries>([&](auto cb) { a.xreadgroup("g", "async", s, cb, ">", 4); });
    ASSERT_EQ(sync_read.size(), 4u);
    ASSERT_EQ(async_read.size(), 4u);
    EXPECT_EQ(c.xrange(s, "-", "+", 8), [&] {
      Entries both = sync_read;
      both.insert(both.end(), async_read.begin(), async_read.end());
      return both;
    }());
    EXPECT_EQ(c.xreadgroup("g", "async", s, "0"),
              *wait_for<Entries>([&](auto cb) { a.xreadgroup("g", "async", s, cb, "0"); }));
    std::this_thread::sleep_for(30ms);
    const AutoClaimed sync_claim = c.xautoclaim(s, "g", "taker", 10ms, "0-0", 2);
    const AutoClaimed async_claim = *wait_for<AutoClaimed>(
        [&](auto cb) { a.xautoclaim(s, "g", "taker", 10ms, cb, sync_claim.next_id, 100); });
    EXPECT_EQ(sync_claim.entries.size(), 2u);
    EXPECT_EQ(async_claim.entries.size(), 6u);
    EXPECT_EQ(async_claim.next_id, "0-0");
    EXPECT_EQ(c.xreadgroup("g", "taker", s, "0").size(), 8u);
    std::vector<std::string> half, rest;
    for (std::size_t i = 0; i < sync_read.size(); ++i) half.push_back(sync_read[i].id);
    for (std::size_t i = 0; i < async_read.size(); ++i) rest.push_back(async_read[i].id);
    EXPECT_EQ(c.xack(s, "g", half),
              *wait_for<long long>([&](auto cb) { a.xack(s, "g", rest, cb); }));
  }
}

// A callback that throws is called once; the exception is dropped at the loop's boundary and
// later calls work.
TEST_F(AsyncStreamsTest, ACallbackThatThrowsIsCalledOnce) {
  Client c(cluster_->topology(), options());
  AsyncClient& a = c.async();
  std::atomic<int> calls{0};
  a.xrange("whatever", [&](Result<Entries>) {
    ++calls;
    throw Error(errc::protocol_error, "the callback's own");
  });
  a.xlen("whatever", [&](Result<long long>) {
    ++calls;
    throw std::runtime_error("the callback's own");
  });
  EXPECT_EQ(*wait_for<long long>([&](auto cb) { a.xlen("whatever", cb); }), 0);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls.load(), 2);
}
