// NodeAddress: its text forms. "host:port" and "[v6]:port" as before, and the URIs other
// clients take (redis-py, go-redis, Lettuce): redis://, rediss:// and unix://.
#include <sys/un.h>

#include <cctype>
#include <limits>
#include <optional>
#include <string>

#include "flyshard/error.hpp"
#include "node_address_text.hpp"

namespace flyshard {
namespace detail {
namespace {

constexpr std::uint16_t kDefaultPort = 6379;
// sun_path holds the path and its terminating NUL.
constexpr std::size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;

bool bad_host_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '[' || c == ']' || c == '/' || c == '@' || c == '?' ||
         c == '#';
}

// Why `host` cannot be a node's host, or "" when it can.
std::string host_problem(std::string_view host, bool bracketed) {
  if (host.empty()) return "empty host";
  for (char c : host) {
    if (bad_host_char(c)) return "invalid character in host";
  }
  const bool has_colon = host.find(':') != std::string_view::npos;
  if (has_colon && !bracketed) return "an IPv6 address needs brackets, e.g. [::1]:6379";
  if (!has_colon && bracketed) return "brackets are only for IPv6 addresses";
  return {};
}

// Digits only, at most `max`; "" on success, else the reason naming `what`.
std::string parse_number(std::string_view digits, std::uint32_t max, const char* what,
                         std::uint32_t& out) {
  if (digits.empty()) return std::string(what) + " is empty";
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::string(what) + " is not a number";
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (n > max) return std::string(what) + " must be 0.." + std::to_string(max);
  }
  out = static_cast<std::uint32_t>(n);
  return {};
}

// "host:port" or "[v6]:port" (the port may be left out in a URI: 6379).
std::string parse_host_port(std::string_view text, bool port_optional, NodeAddress& out) {
  std::string_view host;
  std::string_view rest;  // ":port", or "" when there is none
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return "missing ']'";
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    bracketed = true;
    if (!rest.empty() && rest.front() != ':') return "expected ':' after ']'";
  } else {
    const auto colon = text.rfind(':');
    if (port_optional && colon != text.find(':')) {
      return "an IPv6 address needs brackets, e.g. redis://[::1]:6379";
    }
    // In a URI an unbracketed host has no colon, so the first one starts the port: "::1"
    // there is an unbracketed IPv6 address, not host "::" with port 1.
    const auto split = port_optional ? text.find(':') : colon;
    if (split == std::string_view::npos) {
      if (!port_optional) return "missing port";
      host = text;
    } else {
      host = text.substr(0, split);
      rest = text.substr(split);
    }
  }
  if (rest.size() == 1 || (rest.empty() && !port_optional)) return "missing port";
  if (auto p = host_problem(host, bracketed); !p.empty()) return p;
  std::uint32_t port = kDefaultPort;
  if (!rest.empty()) {
    if (auto p = parse_number(rest.substr(1), 65535, "port", port); !p.empty()) {
      return p.find("must be") != std::string::npos ? "port must be 1..65535" : p;
    }
    if (port == 0) return "port must be 1..65535";
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(port);
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding of the user and password; false on a broken escape.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// "user:password" before the '@'.
std::string parse_userinfo(std::string_view info, NodeAddress& out) {
  const auto colon = info.find(':');
  const std::string_view user = info.substr(0, colon);
  const std::string_view password =
      colon == std::string_view::npos ? std::string_view() : info.substr(colon + 1);
  if (!percent_decode(user, out.username)) return "invalid %-escape in the user name";
  if (!percent_decode(password, out.password)) return "invalid %-escape in the password";
  if (out.password.empty()) {
    return out.username.empty() ? "empty credentials before '@'"
                                : "user name given without a password (redis://user:password@...)";
  }
  return {};
}

// The database number of "/N" or "?db=N".
std::string parse_db(std::string_view digits, NodeAddress& out) {
  if (out.db) return "database given twice";
  std::uint32_t db = 0;
  auto p = parse_number(digits, static_cast<std::uint32_t>(std::numeric_limits<int>::max()),
                        "database", db);
  if (!p.empty()) return p;
  out.db = static_cast<int>(db);
  return {};
}

// "db=N" (the only query parameter).
std::string parse_query(std::string_view query, NodeAddress& out) {
  if (query.substr(0, 3) != "db=") return "unknown URI parameter (expected ?db=N)";
  return parse_db(query.substr(3), out);
}

// Splits "[userinfo@]rest": the '@' counts only before `limit` (a path or query may hold one).
std::string take_userinfo(std::string_view& text, std::size_t limit, NodeAddress& out) {
  const auto at = text.substr(0, limit).rfind('@');
  if (at == std::string_view::npos) return {};
  if (auto p = parse_userinfo(text.substr(0, at), out); !p.empty()) return p;
  text.remove_prefix(at + 1);
  return {};
}

// Cuts "?query" off `rest` at `at` (npos: none); returns the query, nullopt when there is none.
std::optional<std::string_view> cut_query(std::string_view& rest, std::size_t at) {
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view q = rest.substr(at + 1);
  rest = rest.substr(0, at);
  return q;
}

std::string parse_tcp_uri(std::string_view rest, NodeAddress& out) {
  const auto query = cut_query(rest, rest.find('?'));
  if (auto p = take_userinfo(rest, rest.find('/'), out); !p.empty()) return p;
  const auto slash = rest.find('/');
  const std::string_view hostport = rest.substr(0, slash);
  if (hostport.empty()) return "empty host";
  if (auto p = parse_host_port(hostport, true, out); !p.empty()) return p;
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    if (auto p = parse_db(rest.substr(slash + 1), out); !p.empty()) return p;
  }
  return query ? parse_query(*query, out) : std::string();
}

std::string parse_unix_uri(std::string_view rest, NodeAddress& out) {
  // The last '?': a socket path may hold one itself.
  const auto query = cut_query(rest, rest.rfind('?'));
  if (auto p = take_userinfo(rest, rest.find('/'), out); !p.empty()) return p;
  if (rest.empty()) return "empty unix socket path";
  if (rest.front() != '/') return "unix socket path must be absolute (unix:///path)";
  if (rest.size() > kMaxUnixPath) {
    return "unix socket path longer than " + std::to_string(kMaxUnixPath) + " bytes";
  }
  for (char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "invalid character in unix socket path";
  }
  out.path = std::string(rest);
  return query ? parse_query(*query, out) : std::string();
}

// %XX for every byte a URI's user part cannot hold as it is, so that to_string() parses back.
std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string parse_uri(std::string_view scheme, std::string_view rest, NodeAddress& out) {
  const std::string s = lower(scheme);
  if (s == "unix") return parse_unix_uri(rest, out);
  if (s == "redis" || s == "rediss") {
    out.tls = s == "rediss";
    return parse_tcp_uri(rest, out);
  }
  if (s.empty()) return "empty URI scheme (expected redis, rediss or unix)";
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "invalid URI scheme (expected redis, rediss or unix)";
    }
  }
  return "unknown URI scheme \"" + s + "\" (expected redis, rediss or unix)";
}

}  // namespace

