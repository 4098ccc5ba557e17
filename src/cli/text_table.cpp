#include "text_table.hpp"

#include <algorithm>
#include <cstdio>

namespace flyshard::cli {

namespace {
// Counts, sizes and percentages ("1,234", "1.26M", "25.1%", "760 / 119.0 KiB") line up on
// the right; names and addresses on the left.
bool numeric(const std::string& s) {
  if (s.empty()) return false;
  const char c = s.front() == '-' && s.size() > 1 ? s[1] : s.front();
  return (c >= '0' && c <= '9') && s.find(':') == std::string::npos;
}
}  // namespace

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row, bool head) {
    std::string text;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::size_t pad = width[i] - cell.size();
      const bool right = !head && numeric(cell);
      if (i > 0) text += "  ";
      if (right) text.append(pad, ' ');
      text += cell;
      if (!right && i + 1 < width.size()) text.append(pad, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(header_, true);
  for (const auto& r : rows_) line(r, false);
}

std::string group_digits(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string human_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

}  // namespace flyshard::cli
