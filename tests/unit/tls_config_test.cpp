// The "tls" sections of a topology: parsing, the errors (each names its JSON path), the
// sentinels' default, the round trip through to_json(), and what the TLS context makes of
// files that are not what they claim. No network.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "flyshard/error.hpp"
#include "flyshard/topology.hpp"
#include "io/tls_context.hpp"

namespace flyshard {
namespace {

namespace fs = std::filesystem;

// A temp folder with three readable files (their content is not PEM: parsing only checks
// that they can be read).
class TlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flyshard-tls-config-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"ca.pem", "client.pem", "client.key"})
      std::ofstream(dir_ / name) << "not a certificate\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const char* name) const { return (dir_ / name).string(); }

  // A one-shard topology with `tls_json` as its "tls" and `sentinel_tls` (if any) as the
  // sentinel's.
  static std::string with_tls(const std::string& tls_json, const std::string& sentinel_tls = "") {
    std::string s =
        R"({"shards": [{"name": "s1", "primary": "127.0.0.1:7001"}], "tls": )" + tls_json;
    if (!sentinel_tls.empty())
      s += R"(, "sentinel": {"addresses": ["127.0.0.1:26379"], "tls": )" + sentinel_tls + "}";
    return s + "}";
  }

  static std::string error_of(const std::string& json) {
    try {
      Topology::from_json(json);
    } catch (const Error& e) {
      EXPECT_EQ(e.value(), errc::config);
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(TlsConfigTest, FullSectionParsesWithDefaultsForWhatIsLeftOut) {
  Topology t = Topology::from_json(with_tls(
      R"({"ca_file": ")" + file("ca.pem") + R"(", "cert_file": ")" + file("client.pem") +
      R"(", "key_file": ")" + file("client.key") + R"(", "server_name": "cache.internal"})"));
  ASSERT_TRUE(t.tls);
  EXPECT_TRUE(t.tls->enabled);
  EXPECT_TRUE(t.tls->verify);  // on unless turned off
  EXPECT_EQ(t.tls->ca_file, file("ca.pem"));
  EXPECT_EQ(t.tls->cert_file, file("client.pem"));
  EXPECT_EQ(t.tls->key_file, file("client.key"));
  EXPECT_EQ(t.tls->server_name, "cache.internal");

  Topology plain = Topology::from_json(R"({"shards": [{"name": "s1", "primary": "h:1"}]})");
  EXPECT_FALSE(plain.tls);

  // An empty section: TLS with the system's CAs and every check on.
  Topology empty = Topology::from_json(with_tls("{}"));
  ASSERT_TRUE(empty.tls);
  EXPECT_EQ(*empty.tls, TlsOptions{});
}

TEST_F(TlsConfigTest, MissingFilesAreNamedWithTheirJsonPath) {
  EXPECT_EQ(error_of(with_tls(R"({"ca_file": "/nonexistent/ca.pem"})")),
            "tls.ca_file: cannot read /nonexistent/ca.pem: No such file or directory");
  EXPECT_EQ(error_of(with_tls("{}", R"({"cert_file": "/nonexistent/s.pem", "key_file": "k"})")),
            "sentinel.tls.cert_file: cannot read /nonexistent/s.pem: No such file or directory");
  EXPECT_EQ(error_of(with_tls(R"({"ca_file": ""})")),
            "tls.ca_file: expected a file name, got \"\"");
}

TEST_F(TlsConfigTest, CertificateAndKeyComeTogether) {
  EXPECT_EQ(error_of(with_tls(R"({"cert_file": ")" + file("client.pem") + R"("})"))
                .rfind("tls.key_file: missing", 0),
            0u);
  EXPECT_EQ(error_of(with_tls(R"({"key_file": ")" + file("client.key") + R"("})"))
                .rfind("tls.cert_file: missing", 0),
            0u);
}

TEST_F(TlsConfigTest, WrongTypesAndUnknownKeysAreRefused) {
  EXPECT_EQ(error_of(with_tls(R"({"verify": "no"})")),
            "tls.verify: expected true or false, got \"no\"");
  EXPECT_EQ(error_of(with_tls(R"({"verfy": false})")).rfind("tls.verfy: unknown key", 0), 0u);
  EXPECT_EQ(error_of(with_tls(R"("yes")")), "tls: expected an object, got \"yes\"");
}

TEST_F(TlsConfigTest, SentinelsFollowTheTopologyUnlessTheyHaveTheirOwnSection) {
  // No sentinel section of its own: nullopt, which means the topology's settings.
  Topology same = Topology::from_json(
      R"({"shards": [{"name": "s1", "primary": "h:1"}], "tls": {},
          "sentinel": {"addresses": ["h:26379"]}})");
  ASSERT_TRUE(same.sentinel);
  EXPECT_FALSE(same.sentinel->tls);
  // Plain TCP to the sentinels: a disabled section, whose file names are not even read.
  Topology off = Topology::from_json(with_tls("{}", R"({"enabled": false, "ca_file": "/nope"})"));
  ASSERT_TRUE(off.sentinel->tls);
  EXPECT_FALSE(off.sentinel->tls->enabled);
  EXPECT_EQ(detail::tls_context_for(off.sentinel->tls, "sentinel.tls"), nullptr);
}

TEST_F(TlsConfigTest, ToJsonRoundTrips) {
  Topology t = Topology::from_json(
      with_tls(R"({"ca_file": ")" + file("ca.pem") + R"(", "server_name": "n", "verify": false})",
               R"({"enabled": false})"));
  Topology back = Topology::from_json(t.to_json());
  EXPECT_EQ(back.tls, t.tls);
  EXPECT_EQ(back.sentinel->tls, t.sentinel->tls);
}

TEST_F(TlsConfigTest, ContextRefusesFilesThatAreNotPemNamingTheField) {
  TlsOptions o;
  o.ca_file = file("ca.pem");
  try {
    detail::TlsContext::create(o, "tls");
    FAIL() << "not a certificate, yet loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config);
    EXPECT_EQ(std::string(e.what()).rfind("tls.ca_file: cannot load " + file("ca.pem") + ": ", 0),
              0u)
        << e.what();
  }
  // Without a CA file the system's trust store is used: a context can be made.
  auto system = detail::TlsContext::create(TlsOptions{}, "tls");
  ASSERT_NE(system, nullptr);
  // The name checked: server_name when given, else the node's host.
  const NodeAddress plain = NodeAddress::parse("10.0.0.7:6379");
  EXPECT_EQ(detail::tls_peer(system, plain).host, "10.0.0.7");
  o = TlsOptions{};
  o.server_name = "cache.internal";
  auto named = detail::TlsContext::create(o, "tls");
  EXPECT_EQ(detail::tls_peer(named, plain).host, "cache.internal");
  EXPECT_FALSE(detail::tls_peer(nullptr, plain));
  // rediss:// without a "tls" section: TLS with the defaults (verify, the node's host name).
  const auto uri = detail::tls_peer(nullptr, NodeAddress::parse("rediss://cache.example:6380"));
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri.host, "cache.example");
  EXPECT_TRUE(uri.context->options().verify);
}

}  // namespace
}  // namespace flyshard
