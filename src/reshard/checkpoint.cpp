#include "reshard/checkpoint.hpp"

#include <map>

#include "reshard/topology_record.hpp"

namespace flyshard::detail {

std::string progress_key(const std::string& id) {
  return "flyshard:migration:" + id;
}
std::string inflight_key(const std::string& id) {
  return progress_key(id) + ":inflight";
}
std::string wait_key(const std::string& id) {
  return progress_key(id) + ":wait";
}
std::string dirty_key(const std::string& id) {
  return std::string(kDirtyKeyPrefix) + id;
}

PassState load_pass(ShardLinks& links, const std::string& shard, const std::string& id,
                    const std::string& name) {
  const auto fields =
      links.run(shard, {"HGETALL", progress_key(id)}).as<std::map<std::string, std::string>>();
  PassState s;
  auto get = [&](const char* f) -> std::string {
    auto it = fields.find(name + ":" + f);
    return it == fields.end() ? std::string() : it->second;
  };
  auto num = [&](const char* f) -> std::uint64_t {
    const std::string v = get(f);
    return v.empty() ? 0 : std::stoull(v);
  };
  if (const std::string c = get("cursor"); !c.empty()) s.cursor = c;
  s.run_id = get("run_id");
  s.done = get("done") == "1";
  s.scanned = num("scanned");
  s.keys = num("keys");
  s.bytes = num("bytes");
  return s;
}

void save_pass(ShardLinks& links, const std::string& shard, const std::string& id,
               const std::string& name, const PassState& s) {
  links.run(shard,
            {"HSET", progress_key(id), name + ":cursor", s.cursor, name + ":run_id", s.run_id,
             name + ":done", s.done ? "1" : "0", name + ":scanned", std::to_string(s.scanned),
             name + ":keys", std::to_string(s.keys), name + ":bytes", std::to_string(s.bytes)});
}

std::string node_run_id(ShardLinks& links, const std::string& shard) {
  const std::string info = links.run(shard, {"INFO", "server"}).str();
  const std::string tag = "run_id:";
  const auto at = info.find(tag);
  if (at == std::string::npos) return "";
  const auto end = info.find_first_of("\r\n", at);
  return info.substr(at + tag.size(), end == std::string::npos ? end : end - at - tag.size());
}

}  // namespace flyshard::detail
