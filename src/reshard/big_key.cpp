#include "reshard/big_key.hpp"

#include <stdexcept>

#include "reshard/migration_error.hpp"

namespace flyshard::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Takes the place of the real key: UNLINK frees an old big value in the background instead
// of inside the script.
const char* const kFinishScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('UNLINK', KEYS[2])
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[1] == '0' then redis.call('PERSIST', KEYS[2]) else redis.call('PEXPIREAT', KEYS[2], ARGV[1]) end
return 1
)lua";

class Chunker {
 public:
  Chunker(Client& source, Client& target, std::string tmp, const CopyOptions& o, BigCopy& out)
      : source_(source), target_(target), tmp_(std::move(tmp)), o_(o), out_(out) {}

  Reply read(Args args) {
    const auto t0 = SteadyClock::now();
    Reply r = source_.command_on_shard(0, std::move(args));
    note(t0);
    ++out_.chunks;
    return r;
  }

  // One write of a chunk to the temporary key, with its TTL refreshed in the same batch.
  void write(const std::vector<std::string>& words) {
    Pipeline p = target_.pipeline();
    p.command(Args(words));
    p.command({"PEXPIRE", tmp_, o_.temp_ttl.count()});
    const auto t0 = SteadyClock::now();
    for (auto& r : p.execute()) {
      if (!r.ok()) {
        if (r.error() == errc::server_error)
          throw MigrationUnrecoverable("the target refused a chunk of " + tmp_ + ": " +
                                       r.message());
        throw Error(r.error(), "writing a chunk of " + tmp_ + ": " + r.message());
      }
    }
    note(t0);
    for (std::size_t i = 2; i < words.size(); ++i) out_.bytes += words[i].size();
  }

 private:
  void note(SteadyClock::time_point t0) {
    const auto d = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t0);
    if (d > out_.longest) out_.longest = d;
  }

  Client& source_;
  Client& target_;
  std::string tmp_;
  const CopyOptions& o_;
  BigCopy& out_;
};

// HSCAN / SSCAN / ZSCAN into HSET / SADD / ZADD. ZSCAN answers member, score; ZADD wants
// score, member.
void copy_scanned(Chunker& c, const std::string& key, const std::string& tmp, const char* scan,
                  const char* add, bool swap_pairs, std::size_t chunk) {
  std::string cursor = "0";
  do {
    const Reply r = c.read({scan, key, cursor, "COUNT", chunk});
    if (!r.is_array() || r.elements().size() != 2)
      throw Error(errc::protocol_error, std::string(scan) + " " + key + ": " + r.to_string());
    cursor = r.elements()[0].str();
    const auto& items = r.elements()[1].elements();
    if (items.empty()) continue;
    std::vector<std::string> words{add, tmp};
    words.reserve(items.size() + 2);
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (swap_pairs && i % 2 == 0 && i + 1 < items.size()) {
        words.push_back(items[i + 1].str());
        words.push_back(items[i].str());
        ++i;
      } else {
        words.push_back(items[i].str());
      }
    }
    c.write(words);
  } while (cursor != "0");
}

}  // namespace

std::string temp_key(const std::string& migration_id, const std::string& key) {
  return "flyshard:tmp:" + migration_id + ":" + key;
}

BigCopy copy_big_key(Client& source, Client& target, const std::string& key,
                     const std::string& type, const CopyOptions& options,
                     const std::string& migration_id) {
  BigCopy out;
  const std::string tmp = temp_key(migration_id, key);
  target.command_on_shard(0, {"DEL", tmp});  // a crashed run's leftover
  Chunker c(source, target, tmp, options, out);
  const std::size_t n = options.chunk_elements;
  if (type == "hash") {
    copy_scanned(c, key, tmp, "HSCAN", "HSET", false, n);
  } else if (type == "set") {
    copy_scanned(c, key, tmp, "SSCAN", "SADD", false, n);
  } else if (type == "zset") {
    copy_scanned(c, key, tmp, "ZSCAN", "ZADD", true, n);
  } else if (type == "list") {
    for (long long start = 0;; start += static_cast<long long>(n)) {
      const auto items = c.read({"LRANGE", key, start, start + static_cast<long long>(n) - 1})
                             .as<std::vector<std::string>>();
      if (items.empty()) break;
      std::vector<std::string> words{"RPUSH", tmp};
      words.insert(words.end(), items.begin(), items.end());
      c.write(words);
      if (items.size() < n) break;
    }
  } else if (type == "string") {
    const auto step = static_cast<long long>(options.chunk_bytes);
    for (long long start = 0;; start += step) {
      const std::string part = c.read({"GETRANGE", key, start, start + step - 1}).as<std::string>();
      if (part.empty()) break;
      c.write({"APPEND", tmp, part});
      if (static_cast<long long>(part.size()) < step) break;
    }
  } else {
    throw std::logic_error("copy_big_key: type " + type);
  }

  const long long pttl = source.command_on_shard(0, {"PTTL", key}).as<long long>();
  if (pttl == -2) {
    target.command_on_shard(0, {"DEL", tmp});
    out.vanished = true;
    return out;
  }
  const std::string at =
      pttl < 0 ? "0" : std::to_string(wall_ms() + options.target_clock_offset_ms + pttl);
  const long long moved =
      target.command_on_shard(0, {"EVAL", kFinishScript, "2", tmp, key, at}).as<long long>();
  if (moved == 0) {
    // The temporary copy expired under us (a chunk slower than temp_ttl): a transport-like
    // failure; the caller's retry starts the key again.
    throw Error(errc::timeout, "temporary copy " + tmp + " expired before it was complete");
  }
  return out;
}

}  // namespace flyshard::detail
