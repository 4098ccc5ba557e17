#include "stop_signal.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>

namespace shop {

namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR2);  // internal: wakes the waiter when nothing else came
  return set;
}

std::atomic<bool> waking_up{false};

}  // namespace

void block_stop_signals() {
  sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

StopSignal::StopSignal(std::function<void()> on_stop)
    : thread_([on_stop = std::move(on_stop)] {
        sigset_t set = stop_set();
        int sig = 0;
        while (sigwait(&set, &sig) == 0) {
          if (sig == SIGUSR2 && waking_up.load()) return;
          if (sig != SIGUSR2) break;
        }
        on_stop();
      }) {}

StopSignal::~StopSignal() {
  waking_up = true;
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace shop
