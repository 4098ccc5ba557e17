#include "reshard/verify.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "reshard/checkpoint.hpp"
#include "reshard/for_each_shard.hpp"

namespace flyshard::detail {
namespace {

// The read that gives a key's value in a form that does not depend on the encoding.
Args canonical_read(const std::string& key, const std::string& type) {
  if (type == "string") return {"GET", key};
  if (type == "hash") return {"HGETALL", key};
  if (type == "set") return {"SMEMBERS", key};
  if (type == "zset") return {"ZRANGE", key, 0, -1, "WITHSCORES"};
  if (type == "list") return {"LRANGE", key, 0, -1};
  return {"XRANGE", key, "-", "+"};
}

// That read's reply, in order where the type has none (hash fields, set members).
std::vector<std::string> canonical(const Reply& r, const std::string& type) {
  std::vector<std::string> v;
  if (type == "string") {
    v.push_back(r.as<std::optional<std::string>>().value_or(""));
  } else if (type == "hash") {
    for (auto& [f, x] : r.as<std::vector<std::pair<std::string, std::string>>>())
      v.push_back(f + '\0' + x);
    std::sort(v.begin(), v.end());
  } else if (type == "set") {
    v = r.as<std::vector<std::string>>();
    std::sort(v.begin(), v.end());
  } else if (type == "zset" || type == "list") {
    v = r.as<std::vector<std::string>>();
  } else {
    v.push_back(r.to_string());
  }
  return v;
}

// The canonical values of `keys` (types as given) on `node`: one pipelined round trip.
std::vector<std::vector<std::string>> canonical_values(Client& node,
                                                       const std::vector<std::string>& keys,
                                                       const std::vector<std::string>& types) {
  Pipeline p = node.pipeline();
  for (std::size_t i = 0; i < keys.size(); ++i) p.command(canonical_read(keys[i], types[i]));
  const auto r = p.execute();
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 0; i < keys.size(); ++i) out.push_back(canonical(r.at(i).value(), types[i]));
  return out;
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

// Type, TTL, size and DUMP of one key on both nodes: a difference, or nullopt. Equal but
// for the DUMP (an encoding may differ between two processes, as a hash table's order
// does): `values` is set, and the values decide.
std::optional<std::string> compare(const CopyOptions& copy, const Look& a, const Look& b,
                                   bool& values) {
  values = false;
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
  // what the chunked copy avoids).
  if (a.size >= 0 && is_big(a.type, a.size, copy)) return std::nullopt;
  values = true;
  return std::nullopt;
}

// Of `keys` (all on shard `source`), those in its dirty or in-flight set now.
std::set<std::string> dirty_among(MoveContext& ctx, const std::string& source,
                                  const std::vector<std::string>& keys) {
  Pipeline p = ctx.links.shard(source).pipeline();
  for (const auto& set : {dirty_key(ctx.migration_id), inflight_key(ctx.migration_id)})
    for (const auto& k : keys) p.command({"SISMEMBER", set, k});
  const auto r = p.execute();
  std::set<std::string> out;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (r[i].value().integer() != 0) out.insert(keys[i % keys.size()]);
  return out;
}

}  // namespace

std::vector<Mismatch> verify_keys(MoveContext& ctx, const std::string& source,
                                  const std::vector<std::string>& keys, bool skip_dirty) {
  std::map<std::string, std::vector<std::string>> by_target;
  for (const auto& k : keys)
    if (ctx.plan.moves(k) && ctx.plan.from_shard(k) == source)
      by_target[ctx.plan.to_shard(k)].push_back(k);
  std::vector<Mismatch> found;
  Client& src = ctx.links.shard(source);
  for (const auto& [target, moving] : by_target) {
    Client& dst = ctx.links.shard(target);
    const auto a = look(src, moving);
    const auto b = look(dst, moving);
    std::vector<std::string> by_value, types;
    for (std::size_t k = 0; k < moving.size(); ++k) {
      bool values = false;
      if (auto why = compare(ctx.copy, a[k], b[k], values)) {
        found.push_back({moving[k], *why});
      } else if (values) {
        by_value.push_back(moving[k]);
        types.push_back(a[k].type);
      }
    }
    if (by_value.empty()) continue;
    const auto va = canonical_values(src, by_value, types);
    const auto vb = canonical_values(dst, by_value, types);
    for (std::size_t k = 0; k < by_value.size(); ++k)
      if (va[k] != vb[k]) found.push_back({by_value[k], "values differ"});
  }
  if (!skip_dirty || found.empty()) return found;
  // Only the source changes behind the migrator, and each write adds its key to the dirty
  // set in the same step: a key that differs because it was written is in the set now.
  std::vector<std::string> differing;
  for (const auto& m : found) differing.push_back(m.key);
  const std::set<std::string> dirty = dirty_among(ctx, source, differing);
  std::erase_if(found, [&](const Mismatch& m) { return dirty.count(m.key) != 0; });
  return found;
}

std::vector<Mismatch> verify_sample(MoveContext& ctx, const std::vector<std::string>& sources,
                                    std::size_t per_source, bool skip_dirty) {
  std::vector<std::vector<Mismatch>> found(sources.size());
  for_each_shard(sources, [&](std::size_t i, const std::string& s) {
    std::vector<std::string> sample;
    std::string cursor = "0";
    do {
      const Reply page = ctx.links.run(s, {"SCAN", cursor, "COUNT", 1000});
      cursor = page.elements().at(0).str();
      for (const Reply& k : page.elements().at(1).elements()) {
        if (sample.size() >= per_source) break;
        if (ctx.plan.moves(k.str()) && ctx.plan.from_shard(k.str()) == s) sample.push_back(k.str());
      }
    } while (cursor != "0" && sample.size() < per_source);
    found[i] = verify_keys(ctx, s, sample, skip_dirty);
  });
  std::vector<Mismatch> out;
  for (auto& f : found) out.insert(out.end(), f.begin(), f.end());
  return out;
}

}  // namespace flyshard::detail
