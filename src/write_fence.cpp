// Requests during online resharding: which go through the guard script (writes of moving keys
// while they are copied; every write under strict fencing), which are checked and recorded
// through MULTI/EXEC instead (scripts and transactions writing moving keys; every script and
// transaction that writes, under strict fencing), which wait
// for the cutover to end (moving keys), and which wait for a fresh read of the record (lease
// fencing, an expired lease). Without a topology record none of this runs: the routing
// table's `reshard` is null.
#include <algorithm>

#include "client_core.hpp"
#include "command_table.hpp"
#include "io/resp.hpp"
#include "reshard/guard_script.hpp"

namespace flyshard::detail {
ClientCore::Fence ClientCore::fence_for(const RoutingTable& table,
                                        std::span<const std::string_view> keys, bool read,
                                        bool script) const {
  Fence f;
  const ReshardView& v = *table.reshard;
  const bool strict_write = !read && v.fencing == Fencing::strict;
  std::size_t moving = 0;
  std::size_t target = LayoutPair::kNewShard;
  if (v.migrating()) {
    for (std::string_view k : keys) {
      if (!v.pair.moves(k)) continue;
      ++moving;
      const std::size_t t = v.pair.target_shard_for(k);
      if (target != LayoutPair::kNewShard && t != target) {
        throw Error(errc::cross_shard, "keys move to different shards in the migration to epoch " +
                                           std::to_string(v.epoch) + " (use a hash tag)");
      }
      target = t;
    }
    if (moving != 0 && moving != keys.size()) {
      throw Error(errc::cross_shard,
                  "some keys of the command move in the running migration and some do not (use "
                  "a hash tag: keys with one tag move together)");
    }
  }
  if (moving != 0 && v.frozen() && !read) {
    // Reads are not frozen: until the flip the source holds every moving key's last value
    // (writes to them are what the freeze stops), so a read there is current.
    f.kind = FenceKind::frozen;
  } else if (script && !read && (moving != 0 || strict_write)) {
    // The guard cannot wrap a script (Lua may not call EVAL): it is checked and recorded
    // through WATCH and MULTI/EXEC instead (guard_script.hpp).
    f.kind = FenceKind::record;
    if (moving != 0) f.moving.assign(keys.begin(), keys.end());
  } else if (script) {
    // A read-only script (EVAL_RO), or one on staying keys under lease fencing: as is.
  } else if (moving != 0 && !read) {
    f.kind = FenceKind::guard;
    f.moving.assign(keys.begin(), keys.end());
  } else if (strict_write) {
    f.kind = FenceKind::guard;
    f.others.assign(keys.begin(), keys.end());
  }
  return f;
}

namespace {

template <typename KeyAt>
std::vector<bool> alone_keys(const RoutingTable& t, std::size_t n, KeyAt key_at, bool write,
                             bool lease_valid) {
  if (!t.reshard || !write) [[likely]]
    return {};
  const ReshardView& v = *t.reshard;
  if (v.fencing == Fencing::strict || !lease_valid) return std::vector<bool>(n, true);
  if (!v.migrating()) return {};
  std::vector<bool> alone(n, false);
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    alone[i] = v.pair.moves(key_at(i));
    any = any || alone[i];
  }
  if (!any) alone.clear();
  return alone;
}

}  // namespace

std::vector<bool> ClientCore::one_by_one(const RoutingTable& table,
                                         const std::vector<std::string>& keys, bool write) const {
  return alone_keys(
      table, keys.size(), [&](std::size_t i) -> std::string_view { return keys[i]; }, write,
      !write || lease_valid(table));
}

std::vector<bool> ClientCore::one_by_one(
    const RoutingTable& table,
    const std::vector<std::pair<std::string, std::string>>& pairs) const {
  return alone_keys(
      table, pairs.size(), [&](std::size_t i) -> std::string_view { return pairs[i].first; }, true,
      lease_valid(table));
}

std::uint32_t ClientCore::BatchRecord::append_check(std::string& payload) const {
  append_record_check(payload, check);
  return kRecordCheckReplies;
}

