#include "reshard/key_copy.hpp"

#include <algorithm>

#include "reshard/big_key.hpp"
#include "reshard/migration_error.hpp"

namespace flyshard::detail {
namespace {

// A transport failure aborts the batch (the caller retries it: every step is idempotent); a
// server's refusal of a read is unexpected too, and is reported with the key.
const Reply& checked(const Result<Reply>& r, const std::string& key, const char* what) {
  if (!r.ok()) throw Error(r.error(), std::string(what) + " " + key + ": " + r.message());
  return *r;
}

}  // namespace

CopyCounts& CopyCounts::operator+=(const CopyCounts& o) {
  keys += o.keys;
  bytes += o.bytes;
  vanished += o.vanished;
  deleted += o.deleted;
  big += o.big;
  retyped += o.retyped;
  longest_chunk = std::max(longest_chunk, o.longest_chunk);
  return *this;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t clock_offset_ms(Client& node) {
  const auto before = wall_ms();
  const auto t = node.command_on_shard(0, {"TIME"}).as<std::vector<std::string>>();
  const auto after = wall_ms();
  if (t.size() != 2) return 0;
  const std::int64_t remote = std::stoll(t[0]) * 1000 + std::stoll(t[1]) / 1000;
  return remote - (before + after) / 2;
}

const char* size_command(std::string_view type) noexcept {
  if (type == "string") return "STRLEN";
  if (type == "hash") return "HLEN";
  if (type == "list") return "LLEN";
  if (type == "set") return "SCARD";
  if (type == "zset") return "ZCARD";
  if (type == "stream") return "XLEN";
  return nullptr;
}

bool is_big(std::string_view type, long long size, const CopyOptions& o) noexcept {
  if (type == "stream") return false;
  if (type == "string") return size > static_cast<long long>(o.big_bytes);
  return size_command(type) != nullptr && size > static_cast<long long>(o.big_elements);
}

namespace {

// What one key of a batch is on its way to the target as.
struct Held {
  enum Kind { pending, absent, string, dumped, retyped } kind = pending;
  std::string value;  // the string, or the DUMP payload
  long long pttl = -1;
  bool late = false;  // read in step 3 (its TTL is relative to that step's clock)
};

// The target's half of a batch: SET / RESTORE / DEL, sent whenever the values queued reach
// CopyOptions::pipeline_bytes and at the end.
class TargetWrites {
 public:
  TargetWrites(Client& target, const std::vector<std::string>& keys, std::size_t limit,
               CopyCounts& counts)
      : pipe_(target.pipeline()), keys_(keys), limit_(limit), counts_(counts) {}

  void write(std::size_t i, const Held& h, std::int64_t now) {
    // The absolute expiry on the target's clock: the TTL read plus the target's now (a
    // string's PXAT, or RESTORE's ABSTTL); 0 for RESTORE means none.
    const bool ttl = h.pttl >= 0;
    const std::string at = ttl ? std::to_string(now + h.pttl) : "0";
    if (h.kind == Held::string) {
      if (ttl)
        pipe_.command({"SET", keys_[i], h.value, "PXAT", at});
      else
        pipe_.command({"SET", keys_[i], h.value});
    } else {
      pipe_.command({"RESTORE", keys_[i], at, h.value, "REPLACE", "ABSTTL"});
    }
    sent_.push_back({i, true});
    counts_.bytes += h.value.size();
    queued_ += h.value.size();
    if (queued_ >= limit_) flush();
  }
  void del(std::size_t i) {
    pipe_.command({"DEL", keys_[i]});
    sent_.push_back({i, false});
  }

  void flush() {
    if (sent_.empty()) return;
    std::vector<Result<Reply>> done = pipe_.execute();
    for (std::size_t j = 0; j < done.size(); ++j) {
      const auto [i, is_write] = sent_[j];
      const std::string& key = keys_[i];
      if (!done[j].ok()) {
        if (done[j].error() == errc::server_error) {
          throw MigrationUnrecoverable("the target refused " +
                                       std::string(is_write ? "the copy" : "DEL") + " of " + key +
                                       ": " + done[j].message());
        }
        throw Error(done[j].error(), "copying " + key + ": " + done[j].message());
      }
      if (is_write)
        ++counts_.keys;
      else
        counts_.deleted += done[j]->integer() > 0 ? 1 : 0;
    }
    sent_.clear();
    queued_ = 0;
  }

 private:
  Pipeline pipe_;
  const std::vector<std::string>& keys_;
  std::size_t limit_;
  CopyCounts& counts_;
  std::vector<std::pair<std::size_t, bool>> sent_;  // key index, SET/RESTORE (else DEL)
  std::size_t queued_ = 0;
};

}  // namespace

CopyCounts copy_keys(Client& source, Client& target, const std::vector<std::string>& keys,
                     bool delete_absent, const CopyOptions& options,
                     const std::string& migration_id) {
  CopyCounts counts;
  if (keys.empty()) return counts;
  const std::size_t window = options.string_window;
  std::vector<Held> held(keys.size());

  // 1. With the window: GETRANGE + PTTL, which is a short string whole with its TTL, a longer
  //    string's first bytes, a missing key's PTTL -2, or another type's WRONGTYPE.
  std::vector<std::string> type(keys.size());
  std::vector<std::size_t> untyped;
  Pipeline p = source.pipeline();
  if (window == 0) {
    for (std::size_t i = 0; i < keys.size(); ++i) untyped.push_back(i);
  } else {
    for (const auto& k : keys) {
      p.command({"GETRANGE", k, 0, static_cast<long long>(window) - 1});
      p.command({"PTTL", k});
    }
    std::vector<Result<Reply>> first = p.execute();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const Result<Reply>& range = first[2 * i];
      if (!range.ok() && range.error() == errc::server_error) {  // WRONGTYPE: not a string
        untyped.push_back(i);
        continue;
      }
      const std::string& v = checked(range, keys[i], "GETRANGE").str();
      const long long pttl = checked(first[2 * i + 1], keys[i], "PTTL").integer();
      type[i] = "string";
      if (pttl == -2) {
        held[i].kind = Held::absent;  // an empty GETRANGE of a missing key, or gone since
      } else if (v.size() < window) {
        held[i].kind = Held::string;
        held[i].value = v;
        held[i].pttl = pttl;
      }  // else perhaps longer than the window: STRLEN decides below
    }
  }
  const std::int64_t now = wall_ms() + options.target_clock_offset_ms;

  // 1b. TYPE of the keys that are not strings (all of them without the window).
  if (!untyped.empty()) {
    for (std::size_t i : untyped) p.command({"TYPE", keys[i]});
    std::vector<Result<Reply>> types = p.execute();
    for (std::size_t j = 0; j < untyped.size(); ++j) {
      const std::size_t i = untyped[j];
      type[i] = checked(types[j], keys[i], "TYPE").str();
      if (type[i] == "none") held[i].kind = Held::absent;
    }
  }

  // 2. Sizes of the rest, so that no read of a big key ever blocks the source.
  std::vector<std::size_t> sized;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (held[i].kind != Held::pending) continue;
    if (const char* cmd = size_command(type[i])) {
      p.command({cmd, keys[i]});
      sized.push_back(i);
    }
  }
  std::vector<bool> big(keys.size(), false);
  if (!sized.empty()) {
    std::vector<Result<Reply>> sizes = p.execute();
    for (std::size_t j = 0; j < sized.size(); ++j) {
      const std::size_t i = sized[j];
      const Result<Reply>& r = sizes[j];
      // WRONGTYPE: the key changed type since TYPE; DUMP it (the drains catch up later).
      if (!r.ok() && r.error() == errc::server_error) {
        type[i] = "";
        continue;
      }
      const long long n = checked(r, keys[i], type[i].c_str()).integer();
      big[i] = is_big(type[i], n, options);
    }
  }

