#include "flyshard/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>

namespace flyshard {
namespace {

constexpr errc kAll[] = {errc::timeout,         errc::connection_lost, errc::shard_unavailable,
                         errc::overloaded,      errc::cross_shard,     errc::server_error,
                         errc::protocol_error,  errc::config,          errc::shutting_down,
                         errc::unknown_command, errc::watch_conflict,  errc::tls};

TEST(ErrorTest, CategoryName) {
  EXPECT_STREQ(error_category().name(), "flyshard");
}

TEST(ErrorTest, CategoryIsASingleton) {
  EXPECT_EQ(&error_category(), &error_category());
}

TEST(ErrorTest, EveryCodeHasItsOwnMessage) {
  std::set<std::string> messages;
  for (errc e : kAll) {
    const std::string m = error_category().message(static_cast<int>(e));
    EXPECT_FALSE(m.empty()) << static_cast<int>(e);
    EXPECT_TRUE(messages.insert(m).second) << "duplicate message " << m;
  }
  EXPECT_EQ(error_category().message(static_cast<int>(errc::timeout)), "request timed out");
}

TEST(ErrorTest, UnknownCodeStillHasAMessage) {
  EXPECT_NE(error_category().message(0).find("unknown"), std::string::npos);
  EXPECT_NE(error_category().message(1000).find("1000"), std::string::npos);
}

TEST(ErrorTest, MakeErrorCode) {
  const std::error_code ec = make_error_code(errc::overloaded);
  EXPECT_EQ(ec.value(), static_cast<int>(errc::overloaded));
  EXPECT_EQ(&ec.category(), &error_category());
  EXPECT_TRUE(ec);  // no errc is zero
}

TEST(ErrorTest, ErrcConvertsImplicitlyToErrorCode) {
  std::error_code ec = errc::timeout;
  EXPECT_EQ(ec, make_error_code(errc::timeout));
  EXPECT_TRUE(ec == errc::timeout);
  EXPECT_FALSE(ec == errc::connection_lost);
  // A different category with the same value is a different error.
  EXPECT_NE(ec, std::error_code(static_cast<int>(errc::timeout), std::generic_category()));
}

TEST(ErrorTest, ErrorCarriesCodeAndMessage) {
  try {
    throw Error(errc::config, "shards[0].name: expected a non-empty string");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::config);
    EXPECT_NE(std::string(e.what()).find("shards[0].name: expected a non-empty string"),
              std::string::npos);
    const auto* fe = dynamic_cast<const Error*>(&e);
    ASSERT_NE(fe, nullptr);
    EXPECT_EQ(fe->value(), errc::config);
    return;
  }
  FAIL() << "not thrown";
}

TEST(ErrorTest, RetriableAndTransport) {
  for (errc e : kAll) {
    const bool transport = e == errc::timeout || e == errc::connection_lost ||
                           e == errc::shard_unavailable || e == errc::tls;
    const bool retriable =
        (transport && e != errc::tls) || e == errc::overloaded || e == errc::watch_conflict;
    EXPECT_EQ(is_transport(e), transport) << static_cast<int>(e);
    EXPECT_EQ(is_retriable(e), retriable) << static_cast<int>(e);
  }
}

}  // namespace
}  // namespace flyshard
