// Server error classification. The messages are what redis-server 7.0 sent when each error
// was provoked by hand (replica write, ACL user, requirepass, maxmemory 1, a looping script,
// a two-node cluster with a migrating slot, a restart with a 600,000-key RDB ...), except
// TRYAGAIN, copied from Redis's cluster.c.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flyshard/server_error.hpp"

using namespace flyshard;
using Kind = ServerErrorKind;

namespace {

struct Case {
  const char* message;
  Kind kind;
  bool retriable;
};

const std::vector<Case> kCaptured = {
    {"WRONGTYPE Operation against a key holding the wrong kind of value", Kind::wrongtype, false},
    {"NOSCRIPT No matching script. Please use EVAL.", Kind::noscript, false},
    {"READONLY You can't write against a read only replica.", Kind::readonly, true},
    {"LOADING Redis is loading the dataset in memory", Kind::loading, true},
    {"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
     Kind::busy, true},
    {"BUSYKEY Target key name already exists.", Kind::busykey, false},
    {"NOPERM this user has no permissions to run the 'set' command", Kind::noperm, false},
    {"OOM command not allowed when used memory > 'maxmemory'.", Kind::oom, false},
    {"EXECABORT Transaction discarded because of previous errors.", Kind::execabort, false},
    {"MOVED 15495 127.0.0.1:17505", Kind::moved, false},
    {"ASK 3300 127.0.0.1:17505", Kind::ask, false},
    {"TRYAGAIN Multiple keys request during rehashing of slot", Kind::tryagain, true},
    {"CLUSTERDOWN Hash slot not served", Kind::clusterdown, true},
    {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     Kind::masterdown, true},
    {"NOAUTH Authentication required.", Kind::noauth, false},
    {"WRONGPASS invalid username-password pair or user is disabled.", Kind::wrongpass, false},
    {"BUSYGROUP Consumer Group name already exists", Kind::busygroup, false},
    {"NOGROUP No such key 'st' or consumer group 'nog' in XREADGROUP with GROUP option",
     Kind::nogroup, false},
    {"CROSSSLOT Keys in request don't hash to the same slot", Kind::crossslot, false},
    {"ERR value is not an integer or out of range", Kind::generic, false},
    {"ERR wrong number of arguments for 'set' command", Kind::generic, false},
};

}  // namespace

TEST(ServerError, CapturedMessagesAreClassified) {
  for (const Case& c : kCaptured) {
    SCOPED_TRACE(c.message);
    EXPECT_EQ(server_error_kind(std::string_view(c.message)), c.kind);
    EXPECT_EQ(is_retriable(c.kind), c.retriable);
    // The same through every carrier.
    Error e(errc::server_error, c.message);
    EXPECT_EQ(server_error_kind(e), c.kind);
    EXPECT_EQ(is_retriable(e), c.retriable);
    Result<Reply> r(errc::server_error, c.message);
    EXPECT_EQ(server_error_kind(r), c.kind);
    EXPECT_EQ(is_retriable(r), c.retriable);
    EXPECT_EQ(server_error_kind(Reply::error(c.message)), c.kind);
    // to_string gives back the first word.
    std::string_view m(c.message);
    EXPECT_EQ(to_string(c.kind), m.substr(0, m.find(' ')));
  }
}

TEST(ServerError, FirstWordMustMatchExactly) {
  EXPECT_EQ(server_error_kind(std::string_view("BUSYKEY x")), Kind::busykey);  // not BUSY
  EXPECT_EQ(server_error_kind(std::string_view("BUSY")), Kind::busy);          // no text
  EXPECT_EQ(server_error_kind(std::string_view("-READONLY x")), Kind::readonly);
  EXPECT_EQ(server_error_kind(std::string_view("readonly x")), Kind::unknown);
  EXPECT_EQ(server_error_kind(std::string_view("UNKNOWNPREFIX boom")), Kind::unknown);
  EXPECT_EQ(server_error_kind(std::string_view("")), Kind::unknown);
  EXPECT_EQ(to_string(Kind::unknown), "");
  EXPECT_EQ(to_string(Kind::none), "");
}

TEST(ServerError, OtherErrorsAreNotServerErrors) {
  EXPECT_EQ(server_error_kind(Error(errc::timeout, "READONLY looks like one")), Kind::none);
  EXPECT_TRUE(is_retriable(Error(errc::timeout, "late")));
  EXPECT_FALSE(is_retriable(Error(errc::cross_shard, "x")));
  EXPECT_EQ(server_error_kind(Result<Reply>(Reply::string("READONLY"))), Kind::none);
  EXPECT_FALSE(is_retriable(Result<Reply>(Reply::nil())));
  EXPECT_TRUE(is_retriable(Result<Reply>(errc::connection_lost, "x")));
  EXPECT_EQ(server_error_kind(Reply::string("ERR not an error")), Kind::none);
}
