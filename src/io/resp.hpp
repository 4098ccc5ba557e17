#pragma once
// RESP2 encoding and decoding. Encoding is written by hand because it is a few lines and lets
// the engine append straight into a connection's write buffer (redisFormatCommandArgv would
// malloc a fresh buffer per command); decoding uses hiredis' redisReader with object
// functions that build flyshard::Reply trees directly, in place (no heap object per reply).
// A complete simple reply at the head of the stream (GET's bulk string, nil, an integer, a
// status or error line) is read without hiredis (simple_reply.hpp): the common case costs a
// fraction of a pass through the reader.
//
// Bounds: nothing a server sends may make the reader allocate without bound or throw through
// hiredis. Array lengths, bulk lengths, line lengths and nesting are checked against
// ReplyLimits as soon as their header is read (before the body arrives), headers are read
// strictly (hiredis 0.14 cuts array lengths to int and reads garbage as nil), and an array
// reserves room for a few of its elements at a time, never for what its header claims.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "flyshard/options.hpp"
#include "flyshard/reply.hpp"

struct redisReader;

namespace flyshard::detail {

/// Appends one command in RESP2 (an array of bulk strings) to `out`.
void append_command(std::string& out, std::span<const std::string_view> words);
void append_command(std::string& out, std::span<const std::string> words);
/// One command's bytes: written into `small` when they fit, else into `big` (cleared first).
std::string_view encode_command(std::span<const std::string_view> words, std::span<char> small,
                                std::string& big);

/// Longest simple string, error or integer line (fixed: servers send short ones, and hiredis
/// rescans a line from its start on every read until the line ends).
inline constexpr std::size_t kMaxReplyLine = std::size_t{1} << 20;

/// Incremental reply parser over a byte stream.
class ReplyReader {
 public:
  explicit ReplyReader(const ReplyLimits& limits = {});
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  /// Hands received bytes to the parser (they are copied).
  void feed(const char* data, std::size_t size);
  /// The next complete reply, if any. Throws flyshard::Error(protocol_error) on bad input or
  /// on a reply past a limit (also when the reply is still incomplete but its header already
  /// claims too much); the stream is unusable afterwards. Never throws anything else.
  std::optional<Reply> next();
  /// Drops buffered bytes and any error (after a reconnect).
  void reset();

  /// What the object functions hiredis calls need: the limits, the reader (to read headers
  /// again) and why they refused something (hiredis itself only reports "out of memory").
  /// `root` is where the reply being built lives (no heap object per reply).
  struct Bounds {
    ReplyLimits limits;
    redisReader* reader = nullptr;
    std::string error;
    Reply root;
  };

 private:
  void check_pending();
  [[noreturn]] void fail(std::string why);
  /// Hands the bytes the fast path has not read to hiredis, which reads on from there.
  void hand_to_hiredis();

  Bounds bounds_;
  redisReader* reader_;
  // Fed bytes the fast path reads from (`taken_` of them read). Empty while hiredis holds a
  // reply in the making or bytes it has not read: the stream's order is kept by feeding
  // hiredis directly until it has read all it holds.
  std::string fresh_;
  std::size_t taken_ = 0;
  bool hiredis_busy_ = false;
};

}  // namespace flyshard::detail
