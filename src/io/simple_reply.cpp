#include "io/simple_reply.hpp"

#include <cstring>

#include "io/resp.hpp"
#include "reply_access.hpp"

namespace flyshard::detail {
namespace {

// Up to 18 digits always fit a long long; a longer number is left to the reader.
constexpr std::ptrdiff_t kMaxDigits = 18;

// Reads "<digits>\r\n" at `p` (before `end`): the value, and `p` moved past the CRLF. False
// for no digit, too many, a leading zero (the reader refuses "$03"), or anything but CRLF after
// them.
inline bool digits_line(const char*& p, const char* end, std::size_t& value) {
  if (end - p >= 2 && p[0] == '0' && p[1] != '\r') return false;
  const char* const stop = end - p > kMaxDigits ? p + kMaxDigits : end;
  const char* d = p;
  std::size_t v = 0;
  for (; d < stop; ++d) {
    const auto digit = static_cast<unsigned>(*d) - unsigned{'0'};
    if (digit > 9) break;
    v = v * 10 + digit;
  }
  if (d == p || end - d < 2 || d[0] != '\r' || d[1] != '\n') return false;
  value = v;
  p = d + 2;
  return true;
}

}  // namespace

std::size_t parse_simple_reply(const char* data, std::size_t size, std::size_t max_bulk,
                               std::optional<Reply>& out) {
  if (size < 3) return 0;
  const char* const end = data + size;
  const char* p = data + 1;
  switch (data[0]) {
    case '$': {
      if (*p == '-') {
        // Only "$-1" is nil; the reader refuses the other negative lengths.
        if (size < 5 || p[1] != '1' || p[2] != '\r' || p[3] != '\n') return 0;
        out.emplace();
        return 5;
      }
      std::size_t len = 0;
      if (!digits_line(p, end, len) || len > max_bulk) return 0;
      // hiredis skips the two bytes after the body without looking at them: a body not ended
      // by CRLF goes to it, so that both paths read the same stream the same way.
      if (static_cast<std::size_t>(end - p) < len + 2 || p[len] != '\r' || p[len + 1] != '\n') {
        return 0;
      }
      // Built in place: a Reply moved in would cost a move of each of its members.
      ReplyAccess::set_text(out.emplace(), Reply::Type::string, std::string(p, len));
      return static_cast<std::size_t>(p + len + 2 - data);
    }
    case ':': {
      const bool negative = *p == '-';
      if (negative) ++p;
      if (negative && *p == '0') return 0;  // the reader refuses "-0" (and "-01")
      std::size_t v = 0;
      if (!digits_line(p, end, v)) return 0;
      const auto value = static_cast<long long>(v);
      out.emplace(Reply::integer(negative ? -value : value));
      return static_cast<std::size_t>(p - data);
    }
    case '+':
    case '-': {
      // The line ends at its first CRLF; a lone CR inside it is left to the reader.
      const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(end - p));
      if (cr == nullptr) return 0;
      const char* line_end = static_cast<const char*>(cr);
      const auto len = static_cast<std::size_t>(line_end - p);
      if (end - line_end < 2 || line_end[1] != '\n' || len > kMaxReplyLine) return 0;
      ReplyAccess::set_text(out.emplace(),
                            data[0] == '+' ? Reply::Type::status : Reply::Type::error,
                            std::string(p, len));
      return len + 3;
    }
    default:
      return 0;
  }
}

}  // namespace flyshard::detail
