#pragma once
// The words of EVAL/EVALSHA: cmd body numkeys keys... args... (Client::eval/evalsha and
// Script share them).

#include <string>
#include <string_view>
#include <vector>

namespace flyshard::detail {

/// The words view `body`, `keys`, `args` and `count` (which receives numkeys' text): all must
/// outlive the returned vector.
inline std::vector<std::string_view> script_words(std::string_view cmd, std::string_view body,
                                                  const std::vector<std::string>& keys,
                                                  const std::vector<std::string>& args,
                                                  std::string& count) {
  count = std::to_string(keys.size());
  std::vector<std::string_view> w{cmd, body, count};
  w.insert(w.end(), keys.begin(), keys.end());
  w.insert(w.end(), args.begin(), args.end());
  return w;
}

}  // namespace flyshard::detail
