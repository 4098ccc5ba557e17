#pragma once
/// \file scan.hpp
/// Cursor iteration as ranges: SCAN over every shard, HSCAN/SSCAN/ZSCAN of one key.

#include <cstddef>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace flyshard {

/// Filters and batch size of SCAN, HSCAN, SSCAN and ZSCAN.
struct ScanOptions {
  /// MATCH pattern (glob-style, as the server takes it); empty: everything.
  std::string match = {};
  /// COUNT hint: roughly how many entries the server looks at per call; 0: the server's
  /// default (10). Larger means fewer round trips and longer single calls.
  std::size_t count = 0;
  /// TYPE filter of SCAN ("string", "list", "set", "zset", "hash", "stream"); empty: any.
  /// Ignored by HSCAN, SSCAN and ZSCAN.
  std::string type = {};
};

/// A single-pass (input) range over what a cursor command yields, fetched batch by batch as
/// the iteration advances: one call per batch, on the thread that advances it. Errors
/// (a shard down, a timeout, WRONGTYPE) are thrown as flyshard::Error from begin() or ++.
///
/// Like the server's SCAN, it guarantees that every element present for the whole
/// iteration is yielded at least once; an element may be yielded more than once (the server
/// returns it again when its table was resized between calls): deduplicate if that matters.
/// Elements added or removed during the iteration may or may not appear.
///
/// The range must not outlive the Client that made it. It is movable, not copyable.
template <typename T>
class ScanRange {
 public:
  /// Appends the next batch to `out` (possibly nothing); returns false once the cursor is
  /// finished (the batch appended in that call still counts).
  using Fetch = std::function<bool(std::vector<T>& out)>;

  explicit ScanRange(Fetch fetch) : fetch_(std::move(fetch)) {}
  ScanRange(ScanRange&&) noexcept = default;
  ScanRange& operator=(ScanRange&&) noexcept = default;
  ScanRange(const ScanRange&) = delete;
  ScanRange& operator=(const ScanRange&) = delete;

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using iterator_concept = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = const T&;
    using pointer = const T*;

    iterator() = default;
    reference operator*() const { return range_->batch_[range_->pos_]; }
    pointer operator->() const { return &range_->batch_[range_->pos_]; }
    iterator& operator++() {
      range_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.done();
    }

   private:
    friend class ScanRange;
    explicit iterator(ScanRange* r) : range_(r) {}
    bool done() const noexcept { return range_ == nullptr || range_->at_end(); }
    ScanRange* range_ = nullptr;
  };

  /// Starts the iteration (fetches until the first element or the end). Call once.
  iterator begin() {
    fill();
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

  /// Everything left, in one vector (for small sets; a big keyspace belongs in a loop).
  std::vector<T> to_vector() {
    std::vector<T> out;
    for (auto it = begin(); it != end(); ++it) out.push_back(*it);
    return out;
  }

 private:
  bool at_end() const noexcept { return pos_ >= batch_.size() && finished_; }
  void advance() {
    ++pos_;
    fill();
  }
  // Fetches batches until one holds something or the cursor is done.
  void fill() {
    while (pos_ >= batch_.size() && !finished_) {
      batch_.clear();
      pos_ = 0;
      finished_ = !fetch_(batch_);
    }
  }

  Fetch fetch_;
  std::vector<T> batch_;
  std::size_t pos_ = 0;
  bool finished_ = false;
};

/// Keys of SCAN and members of SSCAN.
using KeyRange = ScanRange<std::string>;
/// HSCAN: (field, value).
using FieldRange = ScanRange<std::pair<std::string, std::string>>;
/// ZSCAN: (member, score).
using ScoredRange = ScanRange<std::pair<std::string, double>>;

}  // namespace flyshard
