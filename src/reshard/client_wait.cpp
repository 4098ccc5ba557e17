#include "reshard/client_wait.hpp"

#include <thread>

#include "reshard/for_each_shard.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

namespace {

// The registrations of the registry's ids (KEYS[2..], ids in ARGV), as id, epoch pairs; an id
// whose registration expired leaves the registry in the same step (a client re-registering
// SETs before it SADDs, so it is never dropped while its registration exists). Every key is
// declared (Dragonfly runs scripts with declared keys only).
constexpr const char* kRegisteredScript = R"lua(
local out = {}
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    out[#out + 1] = ARGV[i - 1]
    out[#out + 1] = v
  else
    redis.call('SREM', KEYS[1], ARGV[i - 1])
  end
end
return out
)lua";

// Two round trips whatever the keyspace holds (this runs inside the cutover pause): the
// registry's members, then their registrations.
std::vector<Laggard> behind_on(ShardLinks& links, const std::string& s, std::uint64_t epoch) {
  std::vector<Laggard> out;
  const auto ids = links.run(s, {"SMEMBERS", kClientRegistryKey}).as<std::vector<std::string>>();
  if (ids.empty()) return out;
  std::vector<std::string> words{"EVAL", kRegisteredScript, std::to_string(ids.size() + 1),
                                 std::string(kClientRegistryKey)};
  for (const auto& id : ids) words.push_back(std::string(kClientKeyPrefix) + id);
  words.insert(words.end(), ids.begin(), ids.end());
  const auto pairs = links.run(s, Args(words)).as<std::vector<std::string>>();
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
    std::uint64_t e = 0;
    try {
      e = std::stoull(pairs[i + 1]);
    } catch (const std::exception&) {
    }
    if (e < epoch) out.push_back({std::string(kClientKeyPrefix) + pairs[i], s, pairs[i + 1]});
  }
  return out;
}

}  // namespace

std::vector<Laggard> clients_behind(ShardLinks& links, const std::vector<std::string>& shards,
                                    std::uint64_t epoch) {
  std::vector<std::vector<Laggard>> found(shards.size());
  for_each_shard(
      shards, [&](std::size_t i, const std::string& s) { found[i] = behind_on(links, s, epoch); });
  std::vector<Laggard> out;
  for (auto& f : found) out.insert(out.end(), f.begin(), f.end());
  return out;
}

std::vector<Laggard> wait_for_clients(ShardLinks& links, const std::vector<std::string>& shards,
                                      std::uint64_t epoch, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  for (;;) {
    auto behind = clients_behind(links, shards, epoch);
    if (behind.empty() || std::chrono::steady_clock::now() >= until) return behind;
    // Short: clients register an epoch as soon as they read it, and the cutover's pause
    // lasts until they all have.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace flyshard::detail
