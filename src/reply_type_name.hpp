#pragma once
// The name of a reply type, for the messages of Reply's checked accessors (reply.cpp) and of
// Reply::as<T>() (reply_as.cpp).

#include "flyshard/reply.hpp"

namespace flyshard::detail {

inline const char* reply_type_name(Reply::Type t) noexcept {
  switch (t) {
    case Reply::Type::nil:
      return "nil";
    case Reply::Type::string:
      return "string";
    case Reply::Type::status:
      return "status";
    case Reply::Type::error:
      return "error";
    case Reply::Type::integer:
      return "integer";
    case Reply::Type::array:
      return "array";
  }
  return "unknown";
}

}  // namespace flyshard::detail
