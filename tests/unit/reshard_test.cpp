// Online resharding, the parts a client computes without a network: which keys move between
// two layouts, which of several records read from the primaries wins, and the guard script's
// call words.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flyshard/error.hpp"
#include "reshard/guard_script.hpp"
#include "reshard/layout_pair.hpp"
#include "reshard/record_reader.hpp"

namespace flyshard::detail {
namespace {

Topology layout(std::vector<std::string> names, std::string algorithm = "ketama") {
  Topology t;
  t.distribution = algorithm;
  int port = 7001;
  for (auto& n : names) {
    ShardSpec s;
    s.name = n;
    s.primary = NodeAddress{"127.0.0.1", static_cast<std::uint16_t>(port++)};
    t.shards.push_back(s);
  }
  return t;
}

TEST(LayoutPairTest, NoTargetNothingMoves) {
  LayoutPair p(layout({"s1", "s2", "s3"}), nullptr);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(p.moves("k" + std::to_string(i)));
}

TEST(LayoutPairTest, AddedShardTakesOnlyItsShare) {
  const Topology a = layout({"s1", "s2", "s3"});
  const Topology b = layout({"s1", "s2", "s3", "s4"});
  LayoutPair p(a, &b);
  const Distribution da = a.make_distribution(), db = b.make_distribution();
  int moving = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string k = "key:" + std::to_string(i);
    const bool expect = b.shards[db.shard_for(k)].name != a.shards[da.shard_for(k)].name;
    EXPECT_EQ(p.moves(k), expect) << k;
    if (p.moves(k)) {
      ++moving;
      EXPECT_EQ(b.shards[p.target_shard_for(k)].name, "s4")
          << "ketama moves keys only to the new shard";
    }
  }
  // About a quarter: bounds wide enough for ketama's spread, tight enough to catch "all" or "none".
  EXPECT_GT(moving, 20000 / 8);
  EXPECT_LT(moving, 20000 / 2);
}

TEST(LayoutPairTest, ReorderedTargetMovesNothing) {
  // Same shards, another order in the file: the distribution places by name, so no key moves
  // even though the indexes differ.
  const Topology a = layout({"s1", "s2", "s3"}, "maglev");
  Topology b = layout({"s3", "s1", "s2"}, "maglev");
  LayoutPair p(a, &b);
  for (int i = 0; i < 5000; ++i) EXPECT_FALSE(p.moves("k" + std::to_string(i)));
}

TEST(LayoutPairTest, RemovedShardKeysAllMoveAndHashTagsMoveTogether) {
  const Topology a = layout({"s1", "s2", "s3"});
  const Topology b = layout({"s1", "s2"});
  LayoutPair p(a, &b);
  for (int i = 0; i < 5000; ++i) {
    const std::string tag = "{u" + std::to_string(i) + "}";
    const bool on_s3 = a.shards[p.shard_for("cart:" + tag)].name == "s3";
    EXPECT_EQ(p.moves("cart:" + tag), on_s3);
    EXPECT_EQ(p.moves("orders:" + tag), p.moves("cart:" + tag));
    EXPECT_EQ(p.target_shard_for("orders:" + tag), p.target_shard_for("cart:" + tag));
  }
}

Reply hash_reply(const TopologyRecord& r) {
  std::vector<Reply> e;
  for (auto& [k, v] : r.to_fields()) {
    e.push_back(Reply::string(k));
    e.push_back(Reply::string(v));
  }
  return Reply::array(std::move(e));
}

TEST(RecordReaderTest, EmptyHashIsNoRecord) {
  EXPECT_FALSE(record_from_reply(Reply::array({}), layout({"s1"})).has_value());
}

TEST(RecordReaderTest, RoundTripsAMigrationRecord) {
  const Topology a = layout({"s1", "s2"});
  TopologyRecord r;
  r.epoch = 7;
  r.layout = a;
  r.target = layout({"s1", "s2", "s3"});
  r.state = MigrationState::copying;
  r.migration_id = "m1";
  r.fencing = Fencing::strict;
  r.lease_ms = 1234;
  auto back = record_from_reply(hash_reply(r), a);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->epoch, 7u);
  EXPECT_EQ(back->state, MigrationState::copying);
  EXPECT_EQ(back->fencing, Fencing::strict);
  EXPECT_EQ(back->lease_ms, 1234u);
  ASSERT_TRUE(back->target.has_value());
  EXPECT_EQ(back->target->shards.size(), 3u);
}

