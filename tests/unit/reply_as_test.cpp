// Reply::as<T>() conversions, Result::value_or and const access, numbers in Args.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "flyshard/args.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

using namespace flyshard;

namespace {

Reply strings(std::initializer_list<const char*> items) {
  std::vector<Reply> e;
  for (const char* s : items) e.push_back(Reply::string(s));
  return Reply::array(std::move(e));
}

template <typename T>
errc error_of(const Reply& r, std::string* message = nullptr) {
  try {
    (void)r.as<T>();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.value();
  }
  return errc{};
}

}  // namespace

TEST(ReplyAs, Integers) {
  EXPECT_EQ(Reply::integer(42).as<long long>(), 42);
  EXPECT_EQ(Reply::string("-17").as<long long>(), -17);  // HGET of a counter
  std::string m;
  EXPECT_EQ(error_of<long long>(Reply::string("4x"), &m), errc::protocol_error);
  EXPECT_EQ(m, "expected integer reply, got string \"4x\"");
  EXPECT_EQ(error_of<long long>(Reply::nil(), &m), errc::protocol_error);
  EXPECT_EQ(m, "expected integer reply, got nil");
  EXPECT_EQ(error_of<long long>(Reply::error("WRONGTYPE Operation against a key"), &m),
            errc::server_error);
  EXPECT_EQ(m, "WRONGTYPE Operation against a key");
  EXPECT_EQ(Reply::nil().as<std::optional<long long>>(), std::nullopt);
  EXPECT_EQ(Reply::integer(3).as<std::optional<long long>>(), 3);
}

