#pragma once
/// \file coro.hpp
/// C++20 coroutines over the async face: `co_await flyshard::async_command(async, {...})`,
/// `co_await flyshard::awaitable<T>(async, starter)` for any other async call and
/// `co_await flyshard::next_batch(async, scan)` for an AsyncScan, each with a per-call
/// deadline and a choice of the thread that resumes the coroutine; and
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

// What the deadline thread holds, whatever the awaited call yields: the first of the call's
// callback and the deadline to claim() the await finishes it; the other finds `done` set.
struct AwaitBase {
  std::coroutine_handle<> handle;
  Resumer resume_on = {};
  AsyncClient* async = nullptr;
  std::atomic<bool> done{false};
  virtual ~AwaitBase() = default;
  // The deadline passed: finishes with errc::timeout unless the callback came first.
  virtual void expire() = 0;
  bool claim() noexcept { return !done.exchange(true); }
  // on_loop: the callback's thread (the loop); else the deadline thread.
  void resume(bool on_loop);
};

void arm_deadline(std::weak_ptr<AwaitBase> state, std::chrono::milliseconds deadline);

template <typename T>
struct AwaitState final : AwaitBase {
  std::optional<Result<T>> result;
  void finish(Result<T> r, bool on_loop) {
    if (!claim()) return;  // the other side won: a late reply or a spent deadline
    result.emplace(std::move(r));
    resume(on_loop);
  }
  void expire() override { finish(Result<T>(errc::timeout, "await deadline passed"), false); }
};

// async_command's starter: owns the words, since the awaitable may be stored.
struct CommandStarter {
  AsyncClient* async;
  std::vector<std::string> words;
  void operator()(Callback<Reply> cb) { async->command(Args(words), std::move(cb)); }
};

// The T of a starter whose call operator takes a Callback<T> (not a generic lambda).
template <typename F>
struct StarterTraits {};
template <typename C, typename R, typename T>
struct StarterTraits<R (C::*)(Callback<T>)> {
  using type = T;
};
template <typename C, typename R, typename T>
struct StarterTraits<R (C::*)(Callback<T>) const> {
  using type = T;
};
template <typename S>
concept DeducibleStarter = requires {
  typename StarterTraits<decltype(&S::operator())>::type;
};

}  // namespace detail

/// An awaitable async call: awaited once, its result is the Result<T> its callback gets
/// (never throws). Made by awaitable() or async_command(); `.with(options)` sets its options.
template <typename T, typename Starter>
class Awaitable {
 public:
  Awaitable(AsyncClient& async, Starter starter, AwaitOptions options)
      : state_(std::make_shared<detail::AwaitState<T>>()),
        starter_(std::move(starter)),
        deadline_(options.deadline) {
    state_->resume_on = std::move(options.resume_on);
    state_->async = &async;
  }
  bool await_ready() const noexcept { return false; }
  /// Starts the call; the coroutine resumes once it completes or its deadline passes.
  void await_suspend(std::coroutine_handle<> h) {
    state_->handle = h;
    // Locals: once the call is handed over, its callback may resume the coroutine on the
    // loop thread and destroy this awaitable (and a starter that is still returning).
    std::shared_ptr<detail::AwaitState<T>> state = state_;
    Starter starter = std::move(starter_);
    const auto deadline = deadline_;
    try {
      starter(Callback<T>([state](Result<T> r) { state->finish(std::move(r), true); }));
    } catch (...) {
      state->done = true;  // the coroutine resumes with the exception, not by a callback
      throw;
    }
    // Armed after the start: a deadline that fired first would resume the coroutine while
    // the starter still read what it references.
    detail::arm_deadline(state, deadline);
  }
  Result<T> await_resume() { return std::move(*state_->result); }

  /// The same awaitable with other options: `co_await async_command(a, "GET", k).with(o)`.
  Awaitable with(AwaitOptions options) && {
    deadline_ = options.deadline;
    state_->resume_on = std::move(options.resume_on);
    return std::move(*this);
  }

 private:
  std::shared_ptr<detail::AwaitState<T>> state_;
  Starter starter_;
  std::chrono::milliseconds deadline_;
};

