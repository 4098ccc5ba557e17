// Hostile topology JSON: no secret in an error message, no memory blow-up from deep nesting.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "flyshard/error.hpp"
#include "flyshard/topology.hpp"

namespace flyshard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string error_of(const std::string& text) {
  try {
    Topology::from_json(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  return {};
}

std::string with_auth(const std::string& auth) {
  return R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001"}], "auth": )" + auth + "}";
}

TEST(TopologyHostileTest, PasswordOfTheWrongTypeIsNeverEchoed) {
  const std::string m = error_of(with_auth(R"({"password": 73318842951})"));
  EXPECT_THAT(m, HasSubstr("auth.password: expected a string, got a number"));
  EXPECT_THAT(m, Not(HasSubstr("73318842951")));
  for (const std::string secret : {R"(["hunter2-secret"])", R"({"v": "hunter2-secret"})", "true",
                                   "-1.5e300"}) {
    const std::string e = error_of(with_auth(R"({"password": )" + secret + "}"));
    EXPECT_THAT(e, HasSubstr("auth.password: expected a string"));
    EXPECT_THAT(e, Not(HasSubstr("hunter2"))) << e;
    EXPECT_THAT(e, Not(HasSubstr("1.5e"))) << e;
  }
}

TEST(TopologyHostileTest, DeepNestingIsRefusedEarly) {
  // Each level used to keep its full JSON path: 100,000 levels held about 15 GB of paths.
  const std::string deep_array(100000, '[');
  EXPECT_THAT(error_of(deep_array), HasSubstr("nested deeper than 32 levels"));
  std::string deep_object;
  for (int i = 0; i < 100000; ++i) deep_object += R"({"a":)";
  EXPECT_THAT(error_of(deep_object), HasSubstr("nested deeper than 32 levels"));
  // Deep inside a valid place too; the path shown stays short.
  const std::string m =
      error_of(R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001", "replicas": )" +
               std::string(50000, '[') + "}");
  EXPECT_THAT(m, HasSubstr("nested deeper than 32 levels"));
  EXPECT_LT(m.size(), 400u);
}

TEST(TopologyHostileTest, NumberPastADoubleIsAConfigError) {
  // Found by fuzz/topology_fuzz: nlohmann throws out_of_range (not parse_error) for these, and
  // it escaped from_json as a foreign exception.
  EXPECT_THAT(error_of("[1e400]"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of(R"({"shards": 4440000E00297138122070000000000000000000213116269690785336})"),
              HasSubstr("invalid JSON"));
}

TEST(TopologyHostileTest, RealisticNestingStillLoads) {
  Topology t = Topology::from_json(
      R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001",
                       "replicas": ["127.0.0.1:7101", "127.0.0.1:7201"]}],
          "sentinel": {"addresses": ["127.0.0.1:26379"]},
          "auth": {"username": "u", "password": "p"}})");
  EXPECT_EQ(t.shards.at(0).replicas.size(), 2u);
  EXPECT_EQ(t.auth.password, "p");
}

}  // namespace
}  // namespace flyshard
