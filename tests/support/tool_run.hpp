#pragma once
/// \file tool_run.hpp
/// Running a command-line tool to its end from a test: its exit code, stdout and stderr.
///
/// Test support only: not part of the installed library.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace flyshard::testing {

struct ToolRun {
  int rc = -1;  ///< exit code; -1 when the tool did not exit normally
  std::string out;
  std::string err;
};

/// A whole file as a string ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs `binary args` through the shell (args are shell words, quoted by the caller), its
/// output captured in files in `dir`.
inline ToolRun run_tool(const std::string& binary, const std::string& args,
                        const std::filesystem::path& dir) {
  const std::filesystem::path out = dir / "tool-out.txt";
  const std::filesystem::path err = dir / "tool-err.txt";
  const std::string cmd = binary + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  ToolRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace flyshard::testing
