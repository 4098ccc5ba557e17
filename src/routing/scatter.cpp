#include "routing/scatter.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Groups key indexes by shard, shards in order of first appearance; a key marked in `alone`
// gets a part of its own, its command from alone_words(i).
template <typename KeyAt, typename AloneWords>
std::vector<ShardPart> group(std::size_t n, KeyAt key_at, const Placement& d,
                             const std::vector<bool>& alone, AloneWords alone_words) {
  std::vector<ShardPart> parts;
  const std::size_t shards = d.distribution.size();
  std::vector<std::size_t> part_of_shard(shards, static_cast<std::size_t>(-1));
  for (std::size_t i = 0; i < n; ++i) {
    if (!alone.empty() && alone[i]) {
      parts.push_back(ShardPart{0, {i}, {}, alone_words(i)});
      continue;
    }
    std::size_t s = d.shard_for(key_at(i));
    if (part_of_shard[s] == static_cast<std::size_t>(-1)) {
      part_of_shard[s] = parts.size();
      parts.push_back(ShardPart{s, {}, {}, {}});
    }
    parts[part_of_shard[s]].positions.push_back(i);
  }
  return parts;
}

}  // namespace

SplitPlan split_keys(std::string_view name, const std::vector<std::string>& keys,
                     const Distribution& distribution) {
  return split_keys(name, keys, Placement{distribution, {}, std::nullopt, {}});
}

SplitPlan split_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                      const Distribution& distribution) {
  return split_pairs(pairs, Placement{distribution, {}, std::nullopt, {}});
}

namespace {

MergeKind kind_of(const std::string& cmd) {
  if (cmd == "MGET") return MergeKind::values;
  if (cmd == "DEL" || cmd == "EXISTS" || cmd == "UNLINK" || cmd == "TOUCH") return MergeKind::sum;
  throw Error(errc::config,
              "cannot split " + cmd + " over shards (supported: MGET, DEL, EXISTS, UNLINK, TOUCH)");
}

}  // namespace

SplitPlan split_keys(std::string_view name, const std::vector<std::string>& keys,
                     const Placement& distribution, const std::vector<bool>& alone) {
  SplitPlan plan;
  const std::string cmd = upper(name);
  plan.kind = kind_of(cmd);
  plan.key_count = keys.size();
  // MGET stays MGET when alone: a one-key MGET answers an array of one, the shape merge_parts
  // expects (a GET's bulk string is not).
  plan.parts = group(
      keys.size(), [&](std::size_t i) -> std::string_view { return keys[i]; }, distribution, alone,
      [&](std::size_t i) {
        return std::vector<std::string>{cmd, keys[i]};
      });
  std::vector<std::string_view> words;
  for (auto& part : plan.parts) {
    if (!part.words.empty()) continue;
    words.clear();
    words.push_back(cmd);
    for (std::size_t i : part.positions) words.push_back(keys[i]);
    append_command(part.payload, words);
  }
  return plan;
}

SplitPlan split_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                      const Placement& distribution, const std::vector<bool>& alone) {
  SplitPlan plan;
  plan.kind = MergeKind::ok;
  plan.key_count = pairs.size();
  plan.parts = group(
      pairs.size(), [&](std::size_t i) -> std::string_view { return pairs[i].first; }, distribution,
      alone,
      [&](std::size_t i) {
        return std::vector<std::string>{"SET", pairs[i].first, pairs[i].second};
      });
  std::vector<std::string_view> words;
  for (auto& part : plan.parts) {
    if (!part.words.empty()) continue;
    words.clear();
    words.push_back("MSET");
    for (std::size_t i : part.positions) {
      words.push_back(pairs[i].first);
      words.push_back(pairs[i].second);
    }
    append_command(part.payload, words);
  }
  return plan;
}

MultiKeyReply merge_parts(const SplitPlan& plan, std::vector<Result<Reply>>& results) {
  MultiKeyReply out;
  out.key_errors.assign(plan.key_count, std::nullopt);
  std::vector<Reply> values;
  if (plan.kind == MergeKind::values) values.resize(plan.key_count);
  long long sum = 0;
  for (std::size_t p = 0; p < plan.parts.size(); ++p) {
    const ShardPart& part = plan.parts[p];
    Result<Reply>& r = results[p];
    if (r.ok() && plan.kind == MergeKind::values &&
        (!r.value().is_array() || r.value().elements().size() != part.positions.size())) {
      r = Result<Reply>(errc::protocol_error, "MGET reply does not match its keys");
    }
    if (!r.ok()) {
      if (out.error_message.empty()) out.error_message = r.message();
      for (std::size_t i : part.positions) out.key_errors[i] = r.error();
      continue;
    }
    switch (plan.kind) {
      case MergeKind::values: {
        auto& elems = r.value().elements();
        for (std::size_t k = 0; k < part.positions.size(); ++k) {
          values[part.positions[k]] = std::move(elems[k]);
        }
        break;
      }
      case MergeKind::sum:
        sum += r.value().integer();
        break;
      case MergeKind::ok:
        break;
    }
  }
  switch (plan.kind) {
    case MergeKind::values:
      out.reply = Reply::array(std::move(values));
      break;
    case MergeKind::sum:
      out.reply = Reply::integer(sum);
      break;
    case MergeKind::ok:
      out.reply = Reply::status("OK");
      break;
  }
  return out;
}

}  // namespace flyshard::detail
