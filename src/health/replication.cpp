#include "health/replication.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <system_error>
#include <utility>

namespace flyshard::detail {

namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::uint16_t parse_port(std::string_view s) {
  std::optional<long long> v = parse_int(s);
  return (v && *v > 0 && *v <= 65535) ? static_cast<std::uint16_t>(*v) : 0;
}

NodeRole parse_role_name(std::string_view s) {
  if (s == "master") return NodeRole::primary;
  if (s == "slave" || s == "replica") return NodeRole::replica;
  return NodeRole::unknown;
}

// "slave0", "slave12": the per-replica lines of a primary (not slave_repl_offset & co).
bool is_replica_line(std::string_view key) {
  constexpr std::string_view prefix = "slave";
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) return false;
  return std::all_of(key.begin() + prefix.size(), key.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// "ip=127.0.0.1,port=7102,state=online,offset=393,lag=0" (an IPv6 ip has ':' but no ',' '=').
ReplicaEntry parse_replica_line(std::string_view value) {
  ReplicaEntry e;
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view field = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = trim(field.substr(0, eq));
    std::string_view v = trim(field.substr(eq + 1));
    if (k == "ip")
      e.host = std::string(v);
    else if (k == "port")
      e.port = parse_port(v);
    else if (k == "state")
      e.state = std::string(v);
    else if (k == "offset")
      e.offset = parse_int(v);
    else if (k == "lag")
      e.lag = parse_int(v);
  }
  return e;
}

// Text of a string or status reply (ROLE uses bulk strings; be lenient about simple strings).
std::optional<std::string_view> text_of(const Reply& r) {
  if (r.is_string() || r.is_status()) return std::string_view(r.str());
  return std::nullopt;
}

// Redis sends some numbers as integers and some as strings (ROLE ports, offsets), Dragonfly
// sends ports as strings.
std::optional<long long> number_of(const Reply& r) {
  if (r.is_integer()) return r.integer();
  if (auto t = text_of(r)) return parse_int(*t);
  return std::nullopt;
}

std::uint16_t port_of(const Reply& r) {
  std::optional<long long> v = number_of(r);
  return (v && *v > 0 && *v <= 65535) ? static_cast<std::uint16_t>(*v) : 0;
}

// "3.2 s", "1 s", "0.25 s".
std::string seconds_text(milliseconds d) {
  long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms) / 1000.0);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s + " s";
}

bool is_stable_sync_state(std::string_view state) {
  return state == "online" || state == "stable_sync";
}

}  // namespace

std::string_view role_name(NodeRole role) noexcept {
  switch (role) {
    case NodeRole::primary:
      return "primary";
    case NodeRole::replica:
      return "replica";
    case NodeRole::unknown:
      break;
  }
  return "unknown";
}

ReplicationInfo parse_info_replication(std::string_view text) {
  ReplicationInfo info;
  // Dragonfly repeats the block master_host..psync_successes for each ADDREPLICAOF source;
  // the first block is the REPLICAOF source, the one reads follow.
  int master_blocks = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));

    if (key == "master_host") ++master_blocks;
    const bool first_block = master_blocks <= 1;

    if (key == "role") {
      info.role = parse_role_name(value);
    } else if (key == "master_repl_offset") {
      info.primary_offset = parse_int(value);
    } else if (is_replica_line(key)) {
      info.replicas.push_back(parse_replica_line(value));
    } else if (!first_block) {
      continue;
    } else if (key == "master_host") {
      info.master_host = std::string(value);
    } else if (key == "master_port") {
      info.master_port = parse_port(value);
    } else if (key == "master_link_status") {
      info.link_up = value == "up";
    } else if (key == "master_sync_in_progress") {
      info.sync_in_progress = parse_int(value).value_or(0) != 0;
    } else if (key == "master_last_io_seconds_ago") {
      std::optional<long long> v = parse_int(value);
      if (v && *v >= 0) info.last_io_seconds_ago = v;
    } else if (key == "slave_repl_offset") {
      info.replica_offset = parse_int(value);
    } else if (key == "master_replid") {
      info.master_replid = std::string(value);
    }
  }
  info.offsets_comparable = info.primary_offset.has_value();
  return info;
}

