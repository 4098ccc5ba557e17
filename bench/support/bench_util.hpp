#pragma once
/// \file bench_util.hpp
/// What the plain-main() benchmark programs (bench_client, failover_bench,
/// flyshard-distribution, flyshard-load) share: reading the command line, steady-clock
/// timing, CPU placement, the median, and formatting numbers and JSON.
///
/// Benchmark support only: not part of the installed library.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flyshard::bench {

// ---- timing -------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;
using Millis = std::chrono::duration<double, std::milli>;

/// Seconds from `from` to `to` (negative when `to` is earlier).
inline double seconds_between(Clock::time_point from, Clock::time_point to) {
  return Seconds(to - from).count();
}
/// Milliseconds from `from` to `to` (negative when `to` is earlier).
inline double ms_between(Clock::time_point from, Clock::time_point to) {
  return Millis(to - from).count();
}
/// Seconds from `from` to now.
inline double seconds_since(Clock::time_point from) {
  return seconds_between(from, Clock::now());
}

// ---- command line -------------------------------------------------------------------------

/// Walks a program's arguments. Every usage error prints "<program>: <message>" and then the
/// usage text to stderr and exits with status 2; -h and --help print the usage text to stdout
/// and exit with status 0.
///
///   CommandLine cl("flyshard-load", kUsage, argc, argv);
///   while (cl.next()) {
///     if (cl.flag() == "--seconds") c.seconds = cl.number(0.01, 86400);
///     else if (cl.flag() == "--json") c.json = cl.value();
///     else cl.unknown();
///   }
class CommandLine {
 public:
  CommandLine(std::string_view program, std::string_view usage, int argc, char** argv)
      : program_(program), usage_(usage), argc_(argc), argv_(argv) {}

  /// Moves to the next argument; false after the last one. Handles -h and --help itself.
  bool next();
  /// The current argument (a flag); valid for the program's lifetime.
  std::string_view flag() const noexcept { return flag_; }
  /// Consumes the argument after the current flag; "<flag> needs a value" when there is none.
  std::string value();

  /// value() as a number in [min, max]: "<flag>: expected a number, got '<v>'" or
  /// "<flag>: expected a number in [<min>, <max>], got '<v>'" (bounds printed with %g).
  double number(double min, double max) { return number(flag_, value(), min, max); }
  /// value() as an integer (std::stol, optional sign) in [min, max].
  long integer(long min, long max) { return integer(flag_, value(), min, max); }
  /// value() as a whole number (decimal digits only) in [min, max].
  std::uint64_t count(std::uint64_t min, std::uint64_t max) {
    return count(flag_, value(), min, max);
  }

  /// The same checks on a given text, e.g. one item of a comma-separated list.
  double number(std::string_view flag, const std::string& text, double min, double max) const;
  long integer(std::string_view flag, const std::string& text, long min, long max) const;
  std::uint64_t count(std::string_view flag, const std::string& text, std::uint64_t min,
                      std::uint64_t max) const;

  /// Prints "<program>: <message>" and the usage text to stderr, exits with status 2.
  [[noreturn]] void fail(const std::string& message) const;
  /// fail("unknown argument '<flag>'").
  [[noreturn]] void unknown() const;

 private:
  std::string_view program_;
  std::string_view usage_;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string_view flag_;
};

/// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_list(std::string_view text, char sep = ',');

// ---- CPU placement ------------------------------------------------------------------------

/// Pins the calling thread to one CPU; threads and child processes it starts later inherit
/// that. Throws std::runtime_error("sched_setaffinity(CPU <n>): <reason>").
void pin_to_cpu(int cpu);

/// The CPUs process (or thread) `pid` may run on, 0 for the calling thread, as "0", "0-1",
/// "0,2-3"; "?" when it cannot be read.
std::string cpu_list(int pid = 0);

// ---- statistics and output ----------------------------------------------------------------

/// The median of the values that are not NaN (the mean of the middle two for an even count);
/// NaN when there are none.
double median(std::vector<double> values);

/// One number through printf: fmt("%.1f", 2.25) == "2.2". The result is cut at 63 chars.
std::string fmt(const char* format, double v);

/// `s` escaped for the inside of a JSON string: quotes, backslashes and control characters.
std::string json_escape(std::string_view s);

/// Writes `text` to `path`, replacing the file. Throws std::runtime_error("cannot write
/// <path>").
void write_file(const std::string& path, std::string_view text);

}  // namespace flyshard::bench
