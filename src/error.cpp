#include "flyshard/error.hpp"

#include <string>

namespace flyshard {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "flyshard"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::timeout:
        return "request timed out";
      case errc::connection_lost:
        return "connection lost";
      case errc::shard_unavailable:
        return "shard unavailable";
      case errc::overloaded:
        return "node overloaded";
      case errc::cross_shard:
        return "keys map to several shards";
      case errc::server_error:
        return "server error";
      case errc::protocol_error:
        return "protocol error";
      case errc::config:
        return "configuration error";
      case errc::shutting_down:
        return "client shutting down";
      case errc::unknown_command:
        return "command not in the command table";
      case errc::watch_conflict:
        return "watched keys changed on every attempt";
      case errc::tls:
        return "TLS failure";
    }
    return "unknown flyshard error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  // A function-local static: one instance per process even when several shared objects
  // include the header, so comparing categories by address works.
  static const Category category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

bool is_retriable(errc e) noexcept {
  switch (e) {
    case errc::timeout:
    case errc::connection_lost:
    case errc::shard_unavailable:
    case errc::overloaded:
    case errc::watch_conflict:
      return true;
    default:
      return false;
  }
}

bool is_transport(errc e) noexcept {
  switch (e) {
    case errc::timeout:
    case errc::connection_lost:
    case errc::shard_unavailable:
    case errc::tls:  // the link failed, as connection_lost, only for a reason a retry won't cure
      return true;
    default:
      return false;
  }
}

}  // namespace flyshard
