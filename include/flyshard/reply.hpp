#pragma once
/// \file reply.hpp
/// Reply: an owned RESP2 value.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flyshard {

namespace detail {
struct ReplyAccess;
}

/// One reply of the server, owned (it does not point into any buffer).
class Reply {
 public:
  enum class Type : std::uint8_t { nil, string, status, error, integer, array };

  /// A nil reply.
  Reply() = default;

  static Reply nil() { return Reply(); }
  static Reply string(std::string s) { return Reply(Type::string, std::move(s)); }
  static Reply status(std::string s) { return Reply(Type::status, std::move(s)); }
  static Reply error(std::string s) { return Reply(Type::error, std::move(s)); }
  static Reply integer(long long v) {
    Reply r;
    r.type_ = Type::integer;
    r.integer_ = v;
    return r;
  }
  static Reply array(std::vector<Reply> elements) {
    Reply r;
    r.type_ = Type::array;
    r.elements_ = std::move(elements);
    return r;
  }

  Type type() const noexcept { return type_; }
  bool is_nil() const noexcept { return type_ == Type::nil; }
  bool is_string() const noexcept { return type_ == Type::string; }
  bool is_status() const noexcept { return type_ == Type::status; }
  bool is_error() const noexcept { return type_ == Type::error; }
  bool is_integer() const noexcept { return type_ == Type::integer; }
  bool is_array() const noexcept { return type_ == Type::array; }

  /// The text of a string, status or error reply; empty for other types.
  const std::string& str() const noexcept { return str_; }
  /// The value of an integer reply; 0 for other types.
  long long integer() const noexcept { return integer_; }
  /// The elements of an array reply; empty for other types.
  const std::vector<Reply>& elements() const noexcept { return elements_; }
  std::vector<Reply>& elements() noexcept { return elements_; }

  /// A string reply's text, or nullopt for nil. Throws flyshard::Error(protocol_error) for
  /// other types (an error reply throws server_error with the server's message).
  std::optional<std::string> as_optional_string() const;
  /// An integer reply's value; throws like as_optional_string for other types.
  long long as_integer() const;
  /// The reply converted to T (see the list of conversions after this class). An error
  /// reply, or an error element inside an array, throws flyshard::Error(server_error) with
  /// the server's message; a reply of another shape throws Error(protocol_error) naming the
  /// type expected and the type found, e.g. "expected integer reply, got string \"abc\"".
  template <typename T>
  T as() const {
    static_assert(sizeof(T) == 0,
                  "Reply::as<T>: T must be one of long long, double, bool, std::string, "
                  "std::optional<std::string|long long|double>, std::vector<std::string|"
                  "std::optional<std::string>|long long|std::pair<std::string, std::string>>, "
                  "std::map/unordered_map<std::string, std::string>");
  }

  /// Throws flyshard::Error(server_error) with the message when this is an error reply.
  const Reply& throw_if_error() const;

  /// A readable rendering, for logs and tests: "nil", "\"text\"", "(error) ...", "[...]".
  std::string to_string() const;

  friend bool operator==(const Reply& a, const Reply& b) = default;

 private:
  friend struct detail::ReplyAccess;  // the library moves text out of replies it owns
  Reply(Type t, std::string s) : type_(t), str_(std::move(s)) {}

  Type type_ = Type::nil;
  long long integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

// The conversions of Reply::as<T>():
/// Integer reply, or a string/status reply holding a whole decimal number (HGET of a
/// counter). Nil throws protocol_error.
template <>
long long Reply::as<long long>() const;
/// Integer reply, or a string/status reply holding a number ("3.5", "inf", "-inf": ZSCORE,
/// INCRBYFLOAT). Nil throws protocol_error.
template <>
double Reply::as<double>() const;
/// Integer reply: non-zero; status "OK": true; nil: false (SET NX/XX that did not write).
template <>
bool Reply::as<bool>() const;
/// String or status reply. Nil throws protocol_error (use std::optional<std::string>).
template <>
std::string Reply::as<std::string>() const;
/// As the plain forms, with nil as nullopt.
template <>
std::optional<std::string> Reply::as<std::optional<std::string>>() const;
template <>
std::optional<long long> Reply::as<std::optional<long long>>() const;
template <>
std::optional<double> Reply::as<std::optional<double>>() const;
/// Array replies, element by element as above. A nil reply (BLPOP that timed out, EXEC
/// aborted by WATCH) converts to an empty container.
template <>
std::vector<std::string> Reply::as<std::vector<std::string>>() const;
template <>
std::vector<std::optional<std::string>> Reply::as<std::vector<std::optional<std::string>>>() const;
template <>
std::vector<long long> Reply::as<std::vector<long long>>() const;
/// A flat array of field, value, field, value ... (HGETALL, CONFIG GET); an odd length
/// throws protocol_error. The vector keeps the server's order; the maps keep the last value
/// of a repeated field.
template <>
std::vector<std::pair<std::string, std::string>>
Reply::as<std::vector<std::pair<std::string, std::string>>>() const;
template <>
std::map<std::string, std::string> Reply::as<std::map<std::string, std::string>>() const;
template <>
std::unordered_map<std::string, std::string>
Reply::as<std::unordered_map<std::string, std::string>>() const;

}  // namespace flyshard
