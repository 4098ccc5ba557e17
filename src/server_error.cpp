#include "flyshard/server_error.hpp"

#include <array>
#include <utility>

namespace flyshard {
namespace {

using Kind = ServerErrorKind;

constexpr std::array<std::pair<std::string_view, Kind>, 22> kPrefixes{{
    {"ERR", Kind::generic},
    {"WRONGTYPE", Kind::wrongtype},
    {"NOSCRIPT", Kind::noscript},
    {"READONLY", Kind::readonly},
    {"LOADING", Kind::loading},
    {"BUSY", Kind::busy},
    {"BUSYKEY", Kind::busykey},
    {"NOPERM", Kind::noperm},
    {"OOM", Kind::oom},
    {"EXECABORT", Kind::execabort},
    {"MOVED", Kind::moved},
    {"ASK", Kind::ask},
    {"TRYAGAIN", Kind::tryagain},
    {"CLUSTERDOWN", Kind::clusterdown},
    {"MASTERDOWN", Kind::masterdown},
    {"NOREPLICAS", Kind::noreplicas},
    {"MISCONF", Kind::misconf},
    {"NOAUTH", Kind::noauth},
    {"WRONGPASS", Kind::wrongpass},
    {"BUSYGROUP", Kind::busygroup},
    {"NOGROUP", Kind::nogroup},
    {"CROSSSLOT", Kind::crossslot},
}};

}  // namespace

ServerErrorKind server_error_kind(std::string_view message) noexcept {
  if (!message.empty() && message.front() == '-') message.remove_prefix(1);
  // The first word ends at a space (or the end: "-ERR" alone is legal RESP).
  std::string_view word = message.substr(0, message.find(' '));
  for (const auto& [prefix, kind] : kPrefixes) {
    if (word == prefix) return kind;
  }
  return Kind::unknown;
}

ServerErrorKind server_error_kind(const Reply& reply) noexcept {
  return reply.is_error() ? server_error_kind(std::string_view(reply.str())) : Kind::none;
}

ServerErrorKind server_error_kind(const Error& error) noexcept {
  if (error.value() != errc::server_error) return Kind::none;
  return server_error_kind(std::string_view(error.what()));
}

std::string_view to_string(ServerErrorKind kind) noexcept {
  for (const auto& [prefix, k] : kPrefixes) {
    if (k == kind) return prefix;
  }
  return {};
}

bool is_retriable(ServerErrorKind kind) noexcept {
  switch (kind) {
    case Kind::readonly:
    case Kind::loading:
    case Kind::busy:
    case Kind::tryagain:
    case Kind::clusterdown:
    case Kind::masterdown:
    case Kind::noreplicas:
      return true;
    default:
      return false;
  }
}

bool is_retriable(const Error& error) noexcept {
  if (error.value() == errc::server_error) return is_retriable(server_error_kind(error));
  return is_retriable(error.value());
}

}  // namespace flyshard
