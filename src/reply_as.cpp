// Reply::as<T>(): typed conversions of a reply, with errors that name what was expected.
#include <charconv>
#include <cmath>
#include <limits>

#include "flyshard/error.hpp"
#include "flyshard/reply.hpp"
#include "reply_type_name.hpp"

namespace flyshard {
namespace {

using detail::reply_type_name;

// An error reply is the server's answer (server_error); any other mismatch is ours to report
// (protocol_error), with the value when it is short enough to help.
[[noreturn]] void mismatch(const Reply& r, const char* expected) {
  if (r.is_error()) throw Error(errc::server_error, r.str());
  std::string m = std::string("expected ") + expected + " reply, got " + reply_type_name(r.type());
  if ((r.is_string() || r.is_status()) && r.str().size() <= 64) {
    m += ' ';
    m += r.to_string();
  } else if (r.is_integer()) {
    m += ' ' + std::to_string(r.integer());
  }
  throw Error(errc::protocol_error, m);
}

bool is_text(const Reply& r) noexcept {
  return r.is_string() || r.is_status();
}

std::optional<long long> parse_integer(const std::string& s) noexcept {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(const std::string& s) noexcept {
  // Redis spells infinities "inf", "-inf" and sometimes "+inf"; from_chars takes neither
  // a leading '+' nor every spelling, so they are handled here.
  if (s == "inf" || s == "+inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || std::isnan(v)) {
    return std::nullopt;
  }
  return v;
}

// The elements of an array reply; nil is an empty array (see the header).
const std::vector<Reply>& elements_of(const Reply& r, const char* expected) {
  static const std::vector<Reply> none;
  if (r.is_nil()) return none;
  if (!r.is_array()) mismatch(r, expected);
  return r.elements();
}

template <typename T>
std::vector<T> vector_of(const Reply& r, const char* expected) {
  const auto& e = elements_of(r, expected);
  std::vector<T> out;
  out.reserve(e.size());
  for (const Reply& x : e) out.push_back(x.as<T>());
  return out;
}

template <typename Map>
Map pairs_into(const Reply& r) {
  const auto& e = elements_of(r, "array of field-value pairs");
  if (e.size() % 2 != 0) {
    throw Error(
        errc::protocol_error,
        "expected an even number of elements (field-value pairs), got " + std::to_string(e.size()));
  }
  Map out;
  for (std::size_t i = 0; i < e.size(); i += 2) {
    std::string k = e[i].as<std::string>();
    std::string v = e[i + 1].as<std::string>();
    if constexpr (requires { out.insert_or_assign(std::move(k), std::move(v)); }) {
      out.insert_or_assign(std::move(k), std::move(v));
    } else {
      out.emplace_back(std::move(k), std::move(v));
    }
  }
  return out;
}

}  // namespace

template <>
long long Reply::as<long long>() const {
  if (is_integer()) return integer();
  if (is_text(*this)) {
    if (auto v = parse_integer(str())) return *v;
  }
  mismatch(*this, "integer");
}

template <>
double Reply::as<double>() const {
  if (is_integer()) return static_cast<double>(integer());
  if (is_text(*this)) {
    if (auto v = parse_double(str())) return *v;
  }
  mismatch(*this, "number");
}

template <>
bool Reply::as<bool>() const {
  if (is_integer()) return integer() != 0;
  if (is_nil()) return false;
  if (is_status() && str() == "OK") return true;
  mismatch(*this, "integer, OK or nil");
}

template <>
std::string Reply::as<std::string>() const {
  if (is_text(*this)) return str();
  mismatch(*this, "string");
}

template <>
std::optional<std::string> Reply::as<std::optional<std::string>>() const {
  if (is_nil()) return std::nullopt;
  return as<std::string>();
}

template <>
std::optional<long long> Reply::as<std::optional<long long>>() const {
  if (is_nil()) return std::nullopt;
  return as<long long>();
}

template <>
std::optional<double> Reply::as<std::optional<double>>() const {
  if (is_nil()) return std::nullopt;
  return as<double>();
}

template <>
std::vector<std::string> Reply::as<std::vector<std::string>>() const {
  return vector_of<std::string>(*this, "array of strings");
}

template <>
std::vector<std::optional<std::string>> Reply::as<std::vector<std::optional<std::string>>>() const {
  return vector_of<std::optional<std::string>>(*this, "array of strings");
}

template <>
std::vector<long long> Reply::as<std::vector<long long>>() const {
  return vector_of<long long>(*this, "array of integers");
}

template <>
std::vector<std::pair<std::string, std::string>>
Reply::as<std::vector<std::pair<std::string, std::string>>>() const {
  return pairs_into<std::vector<std::pair<std::string, std::string>>>(*this);
}

template <>
std::map<std::string, std::string> Reply::as<std::map<std::string, std::string>>() const {
  return pairs_into<std::map<std::string, std::string>>(*this);
}

template <>
std::unordered_map<std::string, std::string>
Reply::as<std::unordered_map<std::string, std::string>>() const {
  return pairs_into<std::unordered_map<std::string, std::string>>(*this);
}

}  // namespace flyshard
