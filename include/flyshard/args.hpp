#pragma once
/// \file args.hpp
/// Args: a non-owning view of one command's words.

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flyshard {

/// The words of one command, e.g. {"HINCRBY", "cart:{u7}", "42", "1"}. It only views the
/// strings it is built from: they must outlive the call that takes it (the library copies
/// what it keeps).
class Args {
 public:
  Args(std::initializer_list<std::string_view> words) : words_(words) {}
  Args(std::span<const std::string_view> words) : words_(words.begin(), words.end()) {}
  Args(const std::vector<std::string_view>& words) : words_(words) {}
  Args(const std::vector<std::string>& words) : words_(words.begin(), words.end()) {}

  std::size_t size() const noexcept { return words_.size(); }
  bool empty() const noexcept { return words_.empty(); }
  std::string_view operator[](std::size_t i) const noexcept { return words_[i]; }
  auto begin() const noexcept { return words_.begin(); }
  auto end() const noexcept { return words_.end(); }
  std::span<const std::string_view> span() const noexcept { return words_; }

 private:
  std::vector<std::string_view> words_;
};

}  // namespace flyshard
