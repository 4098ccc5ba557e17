#pragma once
/// \file lean_libuv_adapter.hpp
/// A hiredis async adapter for libuv that calls uv_poll_start only when the events it watches
/// change: the stricter raw-hiredis peer of bench_client (variant F) and flyshard-load
/// (--direct-adapter lean, the default).
///
/// Why it exists: Debian's hiredis 0.14 libuv adapter (<hiredis/adapters/libuv.h>) calls
/// uv_poll_start on every command, because hiredis asks for "writable" once per command, and
/// libuv's uv_poll_start re-registers the fd with epoll_ctl each time: about one extra syscall
/// per request. Measured with the packaged adapter alone, raw hiredis would look slower than it
/// can be.
///
/// Use it as redisLibuvAttach: lean_libuv_attach(ac, loop) right after redisAsyncConnect.
/// Benchmark support only: not part of the installed library.

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

namespace flyshard::bench {

/// The adapter's state for one hiredis async context; owned by hiredis (freed by its cleanup
/// hook, once libuv has closed the poll handle).
struct LeanLibuvEvents {
  redisAsyncContext* context = nullptr;
  uv_poll_t handle{};
  int events = 0;  // UV_READABLE | UV_WRITABLE as last given to uv_poll_start

  static void on_poll(uv_poll_t* handle, int status, int events) {
    auto* p = static_cast<LeanLibuvEvents*>(handle->data);
    if (status != 0) return;
    if (p->context != nullptr && (events & UV_READABLE) != 0) redisAsyncHandleRead(p->context);
    if (p->context != nullptr && (events & UV_WRITABLE) != 0) redisAsyncHandleWrite(p->context);
  }
  // The one difference from the packaged adapter: nothing to do when nothing changes.
  void set(int wanted) {
    if (wanted == events) return;
    events = wanted;
    if (events != 0) {
      uv_poll_start(&handle, events, &LeanLibuvEvents::on_poll);
    } else {
      uv_poll_stop(&handle);
    }
  }
  static void add_read(void* p) {
    auto* e = static_cast<LeanLibuvEvents*>(p);
    e->set(e->events | UV_READABLE);
  }
  static void del_read(void* p) {
    auto* e = static_cast<LeanLibuvEvents*>(p);
    e->set(e->events & ~UV_READABLE);
  }
  static void add_write(void* p) {
    auto* e = static_cast<LeanLibuvEvents*>(p);
    e->set(e->events | UV_WRITABLE);
  }
  static void del_write(void* p) {
    auto* e = static_cast<LeanLibuvEvents*>(p);
    e->set(e->events & ~UV_WRITABLE);
  }
  static void cleanup(void* p) {
    auto* e = static_cast<LeanLibuvEvents*>(p);
    e->context = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&e->handle),
             [](uv_handle_t* h) { delete static_cast<LeanLibuvEvents*>(h->data); });
  }
};

/// Attaches `ac` to `loop` with the lean adapter. REDIS_OK, or REDIS_ERR when `ac` already has
/// an adapter or libuv cannot watch its fd (as redisLibuvAttach).
inline int lean_libuv_attach(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* e = new LeanLibuvEvents;
  if (uv_poll_init(loop, &e->handle, ac->c.fd) != 0) {
    delete e;
    return REDIS_ERR;
  }
  e->context = ac;
  e->handle.data = e;
  ac->ev.addRead = &LeanLibuvEvents::add_read;
  ac->ev.delRead = &LeanLibuvEvents::del_read;
  ac->ev.addWrite = &LeanLibuvEvents::add_write;
  ac->ev.delWrite = &LeanLibuvEvents::del_write;
  ac->ev.cleanup = &LeanLibuvEvents::cleanup;
  ac->ev.data = e;
  return REDIS_OK;
}

}  // namespace flyshard::bench
