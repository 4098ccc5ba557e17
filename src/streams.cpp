// The stream helpers of Client, and the reply parsers both faces use (AsyncClient's helpers
// are in async_typed.cpp, with the same words from stream_words.hpp): one key each, routed by
// it. XREADGROUP with BLOCK runs on the blocking path over a pooled connection of its own with
// a deadline lengthened by its block time (the command table marks it blocking; see
// ClientCore::execute's extra_wait); the async face never sends BLOCK.
#include <string>
#include <vector>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "flyshard/server_error.hpp"
#include "flyshard/streams.hpp"
#include "stream_reply.hpp"
#include "stream_words.hpp"

namespace flyshard {

namespace detail {

namespace {
[[noreturn]] void bad_shape(const char* what, const Reply& r) {
  throw Error(errc::protocol_error, std::string(what) + ": unexpected reply " + r.to_string());
}

const std::string& text_of(const Reply& r, const char* what) {
  if (!r.is_string() && !r.is_status()) bad_shape(what, r);
  return r.str();
}
}  // namespace

std::optional<StreamEntry> parse_stream_entry(const Reply& r) {
  if (r.is_nil()) return std::nullopt;
  if (!r.is_array() || r.elements().size() != 2) bad_shape("stream entry", r);
  const auto& e = r.elements();
  StreamEntry out;
  out.id = text_of(e[0], "stream entry id");
  if (e[1].is_nil()) return out;  // deleted from the stream while still pending
  if (!e[1].is_array()) bad_shape("stream entry fields", e[1]);
  const auto& f = e[1].elements();
  out.fields.reserve(f.size() / 2);
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    out.fields.emplace_back(f[i].str(), f[i + 1].str());
  }
  return out;
}

std::vector<StreamEntry> parse_stream_entries(const Reply& r) {
  std::vector<StreamEntry> out;
  if (r.is_nil()) return out;
  if (!r.is_array()) bad_shape("stream entries", r);
  out.reserve(r.elements().size());
  for (const auto& e : r.elements()) {
    if (auto entry = parse_stream_entry(e)) out.push_back(std::move(*entry));
  }
  return out;
}

std::vector<StreamEntry> parse_read_reply(const Reply& r) {
  if (r.is_nil()) return {};  // BLOCK timed out, or nothing new
  if (!r.is_array()) bad_shape("XREADGROUP", r);
  if (r.elements().empty()) return {};
  const Reply& stream = r.elements().front();
  if (!stream.is_array() || stream.elements().size() != 2) bad_shape("XREADGROUP stream", stream);
  return parse_stream_entries(stream.elements()[1]);
}

AutoClaimed parse_autoclaim(const Reply& r) {
  if (!r.is_array() || r.elements().size() < 2 || r.elements().size() > 3) {
    bad_shape("XAUTOCLAIM", r);
  }
  const auto& e = r.elements();
  AutoClaimed out;
  out.next_id = text_of(e[0], "XAUTOCLAIM next id");
  out.entries = parse_stream_entries(e[1]);
  if (e.size() == 3 && e[2].is_array()) {
    for (const auto& id : e[2].elements()) out.deleted.push_back(id.str());
  }
  return out;
}

std::string parse_xadd_id(const Reply& r) {
  if (r.is_nil()) {
    // XADD ... NOMKSTREAM on a missing stream; not sent by the helpers, but say so plainly.
    throw Error(errc::server_error, "XADD: the stream does not exist");
  }
  return text_of(r, "XADD");
}

}  // namespace detail

std::string Client::xadd(std::string_view key,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         std::string_view id, std::size_t max_len) {
  std::string len;
  return detail::parse_xadd_id(command(detail::xadd_words(key, fields, id, max_len, len)));
}

bool Client::xgroup_create(std::string_view key, std::string_view group, std::string_view start_id,
                           bool mkstream) {
  try {
    command(detail::xgroup_create_words(key, group, start_id, mkstream));
  } catch (const Error& e) {
    if (server_error_kind(e) == ServerErrorKind::busygroup) {
      return false;
    }
    throw;
  }
  return true;
}

std::vector<StreamEntry> Client::xreadgroup(std::string_view group, std::string_view consumer,
                                            std::string_view key, std::string_view id,
                                            std::size_t count, std::chrono::milliseconds block) {
  std::string n, ms;
  // command() gives a blocking command its own deadline: request_timeout + its block time.
  return detail::parse_read_reply(
      command(detail::xreadgroup_words(group, consumer, key, id, count, block, n, ms)));
}

long long Client::xack(std::string_view key, std::string_view group,
                       const std::vector<std::string>& ids) {
  if (ids.empty()) return 0;
  return command(detail::xack_words(key, group, ids)).as_integer();
}

AutoClaimed Client::xautoclaim(std::string_view key, std::string_view group,
                               std::string_view consumer, std::chrono::milliseconds min_idle,
                               std::string_view start, std::size_t count) {
  std::string idle, n;
  return detail::parse_autoclaim(
      command(detail::xautoclaim_words(key, group, consumer, min_idle, start, count, idle, n)));
}

long long Client::xlen(std::string_view key) { return command({"XLEN", key}).as_integer(); }

std::vector<StreamEntry> Client::xrange(std::string_view key, std::string_view start,
                                        std::string_view end, std::size_t count) {
  std::string n;
  return detail::parse_stream_entries(command(detail::xrange_words(key, start, end, count, n)));
}

}  // namespace flyshard
