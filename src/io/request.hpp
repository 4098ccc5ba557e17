#pragma once
// One request on its way through the async engine.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"
#include "io/reply_handler.hpp"

namespace flyshard::detail {

struct Endpoint;
/// Request::affinity for requests that may use any of a node's connections.
inline constexpr std::size_t kAnyConnection = static_cast<std::size_t>(-1);
using Clock = std::chrono::steady_clock;

struct Request {
  Endpoint* node = nullptr;
  std::string payload;           // RESP bytes; may hold several commands (MULTI ... EXEC)
  std::uint32_t replies = 1;     // replies the payload produces; the last one is delivered
  std::size_t affinity = kAnyConnection;  // same value, same connection (keeps key order)
  Clock::time_point start{};     // when the caller made the request
  Clock::time_point deadline{};  // start + request_timeout
  ReplyHandler callback;         // empty for internal requests (handshake)
  errc fail_with{};              // set: complete with this error without sending
  // fail_with's message. Behind a pointer: every request is moved twice or more on its way,
  // and a string member costs a copy of its inline buffer per move; few requests fail early.
  std::unique_ptr<std::string> fail_message;
  bool done = false;             // completed (e.g. timed out) while its reply is still due
  // Set: the callback gets every reply of the batch as one array (error replies kept as
  // elements), not only the last one: a write batch ended by WAIT needs each write's reply as
  // well as WAIT's. The connection gathers them (Connection::batch_replies_): a flag here
  // rides in padding, where a pointer cost every request a move and a check per hand-over
  // (scripts/hotpath.sh, AsyncClient::get: 2,307 client instructions with the pointer, 2,277
  // with the flag).
  bool all_replies = false;
};

}  // namespace flyshard::detail
