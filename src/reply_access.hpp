#pragma once
// What the library may do with a Reply it owns and is about to drop: take its text instead of
// copying it (GET hands the caller a std::string; a copy would be a second allocation).

#include <cstddef>
#include <optional>
#include <string>

#include "flyshard/reply.hpp"

namespace flyshard::detail {

struct ReplyAccess {
  static std::string& text(Reply& r) noexcept { return r.str_; }
  /// Makes `r` a string, status or error reply holding `size` bytes from `data` (the reply
  /// reader builds replies in place this way).
  static void assign_text(Reply& r, Reply::Type type, const char* data, std::size_t size) {
    r.type_ = type;
    r.integer_ = 0;
    r.elements_.clear();
    r.str_.assign(data, size);
  }
  /// Makes a new (nil) reply `r` a string, status or error reply holding `text`.
  static void set_text(Reply& r, Reply::Type type, std::string&& text) noexcept {
    r.type_ = type;
    r.str_ = std::move(text);
  }
  static Reply text_reply(Reply::Type type, const char* data, std::size_t size) {
    return Reply(type, std::string(data, size));
  }
};

/// Reply::as_optional_string(), moving the text out of `r`; throws as that does.
std::optional<std::string> take_optional_string(Reply&& r);

}  // namespace flyshard::detail
