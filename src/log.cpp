#include "log.hpp"

#include <cstdio>

namespace flyshard::detail {

void Logger::log(LogLevel level, std::string_view message) const noexcept {
  if (!enabled(level)) return;
  try {
    if (handler_) {
      handler_(level, message);
      return;
    }
  } catch (...) {
    return;
  }
  static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
  std::fprintf(stderr, "flyshard %s: %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace flyshard::detail
