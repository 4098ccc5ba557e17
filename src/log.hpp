#pragma once
// The library's one way to say something: the user's LogHandler, or stderr by default.

#include <string_view>

#include "flyshard/options.hpp"

namespace flyshard::detail {

class Logger {
 public:
  Logger(LogHandler handler, LogLevel min_level)
      : handler_(std::move(handler)), min_(min_level) {}
  bool enabled(LogLevel level) const noexcept { return level >= min_; }
  /// Never throws: a throwing handler is swallowed (logging must not break a request).
  void log(LogLevel level, std::string_view message) const noexcept;

 private:
  LogHandler handler_;
  LogLevel min_;
};

}  // namespace flyshard::detail
