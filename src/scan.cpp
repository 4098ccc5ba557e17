// Client::scan, hscan, sscan, zscan as ranges and AsyncClient's as AsyncScan, over one
// cursor logic per kind. SCAN goes to the node the read policy picks for each shard (and
// stays on it for that shard); the per-key forms go to the key's primary.
#include <atomic>
#include <memory>
#include <span>

#include "client_core.hpp"
#include "flyshard/client.hpp"
#include "flyshard/scan.hpp"
#include "io/resp.hpp"

namespace flyshard {
namespace {

// The words after the cursor: MATCH, COUNT and (SCAN only) TYPE.
void append_options(std::vector<std::string>& words, const ScanOptions& o, bool with_type) {
  if (!o.match.empty()) {
    words.emplace_back("MATCH");
    words.push_back(o.match);
  }
  if (o.count != 0) {
    words.emplace_back("COUNT");
    words.push_back(std::to_string(o.count));
  }
  if (with_type && !o.type.empty()) {
    words.emplace_back("TYPE");
    words.push_back(o.type);
  }
}

// Splits a cursor reply [cursor, [elements...]]; returns the new cursor.
std::string split_reply(const Reply& r, std::string_view command, const Reply*& elements) {
  r.throw_if_error();
  if (!r.is_array() || r.elements().size() != 2 || !r.elements()[1].is_array()) {
    throw Error(errc::protocol_error, std::string(command) +
                                          ": expected [cursor, [elements]], got " +
                                          r.to_string().substr(0, 200));
  }
  elements = &r.elements()[1];
  return r.elements()[0].as<std::string>();
}

// SCAN over every shard, whichever face drives it: the words (cursor at [1]), the shard and
// the node its cursor belongs to.
class ShardCursor {
 public:
  // The shards are those of the routing table when the scan begins: the layout in use, which
  // a migration's flip may have changed from the configured topology (3 shards grown to 4:
  // the configured count missed the fourth, and a shrink indexed past the table).
  ShardCursor(const detail::ClientCore& core, const ScanOptions& options)
      : table_(core.router().table()) {
    append_options(words_, options, true);
  }
  bool done() const noexcept { return shard_ >= table_->shards.size(); }
  // The node of this shard's next call: picked by the read policy at cursor 0 and kept until
  // the shard is done, since another node (another replica, or the primary) would not know
  // the cursor. Nodes live as long as the client core. Throws shard_unavailable.
  detail::Node& node(detail::ClientCore& core) {
    if (node_ == nullptr) {
      node_ =
          &core.node_for_shard(*table_, shard_, false, detail::Clock::time_point{}, std::nullopt);
    }
    return *node_;
  }
  std::string payload() const {
    std::string out;
    detail::append_command(out, std::span<const std::string>(words_));
    return out;
  }
  // Takes one call's outcome: appends its keys, moves to the next shard when this one is
  // done. Throws on an error (then nothing changes, except that a shard at cursor 0 may
  // pick its node again).
  void take(Result<Reply> r, std::vector<std::string>& out) {
    if (!r.ok()) {
      if (words_[1] == "0") node_ = nullptr;
      throw Error(r.error(), r.message());
    }
    const Reply* elements = nullptr;
    std::string cursor = split_reply(r.value(), "SCAN", elements);
    for (const Reply& k : elements->elements()) out.push_back(k.as<std::string>());
    words_[1] = std::move(cursor);
    if (words_[1] == "0") {  // this shard is done: the next one from cursor 0
      ++shard_;
      node_ = nullptr;
    }
  }
  Result<Reply> call(detail::ClientCore& core) {
    return core.execute(node(core), payload(), 1, true);
  }
  void call(detail::ClientCore& core, detail::ReplyHandler cb) {
    detail::Node& n = node(core);
    core.submit(n, payload(), 1, std::move(cb));
  }

 private:
  std::vector<std::string> words_{"SCAN", "0"};
  std::shared_ptr<const detail::RoutingTable> table_;
  std::size_t shard_ = 0;
  detail::Node* node_ = nullptr;
};

// HSCAN/SSCAN/ZSCAN of one key, on the key's primary: a cursor is only meaningful on the
// node that issued it, and a read policy could send the next call to another replica.
// `Add` parses one reply's elements into T.
template <typename T, typename Add>
class KeyCursor {
 public:
  KeyCursor(std::string_view command, std::string_view key, const ScanOptions& options, Add add)
      : words_{std::string(command), std::string(key), "0"}, add_(std::move(add)) {
    append_options(words_, options, false);
  }
  bool done() const noexcept { return started_ && words_[2] == "0"; }
  void take(Result<Reply> r, std::vector<T>& out) {
    if (!r.ok()) throw Error(r.error(), r.message());
    const Reply* elements = nullptr;
    std::string cursor = split_reply(r.value(), words_[0], elements);
    add_(*elements, out);
    words_[2] = std::move(cursor);
    started_ = true;
  }
  Result<Reply> call(Client& client) { return client.command(Args(words_), ReadFrom::primary); }
  void call(detail::ClientCore& core, detail::ReplyHandler cb) {
    core.submit_command(views(), std::move(cb), ReadFrom::primary);
  }

