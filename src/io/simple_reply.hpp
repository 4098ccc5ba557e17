#pragma once
// The replies nearly every request gets (a bulk string, nil, an integer, a status or an error
// line), read straight from the received bytes. hiredis' reader copies every byte it is fed
// into a buffer of its own and walks a task stack per reply; for these one-line-or-two
// replies that was most of the cost of reading one (issue 10). Anything else (arrays, a reply
// not complete yet, a header or line that is not exactly well-formed, a length past a limit)
// is left to the hiredis reader, whose checks stay the only ones that refuse input: this
// never accepts what that path would refuse, and gives the same reply for what it accepts.

#include <cstddef>
#include <optional>

#include "flyshard/reply.hpp"

namespace flyshard::detail {

/// Parses one complete, well-formed simple reply at the start of `data` into `out` and
/// returns the bytes it took; returns 0 (and leaves `out` alone) for anything else.
/// `max_bulk` is ReplyLimits::max_bulk_length: a longer bulk string is left to the reader
/// that refuses it.
std::size_t parse_simple_reply(const char* data, std::size_t size, std::size_t max_bulk,
                               std::optional<Reply>& out);

}  // namespace flyshard::detail
