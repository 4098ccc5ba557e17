// The AsyncClient: callbacks once, on the loop thread, never inside the call; pipelining;
// overload; shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "shared_cluster_test.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

// Counts completions and lets the test wait for a number of them.
class Latch {
 public:
  void count_down() {
    std::lock_guard l(mu_);
    ++done_;
    cv_.notify_all();
  }
  bool wait_for(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return done_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
};

class AsyncClientTest : public flyshard::testing::SharedClusterTest<3> {};

TEST_F(AsyncClientTest, CallbackRunsOnceOnTheLoopThreadNeverInsideTheCall) {
  Client client(cluster_->topology());
  AsyncClient& async = client.async();
  const auto caller = std::this_thread::get_id();
  std::atomic<int> calls{0};
  // A callback run inside the call would run on this thread: the thread check covers both.
  std::atomic<bool> on_caller{false};
  Latch latch;
  for (int i = 0; i < 100; ++i) {
    async.command({"SET", "a" + std::to_string(i), "v"}, [&](Result<Reply> r) {
      if (std::this_thread::get_id() == caller) on_caller = true;
      EXPECT_TRUE(r.ok()) << r.message();
      ++calls;
      latch.count_down();
    });
  }
  // Errors found before sending (cross_shard) also complete on the loop, not inline.
  std::string a = "x", b;
  for (int i = 0; b.empty(); ++i) {
    if (client.shard_for("y" + std::to_string(i)) != client.shard_for(a)) b = "y" + std::to_string(i);
  }
  async.command({"MGET", a, b}, [&](Result<Reply> r) {
    if (std::this_thread::get_id() == caller) on_caller = true;
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::cross_shard);
    ++calls;
    latch.count_down();
  });
  ASSERT_TRUE(latch.wait_for(101));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a second call would show here
  EXPECT_EQ(calls.load(), 101);
  EXPECT_FALSE(on_caller.load());
}

