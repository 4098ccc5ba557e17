#pragma once
// JSON helpers and the HTTP error a handler throws.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shop {

using Json = nlohmann::json;

/// An error answer: handlers throw it, the route wrapper renders
/// {"error": code, "message": message, ...extra} with `status`.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, std::string message, Json extra = Json::object())
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        extra_(std::move(extra)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const Json& extra() const noexcept { return extra_; }

 private:
  int status_;
  std::string code_;
  Json extra_;
};

/// {"error": code, "message": message} plus the fields of `extra`.
std::string error_body(std::string_view code, std::string_view message,
                       const Json& extra = Json::object());

/// Parses a request body that must be a JSON object; throws HttpError 400 otherwise.
Json parse_object_body(const std::string& body);

/// A strictly decimal integer (optional leading '-'), or nullopt (no spaces, no '+', no
/// overflow).
std::optional<long long> parse_int(std::string_view text);

/// Milliseconds since the Unix epoch.
inline long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Lower-case ASCII copy (search is case-insensitive over ASCII).
std::string ascii_lower(std::string_view text);

}  // namespace shop
