#pragma once
// SHA1 of a script's source in hex, as EVALSHA names it (OpenSSL's libcrypto).

#include <string>
#include <string_view>

namespace flyshard::detail {

/// Throws Error(config) if libcrypto fails.
std::string sha1_hex(std::string_view data);

}  // namespace flyshard::detail
