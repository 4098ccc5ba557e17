#include "routing/scatter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "flyshard/error.hpp"
#include "io/resp.hpp"

namespace flyshard::detail {
namespace {

Distribution three_shards() {
  return Distribution::create("maglev", {{"s1"}, {"s2"}, {"s3"}});
}

std::vector<std::string> some_keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("key:" + std::to_string(i));
  keys.push_back("cart:{u42}");
  keys.push_back("orders:{u42}");
  keys.push_back("key:7");  // a duplicate keeps its own place
  keys.push_back("");
  return keys;
}

// The words of a RESP command (an array of bulk strings); fails the test if it is not one.
std::vector<std::string> parse_command(const std::string& payload) {
  ReplyReader reader;
  reader.feed(payload.data(), payload.size());
  std::optional<Reply> r = reader.next();
  std::vector<std::string> words;
  EXPECT_TRUE(r.has_value()) << "incomplete RESP: " << payload;
  if (!r) return words;
  EXPECT_FALSE(reader.next().has_value()) << "trailing bytes in payload";
  EXPECT_TRUE(r->is_array());
  for (const Reply& e : r->elements()) {
    EXPECT_TRUE(e.is_string()) << e.to_string();
    words.push_back(e.str());
  }
  return words;
}

// Every caller position appears in exactly one part, and each part holds one shard's keys.
void expect_valid_partition(const SplitPlan& plan, const std::vector<std::string>& keys,
                            const Distribution& d) {
  EXPECT_EQ(plan.key_count, keys.size());
  std::vector<int> seen(keys.size(), 0);
  std::set<std::size_t> shards;
  for (const ShardPart& part : plan.parts) {
    EXPECT_LT(part.shard, d.size());
    EXPECT_TRUE(shards.insert(part.shard).second) << "shard " << part.shard << " twice";
    EXPECT_FALSE(part.positions.empty());
    for (std::size_t pos : part.positions) {
      ASSERT_LT(pos, keys.size());
      ++seen[pos];
      EXPECT_EQ(d.shard_for(keys[pos]), part.shard) << "key " << keys[pos];
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], 1) << "position " << i << " (" << keys[i] << ")";
  }
}

Reply value_for(const std::string& key) {
  return Reply::string("v:" + key);
}

// MGET replies that answer every part correctly.
std::vector<Result<Reply>> mget_replies(const SplitPlan& plan,
                                        const std::vector<std::string>& keys) {
  std::vector<Result<Reply>> results;
  for (const ShardPart& part : plan.parts) {
    std::vector<Reply> values;
    for (std::size_t pos : part.positions) values.push_back(value_for(keys[pos]));
    results.emplace_back(Reply::array(std::move(values)));
  }
  return results;
}

// ---- split_keys / split_pairs ---------------------------------------------------------------

TEST(ScatterTest, SplitKeysPartitionsByShard) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  for (const char* name : {"MGET", "DEL", "EXISTS", "UNLINK", "TOUCH"}) {
    SCOPED_TRACE(name);
    const SplitPlan plan = split_keys(name, keys, d);
    EXPECT_EQ(plan.kind, std::string(name) == "MGET" ? MergeKind::values : MergeKind::sum);
    ASSERT_EQ(plan.parts.size(), 3u);  // 44 keys reach every shard
    expect_valid_partition(plan, keys, d);
    for (const ShardPart& part : plan.parts) {
      std::vector<std::string> expected = {name};
      for (std::size_t pos : part.positions) expected.push_back(keys[pos]);
      EXPECT_EQ(parse_command(part.payload), expected);
    }
  }
}

TEST(ScatterTest, SplitKeysKeepsTheCallersOrderWithinAPart) {
  const Distribution d = three_shards();
  const SplitPlan plan = split_keys("MGET", some_keys(), d);
  for (const ShardPart& part : plan.parts) {
    for (std::size_t k = 1; k < part.positions.size(); ++k) {
      EXPECT_LT(part.positions[k - 1], part.positions[k]);
    }
  }
}

TEST(ScatterTest, SplitKeysUpperCasesTheName) {
  const Distribution d = three_shards();
  const std::vector<std::string> keys = {"a"};
  const SplitPlan plan = split_keys("mget", keys, d);
  ASSERT_EQ(plan.parts.size(), 1u);
  EXPECT_EQ(plan.parts[0].shard, d.shard_for("a"));
  EXPECT_EQ(plan.parts[0].payload, "*2\r\n$4\r\nMGET\r\n$1\r\na\r\n");
}

TEST(ScatterTest, SplitKeysOfNoKeys) {
  const SplitPlan plan = split_keys("DEL", {}, three_shards());
  EXPECT_EQ(plan.key_count, 0u);
  EXPECT_TRUE(plan.parts.empty());
}

TEST(ScatterTest, SplitKeysRejectsOtherCommands) {
  const Distribution d = three_shards();
  for (const char* name : {"SET", "GET", "MSET", ""}) {
    try {
      (void)split_keys(name, {"a", "b"}, d);
      ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::config) << e.what();
    }
  }
}

