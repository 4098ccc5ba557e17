#pragma once
// RingQueue<T>: a first-in first-out queue in one ring of slots that grows by doubling and
// never shrinks. A connection's requests pass through it in order, so in steady state it
// allocates nothing; std::deque, which it replaces there, frees and allocates a 512-byte
// block every few requests as the queue moves along.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace flyshard::detail {

template <typename T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(RingQueue&& other) noexcept { swap(other); }
  RingQueue& operator=(RingQueue&& other) noexcept {
    if (this != &other) {
      clear();
      release();
      swap(other);
    }
    return *this;
  }
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;
  ~RingQueue() {
    clear();
    release();
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }

  /// The i-th element from the front (i < size()).
  T& operator[](std::size_t i) noexcept { return *slot(i); }
  const T& operator[](std::size_t i) const noexcept { return *slot(i); }
  T& front() noexcept { return *slot(0); }
  T& back() noexcept { return *slot(size_ - 1); }

  void push_back(T&& value) {
    if (size_ == capacity_) grow();
    ::new (static_cast<void*>(slot(size_))) T(std::move(value));
    ++size_;
  }
  void pop_front() noexcept {
    slot(0)->~T();
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
  }
  /// Destroys every element; the slots stay for reuse.
  void clear() noexcept {
    while (size_ > 0) pop_front();
    head_ = 0;
  }
  void swap(RingQueue& other) noexcept {
    std::swap(slots_, other.slots_);
    std::swap(capacity_, other.capacity_);
    std::swap(head_, other.head_);
    std::swap(size_, other.size_);
  }

 private:
  T* slot(std::size_t i) const noexcept {
    return std::launder(reinterpret_cast<T*>(slots_ + ((head_ + i) & (capacity_ - 1)) * sizeof(T)));
  }
  // Moves the elements, in order, to the front of a ring twice the size.
  void grow() {
    const std::size_t bigger = capacity_ == 0 ? 16 : capacity_ * 2;
    auto* fresh = static_cast<unsigned char*>(
        ::operator new(bigger * sizeof(T), std::align_val_t(alignof(T))));
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = slot(i);
      ::new (static_cast<void*>(fresh + i * sizeof(T))) T(std::move(*from));
      from->~T();
    }
    release();
    slots_ = fresh;
    capacity_ = bigger;
    head_ = 0;
  }
  void release() noexcept {
    if (slots_ != nullptr) ::operator delete(slots_, std::align_val_t(alignof(T)));
    slots_ = nullptr;
    capacity_ = 0;
    head_ = 0;
  }

  static_assert(std::is_nothrow_move_constructible_v<T>,
                "RingQueue moves elements when it grows and must not fail half-way");

  unsigned char* slots_ = nullptr;
  std::size_t capacity_ = 0;  // 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace flyshard::detail
