// Awaitable async calls: the request's callback and a deadline race to finish the await;
// the coroutine resumes on the loop thread or through the caller's Resumer.
#include "flyshard/coro.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "client_core.hpp"

namespace flyshard {

void AsyncClient::post(std::function<void()> fn) {
  core_->engine().post(std::move(fn));
}

namespace detail {
namespace {

// One thread for every await deadline of the process, started at the first deadline. A
// deadline that fires finishes its await with errc::timeout; the await's resumption goes
// where AwaitOptions says (never user code on this thread unless the Resumer runs it here).
class DeadlineThread {
 public:
  static DeadlineThread& instance() {
    static DeadlineThread t;
    return t;
  }

  void add(std::chrono::steady_clock::time_point at, std::weak_ptr<AwaitBase> state) {
    std::lock_guard l(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    const bool earliest = timers_.empty() || at < timers_.begin()->first;
    timers_.emplace(at, std::move(state));
    if (earliest) cv_.notify_one();
  }

  ~DeadlineThread() {
    {
      std::lock_guard l(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock l(mu_);
    while (!stopping_) {
      if (timers_.empty()) {
        cv_.wait(l);
        continue;
      }
      auto first = timers_.begin();
      if (std::chrono::steady_clock::now() < first->first) {
        cv_.wait_until(l, first->first);
        continue;
      }
      std::weak_ptr<AwaitBase> w = std::move(first->second);
      timers_.erase(first);
      l.unlock();
      // Gone: the await finished and its coroutine moved on long ago.
      if (auto state = w.lock()) state->expire();
      l.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::weak_ptr<AwaitBase>> timers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

void AwaitBase::resume(bool on_loop) {
  if (resume_on) {
    resume_on(handle);
  } else if (on_loop) {
    handle.resume();
  } else {
    // The deadline thread: the coroutine belongs on the loop thread.
    async->post([h = handle] { h.resume(); });
  }
}

void arm_deadline(std::weak_ptr<AwaitBase> state, std::chrono::milliseconds deadline) {
  if (deadline.count() > 0) {
    DeadlineThread::instance().add(std::chrono::steady_clock::now() + deadline, std::move(state));
  }
}

}  // namespace detail
}  // namespace flyshard
