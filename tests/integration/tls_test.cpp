// TLS against real redis-server / redis-sentinel processes serving TLS (`--tls-port`), with
// certificates made at run time (tls_certs.hpp): data on the async and the blocking paths,
// replicas, Sentinel failover, and the refusals (wrong CA, no client certificate, a name
// the certificate does not carry), each with a clear errc::tls.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "eventually.hpp"
#include "flyshard/flyshard.hpp"
#include "local_cluster.hpp"
#include "tls_certs.hpp"

using namespace flyshard;
using namespace std::chrono_literals;
using flyshard::testing::ClusterOptions;
using flyshard::testing::eventually;
using flyshard::testing::LocalCluster;
using flyshard::testing::ServerOptions;
using flyshard::testing::ServerProcess;
using flyshard::testing::ServerTls;
using flyshard::testing::TlsCerts;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSlow = FLYSHARD_SLOWDOWN;

ClientOptions fast_options() {
  ClientOptions o;
  o.request_timeout = 500ms * kSlow;
  o.connect_timeout = 500ms * kSlow;
  o.reconnect_min = 10ms;
  o.reconnect_max = 200ms;
  o.health_interval = 100ms * kSlow;
  o.failure_limit = 2;
  o.log_level = LogLevel::error;
  return o;
}

ServerTls server_tls(const TlsCerts& certs, bool auth_clients = false) {
  return ServerTls{certs.server_cert, certs.server_key, certs.ca_file, auth_clients};
}

// A one-shard topology on `address` with `tls`.
Topology single(const NodeAddress& address, const TlsOptions& tls) {
  Topology t;
  t.shards.push_back(ShardSpec{"s1", 1, address, {}});
  t.tls = tls;
  return t;
}

// The error a blocking SET on `c` fails with; errc{} when it succeeds.
std::pair<errc, std::string> set_error(Client& c, const std::string& key) {
  try {
    c.set(key, "v");
    return {errc{}, ""};
  } catch (const Error& e) {
    return {e.value(), e.what()};
  }
}

// The error an async GET on `c` completes with; errc{} when it succeeds.
std::pair<errc, std::string> async_get_error(Client& c, const std::string& key) {
  try {
    c.async().command({"GET", key}).get();
    return {errc{}, ""};
  } catch (const Error& e) {
    return {e.value(), e.what()};
  }
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TlsCerts();
    ClusterOptions o;
    o.shards = 2;
    o.replicas = 1;
    o.tls = server_tls(*certs_);
    cluster_ = new LocalCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete certs_;
    certs_ = nullptr;
  }
  static TlsCerts* certs_;
  static LocalCluster* cluster_;
};
TlsCerts* TlsTest::certs_ = nullptr;
LocalCluster* TlsTest::cluster_ = nullptr;

TEST_F(TlsTest, SetGetOverTlsOnTheBlockingAndAsyncPaths) {
  Topology t = cluster_->topology();
  ASSERT_TRUE(t.tls.has_value());
  Client c(t, fast_options());
  std::vector<std::string> keys;
  for (int i = 0; i < 64; ++i) keys.push_back("tls:blocking:" + std::to_string(i));
  for (std::size_t i = 0; i < keys.size(); ++i) c.set(keys[i], "value-" + std::to_string(i));
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(c.get(keys[i]), "value-" + std::to_string(i)) << keys[i];
  // Both shards at once (the blocking path's poll loop over several TLS links).
  auto many = c.mget(keys);
  ASSERT_EQ(many.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(many[i], "value-" + std::to_string(i)) << keys[i];
  std::set<std::size_t> shards;
  for (const auto& k : keys) shards.insert(c.shard_for(k));
  EXPECT_EQ(shards.size(), 2u);

  // The async path: many requests in flight on each TLS link, and a value larger than a TLS
  // record (16 KiB) so that one reply spans several records and reads.
  const std::string big(100000, 'x');
  std::vector<std::future<Reply>> sets;
  for (int i = 0; i < 200; ++i) {
    const std::string v = i == 7 ? big : "async-" + std::to_string(i);
    sets.push_back(c.async().command({"SET", "tls:async:" + std::to_string(i), v}));
  }
  for (auto& f : sets) EXPECT_EQ(f.get().str(), "OK");
  std::vector<std::future<Reply>> gets;
  for (int i = 0; i < 200; ++i)
    gets.push_back(c.async().command({"GET", "tls:async:" + std::to_string(i)}));
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(gets[i].get().str(), i == 7 ? big : "async-" + std::to_string(i)) << i;
  }
  // What one path wrote, the other reads.
  EXPECT_EQ(c.get("tls:async:7"), big);
  EXPECT_EQ(c.async().command({"GET", keys[3]}).get().str(), "value-3");
}