TEST_F(AsyncClientTest, ManyInFlightFromManyThreadsEachGetsItsOwnReply) {
  ClientOptions o;
  o.connections_per_node = 2;
  Client client(cluster_->topology(), o);
  AsyncClient& async = client.async();
  constexpr int kThreads = 4, kPerThread = 20000;
  std::atomic<int> mismatches{0}, errors{0};
  Latch latch;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Flow control as a real caller would: at most 512 GETs of this thread in flight (an
      // unbounded burst only measures how long the queue gets; under ASan it times out).
      auto window = std::make_shared<std::counting_semaphore<512>>(512);
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k" + std::to_string(t) + ":" + std::to_string(i);
        window->acquire();
        // ECHO-like check: SET then GET the same key; the GET's reply must be our value.
        async.command({"SET", key, key});
        async.command({"GET", key}, [&, key, window](Result<Reply> r) {
          window->release();
          if (!r.ok()) {
            ++errors;
          } else if (r.value().str() != key) {
            if (!r.value().is_nil()) ADD_FAILURE() << "wrong value " << r.value().to_string();
            ++mismatches;
          }
          latch.count_down();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(latch.wait_for(kThreads * kPerThread, std::chrono::seconds(60)));
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
}

TEST_F(AsyncClientTest, FutureAdapterAndTypedHelpers) {
  Client client(cluster_->topology());
  AsyncClient& async = client.async();
  EXPECT_EQ(async.command({"SET", "f", "1"}).get().str(), "OK");
  EXPECT_EQ(async.command({"GET", "f"}).get().str(), "1");
  auto bad = async.command({"LPUSH", "f", "x"});
  try {
    bad.get();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
  }
  Latch latch;
  async.get("f", [&](Result<std::optional<std::string>> r) {
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.value(), "1");
    latch.count_down();
  });
  async.set("g", "2", [&](Result<bool> r) {
    EXPECT_TRUE(r.ok() && r.value());
    latch.count_down();
  }, {.only_if_absent = true});
  ASSERT_TRUE(latch.wait_for(2));
}

TEST_F(AsyncClientTest, TypedHelperCallbackThatThrowsIsCalledOnce) {
  Client client(cluster_->topology());
  AsyncClient& async = client.async();
  client.set("once", "v-once");
  std::atomic<int> calls{0};
  async.get("once", [&](Result<std::optional<std::string>>) {
    ++calls;
    throw Error(errc::server_error, "thrown by the callback");  // logged and dropped
  });
  // A later command on the same key's link completes after the first callback has run.
  Latch after;
  async.get("once", [&](Result<std::optional<std::string>> r) {
    EXPECT_TRUE(r.ok());
    after.count_down();
  });
  ASSERT_TRUE(after.wait_for(1));
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(AsyncClientTest, ValuesLargerThanTheSocketTakesArriveIntact) {
  // Megabytes sent in one loop turn fill the socket: the rest leaves through libuv's queued
  // write, whose buffer the link keeps and reuses; the next batch gathers meanwhile.
  Client client(cluster_->topology());
  AsyncClient& async = client.async();
  constexpr int kValues = 6;
  std::vector<std::string> values;
  for (int i = 0; i < kValues; ++i)
    values.emplace_back(std::size_t{2} << 20, static_cast<char>('a' + i));
  auto key = [](int i) { return "big:{b}" + std::to_string(i); };
  Latch written;
  async.post([&] {  // on the loop thread: encoded straight into the link's write buffer
    for (int i = 0; i < kValues; ++i) {
      async.set(key(i), values[i], [&](Result<bool> r) {
        EXPECT_TRUE(r.ok()) << r.message();
        written.count_down();
      });
    }
  });
  ASSERT_TRUE(written.wait_for(kValues));
  Latch read;
  for (int i = 0; i < kValues; ++i) {
    async.get(key(i), [&, i](Result<std::optional<std::string>> r) {
      EXPECT_TRUE(r.ok()) << r.message();
      EXPECT_TRUE(r.ok() && r.value() && *r.value() == values[i]) << "value " << i;
      read.count_down();
    });
  }
  ASSERT_TRUE(read.wait_for(kValues));
}

TEST_F(AsyncClientTest, SplitCommandsPipelineAndTransaction) {
  Client client(cluster_->topology());
  AsyncClient& async = client.async();
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("s" + std::to_string(i));
    pairs.emplace_back(keys.back(), std::to_string(i));
  }
  Latch latch;
  async.mset(pairs, [&](Result<MultiKeyReply> r) {
    EXPECT_TRUE(r.ok() && r.value().ok());
    async.multi_key("MGET", keys, [&](Result<MultiKeyReply> m) {
      ASSERT_TRUE(m.ok());
      const auto& e = m.value().reply.elements();
      ASSERT_EQ(e.size(), 1000u);
      for (int i = 0; i < 1000; ++i) EXPECT_EQ(e[i].str(), std::to_string(i));
      latch.count_down();
    });
  });
  ASSERT_TRUE(latch.wait_for(1));
  async.pipeline({{"SET", "pa", "1"}, {"INCR", "pa"}, {"GET", "pa"}, {"GET", "pb"}},
                 [&](Result<std::vector<Result<Reply>>> r) {
                   ASSERT_TRUE(r.ok());
                   auto& v = r.value();
                   ASSERT_EQ(v.size(), 4u);
                   EXPECT_EQ(v[1].value().integer(), 2);
                   EXPECT_EQ(v[2].value().str(), "2");
                   EXPECT_TRUE(v[3].value().is_nil());
                   latch.count_down();
                 });
  ASSERT_TRUE(latch.wait_for(2));
  async.transaction({{"SET", "{u}a", "1"}, {"INCR", "{u}b"}}, [&](Result<Reply> r) {
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r.value().elements().size(), 2u);
    latch.count_down();
  });
  std::string other;
  for (int i = 0; other.empty(); ++i) {
    if (client.shard_for("o" + std::to_string(i)) != client.shard_for("{u}a")) {
      other = "o" + std::to_string(i);
    }
  }
  async.transaction({{"SET", "{u}a", "1"}, {"SET", other, "1"}}, [&](Result<Reply> r) {
    EXPECT_EQ(r.error(), errc::cross_shard);
    latch.count_down();
  });
  ASSERT_TRUE(latch.wait_for(4));
  EXPECT_FALSE(client.get(other).has_value());
}

TEST_F(AsyncClientTest, OverloadFailsFastPastTheBound) {
  ClientOptions o;
  o.max_pending_per_node = 10;
  Client client(cluster_->topology(), o);
  // Hold the node: SIGSTOP keeps requests pending until the bound is reached.
  std::string key = "ov";
  std::size_t shard = client.shard_for(key);
  cluster_->primary(shard).stop();
  std::atomic<int> overloaded{0}, other{0};
  Latch latch;
  for (int i = 0; i < 50; ++i) {
    client.async().command({"GET", key}, [&](Result<Reply> r) {
      if (!r.ok() && r.error() == errc::overloaded) {
        ++overloaded;
      } else {
        ++other;
      }
      latch.count_down();
    });
  }
  // The 40 over the bound fail at once, while the node is still stopped.
  bool fast = latch.wait_for(40, std::chrono::milliseconds(500));
  cluster_->primary(shard).resume();
  EXPECT_TRUE(fast);
  ASSERT_TRUE(latch.wait_for(50));
  EXPECT_EQ(overloaded.load(), 40);
  EXPECT_EQ(other.load(), 10);
}

TEST_F(AsyncClientTest, DestroyingTheClientCompletesPendingWithShuttingDown) {
  std::string key = "sd";
  std::atomic<int> shutting{0}, total{0};
  std::size_t shard;
  auto logged = std::make_shared<std::vector<std::string>>();
  auto log_mu = std::make_shared<std::mutex>();
  {
    ClientOptions o;
    o.log_level = LogLevel::error;
    o.log = [logged, log_mu](LogLevel, std::string_view m) {
      std::lock_guard l(*log_mu);
      logged->emplace_back(m);
    };
    Client client(cluster_->topology(), o);
    shard = client.shard_for(key);
    cluster_->primary(shard).stop();
    for (int i = 0; i < 20; ++i) {
      client.async().command({"GET", key}, [&](Result<Reply> r) {
        ++total;
        if (!r.ok() && r.error() == errc::shutting_down) ++shutting;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // destructor returns only after every callback ran
  cluster_->primary(shard).resume();
  EXPECT_EQ(total.load(), 20);
  EXPECT_EQ(shutting.load(), 20);
  // uv_loop_close() returned 0: no handle outlived the loop (it logs an error otherwise).
  std::lock_guard l(*log_mu);
  for (const auto& m : *logged) EXPECT_EQ(m.find("live handles"), std::string::npos) << m;
}

}  // namespace