TEST(ReplyAs, Doubles) {
  EXPECT_DOUBLE_EQ(Reply::string("3.5").as<double>(), 3.5);
  EXPECT_DOUBLE_EQ(Reply::integer(2).as<double>(), 2.0);
  EXPECT_EQ(Reply::string("inf").as<double>(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Reply::string("-inf").as<double>(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(error_of<double>(Reply::string("nan")), errc::protocol_error);
  EXPECT_EQ(error_of<double>(Reply::array({})), errc::protocol_error);
  EXPECT_EQ(Reply::nil().as<std::optional<double>>(), std::nullopt);  // ZSCORE of no member
}

TEST(ReplyAs, BoolAndStrings) {
  EXPECT_TRUE(Reply::status("OK").as<bool>());
  EXPECT_FALSE(Reply::nil().as<bool>());
  EXPECT_TRUE(Reply::integer(1).as<bool>());
  EXPECT_FALSE(Reply::integer(0).as<bool>());
  EXPECT_EQ(error_of<bool>(Reply::string("yes")), errc::protocol_error);
  EXPECT_EQ(Reply::string("v").as<std::string>(), "v");
  EXPECT_EQ(Reply::status("PONG").as<std::string>(), "PONG");
  std::string m;
  EXPECT_EQ(error_of<std::string>(Reply::nil(), &m), errc::protocol_error);
  EXPECT_EQ(m, "expected string reply, got nil");
  EXPECT_EQ(error_of<std::string>(Reply::integer(7), &m), errc::protocol_error);
  EXPECT_EQ(m, "expected string reply, got integer 7");
  EXPECT_EQ(Reply::nil().as<std::optional<std::string>>(), std::nullopt);
  EXPECT_EQ(Reply::string("x").as<std::optional<std::string>>(), "x");
}

TEST(ReplyAs, Arrays) {
  EXPECT_EQ(strings({"a", "b"}).as<std::vector<std::string>>(),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(Reply::nil().as<std::vector<std::string>>().empty());
  Reply mget = Reply::array({Reply::string("1"), Reply::nil(), Reply::string("3")});
  EXPECT_EQ(mget.as<std::vector<std::optional<std::string>>>(),
            (std::vector<std::optional<std::string>>{"1", std::nullopt, "3"}));
  EXPECT_EQ(error_of<std::vector<std::string>>(mget), errc::protocol_error);  // nil element
  EXPECT_EQ(Reply::array({Reply::integer(1), Reply::integer(0)}).as<std::vector<long long>>(),
            (std::vector<long long>{1, 0}));
  // An error inside EXEC's array is the server's error, not a shape mismatch.
  Reply exec = Reply::array({Reply::status("OK"), Reply::error("ERR value is not an integer")});
  std::string m;
  EXPECT_EQ(error_of<std::vector<std::string>>(exec, &m), errc::server_error);
  EXPECT_EQ(m, "ERR value is not an integer");
  EXPECT_EQ(error_of<std::vector<std::string>>(Reply::string("x"), &m), errc::protocol_error);
  EXPECT_EQ(m, "expected array of strings reply, got string \"x\"");
}

TEST(ReplyAs, Pairs) {
  Reply h = strings({"f1", "v1", "f2", "v2", "f1", "v3"});
  EXPECT_EQ(
      (h.as<std::vector<std::pair<std::string, std::string>>>()),
      (std::vector<std::pair<std::string, std::string>>{{"f1", "v1"}, {"f2", "v2"}, {"f1", "v3"}}));
  auto m = h.as<std::map<std::string, std::string>>();
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["f1"], "v3");
  auto u = h.as<std::unordered_map<std::string, std::string>>();
  EXPECT_EQ(u.at("f2"), "v2");
  std::string msg;
  EXPECT_EQ((error_of<std::map<std::string, std::string>>(strings({"a", "b", "c"}), &msg)),
            errc::protocol_error);
  EXPECT_EQ(msg, "expected an even number of elements (field-value pairs), got 3");
}

TEST(ResultApi, ValueOrAndConstAccess) {
  const Result<std::string> ok(std::string("v"));
  const Result<std::string> bad(errc::timeout, "late");
  EXPECT_EQ(ok.value_or("d"), "v");
  EXPECT_EQ(bad.value_or("d"), "d");
  EXPECT_EQ(ok->size(), 1u);
  EXPECT_EQ(*ok, "v");
  EXPECT_THROW((void)*bad, Error);
  Result<std::string> moved(std::string("m"));
  EXPECT_EQ(std::move(moved).value_or("d"), "m");
  const Result<Reply> r(Reply::integer(5));
  EXPECT_EQ(r->as<long long>(), 5);
}

TEST(ArgsNumbers, IntegersAndDoublesAreFormatted) {
  std::string key = "k";
  Args a{"INCRBY", key, 5};
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], "INCRBY");
  EXPECT_EQ(a[1].data(), key.data());  // strings are viewed, not copied
  EXPECT_EQ(a[2], "5");
  Args b{"X",
         -9223372036854775807LL - 1,
         18446744073709551615ULL,
         0.1,
         2.5f,
         1e300,
         -0.0,
         std::numeric_limits<double>::infinity(),
         -std::numeric_limits<double>::infinity(),
         std::size_t{7},
         short{-3}};
  std::vector<std::string> words(b.begin(), b.end());
  EXPECT_EQ(words,
            (std::vector<std::string>{"X", "-9223372036854775808", "18446744073709551615", "0.1",
                                      "2.5", "1e+300", "-0", "inf", "-inf", "7", "-3"}));
}

TEST(ArgsNumbers, CopiesAndMovesKeepTheirOwnText) {
  std::optional<Args> original;
  original.emplace(Args{"ZADD", "z", 1.5, "m", 42});
  Args copy = *original;
  Args moved = std::move(*original);
  original.reset();  // the copy and the moved-to Args must not point into it
  for (const Args* a : {&copy, &moved}) {
    ASSERT_EQ(a->size(), 5u);
    EXPECT_EQ((*a)[2], "1.5");
    EXPECT_EQ((*a)[4], "42");
    EXPECT_EQ((*a)[3], "m");
  }
  Args assigned{"A"};
  assigned = copy;
  EXPECT_EQ(assigned[4], "42");
  EXPECT_NE(assigned[4].data(), copy[4].data());
}

TEST(ArgsNumbers, StringOnlyArgsOwnNothing) {
  Args a{"GET", "k"};
  Args c = a;
  EXPECT_EQ(c[1].data(), a[1].data());
}

TEST(ArgsNumbers, LongCommandsAndManyNumbersSurviveMoves) {
  // More than the 8 inline words and more than the 40 inline bytes of numbers.
  auto make = [] {
    return Args{"ZADD",
                "z",
                1.25,
                "a",
                2.5,
                "b",
                -3.75e-10,
                "c",
                123456789012345LL,
                "d",
                18446744073709551615ULL,
                "e"};
  };
  const std::vector<std::string> expected{"ZADD",
                                          "z",
                                          "1.25",
                                          "a",
                                          "2.5",
                                          "b",
                                          "-3.75e-10",
                                          "c",
                                          "123456789012345",
                                          "d",
                                          "18446744073709551615",
                                          "e"};
  std::optional<Args> src;
  src.emplace(make());
  Args copy(*src);
  Args moved(std::move(*src));
  src.reset();
  Args move_assigned{"X", 1};
  move_assigned = Args(copy);
  Args copy_assigned{"Y"};
  copy_assigned = moved;
  for (const Args* a : {&copy, &moved, &move_assigned, &copy_assigned}) {
    EXPECT_EQ(std::vector<std::string>(a->begin(), a->end()), expected);
  }
  // Short numbers inline, then moved: the views follow the bytes.
  Args small{"INCRBY", "k", 7};
  Args small_moved(std::move(small));
  EXPECT_EQ(small_moved[2], "7");
  EXPECT_GE(small_moved[2].data(), reinterpret_cast<const char*>(&small_moved));
  EXPECT_LT(small_moved[2].data(), reinterpret_cast<const char*>(&small_moved + 1));
}
