#include "bench_util.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace flyshard::bench {

// ---- command line -------------------------------------------------------------------------

bool CommandLine::next() {
  if (++i_ >= argc_) return false;
  flag_ = argv_[i_];
  if (flag_ == "-h" || flag_ == "--help") {
    std::cout << usage_;
    std::exit(0);
  }
  return true;
}

std::string CommandLine::value() {
  if (i_ + 1 >= argc_) fail(std::string(flag_) + " needs a value");
  return argv_[++i_];
}

double CommandLine::number(std::string_view flag, const std::string& text, double min,
                           double max) const {
  double d = 0;
  std::size_t used = 0;
  try {
    d = std::stod(text, &used);
  } catch (const std::exception&) {
    fail(std::string(flag) + ": expected a number, got '" + text + "'");
  }
  if (used != text.size() || !(d >= min && d <= max)) {
    fail(std::string(flag) + ": expected a number in [" + fmt("%g", min) + ", " + fmt("%g", max) +
         "], got '" + text + "'");
  }
  return d;
}

long CommandLine::integer(std::string_view flag, const std::string& text, long min,
                          long max) const {
  long n = 0;
  std::size_t used = 0;
  try {
    n = std::stol(text, &used);
  } catch (const std::exception&) {
    fail(std::string(flag) + ": expected an integer, got '" + text + "'");
  }
  if (used != text.size() || n < min || n > max) {
    fail(std::string(flag) + ": expected an integer in [" + std::to_string(min) + ", " +
         std::to_string(max) + "], got '" + text + "'");
  }
  return n;
}

std::uint64_t CommandLine::count(std::string_view flag, const std::string& text, std::uint64_t min,
                                 std::uint64_t max) const {
  const std::string range = std::string(flag) + ": expected a whole number in [" +
                            std::to_string(min) + ", " + std::to_string(max) + "], got '" + text +
                            "'";
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    fail(std::string(flag) + ": expected a whole number, got '" + text + "'");
  std::uint64_t n = 0;
  try {
    n = std::stoull(text);
  } catch (const std::exception&) {
    fail(range);  // out of range of 64 bits
  }
  if (n < min || n > max) fail(range);
  return n;
}

void CommandLine::fail(const std::string& message) const {
  std::cerr << program_ << ": " << message << "\n" << usage_;
  std::exit(2);
}

void CommandLine::unknown() const {
  fail("unknown argument '" + std::string(flag_) + "'");
}

std::vector<std::string> split_list(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(sep, start), text.size());
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// ---- CPU placement ------------------------------------------------------------------------

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    throw std::runtime_error("sched_setaffinity(CPU " + std::to_string(cpu) +
                             "): " + std::strerror(errno));
  }
}

std::string cpu_list(int pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) return "?";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    if (!out.empty()) out += ',';
    out += std::to_string(cpu);
    if (last > cpu) out += '-' + std::to_string(last);
    cpu = last;
  }
  return out;
}

// ---- statistics and output ----------------------------------------------------------------

double median(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double d) { return std::isnan(d); }),
               values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const std::size_t m = values.size() / 2;
  return values.size() % 2 == 1 ? values[m] : (values[m - 1] + values[m]) / 2;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x",
                    static_cast<unsigned>(static_cast<unsigned char>(ch)));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

void write_file(const std::string& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace flyshard::bench
