#include "flyshard/args.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>

namespace flyshard {

void Arg::format_signed(long long v) noexcept {
  auto r = std::to_chars(buf_, buf_ + sizeof buf_, v);
  view_ = std::string_view(buf_, static_cast<std::size_t>(r.ptr - buf_));
  inline_ = true;
}

void Arg::format_unsigned(unsigned long long v) noexcept {
  auto r = std::to_chars(buf_, buf_ + sizeof buf_, v);
  view_ = std::string_view(buf_, static_cast<std::size_t>(r.ptr - buf_));
  inline_ = true;
}

void Arg::format_double(double v) noexcept {
  // Shortest round-trip form ("0.1", "1e+300"); infinities as Redis spells them (ZADD,
  // ZRANGEBYSCORE accept "inf"/"-inf"). NaN is sent as "nan" and the server refuses it.
  std::size_t size;
  if (std::isinf(v)) {
    const char* text = v > 0 ? "inf" : "-inf";
    size = std::strlen(text);
    std::memcpy(buf_, text, size);
  } else {
    auto r = std::to_chars(buf_, buf_ + sizeof buf_, v);
    size = r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - buf_) : 0;
  }
  view_ = std::string_view(buf_, size);
  inline_ = true;
}

char* Args::number_storage(std::size_t bytes) {
  numbers_size_ = bytes;
  if (bytes <= inline_number_bytes) {
    heap_numbers_.reset();
    return numbers_ = inline_numbers_;
  }
  heap_numbers_ = std::make_unique<char[]>(bytes);
  return numbers_ = heap_numbers_.get();
}

void Args::own_numbers(std::initializer_list<Arg> words) {
  std::size_t bytes = 0;
  for (const Arg& a : words) {
    if (a.owns_text()) bytes += a.view().size();
  }
  char* at = number_storage(bytes);
  std::size_t i = 0;
  for (const Arg& a : words) {
    if (a.owns_text()) {
      std::string_view v = a.view();
      std::memcpy(at, v.data(), v.size());
      data_[i] = std::string_view(at, v.size());
      at += v.size();
    }
    ++i;
  }
}

void Args::take(Args& other, bool steal) {
  if (steal && other.heap_) {
    heap_ = std::move(other.heap_);
    data_ = heap_.get();
    size_ = other.size_;
  } else {
    assign(other.data_, other.size_);
  }
  if (other.numbers_ == nullptr) {
    numbers_ = nullptr;
    numbers_size_ = 0;
    heap_numbers_.reset();
    return;
  }
  if (steal && other.heap_numbers_) {
    // The block keeps its address: the views into it stay valid.
    heap_numbers_ = std::move(other.heap_numbers_);
    numbers_ = heap_numbers_.get();
    numbers_size_ = other.numbers_size_;
    return;
  }
  const char* old_begin = other.numbers_;
  const char* old_end = old_begin + other.numbers_size_;
  char* fresh = number_storage(other.numbers_size_);
  std::memcpy(fresh, old_begin, numbers_size_);
  // Views into the other's numbers move to ours; views of the caller's strings stay.
  std::less<const char*> before;  // a total order even for pointers into unrelated arrays
  for (std::size_t i = 0; i < size_; ++i) {
    const char* p = data_[i].data();
    if (!before(p, old_begin) && before(p, old_end)) {
      data_[i] = std::string_view(fresh + (p - old_begin), data_[i].size());
    }
  }
}

Args::Args(Args&& other) noexcept {
  take(other, true);
  other.size_ = 0;  // its heap blocks may be ours now
}

Args& Args::operator=(const Args& other) {
  if (this != &other) copy_from(other);
  return *this;
}

Args& Args::operator=(Args&& other) noexcept {
  if (this != &other) {
    take(other, true);
    other.size_ = 0;
  }
  return *this;
}

}  // namespace flyshard
