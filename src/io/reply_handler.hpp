#pragma once
// ReplyHandler: what a request calls with its result, once. A move-only callable with room
// for 48 bytes inline, so that the handlers the library builds per request (the user's
// std::function, or a lambda holding one, as AsyncClient::get does) cost no heap allocation;
// std::function keeps only 16 bytes inline and would allocate for those. Larger callables go
// to the heap.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard::detail {

class ReplyHandler {
 public:
  /// Callables up to this size (and max_align_t's alignment) are held inline.
  static constexpr std::size_t kInlineBytes = 48;

  ReplyHandler() noexcept = default;
  ReplyHandler(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)

  /// Takes any callable of Result<Reply>. One that tests false (an empty std::function, a
  /// null function pointer) gives an empty handler, as assigning it to a std::function would.
  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, ReplyHandler> &&
           std::is_invocable_v<std::decay_t<F>&, Result<Reply>>)
      ReplyHandler(F&& f) {  // NOLINT(google-explicit-constructor)
    using Fn = std::decay_t<F>;
    if constexpr (std::is_constructible_v<bool, const Fn&>) {
      if (!static_cast<bool>(f)) return;
    }
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      Fn* p = new Fn(std::forward<F>(f));
      ::new (static_cast<void*>(storage_)) Fn*(p);
      ops_ = &kHeapOps<Fn>;
    }
  }

  ReplyHandler(ReplyHandler&& other) noexcept { take(other); }
  ReplyHandler& operator=(ReplyHandler&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  ReplyHandler& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  ReplyHandler(const ReplyHandler&) = delete;
  ReplyHandler& operator=(const ReplyHandler&) = delete;
  ~ReplyHandler() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  /// Calls the callable (which must be there). It stays held: the caller resets it.
  /// By reference: a Result<Reply> is moved member by member, and each hop of a reply on its
  /// way to the caller paid one such move.
  void operator()(Result<Reply>&& result) { ops_->call(storage_, std::move(result)); }
  /// True when the callable is held inline (for tests).
  bool holds_inline() const noexcept { return ops_ != nullptr && ops_->inline_storage; }

  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(storage_);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    void (*call)(void* storage, Result<Reply>&& result);
    // Move-constructs into `to` from `from` and destroys what `from` held.
    void (*relocate)(void* to, void* from) noexcept;
    void (*destroy)(void* storage) noexcept;
    bool inline_storage;
  };

  template <typename Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineBytes && alignof(Fn) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Fn>;
  }

  template <typename Fn>
  static constexpr Ops kInlineOps{
      [](void* s, Result<Reply>&& r) { (*std::launder(static_cast<Fn*>(s)))(std::move(r)); },
      [](void* to, void* from) noexcept {
        Fn* src = std::launder(static_cast<Fn*>(from));
        ::new (to) Fn(std::move(*src));
        src->~Fn();
      },
      [](void* s) noexcept { std::launder(static_cast<Fn*>(s))->~Fn(); }, true};

  template <typename Fn>
  static constexpr Ops kHeapOps{
      [](void* s, Result<Reply>&& r) { (**std::launder(static_cast<Fn**>(s)))(std::move(r)); },
      [](void* to, void* from) noexcept { ::new (to) Fn*(*std::launder(static_cast<Fn**>(from))); },
      [](void* s) noexcept { delete *std::launder(static_cast<Fn**>(s)); }, false};

  void take(ReplyHandler& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->relocate(storage_, other.storage_);
    ops_ = other.ops_;
    other.ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace flyshard::detail
