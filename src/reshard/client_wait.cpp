#include "reshard/client_wait.hpp"

#include <thread>

#include "reshard/for_each_shard.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

namespace {

// The registrations are found by SCAN MATCH, which walks the whole keyspace: large pages keep
// the round trips few (this runs inside the cutover pause).
std::vector<Laggard> behind_on(ShardLinks& links, const std::string& s, std::uint64_t epoch) {
  std::vector<Laggard> out;
  const std::string match = std::string(kClientKeyPrefix) + "*";
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    const Reply page = links.run(s, {"SCAN", cursor, "MATCH", match, "COUNT", 10000});
    cursor = page.elements().at(0).str();
    for (const Reply& k : page.elements().at(1).elements()) keys.push_back(k.str());
  } while (cursor != "0");
  if (keys.empty()) return out;
  Pipeline p = links.shard(s).pipeline();
  for (const auto& k : keys) p.command({"GET", k});
  const auto values = p.execute();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!values[i].ok() || values[i]->is_nil()) continue;  // expired meanwhile, or not ours
    const std::string& v = values[i]->str();
    std::uint64_t e = 0;
    try {
      e = std::stoull(v);
    } catch (const std::exception&) {
    }
    if (e < epoch) out.push_back({keys[i], s, v});
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
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace flyshard::detail
