#include "io/resp.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstring>
#include <new>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

std::size_t decimal_length(std::size_t v) {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

char* put_decimal(char* p, std::size_t v, std::size_t len) {
  for (std::size_t i = len; i > 0; --i) {
    p[i - 1] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + len;
}

// One pass: size the buffer once, then write headers and words straight into it.
template <typename Words>
void append_words(std::string& out, const Words& words) {
  const std::size_t count_len = decimal_length(words.size());
  std::size_t bytes = 1 + count_len + 2;
  for (const auto& w : words) bytes += 1 + decimal_length(w.size()) + 2 + w.size() + 2;
  const std::size_t at = out.size();
  out.resize(at + bytes);
  char* p = out.data() + at;
  *p++ = '*';
  p = put_decimal(p, words.size(), count_len);
  *p++ = '\r';
  *p++ = '\n';
  for (const auto& w : words) {
    *p++ = '$';
    p = put_decimal(p, w.size(), decimal_length(w.size()));
    *p++ = '\r';
    *p++ = '\n';
    if (!w.empty()) std::memcpy(p, w.data(), w.size());
    p += w.size();
    *p++ = '\r';
    *p++ = '\n';
  }
}

// hiredis calls these while parsing. A child is stored by value inside its parent's element
// vector (sized by createArray), so only the root is heap-allocated and freeObject only ever
// sees roots: hiredis frees nothing but r->reply.
Reply* slot_for(const redisReadTask* task, Reply value) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    Reply& slot = parent->elements()[static_cast<std::size_t>(task->idx)];
    slot = std::move(value);
    return &slot;
  }
  return new (std::nothrow) Reply(std::move(value));
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  std::string s(str, len);
  switch (task->type) {
    case REDIS_REPLY_ERROR:
      return slot_for(task, Reply::error(std::move(s)));
    case REDIS_REPLY_STATUS:
      return slot_for(task, Reply::status(std::move(s)));
    default:
      return slot_for(task, Reply::string(std::move(s)));
  }
}

void* create_array(const redisReadTask* task, int elements) {
  std::vector<Reply> children(static_cast<std::size_t>(elements < 0 ? 0 : elements));
  return slot_for(task, Reply::array(std::move(children)));
}

void* create_integer(const redisReadTask* task, long long value) {
  return slot_for(task, Reply::integer(value));
}

void* create_nil(const redisReadTask* task) { return slot_for(task, Reply::nil()); }

void free_object(void* obj) { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_object};

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> words) {
  append_words(out, words);
}
void append_command(std::string& out, std::span<const std::string> words) {
  append_words(out, words);
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
  // Keep hiredis from holding on to a large buffer after a big reply.
  reader_->maxbuf = 64 * 1024;
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

void ReplyReader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    throw Error(errc::protocol_error, "reply parser: out of memory");
  }
}

std::optional<Reply> ReplyReader::next() {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    throw Error(errc::protocol_error, std::string("bad reply from server: ") + reader_->errstr);
  }
  if (obj == nullptr) return std::nullopt;
  auto* root = static_cast<Reply*>(obj);
  Reply out = std::move(*root);
  delete root;
  return out;
}

void ReplyReader::reset() {
  redisReader* fresh = redisReaderCreateWithFunctions(&kReplyFunctions);
  if (fresh == nullptr) throw std::bad_alloc();
  fresh->maxbuf = 64 * 1024;
  redisReaderFree(reader_);
  reader_ = fresh;
}

}  // namespace flyshard::detail