std::string parse_node_address(std::string_view text, NodeAddress& out) {
  if (text.empty()) return "empty address";
  NodeAddress a;
  std::string why;
  if (const auto sep = text.find("://"); sep != std::string_view::npos) {
    why = parse_uri(text.substr(0, sep), text.substr(sep + 3), a);
  } else {
    why = parse_host_port(text, false, a);
  }
  if (why.empty()) out = std::move(a);
  return why;
}

std::string address_problem(const NodeAddress& a) {
  if (a.is_unix()) {
    if (!a.host.empty() || a.port != 0) return "a unix socket address has no host or port";
    if (a.path.front() != '/') return "unix socket path must be absolute (unix:///path)";
    if (a.path.size() > kMaxUnixPath) {
      return "unix socket path longer than " + std::to_string(kMaxUnixPath) + " bytes";
    }
  } else {
    if (auto p = host_problem(a.host, a.host.find(':') != std::string::npos); !p.empty()) return p;
    if (a.port == 0) return "port must be 1..65535";
  }
  if (a.db && *a.db < 0) return "database must be 0 or more";
  if (!a.username.empty() && a.password.empty()) return "user name given without a password";
  return {};
}

std::string redact_address(std::string_view text) {
  const auto at = text.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  const auto sep = text.find("://");
  const std::size_t keep = sep != std::string_view::npos && sep < at ? sep + 3 : 0;
  return std::string(text.substr(0, keep)) + "***" + std::string(text.substr(at));
}

}  // namespace detail

NodeAddress NodeAddress::parse(std::string_view text) {
  NodeAddress a;
  if (auto why = detail::parse_node_address(text, a); !why.empty()) {
    const bool uri = text.find("://") != std::string_view::npos;
    throw Error(errc::config, "invalid address \"" + detail::redact_address(text) +
                                  "\": " + (uri ? why : "expected \"host:port\" (" + why + ")"));
  }
  return a;
}

std::string NodeAddress::to_string() const {
  const bool plain = !is_unix() && username.empty() && !db && !tls;
  const std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (plain) return host_text + ":" + std::to_string(port);
  std::string out = is_unix() ? "unix://" : tls ? "rediss://" : "redis://";
  // The user name is shown (it helps find which ACL user a node runs as); the password never.
  if (!username.empty()) out += detail::percent_encode(username) + "@";
  if (is_unix()) {
    out += path;
    if (db) out += "?db=" + std::to_string(*db);
  } else {
    out += host_text + ":" + std::to_string(port);
    if (db) out += "/" + std::to_string(*db);
  }
  return out;
}

}  // namespace flyshard
