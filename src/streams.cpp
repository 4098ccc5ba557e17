// The stream helpers of Client: one key each, routed by it. XREADGROUP with BLOCK runs on
// the blocking path over a pooled connection of its own with a deadline lengthened by its
// block time (the command table marks it blocking; see ClientCore::execute's extra_wait).
#include <string>
#include <vector>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "flyshard/server_error.hpp"
#include "flyshard/streams.hpp"
#include "stream_reply.hpp"

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

}  // namespace detail

std::string Client::xadd(std::string_view key,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         std::string_view id, std::size_t max_len) {
  std::vector<std::string_view> w{"XADD", key};
  std::string len;
  if (max_len > 0) {
    len = std::to_string(max_len);
    w.insert(w.end(), {"MAXLEN", "~", len});
  }
  w.push_back(id);
  for (const auto& [f, v] : fields) {
    w.push_back(f);
    w.push_back(v);
  }
  Reply r = command(w);
  if (r.is_nil()) {
    // XADD ... NOMKSTREAM on a missing stream; not sent by this helper, but say so plainly.
    throw Error(errc::server_error, "XADD: the stream does not exist");
  }
  return detail::text_of(r, "XADD");
}

bool Client::xgroup_create(std::string_view key, std::string_view group,
                           std::string_view start_id, bool mkstream) {
  std::vector<std::string_view> w{"XGROUP", "CREATE", key, group, start_id};
  if (mkstream) w.push_back("MKSTREAM");
  try {
    command(w);
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
  std::vector<std::string_view> w{"XREADGROUP", "GROUP", group, consumer};
  std::string n, ms;
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  if (block.count() > 0) {
    // BLOCK 0 would wait forever: block 0 means "do not block" here, so no BLOCK is sent.
    ms = std::to_string(block.count());
    w.insert(w.end(), {"BLOCK", ms});
  }
  w.insert(w.end(), {"STREAMS", key, id});
  // command() gives a blocking command its own deadline: request_timeout + its block time.
  return detail::parse_read_reply(command(w));
}

long long Client::xack(std::string_view key, std::string_view group,
                       const std::vector<std::string>& ids) {
  if (ids.empty()) return 0;
  std::vector<std::string_view> w{"XACK", key, group};
  w.insert(w.end(), ids.begin(), ids.end());
  return command(w).as_integer();
}

AutoClaimed Client::xautoclaim(std::string_view key, std::string_view group,
                               std::string_view consumer, std::chrono::milliseconds min_idle,
                               std::string_view start, std::size_t count) {
  const std::string idle = std::to_string(min_idle.count() < 0 ? 0 : min_idle.count());
  std::vector<std::string_view> w{"XAUTOCLAIM", key, group, consumer, idle, start};
  std::string n;
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  return detail::parse_autoclaim(command(w));
}

long long Client::xlen(std::string_view key) { return command({"XLEN", key}).as_integer(); }

std::vector<StreamEntry> Client::xrange(std::string_view key, std::string_view start,
                                        std::string_view end, std::size_t count) {
  std::vector<std::string_view> w{"XRANGE", key, start, end};
  std::string n;
  if (count > 0) {
    n = std::to_string(count);
    w.insert(w.end(), {"COUNT", n});
  }
  return detail::parse_stream_entries(command(w));
}

}  // namespace flyshard
