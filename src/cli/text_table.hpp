#pragma once
// A plain text table: columns padded to their widest cell, numbers right-aligned, so the
// output reads in a terminal and diffs cleanly.

#include <ostream>
#include <string>
#include <vector>

namespace flyshard::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// "1234567" -> "1,234,567"; negative numbers keep their sign.
std::string group_digits(long long n);
/// Bytes as "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB".
std::string human_bytes(double bytes);
/// A share as a percentage with one decimal: 0.2513 -> "25.1%".
std::string percent(double share);

}  // namespace flyshard::cli
