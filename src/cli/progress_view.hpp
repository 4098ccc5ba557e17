#pragma once
// How `flyshard migrate` shows progress on stderr: on a terminal, one line redrawn in place
// (phase, a bar, keys done / estimated, keys/s, MB/s, ETA); otherwise (a log, a pipe) plain
// lines, at most one progress line per second, plus every event as it happens.

#include <chrono>
#include <ostream>
#include <string>

#include "reshard/migrator.hpp"

namespace flyshard::cli {

class ProgressView {
 public:
  ProgressView(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
  void update(const flyshard::detail::MigrationProgress& p);
  /// Ends a redrawn line so that what follows starts on its own.
  void close();

 private:
  std::ostream& out_;
  bool terminal_;
  bool line_open_ = false;
  std::string phase_;
  std::chrono::steady_clock::time_point phase_start_{};
  std::chrono::steady_clock::time_point last_line_{};
};

/// "1:02:03" / "2:03" for a duration in seconds.
std::string clock_text(double seconds);

}  // namespace flyshard::cli
