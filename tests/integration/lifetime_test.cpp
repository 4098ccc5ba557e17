// Lifetimes (run under ASan: build-*-asan with FLYSHARD_SANITIZE=ON): a Client destroyed from
// inside its own callback; an AsyncClient copy, a Pipeline, a Transaction and a Subscription
// that outlive their Client. None may touch freed memory.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

constexpr auto kSlow = FLYSHARD_SLOWDOWN;

ClientOptions options() {
  ClientOptions o;
  o.request_timeout = 1000ms * kSlow;
  o.log_level = LogLevel::error;
  return o;
}

class LifetimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions o;
    o.shards = 2;
    cluster_ = new LocalCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static LocalCluster* cluster_;
};
LocalCluster* LifetimeTest::cluster_ = nullptr;

TEST_F(LifetimeTest, ClientDestroyedFromInsideItsOwnCallback) {
  auto client = std::make_unique<Client>(cluster_->topology(), options());
  client->set("lt-a", "value-a");
  std::promise<std::string> got;
  std::promise<void> destroyed;
  std::atomic<int> later{0};
  // Requests still pending when the client goes: they complete (with shutting_down or their
  // reply), exactly once, after the destructor returned.
  for (int i = 0; i < 20; ++i) {
    client->async().command({"GET", "lt-b" + std::to_string(i)}, [&](Result<Reply>) { later++; });
  }
  client->async().command({"GET", "lt-a"}, [&](Result<Reply> r) {
    got.set_value(r.ok() ? r.value().str() : r.message());
    client.reset();  // on the loop thread
    destroyed.set_value();
  });
  auto f = destroyed.get_future();
  ASSERT_EQ(f.wait_for(10s * kSlow), std::future_status::ready);
  EXPECT_EQ(got.get_future().get(), "value-a");
  const auto until = std::chrono::steady_clock::now() + 10s * kSlow;
  while (later.load() < 20 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(later.load(), 20);
}

TEST_F(LifetimeTest, FacesOutliveTheirClient) {
  auto client = std::make_unique<Client>(cluster_->topology(), options());
  AsyncClient async = client->async();
  Pipeline pipeline = client->pipeline();
  Transaction tx = client->transaction();
  std::atomic<int> messages{0};
  Subscription sub =
      client->subscribe({"lt-channel"}, [&](std::string_view, std::string_view) { messages++; });
  client.reset();

  // The copies keep the engine: they still work.
  std::promise<Result<Reply>> p;
  async.command({"SET", "lt-c", "value-c"}, [&](Result<Reply> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(10s * kSlow), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  pipeline.command({"GET", "lt-c"});
  auto results = pipeline.execute();
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok()) << results[0].message();
  EXPECT_EQ(results[0].value().str(), "value-c");
  tx.command({"SET", "lt-d", "value-d"});
  auto exec = tx.exec();
  ASSERT_TRUE(exec.has_value());
  // The subscription did not keep anything alive and may be dropped at any time.
  sub.unsubscribe();
  EXPECT_FALSE(sub.active());
}

TEST_F(LifetimeTest, SubscriptionOutlivesTheWholeEngine) {
  Subscription sub;
  {
    Client client(cluster_->topology(), options());
    sub = client.subscribe({"lt-channel-2"}, [](std::string_view, std::string_view) {});
  }
  sub.unsubscribe();  // the engine is gone: nothing to do, nothing touched
  EXPECT_FALSE(sub.active());
}

TEST_F(LifetimeTest, LastAsyncCopyDroppedInsideItsCallback) {
  auto client = std::make_unique<Client>(cluster_->topology(), options());
  auto async = std::make_shared<AsyncClient>(client->async());
  client.reset();  // the copy is the last owner now
  std::promise<void> done;
  async->command({"GET", "lt-e"}, [&, async](Result<Reply>) mutable { done.set_value(); });
  // The callback's copy of `async` is the last one once this reference goes: the engine is
  // then released from the loop thread, inside the callback's destruction.
  async.reset();
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s * kSlow), std::future_status::ready);
}

}  // namespace
