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

CopyCounts copy_keys(Client& source, Client& target, const std::vector<std::string>& keys,
                     bool delete_absent, const CopyOptions& options,
                     const std::string& migration_id) {
  CopyCounts counts;
  if (keys.empty()) return counts;

  // 1. Types.
  Pipeline p = source.pipeline();
  for (const auto& k : keys) p.command({"TYPE", k});
  std::vector<Result<Reply>> types = p.execute();
  std::vector<std::string> type(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) type[i] = checked(types[i], keys[i], "TYPE").str();

  // 2. Sizes, so that no DUMP of a big key ever blocks the source.
  std::vector<std::size_t> sized;
  for (std::size_t i = 0; i < keys.size(); ++i) {
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
      if (!r.ok() && r.error() == errc::server_error) continue;
      const long long n = checked(r, keys[i], type[i].c_str()).integer();
      big[i] = is_big(type[i], n, options);
    }
  }

  // 3. DUMP + PTTL of the rest.
  std::vector<std::size_t> dumped;
  std::vector<std::size_t> absent;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (type[i] == "none") {
      absent.push_back(i);
    } else if (!big[i]) {
      p.command({"DUMP", keys[i]});
      p.command({"PTTL", keys[i]});
      dumped.push_back(i);
    }
  }
  std::vector<Result<Reply>> dumps = p.execute();
  const std::int64_t now = wall_ms() + options.target_clock_offset_ms;

  // 4. RESTORE on the target (and DEL for what vanished, when asked).
  Pipeline t = target.pipeline();
  std::vector<std::size_t> restored;
  std::vector<std::string> expiries;
  expiries.reserve(dumped.size());
  for (std::size_t j = 0; j < dumped.size(); ++j) {
    const std::size_t i = dumped[j];
    const Reply& payload = checked(dumps[2 * j], keys[i], "DUMP");
    const long long pttl = checked(dumps[2 * j + 1], keys[i], "PTTL").integer();
    if (payload.is_nil() || pttl == -2) {
      absent.push_back(i);
      continue;
    }
    expiries.push_back(pttl < 0 ? "0" : std::to_string(now + pttl));
    t.command({"RESTORE", keys[i], expiries.back(), payload.str(), "REPLACE", "ABSTTL"});
    restored.push_back(i);
    counts.bytes += payload.str().size();
  }
  counts.vanished = absent.size();
  if (delete_absent) {
    for (std::size_t i : absent) t.command({"DEL", keys[i]});
  }
  std::vector<Result<Reply>> done = t.execute();
  for (std::size_t j = 0; j < done.size(); ++j) {
    const bool is_restore = j < restored.size();
    const std::string& key = keys[is_restore ? restored[j] : absent[j - restored.size()]];
    if (!done[j].ok()) {
      if (done[j].error() == errc::server_error) {
        throw MigrationUnrecoverable("the target refused " +
                                     std::string(is_restore ? "RESTORE" : "DEL") + " of " + key +
                                     ": " + done[j].message());
      }
      throw Error(done[j].error(), "copying " + key + ": " + done[j].message());
    }
    if (!is_restore) counts.deleted += done[j]->integer() > 0 ? 1 : 0;
  }
  counts.keys = restored.size();

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
