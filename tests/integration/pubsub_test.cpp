// Pub/Sub routed by channel, restored after the node restarts.
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

class Inbox {
 public:
  void add(std::string_view ch, std::string_view msg) {
    std::lock_guard l(mu_);
    got_[std::string(ch)].push_back(std::string(msg));
    cv_.notify_all();
  }
  bool wait(const std::string& ch, std::size_t n, std::chrono::milliseconds t = 5s) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, t, [&] { return got_[ch].size() >= n; });
  }
  std::vector<std::string> of(const std::string& ch) {
    std::lock_guard l(mu_);
    return got_[ch];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::string>> got_;
};

// Publishes until the subscriber has it: SUBSCRIBE is asynchronous, so the first messages
// may go out before the server registered the subscription.
bool publish_until_seen(Client& c, Inbox& inbox, const std::string& ch, std::size_t n) {
  for (int i = 0; i < 200; ++i) {
    try {
      c.publish(ch, "m");
    } catch (const Error&) {
    }
    if (inbox.wait(ch, n, 25ms)) return true;
  }
  return false;
}

TEST(PubSubTest, MessagesArriveOnEveryShardStopAfterUnsubscribeAndSurviveARestart) {
  ClusterOptions o;
  o.shards = 3;
  LocalCluster cluster(o);
  ClientOptions opts;
  opts.reconnect_min = 10ms;
  opts.reconnect_max = 50ms;
  opts.log_level = LogLevel::error;
  Client c(cluster.topology(), opts);
  // One channel per shard.
  std::vector<std::string> channels(3);
  for (int i = 0; std::any_of(channels.begin(), channels.end(), [](auto& s) { return s.empty(); });
       ++i) {
    std::string ch = "news:" + std::to_string(i);
    if (channels[c.shard_for(ch)].empty()) channels[c.shard_for(ch)] = ch;
  }
  Inbox inbox;
  Subscription sub = c.subscribe(channels, [&](std::string_view ch, std::string_view msg) {
    inbox.add(ch, msg);
  });
  for (auto& ch : channels) {
    ASSERT_TRUE(publish_until_seen(c, inbox, ch, 1)) << ch;
    // The channel lives on its shard: PUBLISH there reaches one subscriber.
    EXPECT_EQ(c.publish(ch, "direct"), 1);
  }
  for (auto& ch : channels) ASSERT_TRUE(inbox.wait(ch, 2));

  // The node of channel 0 restarts: the subscription is restored.
  std::size_t before = inbox.of(channels[0]).size();
  cluster.primary(0).kill();
  cluster.primary(0).restart();
  EXPECT_TRUE(publish_until_seen(c, inbox, channels[0], before + 1));

  sub.unsubscribe();
  EXPECT_FALSE(sub.active());
  std::size_t seen = inbox.of(channels[1]).size();
  c.publish(channels[1], "after");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(inbox.of(channels[1]).size(), seen);
}

}  // namespace