TEST(ScatterTest, SplitPairsBuildsMsetPerShard) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    pairs.emplace_back(keys[i], "value\r\n" + std::to_string(i));
  }
  const SplitPlan plan = split_pairs(pairs, d);
  EXPECT_EQ(plan.kind, MergeKind::ok);
  ASSERT_EQ(plan.parts.size(), 3u);
  expect_valid_partition(plan, keys, d);
  for (const ShardPart& part : plan.parts) {
    std::vector<std::string> expected = {"MSET"};
    for (std::size_t pos : part.positions) {
      expected.push_back(pairs[pos].first);
      expected.push_back(pairs[pos].second);
    }
    EXPECT_EQ(parse_command(part.payload), expected);
  }
}

// ---- merge_parts ----------------------------------------------------------------------------

TEST(ScatterTest, MergeMgetRestoresTheCallersOrder) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("MGET", keys, d);
  auto results = mget_replies(plan, keys);
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_TRUE(m.ok());
  EXPECT_TRUE(m.error_message.empty());
  ASSERT_TRUE(m.reply.is_array());
  ASSERT_EQ(m.reply.elements().size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(m.reply.elements()[i], value_for(keys[i])) << i;
  }
  EXPECT_EQ(m.key_errors, std::vector<std::optional<errc>>(keys.size()));
}

TEST(ScatterTest, MergeMgetKeepsNilValues) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("MGET", keys, d);
  std::vector<Result<Reply>> results;
  for (const ShardPart& part : plan.parts) {
    std::vector<Reply> values;
    for (std::size_t pos : part.positions) {
      values.push_back(pos % 2 == 0 ? Reply::nil() : value_for(keys[pos]));
    }
    results.emplace_back(Reply::array(std::move(values)));
  }
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_TRUE(m.ok());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(m.reply.elements()[i], i % 2 == 0 ? Reply::nil() : value_for(keys[i])) << i;
  }
}

// During a migration the keys that move go alone (each fenced like a single command) and the
// others by shard as always; what the servers answer (a one-key MGET: an array of one; a
// shard's MGET: its keys' values) merges back in the caller's order.
TEST(ScatterTest, KeysThatGoAloneGetAPartEachAndTheRestGoByShard) {
  const Distribution d = three_shards();
  const Placement placement{d, {}, std::nullopt, {}};
  const auto keys = some_keys();
  std::vector<bool> alone(keys.size(), false);
  for (std::size_t i = 0; i < keys.size(); i += 3) alone[i] = true;
  const SplitPlan plan = split_keys("mget", keys, placement, alone);
  std::vector<int> seen(keys.size(), 0);
  std::size_t alone_parts = 0;
  std::vector<Result<Reply>> results;
  for (const ShardPart& part : plan.parts) {
    std::vector<Reply> values;
    if (!part.words.empty()) {
      ++alone_parts;
      ASSERT_EQ(part.positions.size(), 1u);
      EXPECT_TRUE(alone[part.positions[0]]);
      EXPECT_EQ(part.words, (std::vector<std::string>{"MGET", keys[part.positions[0]]}));
      EXPECT_TRUE(part.payload.empty());
    } else {
      std::vector<std::string> expect{"MGET"};
      for (std::size_t pos : part.positions) {
        EXPECT_FALSE(alone[pos]) << pos;
        EXPECT_EQ(d.shard_for(keys[pos]), part.shard) << pos;
        expect.push_back(keys[pos]);
      }
      EXPECT_EQ(parse_command(part.payload), expect);
    }
    for (std::size_t pos : part.positions) {
      ++seen[pos];
      values.push_back(value_for(keys[pos]));
    }
    results.emplace_back(Reply::array(std::move(values)));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_EQ(alone_parts, static_cast<std::size_t>(std::count(alone.begin(), alone.end(), true)));
  EXPECT_EQ(plan.parts.size(), alone_parts + 3) << "the others in one part per shard";
  const MultiKeyReply m = merge_parts(plan, results);
  ASSERT_TRUE(m.ok()) << m.error_message;
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(m.reply.elements()[i], value_for(keys[i]));

  // Every key alone (strict fencing, an expired lease): one part per key, no shard payloads.
  const SplitPlan all = split_keys("DEL", keys, placement, std::vector<bool>(keys.size(), true));
  ASSERT_EQ(all.parts.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(all.parts[i].words, (std::vector<std::string>{"DEL", keys[i]}));
}

TEST(ScatterTest, MsetKeysThatGoAloneBecomeSets) {
  const Distribution d = three_shards();
  const Placement placement{d, {}, std::nullopt, {}};
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 12; ++i) pairs.emplace_back("k" + std::to_string(i), "v" + std::to_string(i));
  std::vector<bool> alone(pairs.size(), false);
  alone[2] = alone[5] = true;
  const SplitPlan plan = split_pairs(pairs, placement, alone);
  std::size_t sets = 0, keys_by_shard = 0;
  for (const ShardPart& part : plan.parts) {
    if (!part.words.empty()) {
      const auto& [k, v] = pairs[part.positions.at(0)];
      EXPECT_EQ(part.words, (std::vector<std::string>{"SET", k, v}));
      ++sets;
      continue;
    }
    const auto words = parse_command(part.payload);
    ASSERT_FALSE(words.empty());
    EXPECT_EQ(words[0], "MSET");
    keys_by_shard += part.positions.size();
  }
  EXPECT_EQ(sets, 2u);
  EXPECT_EQ(keys_by_shard, pairs.size() - 2);
}

TEST(ScatterTest, MergeDelSums) {
  const Distribution d = three_shards();
  const SplitPlan plan = split_keys("DEL", some_keys(), d);
  ASSERT_EQ(plan.parts.size(), 3u);
  std::vector<Result<Reply>> results;
  results.emplace_back(Reply::integer(3));
  results.emplace_back(Reply::integer(0));
  results.emplace_back(Reply::integer(11));
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.reply, Reply::integer(14));
  EXPECT_EQ(m.key_errors, std::vector<std::optional<errc>>(plan.key_count));
}