TEST_F(TlsTest, ReplicasReplicateAndServeReadsOverTls) {
  Client c(cluster_->topology(), fast_options());
  // The replicas replicate over TLS: they follow their primary's TLS port.
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(cluster_->replica(i, 0).info_field("replication", "master_port"),
              std::to_string(cluster_->primary(i).tls_port()));
  }
  for (int i = 0; i < 20; ++i) c.set("tls:replica:" + std::to_string(i), "r" + std::to_string(i));
  for (int i = 0; i < 20; ++i) {
    const std::string k = "tls:replica:" + std::to_string(i);
    EXPECT_TRUE(eventually(
        [&] {
          try {
            return c.get(k, ReadFrom::replica) == "r" + std::to_string(i);
          } catch (const Error&) {
            return false;
          }
        },
        10s))
        << k;
    EXPECT_TRUE(eventually(
        [&] {
          try {
            auto p = std::make_shared<std::promise<Result<Reply>>>();
            auto f = p->get_future();
            c.async().command({"GET", k}, ReadFrom::replica,
                              [p](Result<Reply> r) { p->set_value(std::move(r)); });
            Result<Reply> r = f.get();
            return r.ok() && r.value().str() == "r" + std::to_string(i);
          } catch (const Error&) {
            return false;
          }
        },
        10s))
        << k;
  }
  // The reads did go to the replicas.
  const ClientStats s = c.stats();
  std::uint64_t replica_requests = 0;
  for (const auto& n : s.nodes) {
    if (n.role == "replica") replica_requests += n.requests;
  }
  EXPECT_GT(replica_requests, 0u);
}

TEST_F(TlsTest, WrongCaIsRefusedWithAClearErrorWithinTheConnectTimeout) {
  Topology t = cluster_->topology();
  t.tls->ca_file = certs_->other_ca_file;
  ClientOptions o = fast_options();
  o.health_interval = 0ms;  // nothing marks the node down: every call meets the TLS failure
  o.follow_topology_record = false;  // and no record read does either, before the call
  Client c(t, o);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto start = Clock::now();
    auto [code, message] = set_error(c, "tls:wrong-ca");
    const auto took = Clock::now() - start;
    EXPECT_EQ(code, errc::tls) << message;
    // OpenSSL's reason and the verifier's: redis-server sends its CA along with its own
    // certificate, so the chain ends in a self-signed CA this client does not trust.
    EXPECT_NE(message.find("TLS handshake failed: certificate verify failed: self-signed "
                           "certificate in certificate chain"),
              std::string::npos)
        << message;
    // No hang: a refusal comes back within the connect timeout (with room for a loaded CI).
    EXPECT_LT(took, o.connect_timeout + 5s);
  }
  auto [code, message] = async_get_error(c, "tls:wrong-ca");
  EXPECT_EQ(code, errc::tls) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
  EXPECT_FALSE(is_retriable(errc::tls));
}

// rediss:// addresses and no "tls" section: TLS with the defaults (the system's CA store,
// which OpenSSL reads from SSL_CERT_FILE when set; each test runs in its own process).
Topology rediss_only(const Topology& tls_cluster) {
  Topology t = tls_cluster;
  t.tls.reset();
  for (auto& s : t.shards) {
    s.primary = NodeAddress::parse("rediss://" + s.primary.to_string());
    s.replicas.clear();
  }
  return t;
}

TEST_F(TlsTest, RedissAddressesUseTlsWithTheSystemTrustStore) {
  ASSERT_EQ(setenv("SSL_CERT_FILE", certs_->ca_file.c_str(), 1), 0);
  Client c(rediss_only(cluster_->topology()), fast_options());
  for (int i = 0; i < 20; ++i) c.set("tls:rediss:" + std::to_string(i), "r" + std::to_string(i));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(c.async().command({"GET", "tls:rediss:" + std::to_string(i)}).get().str(),
              "r" + std::to_string(i));
}

TEST_F(TlsTest, RedissToAServerTheSystemStoreDoesNotTrustIsRefused) {
  // The test CA is not in the system's store: the handshake is refused, so TLS was spoken
  // (a plain connection to the TLS port would fail otherwise) and verification is on.
  ASSERT_EQ(setenv("SSL_CERT_FILE", certs_->other_ca_file.c_str(), 1), 0);
  ClientOptions o = fast_options();
  o.health_interval = 0ms;
  o.follow_topology_record = false;
  Client c(rediss_only(cluster_->topology()), o);
  auto [code, message] = set_error(c, "tls:rediss-untrusted");
  EXPECT_EQ(code, errc::tls) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
}

