#include "io/resp.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <new>

#include "flyshard/error.hpp"

namespace flyshard::detail {
namespace {

void append_decimal(std::string& out, std::size_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

template <typename Words>
void append_words(std::string& out, const Words& words) {
  std::size_t bytes = 16;
  for (const auto& w : words) bytes += w.size() + 16;
  out.reserve(out.size() + bytes);
  out.push_back('*');
  append_decimal(out, words.size());
  out.append("\r\n");
  for (const auto& w : words) {
    out.push_back('$');
    append_decimal(out, w.size());
    out.append("\r\n");
    out.append(w.data(), w.size());
    out.append("\r\n");
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