std::uint32_t ClientCore::BatchRecord::append_sadd(std::string& payload) const {
  if (moving.empty()) return 0;
  std::vector<std::string_view> w{"SADD", dirty_key};
  w.insert(w.end(), moving.begin(), moving.end());
  append_command(payload, w);
  return 1;
}

std::optional<ClientCore::BatchRecord> ClientCore::batch_record(
    const std::vector<std::vector<std::string>>& commands) const {
  const auto table = router_->table();
  if (!table->reshard) [[likely]]
    return std::nullopt;
  const ReshardView& v = *table->reshard;
  const bool strict = v.fencing == Fencing::strict;
  if (!v.migrating() && !strict) return std::nullopt;
  // The views point into `commands`.
  std::vector<std::string_view> keys;
  bool writes = false, writes_moving = false;
  for (const auto& c : commands) {
    const std::vector<std::string_view> w(c.begin(), c.end());
    if (w.empty()) continue;
    const CommandInfo* info = lookup_command(w);
    const std::vector<std::string_view> ck = command_keys(w, info);
    if (!is_read_command(info)) {
      writes = true;
      writes_moving = writes_moving ||
                      (v.migrating() && std::any_of(ck.begin(), ck.end(), [&](std::string_view k) {
                         return v.pair.moves(k);
                       }));
    }
    keys.insert(keys.end(), ck.begin(), ck.end());
  }
  if (!writes_moving && !(strict && writes)) return std::nullopt;
  if (!lease_valid(*table)) {
    want_record();
    throw Error(errc::migrating, "topology record not read within the lease: retry");
  }
  // All the batch's keys, as one command's: all move to one shard, or none moves.
  const Fence f = fence_for(*table, keys, false);
  if (f.kind == FenceKind::frozen) {
    want_record();
    throw Error(errc::migrating, "a transaction on keys frozen for the cutover of topology epoch " +
                                     std::to_string(v.epoch) + " waits for the flip: retry");
  }
  BatchRecord r;
  r.check = record_check(v.epoch);
  r.dirty_key = v.dirty_key;
  if (writes_moving) {
    for (std::string_view k : f.moving) {
      if (std::find(r.moving.begin(), r.moving.end(), k) == r.moving.end())
        r.moving.emplace_back(k);
    }
  }
  return r;
}

std::vector<std::string_view> ClientCore::pipeline_words(const Route& route,
                                                         std::span<const std::string_view> words,
                                                         std::vector<std::string>& scratch,
                                                         std::vector<std::string_view>& record,
                                                         bool& recorded) const {
  record.clear();
  recorded = false;
  const RoutingTable& t = *route.table;
  if (!route.read && !lease_valid(t)) {
    want_record();
    throw Error(errc::migrating, "topology record not read within the lease: retry");
  }
  const Fence f = fence_for(t, route.keys, route.read, route.script);
  if (f.kind == FenceKind::frozen) {
    want_record();
    throw Error(errc::migrating, "key frozen for the cutover of topology epoch " +
                                     std::to_string(t.reshard->epoch) + ": retry");
  }
  if (f.kind == FenceKind::plain) return {words.begin(), words.end()};
  // The views of `f` point into `words` (the caller's), so they outlive this call.
  if (f.kind == FenceKind::record) {
    recorded = true;
    scratch.resize(1);
    if (!f.moving.empty()) record = record_words(t.reshard->dirty_key, f.moving, scratch[0]);
    return {words.begin(), words.end()};
  }
  const GuardCall call{t.reshard->epoch, t.reshard->fencing, t.reshard->dirty_key, f.moving,
                       f.others};
  // EVAL, not EVALSHA: a pipeline's replies come back together, too late to resend one that
  // met NOSCRIPT (a node the health round has not loaded the guard on yet) in its place.
  return guard_words(words, call, true, scratch);
}

namespace {

Result<Reply> migrating_error(std::string message) {
  return Result<Reply>(errc::migrating, std::move(message));
}

}  // namespace