 private:
  std::vector<std::string_view> views() const {
    return std::vector<std::string_view>(words_.begin(), words_.end());
  }
  std::vector<std::string> words_;
  Add add_;
  bool started_ = false;
};

// The blocking face: one call per batch on the iterating thread. `on` is what the cursor's
// blocking call() takes (the client core for SCAN, the Client for the per-key forms).
template <typename T, typename Cursor, typename On>
ScanRange<T> blocking_scan(On on, Cursor cursor) {
  auto state = std::make_shared<Cursor>(std::move(cursor));
  return ScanRange<T>([on = std::move(on), state](std::vector<T>& out) {
    state->take(state->call(*on), out);
    return !state->done();
  });
}

// The async face: one next() at a time, each going on from the loop thread until a batch
// holds something or the cursor is done.
template <typename T, typename Cursor>
struct AsyncScanState : std::enable_shared_from_this<AsyncScanState<T, Cursor>> {
  using Cb = typename AsyncScan<T>::BatchCallback;
  using Batch = typename AsyncScan<T>::Batch;
  AsyncScanState(std::shared_ptr<detail::ClientCore> c, Cursor cur)
      : core(std::move(c)), cursor(std::move(cur)) {}
  std::shared_ptr<detail::ClientCore> core;
  Cursor cursor;
  std::atomic<bool> busy{false};

  void next(Cb cb) {
    if (busy.exchange(true)) {
      return fail(errc::config, "AsyncScan::next() called before the previous batch arrived",
                  std::move(cb), false);
    }
    step(std::move(cb), false);
  }
  // on_loop: inside a reply's callback, where `cb` may run at once (never inside next()).
  void step(Cb cb, bool on_loop) {
    if (cursor.done()) {
      busy = false;
      if (on_loop) return cb(Result<Batch>(std::nullopt));
      core->engine().post([cb = std::move(cb)] { cb(Result<Batch>(std::nullopt)); });
      return;
    }
    try {
      // `cb` copied, not moved: the catch below still needs it when no node can be picked.
      cursor.call(*core, [self = this->shared_from_this(), cb](Result<Reply> r) mutable {
        std::vector<T> out;
        try {
          self->cursor.take(std::move(r), out);
        } catch (const Error& e) {
          self->busy = false;
          return cb(Result<Batch>(e.value(), e.what()));
        }
        if (out.empty()) return self->step(std::move(cb), true);
        self->busy = false;
        cb(Result<Batch>(std::move(out)));
      });
    } catch (const Error& e) {  // no node to send to
      busy = false;
      fail(e.value(), e.what(), std::move(cb), on_loop);
    }
  }
  void fail(errc code, std::string message, Cb cb, bool on_loop) {
    if (on_loop) return cb(Result<Batch>(code, message));
    core->submit_error(code, std::move(message), [cb = std::move(cb)](Result<Reply> r) {
      cb(Result<Batch>(r.error(), r.message()));
    });
  }
};

template <typename T, typename Cursor>
AsyncScan<T> async_scan(std::shared_ptr<detail::ClientCore> core, Cursor cursor) {
  auto state = std::make_shared<AsyncScanState<T, Cursor>>(std::move(core), std::move(cursor));
  return AsyncScan<T>(
      [state](typename AsyncScan<T>::BatchCallback cb) { state->next(std::move(cb)); });
}

using Pair = std::pair<std::string, std::string>;
using Scored = std::pair<std::string, double>;

void add_pairs(const Reply& e, std::vector<Pair>& out) {
  auto pairs = e.as<std::vector<Pair>>();
  out.insert(out.end(), std::make_move_iterator(pairs.begin()),
             std::make_move_iterator(pairs.end()));
}
void add_members(const Reply& e, std::vector<std::string>& out) {
  for (const Reply& m : e.elements()) out.push_back(m.as<std::string>());
}
void add_scored(const Reply& e, std::vector<Scored>& out) {
  const auto& v = e.elements();
  if (v.size() % 2 != 0) {
    throw Error(errc::protocol_error, "ZSCAN: odd number of member-score elements");
  }
  for (std::size_t i = 0; i < v.size(); i += 2) {
    out.emplace_back(v[i].as<std::string>(), v[i + 1].as<double>());
  }
}

template <typename T>
using Adder = void (*)(const Reply&, std::vector<T>&);
template <typename T>
using KeyCursorOf = KeyCursor<T, Adder<T>>;

KeyCursorOf<Pair> hscan_cursor(std::string_view key, const ScanOptions& options) {
  return {"HSCAN", key, options, add_pairs};
}
KeyCursorOf<std::string> sscan_cursor(std::string_view key, const ScanOptions& options) {
  return {"SSCAN", key, options, add_members};
}
KeyCursorOf<Scored> zscan_cursor(std::string_view key, const ScanOptions& options) {
  return {"ZSCAN", key, options, add_scored};
}

}  // namespace

KeyRange Client::scan(const ScanOptions& options) {
  return blocking_scan<std::string>(core_, ShardCursor(*core_, options));
}
FieldRange Client::hscan(std::string_view key, const ScanOptions& options) {
  return blocking_scan<Pair>(this, hscan_cursor(key, options));
}
KeyRange Client::sscan(std::string_view key, const ScanOptions& options) {
  return blocking_scan<std::string>(this, sscan_cursor(key, options));
}
ScoredRange Client::zscan(std::string_view key, const ScanOptions& options) {
  return blocking_scan<Scored>(this, zscan_cursor(key, options));
}

AsyncKeyScan AsyncClient::scan(const ScanOptions& options) {
  return async_scan<std::string>(core_, ShardCursor(*core_, options));
}
AsyncFieldScan AsyncClient::hscan(std::string_view key, const ScanOptions& options) {
  return async_scan<Pair>(core_, hscan_cursor(key, options));
}
AsyncKeyScan AsyncClient::sscan(std::string_view key, const ScanOptions& options) {
  return async_scan<std::string>(core_, sscan_cursor(key, options));
}
AsyncScoredScan AsyncClient::zscan(std::string_view key, const ScanOptions& options) {
  return async_scan<Scored>(core_, zscan_cursor(key, options));
}

}  // namespace flyshard
