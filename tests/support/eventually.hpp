#pragma once
/// \file eventually.hpp
/// Waiting on a condition with a deadline, for tests: never sleep-then-assert.
///
/// Test support only: not part of the installed library.

#include <chrono>
#include <thread>

namespace flyshard::testing {

/// Polls `cond` every 5 ms until it holds or `within` passes; returns its last verdict.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace flyshard::testing
