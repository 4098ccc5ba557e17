#pragma once
// The engine: one libuv loop on its own thread owning every async socket. Other threads hand
// requests over through a queue and uv_async_send; everything that arrives in one loop turn
// leaves in one write per connection, so pipelining happens without the caller asking.

#include <uv.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flyshard/options.hpp"
#include "io/request.hpp"
#include "log.hpp"

namespace flyshard::detail {

struct Endpoint;
class Connection;

/// What a connection needs to know besides its node.
struct LinkSettings {
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds stuck_timeout;
  std::chrono::milliseconds reconnect_min;
  std::chrono::milliseconds reconnect_max;
  /// Subscriber links: PING after this long without a byte from the server, and reopen the
  /// link when the PING is not answered within request_timeout (a half-open link would
  /// otherwise stay silent forever). 0: no keepalive.
  std::chrono::milliseconds keepalive{0};
};

class Engine {
 public:
  Engine(const ClientOptions& options, LinkSettings link, const Logger& log);
  ~Engine();  // stop()s
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Adds a node's async connections. Before start(): on the caller's thread; after: must be
  /// called on the loop thread (use post()).
  void add_node(Endpoint& node, unsigned connections);
  /// Takes part in sweeps and shutdown from now on (loop thread; the node owns it).
  void adopt(Connection& connection) { connections_.push_back(&connection); }
  /// Starts the loop thread; connections begin connecting.
  void start();
  /// Completes every pending request with errc::shutting_down, closes every handle, joins
  /// the loop thread. Idempotent.
  void stop();

  /// Hands a request to the loop (any thread). Its callback runs on the loop thread, never
  /// inside this call, except after stop() when it runs at once with errc::shutting_down.
  void submit(Request request);
  /// submit() for a request without payload: `words` are encoded straight into a connected
  /// link's write buffer when this runs on the loop thread, into the payload otherwise.
  void submit_command(Request&& request, std::span<const std::string_view> words);
  /// Runs `fn` on the loop thread (any thread). Dropped after stop().
  void post(std::function<void()> fn);

  /// Completes a request (loop thread or stop()): stats, pending count, health, callback.
  void complete(Request& request, Result<Reply>&& result);
  /// complete() for a request already out of every queue: its node (null for a request that
  /// never reached one), its start, whether it was sent (health hears only of those), and
  /// its callback, which is called here and then dropped.
  void finish(Endpoint* node, Clock::time_point start, bool sent, ReplyHandler& callback,
              Result<Reply>&& result);
  /// Loop thread: sends a request to one of `node`'s connections now (internal checks).
  void dispatch_now(Endpoint& node, Request&& request);
  /// Called with the outcome of every request to a node (any thread): feeds passive health.
  /// `message` is the server's error text for errc::server_error (empty otherwise).
  void set_result_hook(std::function<void(Endpoint&, errc, std::string_view)> hook) {
    result_hook_ = std::move(hook);
  }
  /// Called when a connect to a node fails (loop thread).
  void set_connect_failure_hook(std::function<void(Endpoint&)> hook) {
    connect_failure_hook_ = std::move(hook);
  }
  void report_connect_failure(Endpoint& node) {
    if (connect_failure_hook_) connect_failure_hook_(node);
  }
  /// Called when a link to a node is open again after a drop (loop thread).
  void set_reconnect_hook(std::function<void(Endpoint&)> hook) { reconnect_hook_ = std::move(hook); }
  void report_reconnect(Endpoint& node) {
    if (reconnect_hook_) reconnect_hook_(node);
  }
  /// Called on the loop thread at every sweep tick (after deadlines were checked).
  void set_sweep_hook(std::function<void(Clock::time_point)> hook) { sweep_hook_ = std::move(hook); }
  /// Called on the loop thread just before it closes its handles.
  void set_shutdown_hook(std::function<void()> hook) { shutdown_hook_ = std::move(hook); }
  std::chrono::milliseconds request_timeout() const noexcept { return request_timeout_; }

  uv_loop_t* loop() noexcept { return &loop_; }
  const Logger& log() const noexcept { return log_; }
  const LinkSettings& link_settings() const noexcept { return link_; }
  /// Caps on replies (ClientOptions::reply_limits).
  const ReplyLimits& reply_limits() const noexcept { return reply_limits_; }
  bool on_loop_thread() const noexcept {
    return std::this_thread::get_id() == loop_thread_id_.load(std::memory_order_relaxed);
  }
  /// Marks a connection as having bytes to write at the end of this loop turn.
  void mark_dirty(Connection* c) { dirty_.push_back(c); }

 private:
  static void on_wakeup(uv_async_t* handle);
  static void on_sweep(uv_timer_t* handle);
  static void on_check(uv_check_t* handle);
  void drain_queue();
  /// On the loop thread, the connected link a request may be handed to at once; else nullptr.
  Connection* ready_link(const Request& request);
  /// The rest of submit(): through the queue to the loop (or failed after stop()).
  void hand_over(Request&& request);
  void flush_dirty();
  void shutdown_on_loop();
  void run();

  const std::chrono::milliseconds request_timeout_;
  LinkSettings link_;
  const ReplyLimits reply_limits_;
  const Logger& log_;

  uv_loop_t loop_{};
  uv_async_t wakeup_{};
  uv_timer_t sweep_timer_{};
  uv_check_t flush_check_{};  // flushes what callbacks wrote during this loop iteration
  std::thread thread_;
  std::atomic<std::thread::id> loop_thread_id_{};

  std::mutex mu_;
  std::vector<Request> queue_;            // guarded by mu_
  std::vector<std::function<void()>> posted_;  // guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  bool stopped_ = false;                  // guarded by mu_: the loop no longer takes work
  bool started_ = false;

  std::function<void(Endpoint&, errc, std::string_view)> result_hook_;
  std::function<void()> shutdown_hook_;
  std::function<void(Endpoint&)> connect_failure_hook_;
  std::function<void(Clock::time_point)> sweep_hook_;
  std::function<void(Endpoint&)> reconnect_hook_;

  // Loop thread only.
  std::vector<Request> batch_;
  std::vector<std::function<void()>> posted_batch_;
  std::vector<Connection*> connections_;  // owned by their nodes
  std::vector<Connection*> dirty_;
};

}  // namespace flyshard::detail