TEST(RecordReaderTest, OddArrayAndErrorsAreRefused) {
  try {
    record_from_reply(Reply::array({Reply::string("epoch")}), layout({"s1"}));
    FAIL() << "not thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::protocol_error);
  }
  try {
    record_from_reply(Reply::error("WRONGTYPE Operation against a key"), layout({"s1"}));
    FAIL() << "not thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::server_error);
  }
}

TEST(RecordReaderTest, HighestEpochWinsWhateverItsPlace) {
  std::vector<std::optional<TopologyRecord>> read(4);
  EXPECT_EQ(newest_record(read), nullptr);
  read[0].emplace();
  read[0]->epoch = 3;
  read[2].emplace();
  read[2]->epoch = 5;
  read[3].emplace();
  read[3]->epoch = 4;
  ASSERT_NE(newest_record(read), nullptr);
  EXPECT_EQ(newest_record(read)->epoch, 5u);
  EXPECT_EQ(newest_record(read), &*read[2]);
}

TEST(GuardScriptTest, WordsPutMovingKeysFirstAndTheCommandLast) {
  const std::vector<std::string_view> cmd{"SET", "a", "1"};
  const std::vector<std::string_view> moving{"a"};
  GuardCall call;
  call.epoch = 12;
  call.fencing = Fencing::strict;
  call.dirty_key = "flyshard:dirty:m1";
  call.moving = moving;
  std::vector<std::string> scratch;
  const auto w = guard_words(cmd, call, false, scratch);
  const std::vector<std::string_view> want{"EVALSHA",
                                           guard_script_sha1(),
                                           "3",
                                           "flyshard:topology",
                                           "flyshard:dirty:m1",
                                           "a",
                                           "12",
                                           "strict",
                                           "1",
                                           "SET",
                                           "a",
                                           "1"};
  EXPECT_EQ(w, want);
  EXPECT_EQ(guard_script_sha1().size(), 40u);
  const auto e = guard_words(cmd, call, true, scratch);
  EXPECT_EQ(e[0], "EVAL");
  EXPECT_EQ(e[1], guard_script_source());
}

TEST(GuardScriptTest, StaleEpochParsed) {
  EXPECT_EQ(stale_epoch("FLYSHARDSTALE 9"), std::optional<std::uint64_t>(9));
  EXPECT_EQ(stale_epoch("FLYSHARDSTALE x"), std::nullopt);
  EXPECT_EQ(stale_epoch("ERR other"), std::nullopt);
  EXPECT_TRUE(is_noscript("NOSCRIPT No matching script. Please use EVAL."));
}

TEST(RecordedWriteTest, CheckMultiTheCommandSaddExecAsOnePayload) {
  const std::vector<std::string_view> cmd{"EVALSHA", "abc", "1", "{t}a"};
  const std::vector<std::string_view> moving{"{t}a"};
  const RecordCheck check{7, "flyshard:fence:c1"};
  std::string checked;
  append_record_check(checked, check);
  // WATCH the record and the fence, then the check script's EVAL on both with the epoch.
  EXPECT_TRUE(
      checked.starts_with("*3\r\n$5\r\nWATCH\r\n$17\r\nflyshard:topology\r\n"
                          "$17\r\nflyshard:fence:c1\r\n*6\r\n$4\r\nEVAL\r\n"))
      << checked;
  EXPECT_TRUE(
      checked.ends_with("$1\r\n2\r\n$17\r\nflyshard:topology\r\n"
                        "$17\r\nflyshard:fence:c1\r\n$1\r\n7\r\n"))
      << checked;
  std::string dirty;
  std::string payload;
  {
    const std::string key = "flyshard:dirty:m1";  // gone before the words are used
    const auto record = record_words(key, moving, dirty);
    append_recorded(payload, cmd, record, check);
  }
  ASSERT_TRUE(payload.starts_with(checked));
  EXPECT_EQ(payload.substr(checked.size()),
            "*1\r\n$5\r\nMULTI\r\n"
            "*4\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$4\r\n{t}a\r\n"
            "*3\r\n$4\r\nSADD\r\n$17\r\nflyshard:dirty:m1\r\n$4\r\n{t}a\r\n"
            "*1\r\n$4\r\nEXEC\r\n");
  EXPECT_EQ(recorded_replies(true), 6u);
  // Checked only (strict fencing, no key moves): no SADD.
  std::string plain;
  append_recorded(plain, cmd, {}, check);
  EXPECT_EQ(plain.substr(checked.size()),
            "*1\r\n$5\r\nMULTI\r\n"
            "*4\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$4\r\n{t}a\r\n"
            "*1\r\n$4\r\nEXEC\r\n");
  EXPECT_EQ(recorded_replies(false), 5u);
}

