#pragma once
// SIGINT/SIGTERM as an ordinary event: block_stop_signals() (before any thread starts, so
// every thread inherits the mask) and a thread that sigwait()s and runs a callback. No
// async-signal-safety traps, and the callback may take locks.

#include <functional>
#include <thread>

namespace shop {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and the threads it starts
/// later); ignores SIGPIPE (a closed HTTP client must not kill the server).
void block_stop_signals();

/// Runs `on_stop` once, on its own thread, when SIGINT, SIGTERM or SIGHUP arrives.
class StopSignal {
 public:
  explicit StopSignal(std::function<void()> on_stop);
  ~StopSignal();  // wakes the waiting thread if no signal came
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

 private:
  std::thread thread_;
};

}  // namespace shop
