#include "reshard/record_cas.hpp"

#include <algorithm>

#include "reshard/migration_error.hpp"

namespace flyshard::detail {

// HSET with several pairs needs Redis 4 / any Dragonfly; unpack() of ~16 values is far below
// Lua's stack limit.
const std::string_view kRecordCasScript = R"lua(
local stored = redis.call('HGET', KEYS[1], 'epoch') or '0'
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  return redis.call('HGET', KEYS[1], 'epoch')
end
return stored
)lua";

std::optional<TopologyRecord> StoredRecords::newest() const {
  std::optional<TopologyRecord> best;
  for (const auto& [name, r] : by_shard)
    if (r && (!best || r->epoch > best->epoch)) best = r;
  return best;
}

bool StoredRecords::converged() const {
  if (!errors.empty()) return false;
  const auto best = newest();
  for (const auto& [name, r] : by_shard) {
    if (!best && r) return false;
    if (best && (!r || r->epoch != best->epoch)) return false;
  }
  return true;
}

StoredRecords read_records(ShardLinks& links, const std::vector<std::string>& shards,
                           const Topology& local) {
  StoredRecords out;
  for (const std::string& s : shards) {
    try {
      auto fields = links.run(s, {"HGETALL", kRecordKey})
                        .as<std::vector<std::pair<std::string, std::string>>>();
      if (fields.empty()) {
        out.by_shard[s] = std::nullopt;
      } else {
        out.by_shard[s] = TopologyRecord::from_fields(fields, local);
      }
    } catch (const Error& e) {
      out.errors[s] = std::string("shard ") + s + ": " + e.what();
    }
  }
  return out;
}

std::uint64_t cas_record(ShardLinks& links, const std::string& shard, std::uint64_t expected,
                         const TopologyRecord& next) {
  std::vector<std::string> words{"EVAL", std::string(kRecordCasScript), "1",
                                 std::string(kRecordKey), std::to_string(expected)};
  for (auto& [f, v] : next.to_fields()) {
    words.push_back(f);
    words.push_back(v);
  }
  const Reply r = links.run(shard, Args(words));
  return static_cast<std::uint64_t>(r.as<long long>());
}

void write_round(ShardLinks& links, const std::vector<std::string>& shards, std::uint64_t expected,
                 const TopologyRecord& next) {
  for (const std::string& s : shards) {
    const std::uint64_t stored = cas_record(links, s, expected, next);
    if (stored != next.epoch) {
      throw MigrationRefused("the topology record on shard " + s + " is at epoch " +
                             std::to_string(stored) + ", expected " + std::to_string(expected) +
                             ": another migrator or `flyshard init` changed it");
    }
  }
  for (const std::string& s : shards) {
    try {
      links.run(s, {"PUBLISH", kRecordChannel, std::to_string(next.epoch)});
    } catch (const Error&) {
      // A hint only: clients poll the record too.
    }
  }
}

void converge(ShardLinks& links, const std::vector<std::string>& shards, const StoredRecords& now,
              const TopologyRecord& newest) {
  for (const std::string& s : shards) {
    auto it = now.by_shard.find(s);
    const std::uint64_t have = it != now.by_shard.end() && it->second ? it->second->epoch : 0;
    if (have == newest.epoch) continue;
    write_round(links, {s}, have, newest);
  }
}

std::vector<std::string> record_shards(const TopologyRecord& r) {
  std::vector<std::string> names;
  auto add = [&](const Topology& t) {
    for (const auto& s : t.shards)
      if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  };
  add(r.layout);
  if (r.target) add(*r.target);
  if (r.previous) add(*r.previous);
  return names;
}

}  // namespace flyshard::detail