TEST_F(TlsTest, NodeDownForATlsFailureSaysWhyInShardUnavailable) {
  // With health checks the refused node is soon marked down, and calls fail fast with
  // shard_unavailable: its message still names the TLS reason.
  Topology t = cluster_->topology();
  t.tls->ca_file = certs_->other_ca_file;
  Client c(t, fast_options());
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        auto [code, message] = set_error(c, "tls:down");
        last = message;
        return code == errc::shard_unavailable;
      },
      10s * kSlow))
      << last;
  EXPECT_NE(last.find("is down (TLS handshake failed: certificate verify failed"),
            std::string::npos)
      << last;
}

TEST_F(TlsTest, HostNameMismatchIsRefusedWhenVerifyingAndAcceptedWithoutVerify) {
  const NodeAddress primary = cluster_->primary(0).client_address();
  ClientOptions o = fast_options();
  o.health_interval = 0ms;
  {
    TlsOptions tls;
    tls.ca_file = certs_->ca_file;
    tls.server_name = "not-this-server.example";
    Client c(single(primary, tls), o);
    auto [code, message] = set_error(c, "tls:name");
    EXPECT_EQ(code, errc::tls) << message;
    EXPECT_NE(message.find("hostname mismatch"), std::string::npos) << message;
    auto [acode, amessage] = async_get_error(c, "tls:name");
    EXPECT_EQ(acode, errc::tls) << amessage;
  }
  {
    TlsOptions tls;
    tls.ca_file = certs_->ca_file;
    tls.server_name = "not-this-server.example";
    tls.verify = false;
    Client c(single(primary, tls), o);
    EXPECT_EQ(set_error(c, "tls:name").first, errc{});
    EXPECT_EQ(async_get_error(c, "tls:name").first, errc{});
  }
  {
    // A DNS name the certificate carries (SNI and the name check by name, not by IP).
    TlsOptions tls;
    tls.ca_file = certs_->ca_file;
    tls.server_name = "localhost";
    Client c(single(primary, tls), o);
    c.set("tls:name", "by-name");
    EXPECT_EQ(c.get("tls:name"), "by-name");
    EXPECT_EQ(c.async().command({"GET", "tls:name"}).get().str(), "by-name");
  }
}

TEST_F(TlsTest, PlainClientToATlsPortFailsWithinTheTimeout) {
  // The other side of "TLS is on": a client without TLS gets no answer it can parse, and
  // fails within its timeouts rather than hanging.
  Topology t = cluster_->topology();
  t.tls.reset();
  ClientOptions o = fast_options();
  o.health_interval = 0ms;
  Client c(t, o);
  const auto start = Clock::now();
  EXPECT_NE(set_error(c, "tls:plain").first, errc{});
  EXPECT_LT(Clock::now() - start, o.request_timeout + o.connect_timeout + 5s);
}

TEST(TlsClientCertTest, ServerThatRequiresAClientCertificateAcceptsOnlyOneSignedByItsCa) {
  TlsCerts certs;
  ServerOptions so;
  so.label = "tls-auth-clients";
  so.tls = server_tls(certs, true);
  ServerProcess server(so);
  server.start();
  ClientOptions o = fast_options();
  o.health_interval = 0ms;
  TlsOptions tls;
  tls.ca_file = certs.ca_file;
  {
    Client c(single(server.client_address(), tls), o);
    auto [code, message] = set_error(c, "tls:cert");
    EXPECT_EQ(code, errc::tls) << message;
    EXPECT_NE(message.find("certificate required"), std::string::npos) << message;
    auto [acode, amessage] = async_get_error(c, "tls:cert");
    EXPECT_EQ(acode, errc::tls) << amessage;
  }
  {
    tls.cert_file = certs.client_cert;
    tls.key_file = certs.client_key;
    Client c(single(server.client_address(), tls), o);
    c.set("tls:cert", "with-cert");
    EXPECT_EQ(c.get("tls:cert"), "with-cert");
    EXPECT_EQ(c.async().command({"GET", "tls:cert"}).get().str(), "with-cert");
  }
}

// The message a Client with `tls` fails to start with (errc::config), or "" when it starts.
std::string client_config_error(const TlsOptions& tls) {
  try {
    Client c(single(NodeAddress{"127.0.0.1", 1}, tls), fast_options());
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.value(), errc::config) << e.what();
    return e.what();
  }
}

