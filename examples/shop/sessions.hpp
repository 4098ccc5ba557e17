#pragma once
// Visitor sessions. A token is "<uid>.<secret>": uid 16 hex digits (64 random bits, the
// visitor's id in keys), secret 32 hex digits (128 random bits from the kernel's CSPRNG).
// The store keeps only SHA-256(secret) under session:{u<uid>}, so a token is checked in one
// read and a leaked store dump holds no usable token.

#include <optional>
#include <string>
#include <string_view>

#include <flyshard/flyshard.hpp>

namespace shop {

/// `bytes` random bytes from getrandom(2), as lower-case hex.
std::string random_hex(std::size_t bytes);

class Sessions {
 public:
  explicit Sessions(flyshard::Client& client) : client_(client) {}
  /// Creates a visitor; returns the token. Throws flyshard::Error.
  std::string create();
  /// The uid of a valid "Bearer <token>" Authorization value; nullopt when it is missing,
  /// malformed, unknown or wrong. Throws flyshard::Error when the store cannot answer.
  std::optional<std::string> authenticate(std::string_view authorization);

 private:
  flyshard::Client& client_;
};

}  // namespace shop
