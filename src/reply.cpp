#include "flyshard/reply.hpp"

#include <cstdio>
#include <string>

#include "flyshard/error.hpp"
#include "reply_access.hpp"
#include "reply_type_name.hpp"

namespace flyshard {
namespace {

using detail::reply_type_name;

[[noreturn]] void throw_wrong_type(const Reply& r, const char* expected) {
  if (r.is_error()) throw Error(errc::server_error, r.str());
  throw Error(errc::protocol_error,
              std::string("expected ") + expected + " reply, got " + reply_type_name(r.type()));
}

// Quotes a string the way redis-cli does, so binary values stay readable on one line.
void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void render(std::string& out, const Reply& r) {
  switch (r.type()) {
    case Reply::Type::nil:
      out += "nil";
      break;
    case Reply::Type::string:
      append_quoted(out, r.str());
      break;
    case Reply::Type::status:
      out += r.str();
      break;
    case Reply::Type::error:
      out += "(error) ";
      out += r.str();
      break;
    case Reply::Type::integer:
      out += std::to_string(r.integer());
      break;
    case Reply::Type::array: {
      out += '[';
      bool first = true;
      for (const Reply& e : r.elements()) {
        if (!first) out += ", ";
        first = false;
        render(out, e);
      }
      out += ']';
      break;
    }
  }
}

}  // namespace

std::optional<std::string> Reply::as_optional_string() const {
  // Status replies are strings too (TYPE, PING, CLIENT GETNAME on some servers).
  if (type_ == Type::string || type_ == Type::status) return str_;
  if (type_ == Type::nil) return std::nullopt;
  throw_wrong_type(*this, "string");
}

long long Reply::as_integer() const {
  if (type_ == Type::integer) return integer_;
  throw_wrong_type(*this, "integer");
}

std::optional<std::string> detail::take_optional_string(Reply&& r) {
  if (r.is_string() || r.is_status()) return std::move(ReplyAccess::text(r));
  return r.as_optional_string();  // nil, or the error it throws
}

const Reply& Reply::throw_if_error() const {
  if (type_ == Type::error) throw Error(errc::server_error, str_);
  return *this;
}

std::string Reply::to_string() const {
  std::string out;
  render(out, *this);
  return out;
}

}  // namespace flyshard