TEST(TlsConfigTest, UnreadableCertificateFilesFailTheClientNamingTheField) {
  TlsCerts certs;
  TlsOptions tls;
  tls.ca_file = certs.server_key;  // a key, not a certificate
  std::string why = client_config_error(tls);
  EXPECT_EQ(why.rfind("tls.ca_file: cannot load " + certs.server_key, 0), 0u) << why;
  tls.ca_file = certs.ca_file;
  tls.cert_file = certs.client_cert;
  tls.key_file = certs.server_key;  // not the client certificate's key
  why = client_config_error(tls);
  EXPECT_EQ(why.rfind("tls.key_file: ", 0), 0u) << why;
  tls.key_file = certs.client_key;
  EXPECT_EQ(client_config_error(tls), "");
}

TEST(TlsSentinelTest, SentinelFailoverOverTlsAndWritesContinue) {
  TlsCerts certs;
  ClusterOptions co;
  co.shards = 1;
  co.replicas = 1;
  co.sentinels = 1;
  co.down_after_ms = 500;
  co.failover_timeout_ms = 2000;
  co.tls = server_tls(certs);
  LocalCluster cluster(co);
  Topology t = cluster.topology();
  ASSERT_TRUE(t.sentinel.has_value());
  ASSERT_FALSE(t.sentinel->tls.has_value());  // the sentinels use the topology's TLS
  Client c(t, fast_options());
  for (int i = 0; i < 20; ++i) c.set("tls:fo:" + std::to_string(i), "before-" + std::to_string(i));
  EXPECT_EQ(c.node_for("tls:fo:0", true), cluster.primary(0).client_address());
  ASSERT_TRUE(eventually(
      [&] {
        auto off = cluster.replica(0, 0).info_field("replication", "master_link_status");
        return off && *off == "up";
      },
      10s));
  cluster.primary(0).kill();
  // Sentinel (over TLS) promotes the replica; the client hears of it over its TLS link to the
  // sentinel and writes go on, to the promoted node.
  ASSERT_TRUE(eventually(
      [&] {
        try {
          c.set("tls:fo:after", "after");
          return true;
        } catch (const Error&) {
          return false;
        }
      },
      30s))
      << cluster.describe();
  EXPECT_EQ(c.node_for("tls:fo:0", true), cluster.replica(0, 0).client_address());
  EXPECT_EQ(c.get("tls:fo:after"), "after");
  for (int i = 0; i < 20; ++i) {
    const std::string k = "tls:fo:" + std::to_string(i);
    const auto v = c.get(k);
    // Written before the kill and replicated (the replica was in sync); a write in the last
    // moment before the kill may be lost, but these were confirmed long before.
    EXPECT_EQ(v, "before-" + std::to_string(i)) << k;
  }
  EXPECT_EQ(c.async().command({"GET", "tls:fo:after"}).get().str(), "after");
}

#ifdef FLYSHARD_CLI_BIN
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(TlsTest, CliStatusWorksAgainstATlsCluster) {
  const std::string dir = certs_->dir.string();
  cluster_->write_topology(dir + "/cluster.json");
  const std::string cmd = std::string(FLYSHARD_CLI_BIN) + " status --json -c " + dir +
                          "/cluster.json >" + dir + "/status.json 2>" + dir + "/status.err";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(dir + "/status.err");
  auto j = nlohmann::json::parse(slurp(dir + "/status.json"));
  ASSERT_EQ(j["shards"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& nodes = j["shards"][i]["nodes"];
    ASSERT_EQ(nodes.size(), 2u) << j.dump();
    for (const auto& n : nodes) {
      EXPECT_TRUE(n["up"].get<bool>()) << n.dump();
      EXPECT_FALSE(n["role"].is_null()) << n.dump();  // INFO answered over TLS
    }
  }
  // The same file without the CA is refused, naming TLS.
  Topology t = cluster_->topology();
  t.tls->ca_file = certs_->other_ca_file;
  std::ofstream(dir + "/wrong.json") << t.to_json();
  const std::string wrong = std::string(FLYSHARD_CLI_BIN) + " status -c " + dir +
                            "/wrong.json >/dev/null 2>" + dir + "/wrong.err";
  const int ws = std::system(wrong.c_str());
  ASSERT_TRUE(WIFEXITED(ws));
  EXPECT_NE(WEXITSTATUS(ws), 0);
}
#endif

}  // namespace
