#pragma once
// Words of the typed helpers that take lists, shared by Client and AsyncClient so both send
// the same command.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flyshard/args.hpp"

namespace flyshard::detail {

/// {name, key, items...}; views `items`.
inline std::vector<std::string_view> words_with(std::string_view name, std::string_view key,
                                                const std::vector<std::string>& items) {
  std::vector<std::string_view> w{name, key};
  w.insert(w.end(), items.begin(), items.end());
  return w;
}

/// ZADD key score member ...; `scores` receives the formatted scores the words view (it must
/// outlive them).
inline std::vector<std::string_view> zadd_words(
    std::string_view key, const std::vector<std::pair<double, std::string>>& members,
    std::vector<Arg>& scores) {
  scores.clear();
  scores.reserve(members.size());  // no reallocation: the words view into these Args
  std::vector<std::string_view> w{"ZADD", key};
  w.reserve(2 + 2 * members.size());
  for (const auto& [score, member] : members) {
    w.push_back(scores.emplace_back(score).view());
    w.push_back(member);
  }
  return w;
}

}  // namespace flyshard::detail
