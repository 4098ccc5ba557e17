#include "reshard/verify.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "reshard/for_each_shard.hpp"

namespace flyshard::detail {
namespace {

// The value in a form that does not depend on the encoding.
std::vector<std::string> canonical(Client& node, const std::string& key, const std::string& type) {
  std::vector<std::string> v;
  if (type == "string") {
    v.push_back(
        node.command_on_shard(0, {"GET", key}).as<std::optional<std::string>>().value_or(""));
  } else if (type == "hash") {
    for (auto& [f, x] : node.command_on_shard(0, {"HGETALL", key})
                            .as<std::vector<std::pair<std::string, std::string>>>())
      v.push_back(f + '\0' + x);
    std::sort(v.begin(), v.end());
  } else if (type == "set") {
    v = node.command_on_shard(0, {"SMEMBERS", key}).as<std::vector<std::string>>();
    std::sort(v.begin(), v.end());
  } else if (type == "zset") {
    v = node.command_on_shard(0, {"ZRANGE", key, 0, -1, "WITHSCORES"})
            .as<std::vector<std::string>>();
  } else if (type == "list") {
    v = node.command_on_shard(0, {"LRANGE", key, 0, -1}).as<std::vector<std::string>>();
  } else {
    v.push_back(node.command_on_shard(0, {"XRANGE", key, "-", "+"}).to_string());
  }
  return v;
}

// What one node says about a key: type, TTL, size (collections and strings), DUMP.
struct Look {
  std::string type;
  long long pttl = -2;
  long long size = -1;
  Reply dump;
};

// Three pipelined round trips per node for the whole sample, however large: the cutover
// pause counts every one of them.
std::vector<Look> look(Client& node, const std::vector<std::string>& keys) {
  std::vector<Look> out(keys.size());
  Pipeline p = node.pipeline();
  for (const auto& k : keys) {
    p.command({"TYPE", k});
    p.command({"PTTL", k});
  }
  auto r = p.execute();
  std::vector<std::size_t> sized;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out[i].type = r.at(2 * i).value().str();
    out[i].pttl = r.at(2 * i + 1).value().integer();
    if (const char* size = size_command(out[i].type)) {
      p.command({size, keys[i]});
      sized.push_back(i);
    }
  }
  r = p.execute();
  for (std::size_t j = 0; j < sized.size(); ++j) out[sized[j]].size = r.at(j).value().integer();
  for (const auto& k : keys) p.command({"DUMP", k});
  r = p.execute();
  for (std::size_t i = 0; i < keys.size(); ++i) out[i].dump = r.at(i).value();
  return out;
}

std::optional<std::string> compare(const CopyOptions& copy, Client& src, Client& dst,
                                   const std::string& key, const Look& a, const Look& b) {
  if (a.type != b.type) return "type " + a.type + " on the source, " + b.type + " on the target";
  if (a.type == "none") return std::nullopt;
  if ((a.pttl < 0) != (b.pttl < 0) || std::llabs(a.pttl - b.pttl) > 1000)
    return "TTL " + std::to_string(a.pttl) + " ms on the source, " + std::to_string(b.pttl) +
           " ms on the target";
  if (a.size != b.size)
    return "size " + std::to_string(a.size) + " on the source, " + std::to_string(b.size) +
           " on the target";
  if (a.dump == b.dump) return std::nullopt;
  // Big keys were rebuilt element by element: their size is the check (DUMPing one whole is
  // what the chunked copy avoids). Others may differ in encoding only.
  if (a.size >= 0 && is_big(a.type, a.size, copy)) return std::nullopt;
  if (canonical(src, key, a.type) != canonical(dst, key, a.type)) return "values differ";
  return std::nullopt;
}

}  // namespace

std::vector<Mismatch> verify_sample(MoveContext& ctx, const std::vector<std::string>& sources,
                                    std::size_t per_source) {
  std::vector<std::vector<Mismatch>> found(sources.size());
  for_each_shard(sources, [&](std::size_t i, const std::string& s) {
    std::map<std::string, std::vector<std::string>> by_target;
    std::size_t taken = 0;
    std::string cursor = "0";
    do {
      const Reply page = ctx.links.run(s, {"SCAN", cursor, "COUNT", 1000});
      cursor = page.elements().at(0).str();
      for (const Reply& k : page.elements().at(1).elements()) {
        if (taken >= per_source) break;
        if (!ctx.plan.moves(k.str()) || ctx.plan.from_shard(k.str()) != s) continue;
        by_target[ctx.plan.to_shard(k.str())].push_back(k.str());
        ++taken;
      }
    } while (cursor != "0" && taken < per_source);
    Client& src = ctx.links.shard(s);
    for (const auto& [target, keys] : by_target) {
      Client& dst = ctx.links.shard(target);
      const auto a = look(src, keys);
      const auto b = look(dst, keys);
      for (std::size_t k = 0; k < keys.size(); ++k)
        if (auto why = compare(ctx.copy, src, dst, keys[k], a[k], b[k]))
          found[i].push_back({keys[k], *why});
    }
  });
  std::vector<Mismatch> out;
  for (auto& f : found) out.insert(out.end(), f.begin(), f.end());
  return out;
}

}  // namespace flyshard::detail
