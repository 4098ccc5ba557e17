#include "io/engine.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>

#include "io/callback_guard.hpp"
#include "io/connection.hpp"
#include "io/endpoint.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {

Engine::Engine(const ClientOptions& options, LinkSettings link, const Logger& log)
    : request_timeout_(options.request_timeout),
      link_(std::move(link)),
      reply_limits_(options.reply_limits),
      log_(log) {
  if (uv_loop_init(&loop_) != 0) throw Error(errc::config, "cannot create the event loop");
  uv_async_init(&loop_, &wakeup_, &Engine::on_wakeup);
  wakeup_.data = this;
  uv_timer_init(&loop_, &sweep_timer_);
  sweep_timer_.data = this;
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_check_start(&flush_check_, &Engine::on_check);
}

// Connections belong to their nodes, which outlive the engine; by the time the engine is
// destroyed every handle they had is closed.
Engine::~Engine() { stop(); }

void Engine::add_node(Endpoint& node, unsigned connections) {
  for (unsigned i = 0; i < std::max(1u, connections); ++i) {
    node.connections.push_back(std::make_unique<Connection>(*this, node));
    connections_.push_back(node.connections.back().get());
    if (started_) node.connections.back()->start();
  }
}

void Engine::start() {
  // Deadlines are checked by a sweep: a tenth of the shortest timeout, between 1 and 25 ms,
  // keeps a request's error within about 10 % of its deadline.
  auto shortest = std::min({request_timeout_, link_.connect_timeout, link_.stuck_timeout});
  auto tick = std::clamp<long long>(shortest.count() / 10, 1, 25);
  uv_timer_start(&sweep_timer_, &Engine::on_sweep, static_cast<std::uint64_t>(tick),
                 static_cast<std::uint64_t>(tick));
  // The loop is not running yet, so this thread may still touch its handles.
  for (Connection* c : connections_) c->start();
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Engine::run() {
  loop_thread_id_ = std::this_thread::get_id();
  // libuv writes with write(2), not send(2) with MSG_NOSIGNAL: a peer that reset the link
  // would raise SIGPIPE, whose default action ends the whole program. Blocked on this thread
  // only (a signal a write raises goes to the writing thread), the write just fails with EPIPE,
  // and the program's own handling of SIGPIPE is left alone.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) log_.log(LogLevel::error, "event loop closed with live handles");
}

void Engine::stop() {
  bool first;
  {
    std::lock_guard lock(mu_);
    first = !stopping_;
    stopping_ = true;
  }
  if (!started_) {
    if (first) {
      // The loop never ran: close its handles here, on the only thread that knows it.
      shutdown_on_loop();
      uv_run(&loop_, UV_RUN_DEFAULT);
      uv_loop_close(&loop_);
    }
    return;
  }
  if (first) uv_async_send(&wakeup_);
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

Connection* Engine::ready_link(const Request& request) {
  // On the loop thread (a callback sending the next request), a connected link takes the
  // request directly: no queue, no wake-up. It only buffers, so the callback still cannot
  // run inside this call; the bytes leave when the check handle flushes this iteration.
  if (request.node == nullptr || request.fail_with != errc{} || !on_loop_thread()) return nullptr;
  Endpoint& node = *request.node;
  const std::size_t n = node.connections.size();
  const std::size_t i =
      request.affinity == kAnyConnection ? node.next_connection++ : request.affinity;
  Connection& c = *node.connections[i % n];
  return c.ready() ? &c : nullptr;
}

void Engine::submit_command(Request&& request, std::span<const std::string_view> words) {
  if (Connection* c = ready_link(request)) {
    c->enqueue_command(std::move(request), words);
    return;
  }
  append_command(request.payload, words);
  hand_over(std::move(request));
}

void Engine::submit(Request request) {
  if (Connection* c = ready_link(request)) {
    c->enqueue(std::move(request));
    return;
  }
  hand_over(std::move(request));
}

void Engine::hand_over(Request&& request) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      const bool wake = queue_.empty() && posted_.empty();
      queue_.push_back(std::move(request));
      if (wake) uv_async_send(&wakeup_);
      return;
    }
  }
  complete(request, Result<Reply>(errc::shutting_down, "client is shutting down"));
}

void Engine::post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  const bool wake = queue_.empty() && posted_.empty();
  posted_.push_back(std::move(fn));
  if (wake) uv_async_send(&wakeup_);
}

void Engine::complete(Request& request, Result<Reply>&& result) {
  request.done = true;
  // Out of the request first: the callback may reach this request again (a queue it is in
  // being failed), and must find it done, without a callback.
  ReplyHandler callback = std::move(request.callback);
  finish(request.node, request.start, request.fail_with == errc{}, callback, std::move(result));
}

