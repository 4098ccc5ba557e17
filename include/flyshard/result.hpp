#pragma once
/// \file result.hpp
/// Result<T>: a value or a flyshard error, handed to async callbacks.

#include <optional>
#include <string>
#include <utility>

#include "flyshard/error.hpp"

namespace flyshard {

/// Either a value of type T or an error (errc + message).
template <typename T>
class Result {
 public:
  Result(const T& value) : value_(value) {}        // NOLINT(google-explicit-constructor)
  Result(T&& value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(errc e, std::string message) : error_(e), message_(std::move(message)) {}

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  /// The error code; only meaningful when !ok().
  errc error() const noexcept { return error_; }
  /// The error message; empty when ok().
  const std::string& message() const noexcept { return message_; }

  /// The value; throws flyshard::Error when this holds an error.
  T& value() & {
    check();
    return *value_;
  }
  const T& value() const& {
    check();
    return *value_;
  }
  T&& value() && {
    check();
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  /// The value, or `fallback` when this holds an error (the error is dropped: check ok()
  /// first when it matters).
  template <typename U>
  T value_or(U&& fallback) const& {
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  T value_or(U&& fallback) && {
    return value_ ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!value_) throw Error(error_, message_);
  }

  std::optional<T> value_;
  errc error_ = errc::protocol_error;
  std::string message_;
};

}  // namespace flyshard