TEST(ScatterTest, MergeMsetIsOk) {
  const Distribution d = three_shards();
  const SplitPlan plan = split_pairs({{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, d);
  std::vector<Result<Reply>> results;
  for (std::size_t p = 0; p < plan.parts.size(); ++p) results.emplace_back(Reply::status("OK"));
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.reply, Reply::status("OK"));
  EXPECT_EQ(m.key_errors.size(), 4u);
}

TEST(ScatterTest, MergeMgetWithOneFailedPart) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("MGET", keys, d);
  ASSERT_EQ(plan.parts.size(), 3u);
  auto results = mget_replies(plan, keys);
  const std::size_t failed = 1;
  results[failed] = Result<Reply>(errc::timeout, "x");
  const MultiKeyReply m = merge_parts(plan, results);

  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.error_message, "x");
  std::vector<bool> in_failed(keys.size(), false);
  for (std::size_t pos : plan.parts[failed].positions) in_failed[pos] = true;
  ASSERT_EQ(m.reply.elements().size(), keys.size());
  ASSERT_EQ(m.key_errors.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (in_failed[i]) {
      EXPECT_EQ(m.key_errors[i], std::optional<errc>(errc::timeout)) << i;
      EXPECT_TRUE(m.reply.elements()[i].is_nil()) << i;
    } else {
      EXPECT_EQ(m.key_errors[i], std::nullopt) << i;
      EXPECT_EQ(m.reply.elements()[i], value_for(keys[i])) << i;
    }
  }
}

TEST(ScatterTest, MergeDelWithOneFailedPartSumsTheOthers) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("DEL", keys, d);
  ASSERT_EQ(plan.parts.size(), 3u);
  std::vector<Result<Reply>> results;
  results.emplace_back(Reply::integer(2));
  results.emplace_back(Reply::integer(5));
  results.emplace_back(errc::connection_lost, "gone");
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.error_message, "gone");
  EXPECT_EQ(m.reply, Reply::integer(7));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const bool failed = d.shard_for(keys[i]) == plan.parts[2].shard;
    EXPECT_EQ(m.key_errors[i], failed ? std::optional<errc>(errc::connection_lost) : std::nullopt)
        << i;
  }
}

TEST(ScatterTest, FirstFailureMessageWins) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("EXISTS", keys, d);
  ASSERT_EQ(plan.parts.size(), 3u);
  std::vector<Result<Reply>> results;
  results.emplace_back(Reply::integer(1));
  results.emplace_back(errc::timeout, "first");
  results.emplace_back(errc::overloaded, "second");
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_EQ(m.error_message, "first");
  EXPECT_EQ(m.reply, Reply::integer(1));
  for (std::size_t pos : plan.parts[2].positions) {
    EXPECT_EQ(m.key_errors[pos], std::optional<errc>(errc::overloaded));
  }
}

TEST(ScatterTest, MgetPartWithWrongElementCountIsAProtocolError) {
  const Distribution d = three_shards();
  const auto keys = some_keys();
  const SplitPlan plan = split_keys("MGET", keys, d);
  ASSERT_EQ(plan.parts.size(), 3u);
  auto results = mget_replies(plan, keys);
  results[0].value().elements().pop_back();       // one value short
  results[2] = Result<Reply>(Reply::integer(3));  // not an array at all
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_FALSE(m.ok());
  EXPECT_FALSE(m.error_message.empty());
  ASSERT_EQ(m.reply.elements().size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::size_t shard = d.shard_for(keys[i]);
    if (shard == plan.parts[1].shard) {
      EXPECT_EQ(m.key_errors[i], std::nullopt) << i;
      EXPECT_EQ(m.reply.elements()[i], value_for(keys[i])) << i;
    } else {
      EXPECT_EQ(m.key_errors[i], std::optional<errc>(errc::protocol_error)) << i;
      EXPECT_TRUE(m.reply.elements()[i].is_nil()) << i;
    }
  }
}

TEST(ScatterTest, MergeOfNoParts) {
  const SplitPlan plan = split_keys("MGET", {}, three_shards());
  std::vector<Result<Reply>> results;
  const MultiKeyReply m = merge_parts(plan, results);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.reply, Reply::array({}));
  EXPECT_TRUE(m.key_errors.empty());
}

}  // namespace
}  // namespace flyshard::detail
