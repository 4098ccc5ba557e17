#pragma once
// The commands sent first on a new link: AUTH for a set of credentials.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/topology.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {

/// Appends AUTH for `auth` to `out` (nothing without a password); returns the replies added.
inline std::uint32_t append_auth(std::string& out, const AuthSpec& auth) {
  if (auth.password.empty()) return 0;
  std::vector<std::string_view> words{"AUTH"};
  if (!auth.username.empty()) words.push_back(auth.username);
  words.push_back(auth.password);
  append_command(out, words);
  return 1;
}

}  // namespace flyshard::detail