void Engine::finish(Endpoint* node, Clock::time_point start, bool sent, ReplyHandler& callback,
                    Result<Reply>&& result) {
  if (node != nullptr) {
    const int code = result.ok() ? 0 : static_cast<int>(result.error());
    node->stats.on_complete(code, Clock::now() - start);
    node->pending.fetch_sub(1, std::memory_order_relaxed);
    if (result_hook_ && sent) {
      // Health bookkeeping must not keep the callback from running exactly once.
      const errc code = result.ok() ? errc{} : result.error();
      const std::string_view message =
          code == errc::server_error ? std::string_view(result.message()) : std::string_view();
      run_guarded(log_, "result hook", [&] { result_hook_(*node, code, message); });
    }
  }
  if (!callback) return;
  try {
    callback(std::move(result));
  } catch (const std::exception& e) {
    log_.log(LogLevel::error, std::string("a callback threw: ") + e.what());
  } catch (...) {
    log_.log(LogLevel::error, "a callback threw");
  }
  callback.reset();
}

void Engine::dispatch_now(Endpoint& node, Request&& request) {
  const std::size_t n = node.connections.size();
  const std::size_t i = request.affinity == kAnyConnection ? node.next_connection++ : request.affinity;
  node.connections[i % n]->enqueue(std::move(request));
  flush_dirty();
}

void Engine::on_wakeup(uv_async_t* handle) {
  auto* self = static_cast<Engine*>(handle->data);
  run_guarded(self->log_, "wakeup", [self] { self->drain_queue(); });
}

void Engine::drain_queue() {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    batch_.swap(queue_);
    posted_batch_.swap(posted_);
    stopping = stopping_;
  }
  // Each item on its own: one that throws must not strand the others (their callbacks
  // would never run) nor leave them in batch_ for the next swap.
  for (auto& fn : posted_batch_) run_guarded(log_, "posted task", fn);
  posted_batch_.clear();
  for (auto& r : batch_) {
    const bool ok = run_guarded(log_, "submit", [&] {
      if (stopping) {
        complete(r, Result<Reply>(errc::shutting_down, "client is shutting down"));
      } else if (r.fail_with != errc{}) {
        complete(r, Result<Reply>(r.fail_with,
                                  r.fail_message ? std::move(*r.fail_message) : std::string()));
      } else {
        Endpoint& node = *r.node;
        const std::size_t n = node.connections.size();
        const std::size_t i = r.affinity == kAnyConnection ? node.next_connection++ : r.affinity;
        Connection& c = *node.connections[i % n];
        c.enqueue(std::move(r));
      }
    });
    if (!ok && r.callback && !r.done) {
      run_guarded(log_, "submit", [&] {
        complete(r, Result<Reply>(errc::connection_lost, "internal error while sending"));
      });
    }
  }
  batch_.clear();
  flush_dirty();
  if (stopping) shutdown_on_loop();
}

void Engine::flush_dirty() {
  // By index: a flush that fails closes a link, and callbacks run then may mark more.
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    Connection* c = dirty_[i];
    run_guarded(log_, "flush", [c] { c->flush(); });
  }
  dirty_.clear();
}

void Engine::on_check(uv_check_t* handle) {
  auto* self = static_cast<Engine*>(handle->data);
  run_guarded(self->log_, "flush", [self] { self->flush_dirty(); });
}

void Engine::on_sweep(uv_timer_t* handle) {
  auto* self = static_cast<Engine*>(handle->data);
  const auto now = Clock::now();
  // By index: a callback run by a sweep may add a node (Sentinel), growing connections_.
  for (std::size_t i = 0; i < self->connections_.size(); ++i) {
    Connection* c = self->connections_[i];
    run_guarded(self->log_, "sweep", [c, now] { c->sweep(now); });
  }
  if (self->sweep_hook_) run_guarded(self->log_, "sweep hook", [&] { self->sweep_hook_(now); });
  run_guarded(self->log_, "flush", [self] { self->flush_dirty(); });
}

void Engine::shutdown_on_loop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    batch_.swap(queue_);
    posted_.clear();
  }
  // Guarded step by step: whatever throws, every handle must still be closed or the loop
  // never ends and stop() never returns.
  for (auto& r : batch_) {
    run_guarded(log_, "shutdown", [&] {
      complete(r, Result<Reply>(errc::shutting_down, "client is shutting down"));
    });
  }
  batch_.clear();
  if (shutdown_hook_) run_guarded(log_, "shutdown hook", shutdown_hook_);
  for (std::size_t i = 0; i < connections_.size(); ++i) {
    Connection* c = connections_[i];
    run_guarded(log_, "shutdown", [c] { c->shutdown(); });
  }
  dirty_.clear();
  uv_timer_stop(&sweep_timer_);
  auto close_once = [](uv_handle_t* h) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  };
  close_once(reinterpret_cast<uv_handle_t*>(&sweep_timer_));
  uv_check_stop(&flush_check_);
  close_once(reinterpret_cast<uv_handle_t*>(&flush_check_));
  close_once(reinterpret_cast<uv_handle_t*>(&wakeup_));
}

}  // namespace flyshard::detail
