#pragma once
// RESP2 encoding and decoding. Encoding is written by hand because it is a few lines and lets
// the engine append straight into a connection's write buffer (redisFormatCommandArgv would
// malloc a fresh buffer per command); decoding uses hiredis' redisReader with object
// functions that build flyshard::Reply trees directly, so each reply is allocated once.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "flyshard/reply.hpp"

struct redisReader;

namespace flyshard::detail {

/// Appends one command in RESP2 (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> words);
void append_command(std::string& out, std::span<const std::string> words);

/// Incremental reply parser over a byte stream.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  /// Hands received bytes to the parser (they are copied).
  void feed(const char* data, std::size_t size);
  /// The next complete reply, if any. Throws flyshard::Error(protocol_error) on bad input;
  /// the stream is unusable afterwards.
  std::optional<Reply> next();
  /// Drops buffered bytes (after a reconnect).
  void reset();

 private:
  redisReader* reader_;
};

}  // namespace flyshard::detail
