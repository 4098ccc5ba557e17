#pragma once
// Order events for browsers: one library subscription per server process to the
// order_completed channel, fanned out to every open /api/events connection. Each connection
// has a bounded queue; a client too slow to drain it is dropped, so it never holds up the
// others or the library's loop thread (where the subscription handler runs).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

namespace shop {

class EventHub {
 public:
  /// One open event stream.
  class Listener {
   public:
    /// Waits up to `timeout` for the next message; nullopt on timeout. Sets `ended` when
    /// the listener was dropped (too slow) or the hub stopped.
    std::optional<std::string> next(std::chrono::milliseconds timeout, bool& ended);

   private:
    friend class EventHub;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    bool ended_ = false;
  };

  /// `max_listeners`: open event streams allowed at once (each holds an HTTP thread);
  /// `queue_limit`: messages buffered per listener before it is dropped.
  EventHub(std::size_t max_listeners, std::size_t queue_limit)
      : max_listeners_(max_listeners), queue_limit_(queue_limit) {}
  ~EventHub() { stop(); }

  /// Subscribes to the order channel (restored by the library after reconnects/failovers)
  /// unless subscribed already or stopped; throws flyshard::Error when the store cannot be
  /// reached (call again later).
  void start(flyshard::Client& client);
  /// Unsubscribes and ends every listener.
  void stop();
  /// A new listener, or nullptr when max_listeners are open.
  std::shared_ptr<Listener> join();
  void leave(const std::shared_ptr<Listener>& listener);
  /// Queues a message for every listener (drops those whose queue is full).
  void broadcast(const std::string& message);
  std::size_t listeners() const;

 private:
  const std::size_t max_listeners_;
  const std::size_t queue_limit_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::mutex subscription_mutex_;  // start() retries on a background thread
  flyshard::Subscription subscription_;
  bool stopped_ = false;
};

/// PUBLISHes an order's public JSON on the order channel; best effort (never throws).
void publish_order_event(flyshard::Client& client, const std::string& order_json);

}  // namespace shop
