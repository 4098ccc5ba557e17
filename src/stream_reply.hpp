#pragma once
// Parsers of the stream commands' replies (RESP2), shared by both faces' stream helpers and the
// unit tests. They throw Error(protocol_error) for a shape no server sends.

#include <optional>
#include <string>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/streams.hpp"

namespace flyshard::detail {

/// One entry, [id, [field, value, ...]]. An entry whose fields are nil (Redis: a pending
/// entry deleted from the stream) gives its ID with no fields; a nil entry gives nullopt.
std::optional<StreamEntry> parse_stream_entry(const Reply& r);

/// An array of entries (XRANGE, and the entries of XREADGROUP/XAUTOCLAIM); nil entries are
/// skipped, entries with nil fields kept with no fields.
std::vector<StreamEntry> parse_stream_entries(const Reply& r);

/// XREADGROUP/XREAD for one stream: nil (nothing came) gives no entries; otherwise
/// [[key, entries]] (RESP2) and the first stream's entries.
std::vector<StreamEntry> parse_read_reply(const Reply& r);

/// XADD: the new entry's ID (nil: the stream does not exist, errc::server_error).
std::string parse_xadd_id(const Reply& r);

/// XAUTOCLAIM: [next, entries, deleted] (Redis 7) or [next, entries] (Redis 6.2, Dragonfly).
AutoClaimed parse_autoclaim(const Reply& r);

}  // namespace flyshard::detail
