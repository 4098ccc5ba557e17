// AUTH (password and ACL user, password from the environment) and SELECT on every new
// connection, async and blocking.
#include <gtest/gtest.h>

#include <cstdlib>

#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"

using namespace flyshard;
using flyshard::testing::ClusterOptions;
using flyshard::testing::LocalCluster;

namespace {

TEST(AuthTest, PasswordFromEnvironmentAclUserAndDatabase) {
  ClusterOptions o;
  o.shards = 2;
  LocalCluster cluster(o);
  // The support connections are already open (and stay authenticated) when the password is
  // set; new connections must AUTH.
  for (std::size_t s = 0; s < 2; ++s) {
    auto& p = cluster.primary(s);
    p.command({"ACL", "SETUSER", "shop", "on", ">shop-secret", "~*", "&*", "+@all"});
    p.command({"CONFIG", "SET", "requirepass", "default-secret"});
  }
  std::string json = cluster.topology().to_json();
  Topology no_auth = Topology::from_json(json);

  {
    Client c(no_auth);
    try {
      c.set("k", "v");
      FAIL() << "expected NOAUTH";
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::server_error);
      EXPECT_NE(std::string(e.what()).find("NOAUTH"), std::string::npos) << e.what();
    }
  }

  // Default user, password from an environment variable named in the JSON.
  ::setenv("FLYSHARD_TEST_PASSWORD", "default-secret", 1);
  auto with = [&](const std::string& auth) {
    std::string j = json;
    j.insert(j.rfind('}'), ", " + auth);
    return Topology::from_json(j);
  };
  {
    Client c(with(R"("auth": {"password_env": "FLYSHARD_TEST_PASSWORD"}, "database": 3)"));
    c.set("db3key", "v");
    EXPECT_EQ(c.get("db3key"), "v");
    EXPECT_EQ(c.async().command({"GET", "db3key"}).get().str(), "v");
    // It went to database 3, not 0.
    auto& node = cluster.primary(c.shard_for("db3key"));
    EXPECT_EQ(node.command({"EXISTS", "db3key"}).integer(), 0);
    node.command({"SELECT", "3"});
    EXPECT_EQ(node.command({"EXISTS", "db3key"}).integer(), 1);
    node.command({"SELECT", "0"});
  }
  // ACL user.
  {
    Client c(with(R"("auth": {"username": "shop", "password": "shop-secret"})"));
    c.set("acl", "1");
    EXPECT_EQ(c.async().command({"INCR", "acl"}).get().integer(), 2);
  }
  // A wrong password is an error the caller sees, not a hang.
  {
    Client c(with(R"("auth": {"username": "shop", "password": "wrong"})"));
    EXPECT_THROW(c.get("acl"), Error);
  }
  ::unsetenv("FLYSHARD_TEST_PASSWORD");
}

}  // namespace
