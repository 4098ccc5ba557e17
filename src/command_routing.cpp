// Which node a command goes to: the command table's verdict (keys, read or write, blocking,
// refusals) joined with the router's (key -> shard -> node).
#include "client_core.hpp"

#include <algorithm>

#include "command_table.hpp"

namespace flyshard::detail {

Node& ClientCore::node_for_shard(std::size_t shard, bool write, bool may_wait,
                                 std::optional<ReadFrom> read_from) const {
  return node_for_shard(shard, write, may_wait ? kWaitFromNow : Clock::time_point{}, read_from);
}

Clock::time_point ClientCore::promotion_deadline() const {
  return Clock::now() + options_.wait_for_promotion;
}

Node& ClientCore::node_for_shard(std::size_t shard, bool write, Clock::time_point wait_until,
                                 std::optional<ReadFrom> read_from) const {
  return node_for_shard(*router_->table(), shard, write, wait_until, read_from);
}

Node& ClientCore::node_for_shard(const RoutingTable& table, std::size_t shard, bool write,
                                 Clock::time_point wait_until,
                                 std::optional<ReadFrom> read_from) const {
  Node* node = router_->pick(table, shard, write, read_from.value_or(router_->read_from()));
  if (node == nullptr && write && options_.wait_for_promotion.count() > 0) [[unlikely]] {
    const Clock::time_point now = Clock::now();
    if (wait_until == kWaitFromNow) wait_until = now + options_.wait_for_promotion;
    if (now < wait_until) node = router_->wait_for_primary(shard, wait_until);
  }
  if (node == nullptr) {
    throw Error(errc::shard_unavailable, router_->unavailable_reason(shard, write));
  }
  return *node;
}

namespace {

// A word of the caller's command for an error message: bounded, so a megabyte value does not
// become a megabyte message.
std::string shown(std::string_view w) {
  constexpr std::size_t kMax = 64;
  return w.size() <= kMax ? std::string(w) : std::string(w.substr(0, kMax)) + "...";
}

// "XINFO STREAM" for a subcommand, "GET" otherwise.
std::string command_name(std::span<const std::string_view> words, const CommandInfo* info) {
  if (info != nullptr && info->name.find(' ') != std::string_view::npos) {
    return std::string(info->name);
  }
  if (info == nullptr && words.size() > 1) {
    // An unknown subcommand of a known container names both words.
    const CommandInfo* container = find_command(words[0]);
    if (container != nullptr && (container->flags & kContainer) != 0) {
      return shown(words[0]) + " " + shown(words[1]);
    }
  }
  return shown(words[0]);
}

// The table's entry for `words`, or an Error before anything is sent: unknown commands (their
// keys are unknown, so they cannot be routed), and commands that would change the state of a
// connection other callers share (or that a pool hands to the next caller).
const CommandInfo* checked_command(std::span<const std::string_view> words, bool allow_watch,
                                   bool allow_unknown) {
  if (words.empty()) throw Error(errc::config, "empty command");
  const CommandInfo* info = lookup_command(words);
  if (info == nullptr) {
    if (allow_unknown) return nullptr;
    throw Error(errc::unknown_command,
                command_name(words, info) +
                    ": not in flyshard's command table, so its keys are unknown; send it with "
                    "command_routed(key, args) to the shard of a key you name, or "
                    "command_on_shard(i, args)");
  }
  if ((info->flags & (kPubSub | kStateful)) != 0 && !(allow_watch && info->name == "WATCH")) {
    throw Error(errc::config,
                command_name(words, info) + " refused: " + std::string(state_hint(*info)));
  }
  return info;
}

}  // namespace

std::optional<std::size_t> ClientCore::shard_of(std::span<const std::string_view> words) const {
  return classify(words, Use::batch).shard;
}

ClientCore::Routing ClientCore::classify(std::span<const std::string_view> words, Use use,
                                         std::string_view routing_key) const {
  Routing r = classify_keys(words, use, routing_key);
  if (!r.table->reshard) [[likely]]
    return r;
  // Nothing depends on the keys for a read (reads are never fenced: until the flip the source
  // holds every moving key), nor stable under lease fencing (only the lease is checked): the
  // keys are not even listed, so those requests cost what they do with no migration.
  const ReshardView& v = *r.table->reshard;
  if ((r.read || (!v.migrating() && v.fencing == Fencing::lease)) && use != Use::batch) return r;
  // A topology record: the callers need the keys to tell moving ones (write_fence.cpp).
  r.keys = command_keys(words, r.info);
  r.script = r.info != nullptr && (r.info->name == "EVAL" || r.info->name == "EVALSHA");
  if (use == Use::routed && std::find(r.keys.begin(), r.keys.end(), routing_key) == r.keys.end())
    r.keys.push_back(routing_key);
  if (use == Use::batch) {
    // Transactions and write_and_wait run as one batch on one shard: they do not wait, so
    // they are refused (retriably) where a single command would wait. Their writes are not
    // guarded but checked and recorded around MULTI/EXEC (batch_record, which every caller of
    // shard_of() that sends a write calls), so only an expired lease and the cutover refuse
    // them here.
    if (!r.read && !lease_valid(*r.table)) {
      want_record();
      throw Error(errc::migrating, "topology record not read within the lease: retry");
    }
    const Fence f = fence_for(*r.table, r.keys, r.read, r.script);
    if (f.kind == FenceKind::frozen) {
      want_record();
      throw Error(errc::migrating, command_name(words, r.info) +
                                       ": a transaction on keys frozen for the migration's "
                                       "cutover waits for the flip: retry");
    }
  }
  return r;
}

ClientCore::Routing ClientCore::classify_keys(std::span<const std::string_view> words, Use use,
                                              std::string_view routing_key) const {
  Routing r;
  // One routing table for the whole request: its shard and its node come from one snapshot.
  r.table = router_->table();
  const RoutingTable& table = *r.table;
  // One table lookup serves the key positions, the read/write class and blocking.
  const CommandInfo* info = checked_command(words, use == Use::batch, use == Use::routed);
  r.info = info;
  r.read = is_read_command(info);
  r.blocks = blocking_time(words, info);
  const bool spread = options_.connections_per_node > 1;  // else affinity is moot
  auto affinity_of = [&](std::string_view key) {
    return spread ? std::hash<std::string_view>{}(hash_tag(key)) : 0;
  };
  if (use == Use::routed) {
    r.shard = table.shard_for(routing_key);
    r.affinity = affinity_of(routing_key);
    for (std::string_view key : command_keys(words, info)) {
      if (table.shard_for(key) != *r.shard) {
        throw Error(errc::cross_shard, command_name(words, info) + ": key \"" + shown(key) +
                                           "\" does not map to the shard of the routing key \"" +
                                           shown(routing_key) + "\"");
      }
    }
    return r;
  }
  if (auto key = single_key(words, info)) {
    r.affinity = affinity_of(*key);
    r.shard = table.shard_for(*key);
    return r;
  }
  std::vector<std::string_view> keys = command_keys(words, info);
  if (keys.empty()) {
    // A keyless command acts on one node only; through command() that node would be a guess.
    if (use == Use::command && (info->flags & kNoKey) != 0 && (info->flags & kAnyShard) == 0) {
      throw Error(errc::config,
                  command_name(words, info) +
                      " has no key, so command() cannot choose a shard (each shard holds only "
                      "its own keys): use command_on_all(args) for every shard, "
                      "command_on_shard(i, args) for one, or command_routed(key, args) for a "
                      "key's shard");
    }
    // PING/ECHO/TIME, and keyed commands given no key (EVAL with 0 keys, or a malformed
    // command the server will reject): the first shard.
    if (use == Use::command) r.shard = 0;
    return r;
  }
  const std::size_t shard = table.shard_for(keys[0]);
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (table.shard_for(keys[i]) != shard) {
      throw Error(errc::cross_shard, command_name(words, info) + ": keys \"" + shown(keys[0]) +
                                         "\" and \"" + shown(keys[i]) +
                                         "\" map to different shards");
    }
  }
  r.affinity = affinity_of(keys[0]);
  r.shard = shard;
  return r;
}

