#pragma once
/// \file args.hpp
/// Arg and Args: the words of one command, strings viewed, numbers formatted.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace flyshard {

/// One word of a command: a view of a string, or an integer or floating-point number
/// formatted into the Arg itself (decimal; a double in the shortest form that reads back
/// exactly, so `0.1` is sent as "0.1"). `bool` and character types are refused at compile
/// time: send "1"/"0" or a one-character string instead.
class Arg {
 public:
  Arg(std::string_view s) noexcept : view_(s) {}    // NOLINT
  Arg(const char* s) noexcept : view_(s) {}         // NOLINT
  Arg(const std::string& s) noexcept : view_(s) {}  // NOLINT
  /// Anything else that converts to std::string_view (as Args took before numbers).
  template <typename S>
  requires(std::is_convertible_v<const S&, std::string_view> && !std::is_arithmetic_v<S>)
      Arg(const S& s)
  noexcept : view_(std::string_view(s)) {}  // NOLINT
  template <typename T>
  requires(std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
           !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
           !std::same_as<T, char32_t>) Arg(T v)
  noexcept {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_signed_v<T>) {
      format_signed(static_cast<long long>(v));
    } else {
      format_unsigned(static_cast<unsigned long long>(v));
    }
  }
  template <std::floating_point T>
  Arg(T v) noexcept {  // NOLINT(google-explicit-constructor)
    format_double(static_cast<double>(v));
  }
  Arg(bool) = delete;
  Arg(char) = delete;
  // A copy of a number points into its own buffer.
  Arg(const Arg& o) noexcept : view_(o.view_), inline_(o.inline_) {
    if (inline_) {
      std::memcpy(buf_, o.buf_, sizeof buf_);
      view_ = std::string_view(buf_, o.view_.size());
    }
  }
  Arg& operator=(const Arg& o) noexcept {
    if (this != &o) {
      view_ = o.view_;
      inline_ = o.inline_;
      if (inline_) {
        std::memcpy(buf_, o.buf_, sizeof buf_);
        view_ = std::string_view(buf_, o.view_.size());
      }
    }
    return *this;
  }

  /// The word's text; for a number it points into this Arg (valid while it lives).
  std::string_view view() const noexcept { return view_; }
  /// True when the text lives in this Arg (a formatted number).
  bool owns_text() const noexcept { return inline_; }

 private:
  void format_signed(long long v) noexcept;
  void format_unsigned(unsigned long long v) noexcept;
  void format_double(double v) noexcept;

  std::string_view view_;  // first, so the string path reads one pair of words
  bool inline_ = false;
  char buf_[24];  // "-2.2250738585072014e-308", the longest shortest double, is 24
};

/// The words of one command, e.g. {"HINCRBY", "cart:{u7}", "42", 1}. Strings are viewed,
/// not copied: they must outlive the call that takes the Args (the library copies what it
/// keeps). Numbers are formatted once and owned by the Args, so an Args built from numbers
/// may be kept and passed on (copies and moves stay valid). Up to 8 words and 40 bytes of
/// formatted numbers are held inline, so a short command costs no heap allocation.
class Args {
 public:
  Args(std::initializer_list<Arg> words) {
    std::string_view* out = reserve(words.size());
    bool numbers = false;
    for (const Arg& a : words) {
      new (out++) std::string_view(a.view());
      numbers |= a.owns_text();
    }
    if (numbers) own_numbers(words);
  }
  Args(std::span<const std::string_view> words) { assign(words.data(), words.size()); }
  Args(const std::vector<std::string_view>& words) { assign(words.data(), words.size()); }
  Args(const std::vector<std::string>& words) {
    std::string_view* out = reserve(words.size());
    for (const std::string& w : words) new (out++) std::string_view(w);
  }
  Args(const Args& other) { copy_from(other); }
  Args(Args&& other) noexcept;
  Args& operator=(const Args& other);
  Args& operator=(Args&& other) noexcept;
  ~Args() = default;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view operator[](std::size_t i) const noexcept { return data_[i]; }
  const std::string_view* begin() const noexcept { return data_; }
  const std::string_view* end() const noexcept { return data_ + size_; }
  std::span<const std::string_view> span() const noexcept { return {data_, size_}; }

 private:
  static constexpr std::size_t inline_words = 8;
  static constexpr std::size_t inline_number_bytes = 40;

  // Room for n words: the inline storage, or a heap array past inline_words. The inline
  // storage is raw bytes, so that building an Args does not first clear 8 words.
  std::string_view* reserve(std::size_t n) {
    size_ = n;
    if (n <= inline_words) return data_ = reinterpret_cast<std::string_view*>(inline_);
    heap_ = std::make_unique<std::string_view[]>(n);
    return data_ = heap_.get();
  }
  void assign(const std::string_view* words, std::size_t n) {
    std::string_view* out = reserve(n);
    for (std::size_t i = 0; i < n; ++i) new (out + i) std::string_view(words[i]);
  }
  // Copies the formatted numbers' text (which lives in the Arg temporaries) into the Args.
  void own_numbers(std::initializer_list<Arg> words);
  // Takes other's words and numbers, by copy (or by stealing heap blocks when `steal`).
  void take(Args& other, bool steal);
  char* number_storage(std::size_t bytes);

  std::string_view* data_ = nullptr;
  std::size_t size_ = 0;
  alignas(std::string_view) unsigned char inline_[inline_words * sizeof(std::string_view)];
  std::unique_ptr<std::string_view[]> heap_;  // null while the words fit inline_
  // The formatted numbers' text; numbers_ points into inline_numbers_ or heap_numbers_.
  char* numbers_ = nullptr;
  std::size_t numbers_size_ = 0;
  std::unique_ptr<char[]> heap_numbers_;
  char inline_numbers_[inline_number_bytes];

  void copy_from(const Args& other) { take(const_cast<Args&>(other), false); }
};

}  // namespace flyshard
