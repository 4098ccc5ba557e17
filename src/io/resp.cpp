#include "io/resp.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>

#include "flyshard/error.hpp"
#include "io/simple_reply.hpp"
#include "reply_access.hpp"

namespace flyshard::detail {
namespace {

// Word counts and lengths are nearly always under 100: those take no loop.
std::size_t decimal_length(std::size_t v) {
  if (v < 10) return 1;
  if (v < 100) return 2;
  std::size_t n = 3;
  for (v /= 1000; v > 0; v /= 10) ++n;
  return n;
}

char* put_decimal(char* p, std::size_t v, std::size_t len) {
  for (std::size_t i = len; i > 0; --i) {
    p[i - 1] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + len;
}

// "<type><n>\r\n", the header of an array or a bulk string.
char* put_header(char* p, char type, std::size_t n) {
  *p++ = type;
  if (n < 10) {
    *p++ = static_cast<char>('0' + n);
  } else if (n < 100) {
    *p++ = static_cast<char>('0' + n / 10);
    *p++ = static_cast<char>('0' + n % 10);
  } else {
    p = put_decimal(p, n, decimal_length(n));
  }
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

// Copies `n` bytes to `p`. Words of up to 16 bytes (command names, most keys) go as two
// fixed-size copies each, which compile to moves, where memcpy of a variable size is a call.
char* put_bytes(char* p, const char* s, std::size_t n) {
  if (n > 16) {
    std::memcpy(p, s, n);
  } else if (n >= 8) {
    std::memcpy(p, s, 8);
    std::memcpy(p + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(p, s, 4);
    std::memcpy(p + n - 4, s + n - 4, 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = s[i];
  }
  return p + n;
}

// Writes one command at `p`, which has room for it; returns the end.
template <typename Words>
char* write_words(char* p, const Words& words) {
  p = put_header(p, '*', words.size());
  for (const auto& w : words) {
    p = put_header(p, '$', w.size());
    p = put_bytes(p, w.data(), w.size());
    *p++ = '\r';
    *p++ = '\n';
  }
  return p;
}

// Size the command once, then write it: a short one (nearly every command) on the stack and
// appended with one copy, since std::string::resize would first zero what is about to be
// written; a long one straight into `out`.
template <typename Words>
std::size_t command_length(const Words& words) {
  std::size_t bytes = 1 + decimal_length(words.size()) + 2;
  for (const auto& w : words) bytes += 1 + decimal_length(w.size()) + 2 + w.size() + 2;
  return bytes;
}

template <typename Words>
void append_words(std::string& out, const Words& words) {
  const std::size_t bytes = command_length(words);
  constexpr std::size_t kShort = 256;
  if (bytes <= kShort) {
    char buf[kShort];
    write_words(buf, words);
    out.append(buf, bytes);
    return;
  }
  const std::size_t at = out.size();
  out.resize(at + bytes);
  write_words(out.data() + at, words);
}

// hiredis calls these while parsing; they are C callbacks, so none of them may throw: a
// failure (a limit, or no memory) returns nullptr, which makes hiredis stop with an error,
// and the reason is kept in Bounds::error.
//
// A child is stored by value inside its parent's element vector, appended as it arrives, and
// the root lives in Bounds::root, so a reply costs no heap object of its own (only its text
// past std::string's inline 15 bytes, and its arrays). freeObject only ever sees the root
// (hiredis frees nothing but r->reply), which it resets. One root slot is enough: hiredis
// builds the next reply only inside the next redisReaderGetReply, after next() has moved the
// previous one out. A pointer to a child is only used by hiredis while that child is being
// filled; the parent grows only after the child is complete, so the pointer stays valid.

// Room reserved in a new array: enough for typical replies (MGET of a few hundred keys) in one
// allocation, small enough that a header claiming millions costs nothing up front.
constexpr std::size_t kReserveAhead = 256;

ReplyReader::Bounds& bounds_of(const redisReadTask* task) {
  return *static_cast<ReplyReader::Bounds*>(task->privdata);
}

void* refuse(const redisReadTask* task, const char* why, long long value = -1,
             std::size_t limit = 0) noexcept {
  try {
    auto& b = bounds_of(task);
    if (b.error.empty()) {
      b.error = why;
      if (value >= 0) {
        b.error += " (" + std::to_string(value) + ", limit " + std::to_string(limit) + ")";
      }
    }
  } catch (...) {
    // No memory for the message: hiredis still reports "out of memory".
  }
  return nullptr;
}

// The value of a length header: 1 to 18 decimal digits (always fit a long long); -1 for
// anything else. One pass, where checking the digits and then std::from_chars took two.
long long digits_value(std::string_view s) noexcept {
  if (s.empty() || s.size() > 18) return -1;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The header of an array hiredis has just read: the line ends at buf[pos - 2] and starts
// after its '*', or at buf[0] when hiredis consumed the '*' in an earlier call and then
// dropped the consumed bytes from its buffer (it does once 1 KiB is consumed). Empty when
// the line is not "-"? digits.
std::string_view array_header(const redisReader* r) {
  if (r->pos < 2) return {};
  const char* end = r->buf + r->pos - 2;
  const char* p = end;
  while (p > r->buf && end - p < 21 && p[-1] >= '0' && p[-1] <= '9') --p;
  if (p > r->buf && p[-1] == '-') --p;
  if (p != r->buf && p[-1] != '*') return {};
  return {p, static_cast<std::size_t>(end - p)};
}

// The header of a bulk string hiredis is about to deliver: it starts at buf[pos] and ends at
// the next '\r' (pos moves past the whole item only after the object is made).
std::string_view bulk_header(const redisReader* r) {
  const char* p = r->buf + r->pos;
  const std::size_t avail = r->len - r->pos;
  const void* cr = std::memchr(p, '\r', std::min<std::size_t>(avail, 22));
  if (cr == nullptr) return {};
  return {p, static_cast<std::size_t>(static_cast<const char*>(cr) - p)};
}

Reply* slot_for(const redisReadTask* task, Reply&& value) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    auto& elements = parent->elements();
    // hiredis fills children in order; anything else would be a bug in this reader.
    if (static_cast<std::size_t>(task->idx) != elements.size()) return nullptr;
    elements.push_back(std::move(value));
    return &elements.back();
  }
  Reply& root = bounds_of(task).root;
  root = std::move(value);
  return &root;
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
  try {
    const ReplyLimits& limits = bounds_of(task).limits;
    if (task->type == REDIS_REPLY_STRING) {
      const std::string_view h = bulk_header(bounds_of(task).reader);
      const long long claimed = digits_value(h);
      if (claimed < 0 || static_cast<std::size_t>(claimed) != len) {
        return refuse(task, "malformed bulk string header");
      }
      if (len > limits.max_bulk_length) {
        return refuse(task, "bulk string longer than max_bulk_length", static_cast<long long>(len),
                      limits.max_bulk_length);
      }
    } else if (len > kMaxReplyLine) {
      return refuse(task, "status or error line too long", static_cast<long long>(len),
                    kMaxReplyLine);
    }
    const Reply::Type type = task->type == REDIS_REPLY_ERROR    ? Reply::Type::error
                             : task->type == REDIS_REPLY_STATUS ? Reply::Type::status
                                                                : Reply::Type::string;
    if (task->parent == nullptr) {
      // A reply that is one string (GET): its text is built in the root slot itself.
      Reply& root = bounds_of(task).root;
      ReplyAccess::assign_text(root, type, str, len);
      return &root;
    }
    return slot_for(task, ReplyAccess::text_reply(type, str, len));
  } catch (...) {
    return refuse(task, "out of memory building a reply");
  }
}

void* create_array(const redisReadTask* task, int elements) noexcept {
  try {
    const ReplyReader::Bounds& b = bounds_of(task);
    const std::string_view h = array_header(b.reader);
    const long long claimed = digits_value(h);
    if (claimed != elements) {
      // A negative count other than -1, garbage, or a count hiredis cut to an int.
      if (claimed > 0) {
        return refuse(task, "array longer than max_array_length", claimed,
                      std::min<std::size_t>(b.limits.max_array_length, INT_MAX));
      }
      return refuse(task, "malformed array header");
    }
    if (static_cast<std::size_t>(elements) > b.limits.max_array_length) {
      return refuse(task, "array longer than max_array_length", elements,
                    b.limits.max_array_length);
    }
    unsigned depth = 1;
    for (const redisReadTask* t = task->parent; t != nullptr; t = t->parent) ++depth;
    if (depth > b.limits.max_depth) {
      return refuse(task, "arrays nested deeper than max_depth", depth, b.limits.max_depth);
    }
    std::vector<Reply> children;
    children.reserve(std::min<std::size_t>(static_cast<std::size_t>(elements), kReserveAhead));
    return slot_for(task, Reply::array(std::move(children)));
  } catch (...) {
    return refuse(task, "out of memory building a reply");
  }
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
  try {
    return slot_for(task, Reply::integer(value));
  } catch (...) {
    return refuse(task, "out of memory building a reply");
  }
}

void* create_nil(const redisReadTask* task) noexcept {
  try {
    // hiredis reads any header it cannot parse as nil; only "-1" is one.
    const redisReader* r = bounds_of(task).reader;
    const std::string_view h = task->type == REDIS_REPLY_ARRAY ? array_header(r) : bulk_header(r);
    if (h != "-1") return refuse(task, "malformed length header");
    return slot_for(task, Reply::nil());
  } catch (...) {
    return refuse(task, "out of memory building a reply");
  }
}

void free_object(void* obj) noexcept {
  *static_cast<Reply*>(obj) = Reply();
}

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_object};

// Neither reader holds on to a buffer larger than this after a big reply.
constexpr std::size_t kKeepBuffer = 64 * 1024;

redisReader* new_reader(ReplyReader::Bounds& bounds) {
  redisReader* r = redisReaderCreateWithFunctions(&kReplyFunctions);
  if (r == nullptr) throw std::bad_alloc();
  r->maxbuf = kKeepBuffer;
  r->privdata = &bounds;
  bounds.reader = r;
  bounds.error.clear();
  return r;
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> words) {
  append_words(out, words);
}
void append_command(std::string& out, std::span<const std::string> words) {
  append_words(out, words);
}
std::string_view encode_command(std::span<const std::string_view> words, std::span<char> small,
                                std::string& big) {
  const std::size_t bytes = command_length(words);
  if (bytes <= small.size()) {
    write_words(small.data(), words);
    return {small.data(), bytes};
  }
  big.clear();
  append_words(big, words);
  return big;
}

ReplyReader::ReplyReader(const ReplyLimits& limits) : bounds_{limits, nullptr, {}, {}} {
  // hiredis 0.14 reads at most 8 levels of arrays and 0 would refuse every array.
  bounds_.limits.max_depth = std::clamp(bounds_.limits.max_depth, 1u, 8u);
  reader_ = new_reader(bounds_);
}

ReplyReader::~ReplyReader() {
  redisReaderFree(reader_);
}

void ReplyReader::fail(std::string why) {
  // Poison the hiredis reader too, so that every later next() fails as well.
  if (reader_->err == 0) {
    reader_->err = REDIS_ERR_PROTOCOL;
    std::snprintf(reader_->errstr, sizeof reader_->errstr, "%s", why.c_str());
  }
  if (bounds_.error.empty()) bounds_.error = why;
  throw Error(errc::protocol_error, "bad reply from server: " + why);
}

void ReplyReader::feed(const char* data, std::size_t size) {
  if (!hiredis_busy_ && reader_->err == 0) {
    if (taken_ == fresh_.size()) {
      // All read: start over at the buffer's front. A big one left by a big reply goes, as
      // hiredis' maxbuf lets its own go.
      if (fresh_.capacity() > kKeepBuffer) std::string().swap(fresh_);
      fresh_.clear();
      taken_ = 0;
    }
    fresh_.append(data, size);
    return;
  }
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    // hiredis refuses bytes after an error (or without memory for them).
    fail(!bounds_.error.empty() ? bounds_.error
         : reader_->err != 0    ? std::string(reader_->errstr)
                                : std::string("reply parser: out of memory"));
  }
}

void ReplyReader::hand_to_hiredis() {
  hiredis_busy_ = true;
  const std::size_t left = fresh_.size() - taken_;
  if (left > 0 && redisReaderFeed(reader_, fresh_.data() + taken_, left) != REDIS_OK) {
    fail("reply parser: out of memory");
  }
  fresh_.clear();
  taken_ = 0;
}

std::optional<Reply> ReplyReader::next() {
  std::optional<Reply> out;
  if (!hiredis_busy_ && reader_->err == 0) {
    if (taken_ == fresh_.size()) return out;
    const std::size_t used = parse_simple_reply(fresh_.data() + taken_, fresh_.size() - taken_,
                                                bounds_.limits.max_bulk_length, out);
    if (used > 0) {
      taken_ += used;
      return out;
    }
    hand_to_hiredis();
  }
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    fail(bounds_.error.empty() ? std::string(reader_->errstr) : bounds_.error);
  }
  // Nothing half-read and nothing unread left in hiredis: the next bytes go to the fast path.
  hiredis_busy_ = reader_->ridx >= 0 || reader_->pos < reader_->len;
  if (obj == nullptr) {
    check_pending();
    return out;
  }
  out.emplace(std::move(*static_cast<Reply*>(obj)));
  return out;
}

// An incomplete item waits in the buffer: refuse it now if its header already says it is too
// big (a bulk header claiming 2 GB fails at once, not after 2 GB arrived), or if a line runs
// on without its CRLF.
void ReplyReader::check_pending() {
  const redisReader* r = reader_;
  if (r->ridx < 0 || r->buf == nullptr) return;
  const std::size_t pending = r->len - r->pos;
  switch (r->rstack[r->ridx].type) {
    case REDIS_REPLY_STRING: {  // '$' read; header and body pending
      const std::string_view h = bulk_header(r);
      if (h.data() == nullptr) {  // no CR yet
        if (pending >= 22) fail("malformed bulk string header");
        return;
      }
      if (h == "-1") return;
      const long long claimed = digits_value(h);
      if (claimed < 0) fail("malformed bulk string header");
      const auto len = static_cast<std::size_t>(claimed);
      if (len > bounds_.limits.max_bulk_length) {
        fail("bulk string longer than max_bulk_length (" + std::to_string(len) + ", limit " +
             std::to_string(bounds_.limits.max_bulk_length) + ")");
      }
      return;
    }
    case REDIS_REPLY_ARRAY:
      if (pending >= 22) fail("malformed array header");
      return;
    case REDIS_REPLY_INTEGER:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      if (pending > kMaxReplyLine + 2) {
        fail("status, error or integer line too long (limit " + std::to_string(kMaxReplyLine) +
             ")");
      }
      return;
    default:
      return;
  }
}

void ReplyReader::reset() {
  redisReader* fresh = new_reader(bounds_);
  redisReaderFree(reader_);
  reader_ = fresh;
  fresh_.clear();
  taken_ = 0;
  hiredis_busy_ = false;
}

}  // namespace flyshard::detail
