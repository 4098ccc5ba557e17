#pragma once
/// \file coro.hpp
/// C++20 coroutines over the async face: `co_await flyshard::async_command(async, {...})`,
/// with a per-call deadline and a choice of the thread that resumes the coroutine; and
/// Task<T>, a minimal lazy coroutine type for programs that have none of their own.

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "flyshard/args.hpp"
#include "flyshard/client.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard {

/// Resumes a suspended coroutine somewhere: posts `h.resume()` to an executor (a thread
/// pool, an asio strand, an event loop). Called exactly once per completed await, on the
/// library's loop thread or on its deadline thread; it must not block and must not resume
/// inline when that would run user code on the library's threads unintentionally.
using Resumer = std::function<void(std::coroutine_handle<>)>;

/// How one awaited call completes.
struct AwaitOptions {
  /// The await completes with errc::timeout this long after it started (the request stays
  /// in flight and its late reply is dropped); 0 (default): no deadline of its own, the
  /// request's request_timeout still applies. Useful when it is shorter than request_timeout.
  std::chrono::milliseconds deadline{0};
  /// Where the coroutine resumes. Empty (default): on the library's loop thread (code after
  /// the co_await then runs there and must not block, as a callback must not).
  Resumer resume_on = {};
};

namespace detail {

// Shared between the awaitable, the request's callback and the deadline timer: the first
// of the callback and the timer to finish() wins; the other finds `done` set.
struct AwaitState {
  std::vector<std::string> words;
  std::optional<Result<Reply>> result;
  std::coroutine_handle<> handle;
  Resumer resume_on = {};
  AsyncClient* async = nullptr;
  std::atomic<bool> done{false};
  // on_loop: called by the request's callback (on the loop thread), else by the deadline.
  void finish(Result<Reply> r, bool on_loop);
};

void start_await(const std::shared_ptr<AwaitState>& state, std::chrono::milliseconds deadline);

}  // namespace detail

/// The awaitable of async_command(). Await it once. Its result is a Result<Reply> (never
/// throws): `Reply r = (co_await async_command(a, {"GET", "k"})).value();`. An error reply
/// is a Result holding errc::server_error, as with the callback form.
class CommandAwaitable {
 public:
  CommandAwaitable(AsyncClient& async, Args args, AwaitOptions options)
      : state_(std::make_shared<detail::AwaitState>()), deadline_(options.deadline) {
    state_->words.assign(args.begin(), args.end());  // owned: the awaitable may be stored
    state_->resume_on = std::move(options.resume_on);
    state_->async = &async;
  }
  bool await_ready() const noexcept { return false; }
  /// Sends the command; the coroutine resumes once it completes or its deadline passes.
  void await_suspend(std::coroutine_handle<> h) {
    state_->handle = h;
    detail::start_await(state_, deadline_);  // may resume h on another thread at once
  }
  Result<Reply> await_resume() { return std::move(*state_->result); }

  /// The same awaitable with other options: `co_await async_command(a, "GET", k).with(o)`.
  CommandAwaitable with(AwaitOptions options) && {
    deadline_ = options.deadline;
    state_->resume_on = std::move(options.resume_on);
    return std::move(*this);
  }

 private:
  std::shared_ptr<detail::AwaitState> state_;
  std::chrono::milliseconds deadline_;
};

/// `co_await async_command(client.async(), {"INCR", "k"})`: AsyncClient::command as an
/// awaitable (same routing and refusals). The words are copied at once, so the Args may be
/// a temporary. The AsyncClient must outlive the await.
///
/// GCC 12 cannot compile a braced list inside a co_await expression ("array used as
/// initializer", a compiler bug): there, write the words as arguments (next overload), or
/// make the awaitable in a statement of its own: `auto get = async_command(a, {"GET", k});
/// Result<Reply> r = co_await get;`.
inline CommandAwaitable async_command(AsyncClient& async, Args args, AwaitOptions options = {}) {
  return CommandAwaitable(async, args, std::move(options));
}

/// The same with the words as arguments, strings or numbers:
/// `co_await async_command(a, "INCRBY", key, 5)`; options through .with(options).
template <typename... Words>
requires(sizeof...(Words) >= 1 &&
         (std::is_constructible_v<Arg, const Words&> && ...)) CommandAwaitable
    async_command(AsyncClient& async, const Words&... words) {
  return CommandAwaitable(async, Args{Arg(words)...}, AwaitOptions{});
}

/// A minimal lazy coroutine type: the body starts when the Task is awaited or sync_wait()ed,
/// and an awaiting coroutine resumes on the thread that finished the Task. Exceptions
/// propagate to the awaiter. Bring your own task type instead if you have one: any type
/// whose promise can co_await a CommandAwaitable works.
template <typename T = void>
class Task;

namespace detail {

template <typename T>
struct TaskPromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;
  std::function<void()> on_done;  // sync_wait's wake-up

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct Final {
    bool await_ready() const noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      // Copied out first: after on_done() the frame may already be destroyed.
      std::coroutine_handle<> next = h.promise().continuation;
      std::function<void()> done = std::move(h.promise().on_done);
      if (done) done();
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  Final final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

}  // namespace detail

template <typename T>
class Task {
 public:
  struct promise_type : detail::TaskPromiseBase<T> {
    std::optional<T> value;
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    template <typename U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
  };

  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    h_.promise().continuation = awaiting;
    return h_;
  }
  T await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    return std::move(*h_.promise().value);
  }

  /// Runs the task to its end from a thread that is not a coroutine (main, a test) and
  /// blocks that thread until it finishes; returns its value or rethrows. Never call it on
  /// the library's loop thread (the task would wait for itself).
  T sync_wait() && {
    // Shared: the finishing thread may still hold the lambda when this thread returns.
    auto finished = std::make_shared<std::binary_semaphore>(0);
    h_.promise().on_done = [finished] { finished->release(); };
    h_.resume();
    finished->acquire();
    return await_resume();
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

template <>
class Task<void> {
 public:
  struct promise_type : detail::TaskPromiseBase<void> {
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() noexcept {}
  };

  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    h_.promise().continuation = awaiting;
    return h_;
  }
  void await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
  }
  /// See Task<T>::sync_wait.
  void sync_wait() && {
    // Shared: the finishing thread may still hold the lambda when this thread returns.
    auto finished = std::make_shared<std::binary_semaphore>(0);
    h_.promise().on_done = [finished] { finished->release(); };
    h_.resume();
    finished->acquire();
    await_resume();
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace flyshard
