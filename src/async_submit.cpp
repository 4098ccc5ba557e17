// The async path: requests handed to the loop, and writes parked while their shard has no
// usable primary (wait_for_promotion), retried in order from the sweep.
#include "client_core.hpp"

#include "io/resp.hpp"
#include "reshard/guard_script.hpp"

namespace flyshard::detail {

Request ClientCore::make_request(Node& node, std::uint32_t replies, ReplyHandler&& cb,
                                 std::size_t affinity) {
  Request r;
  r.node = &node;
  r.affinity = affinity;
  r.replies = replies;
  r.start = Clock::now();
  r.deadline = r.start + options_.request_timeout;
  r.callback = std::move(cb);
  node.stats.on_start();
  if (node.pending.fetch_add(1, std::memory_order_relaxed) >= options_.max_pending_per_node) {
    r.fail_with = errc::overloaded;
    r.fail_message = std::make_unique<std::string>(node.name + ": more than " +
                                                   std::to_string(options_.max_pending_per_node) +
                                                   " requests pending");
  }
  return r;
}

void ClientCore::submit(Node& node, std::string payload, std::uint32_t replies, ReplyHandler cb,
                        std::size_t affinity) {
  Request r = make_request(node, replies, std::move(cb), affinity);
  r.payload = std::move(payload);
  engine_->submit(std::move(r));
}

void ClientCore::submit_all(Node& node, std::string payload, std::uint32_t replies,
                            std::chrono::milliseconds extra_wait, ReplyHandler cb) {
  Request r = make_request(node, replies, std::move(cb), kAnyConnection);
  r.payload = std::move(payload);
  r.deadline += extra_wait;
  r.all_replies = true;
  engine_->submit(std::move(r));
}

void ClientCore::submit_command(std::span<const std::string_view> words, ReplyHandler cb,
                                std::optional<ReadFrom> read_from,
                                std::optional<std::string_view> routing_key) {
  const Routing c = classify_or_fail(words, routing_key, cb);
  if (!c.table) return;
  if (c.blocks) {
    // On the shared multiplexed link it would stall every other caller's requests to the node.
    submit_error(errc::config,
                 std::string(words[0]) +
                     " blocks its connection: call it through the blocking Client, which gives "
                     "it a connection of its own",
                 std::move(cb));
    return;
  }
  if (c.table->reshard) [[unlikely]] {
    submit_fenced(c, words, std::move(cb), read_from);
    return;
  }
  // Stable layout: the engine encodes the words straight into the link's buffer.
  send_or_park(c, words, nullptr, 1, std::move(cb), read_from);
}

ClientCore::Routing ClientCore::classify_or_fail(std::span<const std::string_view> words,
                                                 std::optional<std::string_view> routing_key,
                                                 ReplyHandler& cb) {
  // Returned, not assigned to a local inside a try block: the Routing is built in the
  // caller's place, not moved there.
  try {
    return routing_key ? classify(words, Use::routed, *routing_key) : classify(words, Use::command);
  } catch (const Error& e) {
    submit_error(e.value(), e.what(), std::move(cb));
    return Routing{};
  }
}

void ClientCore::submit_fenced(const Routing& c, std::span<const std::string_view> words,
                               ReplyHandler&& cb, std::optional<ReadFrom> read_from) {
  // Online resharding. The async face does not wait: what a blocking call would wait for
  // (a fresh read of the record, the end of a cutover) fails at once with errc::migrating,
  // retriable, and the record is read again meanwhile. The payload is built here: a write of
  // a moving key becomes the guard's EVALSHA.
  const RoutingTable& table = *c.table;
  const bool write = !c.read;
  std::string payload;
  std::uint32_t replies = 1;
  Fence f;
  try {
    if (write && !lease_valid(table)) {
      throw Error(errc::migrating, "topology record not read within the lease: retry");
    }
    f = fence_for(table, c.keys, c.read, c.script);
    if (f.kind == FenceKind::frozen) {
      throw Error(errc::migrating, "key frozen for the cutover of topology epoch " +
                                       std::to_string(table.reshard->epoch) + ": retry");
    }
  } catch (const Error& e) {
    if (e.value() == errc::migrating) want_record();
    submit_error(e.value(), e.what(), std::move(cb));
    return;
  }
  if (f.kind == FenceKind::record) {
    // A script: WATCH, the check, MULTI, the script, SADD to the dirty set, EXEC. A NOSCRIPT
    // comes back as the script's own error: Script::run then sends EVAL, recorded the same.
    // A refused check is errc::migrating (the async face does not wait).
    std::string dirty;
    std::vector<std::string_view> sadd;
    if (!f.moving.empty()) sadd = record_words(table.reshard->dirty_key, f.moving, dirty);
    append_recorded(payload, words, sadd, record_check(table.reshard->epoch));
    replies = recorded_replies(!sadd.empty());
    cb = [this, cb = std::move(cb)](Result<Reply> r) mutable {
      r = recorded_reply(std::move(r));
      if (!r.ok() && r.error() == errc::migrating) want_record();
      cb(std::move(r));
    };
  } else if (f.kind == FenceKind::guard) {
    const GuardCall call{table.reshard->epoch, table.reshard->fencing, table.reshard->dirty_key,
                         f.moving, f.others};
    std::vector<std::string> scratch;
    append_command(payload, guard_words(words, call, false, scratch));
    auto eval = std::make_shared<std::string>();
    append_command(*eval, guard_words(words, call, true, scratch));
    const std::size_t shard_now = c.shard.value_or(0);
    const std::size_t affinity = c.affinity;
    cb = [this, eval, shard_now, affinity, cb = std::move(cb)](Result<Reply> r) mutable {
      if (!r.ok() && r.error() == errc::server_error && is_noscript(r.message())) {
        // The node lost the script (a restart) since the last round loaded it.
        if (Node* n = router_->pick(shard_now, true, ReadFrom::primary)) {
          submit(*n, std::move(*eval), 1, std::move(cb), affinity);
          return;
        }
      }
      if (!r.ok() && r.error() == errc::server_error && stale_epoch(r.message())) {
        want_record();
        r = Result<Reply>(errc::migrating, "the guard refused this client's topology epoch (" +
                                               r.message() + "): retry");
      }
      cb(std::move(r));
    };
  } else {
    append_command(payload, words);
  }
  send_or_park(c, words, &payload, replies, std::move(cb), read_from);
}

void ClientCore::send_or_park(const Routing& c, std::span<const std::string_view> words,
                              std::string* payload, std::uint32_t replies, ReplyHandler&& cb,
                              std::optional<ReadFrom> read_from) {
  const bool write = !c.read;
  const std::size_t target = c.shard.value_or(0);
  // A write to a shard with parked writes parks behind them, even when the primary is back:
  // sent at once it would overtake them (the sweep sends them a tick later), and the older
  // value would overwrite the newer one.
  const bool behind = write && parked_count_[target].load(std::memory_order_acquire) > 0;
  Node* node =
      behind ? nullptr
             : router_->pick(*c.table, target, write, read_from.value_or(router_->read_from()));
  if (node != nullptr) {
    if (payload != nullptr) {
      submit(*node, std::move(*payload), replies, std::move(cb), c.affinity);
    } else {
      // Encoded by the engine: into the link's write buffer when it can take it at once.
      engine_->submit_command(make_request(*node, 1, std::move(cb), c.affinity), words);
    }
    return;
  }
  if (!write || options_.wait_for_promotion.count() <= 0) {
    submit_error(errc::shard_unavailable, router_->unavailable_reason(target, write),
                 std::move(cb));
    return;
  }
  Parked p;
  if (payload != nullptr) {
    p.payload = std::move(*payload);
  } else {
    append_command(p.payload, words);
  }
  p.replies = replies;
  p.affinity = c.affinity;
  p.shard = target;
  p.table_epoch = c.table->epoch;
  p.cb = std::move(cb);
  p.until = Clock::now() + options_.wait_for_promotion;
  parked_count_[target].fetch_add(1, std::memory_order_acq_rel);
  auto held = std::make_shared<Parked>(std::move(p));
  engine_->post([this, held] { parked_.push_back(std::move(*held)); });
}

void ClientCore::retry_parked(Clock::time_point now) {
  if (parked_.empty()) return;
  std::vector<Parked> waiting;
  waiting.swap(parked_);
  // In arrival order, and once one write of a shard stays parked every later write of that
  // shard stays too: a shard's writes leave in the order they were made.
  std::vector<bool> held(router_->shard_count(), false);
  // Runs from the sweep timer (a C callback): each write on its own, so that one that throws
  // cannot strand the others, whose callbacks must still run exactly once.
  for (auto& p : waiting) {
    try {
      if (p.table_epoch < layout_since_ || p.shard >= held.size()) {
        // Routed by a layout that is gone: its shard may not own the key any more.
        submit_error(errc::migrating, "the topology changed while the write waited: retry",
                     std::move(p.cb));
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
        continue;
      }
      Node* node = held[p.shard] ? nullptr : router_->pick(p.shard, true, ReadFrom::primary);
      if (node != nullptr) {
        submit(*node, std::move(p.payload), p.replies, std::move(p.cb), p.affinity);
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      } else if (now >= p.until) {
        submit_error(errc::shard_unavailable, router_->unavailable_reason(p.shard, true),
                     std::move(p.cb));
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      } else {
        held[p.shard] = true;
        parked_.push_back(std::move(p));
      }
    } catch (const std::exception& e) {
      log_.log(LogLevel::error, std::string("retrying a parked write: ") + e.what());
      if (p.cb) {
        submit_error(errc::shard_unavailable, "internal error while waiting", std::move(p.cb));
        parked_count_[p.shard].fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }
}

void ClientCore::submit_error(errc code, std::string message, ReplyHandler cb) {
  Request r;
  r.fail_with = code;
  r.fail_message = std::make_unique<std::string>(std::move(message));
  r.callback = std::move(cb);
  r.start = Clock::now();
  engine_->submit(std::move(r));
}

}  // namespace flyshard::detail
