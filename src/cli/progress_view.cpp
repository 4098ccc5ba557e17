#include "progress_view.hpp"

#include <cmath>
#include <cstdio>

#include "text_table.hpp"

namespace flyshard::cli {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long s = std::llround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

void ProgressView::update(const flyshard::detail::MigrationProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (p.phase != phase_) {
    phase_ = p.phase;
    phase_start_ = now;
  }
  if (!p.message.empty()) {
    close();
    out_ << "flyshard: " << p.message << '\n';
    out_.flush();
    return;
  }
  const double secs = std::chrono::duration<double>(now - phase_start_).count();
  const double rate = secs > 0 ? static_cast<double>(p.keys_done) / secs : 0;
  std::string line = "[" + p.phase + "] ";
  if (p.keys_total > 0) {
    const double share = std::min(1.0, static_cast<double>(p.keys_done) / p.keys_total);
    const int width = 24;
    const int full = static_cast<int>(share * width);
    line += std::string(full, '#') + std::string(width - full, '-') + " " + percent(share) + " ";
    line += group_digits(static_cast<long long>(p.keys_done)) + "/~" +
            group_digits(static_cast<long long>(p.keys_total)) + " keys";
  } else {
    line += group_digits(static_cast<long long>(p.keys_done)) + " keys";
  }
  line += ", " + group_digits(std::llround(rate)) + " keys/s";
  if (p.bytes_done > 0 && secs > 0) line += ", " + human_bytes(p.bytes_done / secs) + "/s";
  if (p.keys_total > p.keys_done && rate > 0)
    line += ", ETA " + clock_text(static_cast<double>(p.keys_total - p.keys_done) / rate);
  if (terminal_) {
    out_ << "\r\x1b[K" << line;
    out_.flush();
    line_open_ = true;
  } else if (now - last_line_ >= std::chrono::seconds(1)) {
    last_line_ = now;
    out_ << line << '\n';
  }
}

void ProgressView::close() {
  if (line_open_) out_ << '\n';
  line_open_ = false;
}

}  // namespace flyshard::cli
