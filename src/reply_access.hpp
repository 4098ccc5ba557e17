#pragma once
// What the library may do with a Reply it owns and is about to drop: take its text instead of
// copying it (GET hands the caller a std::string; a copy would be a second allocation).

#include <optional>
#include <string>

#include "flyshard/reply.hpp"

namespace flyshard::detail {

struct ReplyAccess {
  static std::string& text(Reply& r) noexcept { return r.str_; }
};

/// Reply::as_optional_string(), moving the text out of `r`; throws as that does.
std::optional<std::string> take_optional_string(Reply&& r);

}  // namespace flyshard::detail