/// Any async call as an awaitable: `starter` is called once, when the awaitable is awaited,
/// with the Callback<T> to hand to the call it starts:
///
///     auto r = co_await flyshard::awaitable<std::optional<std::string>>(
///         a, [&](auto cb) { a.get(key, std::move(cb)); });  // Result<std::optional<...>>
///
/// T is deduced when the starter's parameter names it (`[&](flyshard::Callback<long long>
/// cb) { a.incr(k, 1, std::move(cb)); }`), not from a generic lambda. Deadline and resume_on
/// as for async_command(). The starter must hand the callback to one AsyncClient call (its
/// callback then runs on the loop thread, never inside the call); what it references by `&`
/// must live until that call has returned, which a coroutine's locals do. `async` must
/// outlive the await.
template <typename T, typename Starter>
requires(std::is_invocable_v<std::decay_t<Starter>&, Callback<T>>)
    Awaitable<T, std::decay_t<Starter>> awaitable(AsyncClient& async, Starter&& starter,
                                                  AwaitOptions options = {}) {
  return {async, std::forward<Starter>(starter), std::move(options)};
}

/// The same with T taken from the starter's Callback<T> parameter.
template <typename Starter>
requires detail::DeducibleStarter<std::decay_t<Starter>>
auto awaitable(AsyncClient& async, Starter&& starter, AwaitOptions options = {}) {
  using T = typename detail::StarterTraits<decltype(&std::decay_t<Starter>::operator())>::type;
  return awaitable<T>(async, std::forward<Starter>(starter), std::move(options));
}

/// The awaitable of async_command(). Its result is a Result<Reply> (never throws):
/// `Reply r = (co_await async_command(a, {"GET", "k"})).value();`. An error reply is a
/// Result holding errc::server_error, as with the callback form.
using CommandAwaitable = Awaitable<Reply, detail::CommandStarter>;

/// `co_await async_command(client.async(), {"INCR", "k"})`: AsyncClient::command as an
/// awaitable (same routing and refusals). The words are copied at once, so the Args may be
/// a temporary. The AsyncClient must outlive the await.
///
/// GCC 12 cannot compile a braced list inside a co_await expression ("array used as
/// initializer", a compiler bug): there, write the words as arguments (next overload), or
/// make the awaitable in a statement of its own: `auto get = async_command(a, {"GET", k});
/// Result<Reply> r = co_await get;`.
inline CommandAwaitable async_command(AsyncClient& async, Args args, AwaitOptions options = {}) {
  return {async, detail::CommandStarter{&async, {args.begin(), args.end()}}, std::move(options)};
}

/// The same with the words as arguments, strings or numbers:
/// `co_await async_command(a, "INCRBY", key, 5)`; options through .with(options).
template <typename... Words>
requires(sizeof...(Words) >= 1 &&
         (std::is_constructible_v<Arg, const Words&> && ...)) CommandAwaitable
    async_command(AsyncClient& async, const Words&... words) {
  return async_command(async, Args{Arg(words)...});
}

/// The next batch of an AsyncScan as an awaitable (AsyncScan::next): a Result holding the
/// batch, or nullopt once the scan is done:
/// `while (auto keys = (co_await next_batch(a, scan)).value()) { ... }`. `async` is the
/// client the scan came from (the deadline resumes the coroutine on its loop).
template <typename T>
auto next_batch(AsyncClient& async, AsyncScan<T>& scan, AwaitOptions options = {}) {
  return awaitable(
      async, [&scan](Callback<std::optional<std::vector<T>>> cb) { scan.next(std::move(cb)); },
      std::move(options));
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

template <typename T>
struct TaskPromise : TaskPromiseBase<T> {
  std::optional<T> value;
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (this->error) std::rethrow_exception(this->error);
    return std::move(*value);
  }
};

template <>
struct TaskPromise<void> : TaskPromiseBase<void> {
  void return_void() noexcept {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <typename T>
class Task {
 public:
  struct promise_type : detail::TaskPromise<T> {
    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
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
  T await_resume() { return h_.promise().take(); }

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

}  // namespace flyshard
