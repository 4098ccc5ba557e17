#include "flyshard/reply.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "flyshard/error.hpp"

namespace flyshard {
namespace {

using ::testing::HasSubstr;

// Runs f, expects a flyshard::Error with code `code`, returns its what().
std::string error_of(const std::function<void()>& f, errc code) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no flyshard::Error thrown";
  return {};
}

TEST(ReplyTest, DefaultIsNil) {
  Reply r;
  EXPECT_TRUE(r.is_nil());
  EXPECT_EQ(r, Reply::nil());
  EXPECT_EQ(r.type(), Reply::Type::nil);
}

TEST(ReplyTest, AsOptionalString) {
  EXPECT_EQ(Reply::string("v").as_optional_string(), std::optional<std::string>("v"));
  EXPECT_EQ(Reply::string("").as_optional_string(), std::optional<std::string>(""));
  EXPECT_EQ(Reply::status("OK").as_optional_string(), std::optional<std::string>("OK"));
  EXPECT_EQ(Reply::nil().as_optional_string(), std::nullopt);
  // Binary-safe.
  const std::string bin("a\0b", 3);
  EXPECT_EQ(Reply::string(bin).as_optional_string()->size(), 3u);
}

TEST(ReplyTest, AsOptionalStringWrongTypes) {
  EXPECT_THAT(error_of([] { (void)Reply::integer(5).as_optional_string(); }, errc::protocol_error),
              HasSubstr("expected string reply, got integer"));
  EXPECT_THAT(error_of([] { (void)Reply::array({}).as_optional_string(); }, errc::protocol_error),
              HasSubstr("expected string reply, got array"));
  EXPECT_THAT(error_of([] { (void)Reply::error("WRONGTYPE Operation").as_optional_string(); },
                       errc::server_error),
              HasSubstr("WRONGTYPE Operation"));
}

TEST(ReplyTest, AsInteger) {
  EXPECT_EQ(Reply::integer(42).as_integer(), 42);
  EXPECT_EQ(Reply::integer(-7).as_integer(), -7);
  EXPECT_THAT(error_of([] { (void)Reply::string("42").as_integer(); }, errc::protocol_error),
              HasSubstr("expected integer reply, got string"));
  EXPECT_THAT(error_of([] { (void)Reply::nil().as_integer(); }, errc::protocol_error),
              HasSubstr("expected integer reply, got nil"));
  EXPECT_THAT(error_of([] { (void)Reply::status("OK").as_integer(); }, errc::protocol_error),
              HasSubstr("expected integer reply, got status"));
  EXPECT_THAT(
      error_of([] { (void)Reply::error("ERR not an int").as_integer(); }, errc::server_error),
      HasSubstr("ERR not an int"));
}

TEST(ReplyTest, ThrowIfError) {
  const Reply ok = Reply::status("OK");
  EXPECT_EQ(&ok.throw_if_error(), &ok);
  const Reply arr = Reply::array({Reply::error("ERR inside")});
  EXPECT_NO_THROW(arr.throw_if_error());  // only the top level is checked
  EXPECT_THAT(error_of([] { (void)Reply::error("NOSCRIPT No matching script").throw_if_error(); },
                       errc::server_error),
              HasSubstr("NOSCRIPT No matching script"));
}

TEST(ReplyTest, ToString) {
  EXPECT_EQ(Reply::nil().to_string(), "nil");
  EXPECT_EQ(Reply::string("text").to_string(), "\"text\"");
  EXPECT_EQ(Reply::string("a\"b\\c\n\x01").to_string(), "\"a\\\"b\\\\c\\n\\x01\"");
  EXPECT_EQ(Reply::status("OK").to_string(), "OK");
  EXPECT_EQ(Reply::error("ERR wrong").to_string(), "(error) ERR wrong");
  EXPECT_EQ(Reply::integer(-3).to_string(), "-3");
  EXPECT_EQ(Reply::array({}).to_string(), "[]");
  EXPECT_EQ(Reply::array({Reply::string("a"), Reply::integer(1), Reply::nil(),
                          Reply::array({Reply::string("b")})})
                .to_string(),
            "[\"a\", 1, nil, [\"b\"]]");
}

TEST(ReplyTest, Equality) {
  EXPECT_EQ(Reply::string("a"), Reply::string("a"));
  EXPECT_NE(Reply::string("a"), Reply::status("a"));
  EXPECT_NE(Reply::integer(1), Reply::integer(2));
  EXPECT_EQ(Reply::array({Reply::integer(1)}), Reply::array({Reply::integer(1)}));
}

}  // namespace
}  // namespace flyshard