std::optional<RoleInfo> parse_role(const Reply& reply) {
  if (!reply.is_array() || reply.elements().empty()) return std::nullopt;
  const std::vector<Reply>& el = reply.elements();
  std::optional<std::string_view> name = text_of(el[0]);
  if (!name) return std::nullopt;

  RoleInfo info;
  info.role = parse_role_name(*name);
  if (info.role == NodeRole::primary) {
    // Redis: [master, offset, entries]; Dragonfly: [master, entries].
    const Reply* entries = nullptr;
    bool redis_form = false;
    if (el.size() == 3 && el[1].is_integer() && el[2].is_array()) {
      info.offset = el[1].integer();
      entries = &el[2];
      redis_form = true;
    } else if (el.size() == 2 && el[1].is_array()) {
      entries = &el[1];
    } else {
      return std::nullopt;
    }
    for (const Reply& r : entries->elements()) {
      if (!r.is_array() || r.elements().size() < 3) return std::nullopt;
      const std::vector<Reply>& f = r.elements();
      ReplicaEntry e;
      if (auto host = text_of(f[0])) e.host = std::string(*host);
      e.port = port_of(f[1]);
      if (redis_form) {
        e.offset = number_of(f[2]);
      } else if (auto state = text_of(f[2])) {
        e.state = std::string(*state);
      }
      info.replicas.push_back(std::move(e));
    }
    return info;
  }
  if (info.role == NodeRole::replica) {
    // Redis: [slave, host, port(int), state, offset]; Dragonfly: [slave|replica, host,
    // port(string), state] and 3 more per extra ADDREPLICAOF source.
    if (el.size() < 4) return std::nullopt;
    std::optional<std::string_view> host = text_of(el[1]);
    std::optional<std::string_view> state = text_of(el[3]);
    if (!host || !state) return std::nullopt;
    info.master_host = std::string(*host);
    info.master_port = port_of(el[2]);
    info.state = std::string(*state);
    if (el.size() >= 5 && el[4].is_integer() && el[4].integer() >= 0) info.offset = el[4].integer();
    return info;
  }
  return std::nullopt;
}

// ---- ReplicaLagTracker ----------------------------------------------------------------------

ReplicaLagTracker::ReplicaLagTracker(std::string host, std::uint16_t port,
                                     long long max_lag_records)
    : host_(std::move(host)), port_(port), max_lag_records_(max_lag_records) {}

void ReplicaLagTracker::reset() noexcept {
  followed_host_.clear();
  followed_port_ = 0;
  clear_offsets();
}

void ReplicaLagTracker::clear_offsets() noexcept {
  baseline_offset_.reset();
  baseline_replid_.clear();
  last_caught_up_.reset();
  offset_lag_.reset();
}

ReplicaVerdict ReplicaLagTracker::update(const ReplicationInfo& replica,
                                         const std::optional<ReplicationInfo>& primary,
                                         std::chrono::steady_clock::time_point now,
                                         milliseconds max_lag) {
  if (replica.role != NodeRole::replica) {
    reset();
    return {false, "not a replica (role " + std::string(role_name(replica.role)) + ")"};
  }
  if (replica.master_host != followed_host_ || replica.master_port != followed_port_) {
    // Re-pointed at another primary: offsets of the old stream mean nothing now.
    clear_offsets();
    followed_host_ = replica.master_host;
    followed_port_ = replica.master_port;
  }

  // Offsets compare only within one stream: a Redis-style primary (master_repl_offset), and a
  // replica following that very stream (same replid, when both tell one). A replica of a
  // Redis primary is also comparable when it is a Dragonfly (its offset is then Redis bytes).
  const bool primary_comparable = primary && primary->role == NodeRole::primary &&
                                  primary->offsets_comparable && primary->primary_offset;
  const bool same_stream = !primary_comparable || replica.master_replid.empty() ||
                           primary->master_replid.empty() ||
                           replica.master_replid == primary->master_replid;
  const bool comparable = primary_comparable && same_stream && replica.replica_offset;

  ReplicaVerdict verdict;
  if (replica.sync_in_progress) {
    // Checked before the link: Redis reports master_link_status:down during a full sync.
    verdict = {false, "full sync in progress"};
  } else if (!replica.link_up) {
    verdict = {false, "link down"};
  } else if (comparable) {
    return offset_rule(replica, *primary, now, max_lag);
  } else {
    verdict = io_rule(replica, primary, max_lag);
  }

  // Not judged by offsets this time. Keep the primary's offset as the baseline for the next
  // check even so: after the link comes back, the replica must reach what the primary had at
  // the check before, not some older value that would pass it too easily.
  offset_lag_.reset();
  if (primary_comparable && same_stream) {
    baseline_offset_ = primary->primary_offset;
    baseline_replid_ = primary->master_replid;
  } else {
    // No usable primary offset: the caught-up history would be stale when offsets return.
    clear_offsets();
  }
  return verdict;
}

