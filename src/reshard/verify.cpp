#include "reshard/verify.hpp"

#include <algorithm>
#include <cstdlib>

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

std::optional<std::string> compare(MoveContext& ctx, Client& src, Client& dst,
                                   const std::string& key) {
  auto look = [&](Client& c) {
    Pipeline p = c.pipeline();
    p.command({"TYPE", key});
    p.command({"PTTL", key});
    auto r = p.execute();
    return std::make_pair(r.at(0).value().str(), r.at(1).value().integer());
  };
  const auto [stype, sttl] = look(src);
  const auto [dtype, dttl] = look(dst);
  if (stype != dtype) return "type " + stype + " on the source, " + dtype + " on the target";
  if (stype == "none") return std::nullopt;
  if ((sttl < 0) != (dttl < 0) || std::llabs(sttl - dttl) > 1000)
    return "TTL " + std::to_string(sttl) + " ms on the source, " + std::to_string(dttl) +
           " ms on the target";
  if (const char* size = size_command(stype)) {
    const long long n = src.command_on_shard(0, {size, key}).as<long long>();
    const long long m = dst.command_on_shard(0, {size, key}).as<long long>();
    if (n != m)
      return "size " + std::to_string(n) + " on the source, " + std::to_string(m) +
             " on the target";
    if (is_big(stype, n, ctx.copy)) return std::nullopt;
  }
  const Reply a = src.command_on_shard(0, {"DUMP", key});
  const Reply b = dst.command_on_shard(0, {"DUMP", key});
  if (a == b) return std::nullopt;
  if (canonical(src, key, stype) != canonical(dst, key, stype)) return "values differ";
  return std::nullopt;
}

}  // namespace

std::vector<Mismatch> verify_sample(MoveContext& ctx, const std::vector<std::string>& sources,
                                    std::size_t per_source) {
  std::vector<Mismatch> out;
  for (const std::string& s : sources) {
    std::size_t checked = 0;
    std::string cursor = "0";
    do {
      const Reply page = ctx.links.run(s, {"SCAN", cursor, "COUNT", 1000});
      cursor = page.elements().at(0).str();
      for (const Reply& k : page.elements().at(1).elements()) {
        const std::string& key = k.str();
        if (checked >= per_source) break;
        if (!ctx.plan.moves(key) || ctx.plan.from_shard(key) != s) continue;
        ++checked;
        if (auto why =
                compare(ctx, ctx.links.shard(s), ctx.links.shard(ctx.plan.to_shard(key)), key))
          out.push_back({key, *why});
      }
    } while (cursor != "0" && checked < per_source);
  }
  return out;
}

}  // namespace flyshard::detail