ClientCore::Route ClientCore::route_with_key(std::span<const std::string_view> words,
                                             std::optional<ReadFrom> read_from,
                                             bool may_wait) const {
  return route_until(words, may_wait ? kWaitFromNow : Clock::time_point{}, read_from);
}

ClientCore::Route ClientCore::route_until(std::span<const std::string_view> words,
                                          Clock::time_point wait_until,
                                          std::optional<ReadFrom> read_from) const {
  Routing c = classify(words, Use::command);
  Route r;
  r.affinity = c.affinity;
  r.blocks = c.blocks;
  r.read = c.read;
  r.node = &node_for_shard(*c.table, c.shard.value_or(0), !c.read, wait_until, read_from);
  if (c.table->reshard) [[unlikely]] {
    r.table = std::move(c.table);
    r.keys = std::move(c.keys);
    r.script = c.script;
  }
  return r;
}

const CommandInfo* ClientCore::check_for_shard(std::span<const std::string_view> words) const {
  return checked_command(words, false, true);
}

ClientCore::Route ClientCore::route_by(std::string_view routing_key,
                                       std::span<const std::string_view> words,
                                       std::optional<ReadFrom> read_from, bool may_wait) const {
  Routing c = classify(words, Use::routed, routing_key);
  Route r;
  r.affinity = c.affinity;
  r.blocks = c.blocks;
  r.read = c.read;
  r.known = c.info != nullptr;
  r.node = &node_for_shard(*c.table, *c.shard, !c.read,
                           may_wait ? kWaitFromNow : Clock::time_point{}, read_from);
  if (c.table->reshard) [[unlikely]] {
    r.table = std::move(c.table);
    r.keys = std::move(c.keys);
    r.script = c.script;
  }
  return r;
}

}  // namespace flyshard::detail
