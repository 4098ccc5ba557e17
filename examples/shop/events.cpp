#include "events.hpp"

#include <algorithm>

#include "access_log.hpp"
#include "keys.hpp"

namespace shop {

std::optional<std::string> EventHub::Listener::next(std::chrono::milliseconds timeout,
                                                    bool& ended) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return ended_ || !queue_.empty(); });
  ended = ended_;
  if (ended_ || queue_.empty()) return std::nullopt;
  std::string msg = std::move(queue_.front());
  queue_.pop_front();
  return msg;
}

void EventHub::start(flyshard::Client& client) {
  std::lock_guard sub_lock(subscription_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
  }
  if (subscription_.active()) return;
  subscription_ = client.subscribe(
      {std::string(keys::kOrderChannel)},
      [this](std::string_view, std::string_view message) { broadcast(std::string(message)); });
}

void EventHub::stop() {
  {
    std::lock_guard sub_lock(subscription_mutex_);
    subscription_.unsubscribe();
  }
  std::vector<std::shared_ptr<Listener>> all;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    all.swap(listeners_);
  }
  for (auto& l : all) {
    std::lock_guard lock(l->mutex_);
    l->ended_ = true;
    l->cv_.notify_all();
  }
}

std::shared_ptr<EventHub::Listener> EventHub::join() {
  std::lock_guard lock(mutex_);
  if (stopped_ || listeners_.size() >= max_listeners_) return nullptr;
  auto l = std::make_shared<Listener>();
  listeners_.push_back(l);
  return l;
}

void EventHub::leave(const std::shared_ptr<Listener>& listener) {
  std::lock_guard lock(mutex_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

void EventHub::broadcast(const std::string& message) {
  std::vector<std::shared_ptr<Listener>> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto& l : listeners_) {
      std::lock_guard llock(l->mutex_);
      if (l->queue_.size() >= queue_limit_) {
        l->ended_ = true;  // too slow: end its stream rather than buffer without bound
        dropped.push_back(l);
      } else {
        l->queue_.push_back(message);
      }
      l->cv_.notify_one();
    }
    for (auto& l : dropped)
      listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
  }
  if (!dropped.empty())
    log_event("warning", "slow event stream client dropped", {{"dropped", dropped.size()}});
}

std::size_t EventHub::listeners() const {
  std::lock_guard lock(mutex_);
  return listeners_.size();
}

void publish_order_event(flyshard::Client& client, const std::string& order_json) {
  try {
    client.publish(keys::kOrderChannel, order_json);
  } catch (const flyshard::Error& e) {
    // The order is confirmed and its event is in the stream already; the live feed is a
    // convenience, so a failed PUBLISH is logged, not failed.
    note_store_error(e, "publish order_completed");
  }
}

}  // namespace shop
