#pragma once
// libuv and hiredis call us from C: an exception that leaves one of those calls unwinds
// through frames that cannot be unwound and ends the process. Every entry point from C runs
// its body through run_guarded(), which catches everything and logs it.

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "log.hpp"

namespace flyshard::detail {

/// Logs an exception caught at a C boundary; never throws (not even without memory).
inline void log_caught(const Logger& log, std::string_view where, const char* what) noexcept {
  try {
    log.log(LogLevel::error,
            "internal error in " + std::string(where) + ": " + what + " (caught at the boundary)");
  } catch (...) {
    log.log(LogLevel::error, "internal error (caught at a callback boundary)");
  }
}

/// Runs `fn`; an exception is logged and swallowed. Returns false when one was caught.
template <typename Fn>
bool run_guarded(const Logger& log, std::string_view where, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (const std::exception& e) {
    log_caught(log, where, e.what());
  } catch (...) {
    log_caught(log, where, "unknown exception");
  }
  return false;
}

}  // namespace flyshard::detail