Result<Reply> ClientCore::run_fenced(std::span<const std::string_view> words,
                                     std::optional<ReadFrom> read_from,
                                     std::optional<std::string_view> routing_key,
                                     std::optional<Route> routed) {
  // The call's deadline, read from the clock only when something waits: a plain request (a
  // read, a key that does not move) pays nothing for it.
  std::optional<Clock::time_point> deadline;
  const auto until = [&] {
    if (!deadline) deadline = Clock::now() + options_.request_timeout;
    return *deadline;
  };
  std::string payload;
  std::vector<std::string> scratch;
  for (;;) {
    Route route = routed        ? std::move(*routed)
                  : routing_key ? route_by(*routing_key, words, read_from, true)
                                : route_with_key(words, read_from, true);
    routed.reset();
    payload.clear();
    if (!route.table) {  // the record went away (cannot happen today: epochs only grow)
      append_command(payload, words);
      return execute(*route.node, payload, 1, route.read && !route.blocks, route.blocks,
                     route.known);
    }
    const RoutingTable& t = *route.table;
    const std::uint64_t epoch = t.reshard->epoch;
    if (!route.read && !lease_valid(t)) {
      // The record may have changed while this client was not looking (paused, cut off):
      // nothing is written before a fresh read says which layout holds.
      if (!wait_for_record(until(), [&] { return lease_valid(*router_->table()); })) {
        return migrating_error("topology record not read within the lease (" +
                               std::to_string(t.reshard->lease.count()) +
                               " ms): writes wait for a fresh read");
      }
      continue;
    }
    const Fence f = fence_for(t, route.keys, route.read, route.script);
    if (f.kind == FenceKind::frozen) {
      if (!wait_for_record(until(), [&] { return topology_epoch() > epoch; })) {
        return migrating_error("key frozen for the cutover of topology epoch " +
                               std::to_string(epoch) + ": retry");
      }
      continue;
    }
    if (f.kind == FenceKind::plain) {
      // On the stack when short, as with no record (the bytes live until execute returns).
      char small[256];
      std::string big;
      return execute(*route.node, encode_command(words, small, big), 1, route.read && !route.blocks,
                     route.blocks, route.known);
    }
    if (f.kind == FenceKind::record) {
      // A script: WATCH, the check, MULTI, the script, SADD to the dirty set, EXEC. A NOSCRIPT
      // comes back as the script's own error (EXEC's first element): Script::run then sends
      // EVAL, which comes through here again.
      std::string dirty;
      std::vector<std::string_view> sadd;
      if (!f.moving.empty()) sadd = record_words(t.reshard->dirty_key, f.moving, dirty);
      append_recorded(payload, words, sadd, record_check(epoch));
      Result<Reply> r = recorded_reply(execute(
          *route.node, payload, recorded_replies(!sadd.empty()), false, std::nullopt, route.known));
      if (r.ok() || r.error() != errc::migrating) return r;
      // The check refused this client's epoch, or the record changed before EXEC: nothing
      // ran. Re-read and route again.
      if (!retry_after_refused_check(until(), epoch))
        return migrating_error(std::string(kRecordChangedMessage));
      continue;
    }
    const GuardCall call{epoch, t.reshard->fencing, t.reshard->dirty_key, f.moving, f.others};
    append_command(payload, guard_words(words, call, false, scratch));
    Result<Reply> r = execute(*route.node, payload, 1, false, std::nullopt, route.known);
    if (!r.ok() && r.error() == errc::server_error && is_noscript(r.message())) {
      payload.clear();
      append_command(payload, guard_words(words, call, true, scratch));
      r = execute(*route.node, payload, 1, false, std::nullopt, route.known);
    }
    if (r.ok() || r.error() != errc::server_error) return r;
    const auto stored = stale_epoch(r.message());
    if (!stored) return r;
    // Strict fencing refused this client's epoch: nothing ran. Re-read and route again.
    if (!wait_for_record(until(), [&] {
          const std::uint64_t now = topology_epoch();
          return now >= *stored && now != epoch;
        })) {
      return migrating_error("the guard refused topology epoch " + std::to_string(epoch) +
                             " (stored: " + std::to_string(*stored) + ")");
    }
  }
}

}  // namespace flyshard::detail
