#pragma once
// The commands sent first on a new link: AUTH, CLIENT SETNAME and SELECT. They go out in the
// same write as the link's first requests, so the handshake costs no round trip of its own.

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

/// Appends the handshake of a link to `address`: AUTH with the address's own credentials
/// when it has a password, else with `auth`; CLIENT SETNAME `client_name` unless it is empty;
/// SELECT the address's database, else `database`, unless that is 0. AUTH goes first: a
/// server that requires it refuses everything before. Returns the replies added.
inline std::uint32_t append_handshake(std::string& out, const NodeAddress& address,
                                      const AuthSpec& auth, std::string_view client_name,
                                      int database) {
  std::uint32_t replies = address.password.empty()
                              ? append_auth(out, auth)
                              : append_auth(out, AuthSpec{address.username, address.password});
  if (!client_name.empty()) {
    std::vector<std::string_view> words{"CLIENT", "SETNAME", client_name};
    append_command(out, words);
    ++replies;
  }
  const int db = address.db.value_or(database);
  if (db != 0) {
    const std::string text = std::to_string(db);
    std::vector<std::string_view> words{"SELECT", text};
    append_command(out, words);
    ++replies;
  }
  return replies;
}

}  // namespace flyshard::detail