  // 3. GET (strings, with the window) or DUMP, and PTTL, of what is left but big keys.
  std::vector<std::size_t> read;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (held[i].kind != Held::pending || big[i]) continue;
    const bool get = window > 0 && type[i] == "string";
    p.command({get ? "GET" : "DUMP", keys[i]});
    p.command({"PTTL", keys[i]});
    read.push_back(i);
  }
  std::int64_t later = now;
  if (!read.empty()) {
    std::vector<Result<Reply>> values = p.execute();
    later = wall_ms() + options.target_clock_offset_ms;
    for (std::size_t j = 0; j < read.size(); ++j) {
      const std::size_t i = read[j];
      const bool get = window > 0 && type[i] == "string";
      const Result<Reply>& v = values[2 * j];
      if (get && !v.ok() && v.error() == errc::server_error) {
        held[i].kind = Held::retyped;  // a write changed its type: it is in the dirty set
        continue;
      }
      const Reply& payload = checked(v, keys[i], get ? "GET" : "DUMP");
      const long long pttl = checked(values[2 * j + 1], keys[i], "PTTL").integer();
      if (payload.is_nil() || pttl == -2) {
        held[i].kind = Held::absent;
        continue;
      }
      held[i].kind = get ? Held::string : Held::dumped;
      held[i].value = payload.str();
      held[i].pttl = pttl;
      held[i].late = true;
    }
  }

  // 4. The target: strings read in step 1 with that step's clock, the rest with step 3's.
  TargetWrites t(target, keys, options.pipeline_bytes, counts);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Held& h = held[i];
    if (h.kind == Held::string || h.kind == Held::dumped) {
      t.write(i, h, h.late ? later : now);
      h.value = std::string();
    } else if (h.kind == Held::absent) {
      ++counts.vanished;
      if (delete_absent) t.del(i);
    } else if (h.kind == Held::retyped) {
      ++counts.retyped;
    }
  }
  t.flush();

  // 5. Big keys, one bounded chunk at a time.
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!big[i]) continue;
    const BigCopy b = copy_big_key(source, target, keys[i], type[i], options, migration_id);
    if (b.vanished) {
      ++counts.vanished;
      if (delete_absent) {
        target.command_on_shard(0, {"DEL", keys[i]});
        ++counts.deleted;
      }
      continue;
    }
    ++counts.keys;
    ++counts.big;
    counts.longest_chunk = std::max(counts.longest_chunk, b.longest);
    counts.bytes += b.bytes;
  }
  return counts;
}

}  // namespace flyshard::detail