ReplicaVerdict ReplicaLagTracker::offset_rule(const ReplicationInfo& replica,
                                              const ReplicationInfo& primary,
                                              std::chrono::steady_clock::time_point now,
                                              milliseconds max_lag) {
  const long long primary_now = *primary.primary_offset;
  const long long replica_offset = *replica.replica_offset;

  // Replication always trails the primary a little: writes in flight, and the replica's and
  // the primary's INFO are not taken at the same instant (the primary's may even be the later
  // one). Asking replica_offset >= the primary's current offset would fail under any steady
  // write load. Instead compare with what the primary had at the previous check: a replica
  // that has reached that is at most about one check interval behind. At the first check, or
  // when the primary's stream restarted (new replid, or its offset went backwards), there is
  // no usable previous value, and the current one is the only safe bound.
  long long reference = primary_now;
  if (baseline_offset_ && baseline_replid_ == primary.master_replid &&
      *baseline_offset_ <= primary_now)
    reference = *baseline_offset_;

  if (replica_offset >= reference) last_caught_up_ = now;
  baseline_offset_ = primary_now;
  baseline_replid_ = primary.master_replid;

  const std::string offsets = " (offset " + std::to_string(replica_offset) + ", primary " +
                              std::to_string(primary_now) + ")";
  if (!last_caught_up_) {
    offset_lag_.reset();
    return {false, "not caught up yet" + offsets};
  }
  milliseconds lag = std::chrono::duration_cast<milliseconds>(now - *last_caught_up_);
  if (lag < milliseconds::zero()) lag = milliseconds::zero();
  offset_lag_ = lag;
  if (lag > max_lag)
    return {false, "lag " + seconds_text(lag) + " > " + seconds_text(max_lag) + offsets};
  return {true, "lag " + seconds_text(lag) + " <= " + seconds_text(max_lag) + offsets};
}

ReplicaVerdict ReplicaLagTracker::io_rule(const ReplicationInfo& replica,
                                          const std::optional<ReplicationInfo>& primary,
                                          milliseconds max_lag) const {
  // A Dragonfly replica shows slave_repl_offset only once its full sync is done; link up, not
  // syncing and no offset is the "preparation" state right after the handshake, with no data.
  if (!replica.replica_offset)
    return {false, "no replication offset yet (full sync not started or not finished)"};
  if (!replica.last_io_seconds_ago) return {false, "no master_last_io_seconds_ago"};

  // Seconds granularity. Dragonfly's replica ACKs every second, so a healthy link reads 0-1 s;
  // the 2 s floor keeps that from flapping when max_lag is below the granularity. A Redis
  // primary pings only every repl-ping-replica-period (10 s), so an idle healthy Redis link can
  // read up to 10 s here: Redis replicas are judged by offsets whenever the primary is known.
  const milliseconds limit = std::max(max_lag, milliseconds(2000));
  // Clamped before the conversion to ms: a hostile or garbled value (1.7e16 s) overflowed it.
  constexpr long long kMaxSeconds = 1'000'000'000;  // ~31 years: "stale" either way
  const milliseconds io =
      std::chrono::seconds(std::clamp(*replica.last_io_seconds_ago, -kMaxSeconds, kMaxSeconds));
  if (io > limit)
    return {false, "last I/O with primary " + seconds_text(io) + " ago > " + seconds_text(limit)};

  // Dragonfly's own lag (journal records behind, per shard thread) as its primary sees it.
  // Only for Dragonfly-form entries (no offset=; a Redis entry's lag= is seconds since the last
  // ACK) and only in stable sync (Dragonfly reports 0 in other states).
  if (primary && primary->role == NodeRole::primary) {
    if (const ReplicaEntry* self = find_self(*primary)) {
      if (!self->offset && self->lag && is_stable_sync_state(self->state) &&
          *self->lag > max_lag_records_)
        return {false, "lag " + std::to_string(*self->lag) + " records > " +
                           std::to_string(max_lag_records_) + " records"};
    }
  }
  return {true, "last I/O with primary " + seconds_text(io) + " ago <= " + seconds_text(limit)};
}

const ReplicaEntry* ReplicaLagTracker::find_self(const ReplicationInfo& primary) const {
  if (port_ == 0) return nullptr;
  const ReplicaEntry* by_port = nullptr;
  int port_matches = 0;
  for (const ReplicaEntry& e : primary.replicas) {
    if (e.port != port_) continue;
    if (e.host == host_) return &e;
    by_port = &e;
    ++port_matches;
  }
  return port_matches == 1 ? by_port : nullptr;
}

}  // namespace flyshard::detail
