#pragma once
/// \file scan.hpp
/// Cursor iteration as ranges: SCAN over every shard, HSCAN/SSCAN/ZSCAN of one key.

#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flyshard/result.hpp"

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

/// The async face's cursor (AsyncClient::scan, hscan, sscan, zscan): next(cb) fetches the
/// next batch and hands it to `cb`, on the loop thread, never inside next(): a non-empty
/// batch, or nullopt once every cursor is done (batches the server returns empty are skipped,
/// one more call each). Same guarantees and read policy as the blocking ScanRange; each
/// next() makes one or more calls to the server.
///
/// One next() at a time: a next() made before the previous one's callback ran completes
/// with errc::config and changes nothing. After an error (a shard down, a timeout,
/// WRONGTYPE) next() tries the same step again. The scan holds a share of its client's
/// engine, as a copy of AsyncClient does (it keeps the engine running), so it may outlive
/// the AsyncClient it came from. Movable, not copyable; destroying it while a next() is
/// pending is safe (its callback still runs).
template <typename T>
class AsyncScan {
 public:
  using Batch = std::optional<std::vector<T>>;
  using BatchCallback = std::function<void(Result<Batch>)>;
  using Next = std::function<void(BatchCallback)>;

  explicit AsyncScan(Next next) : next_(std::move(next)) {}
  AsyncScan(AsyncScan&&) noexcept = default;
  AsyncScan& operator=(AsyncScan&&) noexcept = default;
  AsyncScan(const AsyncScan&) = delete;
  AsyncScan& operator=(const AsyncScan&) = delete;

  /// Fetches the next batch (any thread); `cb` runs once, on the loop thread.
  void next(BatchCallback cb) { next_(std::move(cb)); }

 private:
  Next next_;
};

/// Keys of SCAN and members of SSCAN.
using KeyRange = ScanRange<std::string>;
/// HSCAN: (field, value).
using FieldRange = ScanRange<std::pair<std::string, std::string>>;
/// ZSCAN: (member, score).
using ScoredRange = ScanRange<std::pair<std::string, double>>;
using AsyncKeyScan = AsyncScan<std::string>;
using AsyncFieldScan = AsyncScan<std::pair<std::string, std::string>>;
using AsyncScoredScan = AsyncScan<std::pair<std::string, double>>;

}  // namespace flyshard