TEST(RecordedWriteTest, TheCommandsReplyComesOutOfExecs) {
  auto exec = [](Reply first, Reply sadd) {
    return Result<Reply>(Reply::array({std::move(first), std::move(sadd)}));
  };
  Result<Reply> ok = recorded_reply(exec(Reply::status("OK"), Reply::integer(1)));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), Reply::status("OK"));
  // The script's own error, as a lone EVALSHA gives it (Script::run falls back on it).
  Result<Reply> noscript =
      recorded_reply(exec(Reply::error("NOSCRIPT No matching script."), Reply::integer(0)));
  EXPECT_EQ(noscript.error(), errc::server_error);
  EXPECT_TRUE(is_noscript(noscript.message()));
  // A failed SADD: the write may be unrecorded, so an error.
  Result<Reply> lost = recorded_reply(exec(Reply::status("OK"), Reply::error("WRONGTYPE x")));
  EXPECT_EQ(lost.error(), errc::server_error);
  EXPECT_NE(lost.message().find("WRONGTYPE x"), std::string::npos);
  // EXECABORT and transport errors pass.
  EXPECT_EQ(recorded_reply(Result<Reply>(Reply::error("EXECABORT t"))).message(), "EXECABORT t");
  EXPECT_EQ(recorded_reply(Result<Reply>(errc::timeout, "late")).error(), errc::timeout);
  EXPECT_EQ(recorded_reply(Result<Reply>(Reply::array({}))).error(), errc::protocol_error);
  // Without a SADD (checked only): the one element is the command's.
  Result<Reply> alone = recorded_reply(Result<Reply>(Reply::array({Reply::integer(3)})));
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone.value(), Reply::integer(3));
  // A nil EXEC: the check refused the epoch (or the record changed), nothing ran: retriable.
  Result<Reply> refused = recorded_reply(Result<Reply>(Reply::nil()));
  EXPECT_EQ(refused.error(), errc::migrating);
  EXPECT_TRUE(is_retriable(refused.error()));
}

TEST(RecordedWriteTest, StripRecordLeavesTheCallersReplies) {
  Reply r = Reply::array({Reply::status("OK"), Reply::integer(5), Reply::integer(2)});
  strip_record(r, true);
  EXPECT_EQ(r, Reply::array({Reply::status("OK"), Reply::integer(5)}));
  Reply checked_only = Reply::array({Reply::status("OK"), Reply::integer(5)});
  strip_record(checked_only, false);  // no SADD was queued: nothing to take off
  EXPECT_EQ(checked_only, Reply::array({Reply::status("OK"), Reply::integer(5)}));
  Reply nil = Reply::nil();  // a WATCHed key changed
  strip_record(nil, true);
  EXPECT_TRUE(nil.is_nil());
  Reply aborted = Reply::error("EXECABORT t");
  strip_record(aborted, true);
  EXPECT_EQ(aborted, Reply::error("EXECABORT t"));
  Reply failed = Reply::array({Reply::status("OK"), Reply::error("OOM no")});
  strip_record(failed, true);
  ASSERT_TRUE(failed.is_error());
  EXPECT_NE(failed.str().find("OOM no"), std::string::npos);
}

}  // namespace
}  // namespace flyshard::detail
