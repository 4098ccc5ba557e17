#pragma once
/// \file topology.hpp
/// The cluster layout: shards, their primary and replicas, Sentinel, auth.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flyshard/distribution.hpp"
#include "flyshard/options.hpp"

namespace flyshard {

/// Where a node is and how to talk to it. Written as "host:port", "[v6]:port" or a URI:
///   redis://[user:password@]host[:port][/db]     TCP (port 6379 when left out)
///   rediss://[user:password@]host[:port][/db]    the same over TLS
///   unix://[user:password@]/absolute/path[?db=N] a Unix socket
/// IPv6 literals go in brackets in both forms ("[::1]:6379", "redis://[::1]:6379/2"). In the
/// user and password, %XX stands for the byte XX (e.g. "%40" for "@").
struct NodeAddress {
  NodeAddress() = default;
  /// A plain TCP address, as `NodeAddress{"10.0.0.5", 6379}`.
  NodeAddress(std::string tcp_host, std::uint16_t tcp_port)
      : host(std::move(tcp_host)), port(tcp_port) {}

  std::string host;        ///< IPv4/IPv6 literal or host name; empty for a Unix socket
  std::uint16_t port = 0;  ///< TCP port, 1..65535; 0 for a Unix socket
  /// Unix socket: its absolute path (unix://). Empty (default): TCP to host:port.
  std::string path;
  /// ACL user for this node only. Empty (default): the topology's auth.
  std::string username;
  /// Password for this node only: when set, it and `username` replace the topology's auth
  /// for this node. Empty (default): the topology's auth. Never printed: to_string(),
  /// Topology::to_json() and every error and log message leave it out.
  std::string password;
  /// Database SELECTed on every connection to this node. nullopt (default): the topology's
  /// "database".
  std::optional<int> db;
  /// rediss://: the node speaks TLS, with Topology::tls's settings when given, else the
  /// defaults of TlsOptions (system CA store, host-name check). Default false.
  bool tls = false;

  /// True for a Unix socket address (unix://).
  bool is_unix() const noexcept { return !path.empty(); }
  /// The server this names, without credentials or database: two addresses with the same
  /// endpoint are the same server.
  bool same_endpoint(const NodeAddress& other) const noexcept {
    return host == other.host && port == other.port && path == other.path;
  }

  /// This address moved to `where`'s host and port (or socket path): credentials, database
  /// and TLS flag stay (Sentinel announces a new primary by ip and port only).
  NodeAddress moved_to(const NodeAddress& where) const {
    NodeAddress out = *this;
    out.host = where.host;
    out.port = where.port;
    out.path = where.path;
    return out;
  }

  /// Parses any of the forms above; throws flyshard::Error(errc::config) that says what is
  /// wrong (the message never holds the password).
  static NodeAddress parse(std::string_view text);
  /// "host:port" ("[v6]:port" for IPv6 literals) for a plain TCP address; the URI form
  /// otherwise ("unix:///run/redis.sock", "redis://app@10.0.0.5:6379/2"), always without the
  /// password.
  std::string to_string() const;
  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
  friend auto operator<=>(const NodeAddress&, const NodeAddress&) = default;
};

/// One shard: a primary and zero or more replicas that hold the same keys.
struct ShardSpec {
  std::string name;                   ///< stable name; placement is computed from it
  std::uint32_t weight = 1;           ///< relative share of keys, >= 1
  NodeAddress primary;                ///< where writes go
  std::vector<NodeAddress> replicas;  ///< read-only copies
};

/// Credentials sent with AUTH on every new connection. Empty password: no AUTH. An address
/// with a password of its own (redis://user:password@host) uses that instead.
struct AuthSpec {
  std::string username;  ///< empty: the default user (AUTH <password>)
  std::string password;  ///< resolved already (the JSON's password_env is read at load)
};

/// TLS for the links to a set of servers (JSON "tls": {...}). Certificate and host-name
/// verification are on by default; TLS 1.2 is the oldest version offered. File paths are
/// PEM files, relative to the working directory; they are read when the Client is built
/// (and checked for readability when a topology is loaded from JSON).
struct TlsOptions {
  /// false: plain TCP. Lets a sentinel section opt out of the topology's TLS
  /// ("sentinel": {"tls": {"enabled": false}}). Default true (a TlsOptions given means TLS).
  bool enabled = true;
  /// CA certificates that sign the servers' certificates. Empty (default): the system's
  /// default trust store (OpenSSL's default paths).
  std::string ca_file;
  /// Client certificate (chain) for servers that require one (redis tls-auth-clients yes).
  /// Empty (default): none is sent. Needs key_file.
  std::string cert_file;
  /// Private key of cert_file. Empty (default): none; required when cert_file is set.
  std::string key_file;
  /// The name the server's certificate must carry, also sent as SNI. Empty (default): each
  /// node's own host (an IP literal is checked against the certificate's IP addresses and
  /// sends no SNI).
  std::string server_name;
  /// Verify the server's certificate chain and name. Default true. false accepts any
  /// certificate (encryption without authentication: for tests only).
  bool verify = true;
  friend bool operator==(const TlsOptions&, const TlsOptions&) = default;
};

/// Sentinel settings; the master name of a shard is master_prefix + shard name.
struct SentinelSpec {
  std::vector<NodeAddress> addresses;  ///< at least one sentinel
  std::string master_prefix;           ///< default "" (master name = shard name)
  /// The sentinels' own credentials (JSON "sentinel": {"auth": {...}}), sent to sentinels
  /// only. Empty password: no AUTH. The data nodes' Topology::auth never goes to a sentinel.
  AuthSpec auth;
  /// TLS to the sentinels (JSON "sentinel": {"tls": {...}}). nullopt (default): the same as
  /// Topology::tls (a deployment that encrypts usually encrypts its sentinels the same way);
  /// a value with enabled = false: plain TCP to the sentinels.
  std::optional<TlsOptions> tls;
};

/// The whole layout. Build it in code or load it from JSON:
/// ```json
/// { "distribution": "maglev",
///   "shards": [ { "name": "s1", "weight": 1, "primary": "127.0.0.1:7001",
///                 "replicas": ["127.0.0.1:7101"] } ],
///   "sentinel": { "addresses": ["127.0.0.1:26379"], "master_prefix": "flyshard-",
///                 "auth": { "password_env": "SENTINEL_PASSWORD" } },
///   "auth": { "username": "shop", "password_env": "FLYSHARD_PASSWORD" },
///   "tls": { "ca_file": "ca.crt", "cert_file": "client.crt", "key_file": "client.key" },
///   "database": 0 }
/// ```
struct Topology {
  std::string distribution = "ketama";       ///< ketama | maglev | jump | rendezvous
  DistributionOptions distribution_options;  ///< JSON: "compat", "ketama_points", ...
  std::vector<ShardSpec> shards;             ///< at least one
  std::optional<SentinelSpec> sentinel;      ///< none: no Sentinel
  AuthSpec auth;                             ///< none by default
  /// TLS to the data nodes (and to the sentinels unless SentinelSpec::tls says otherwise).
  /// nullopt (default): plain TCP.
  std::optional<TlsOptions> tls;
  /// SELECTed on connect when not 0; an address's own database (".../2") wins over it.
  int database = 0;
  /// JSON "failure_policy": "store" | "cache"; when set it wins over
  /// ClientOptions::failure_policy.
  std::optional<FailurePolicy> failure_policy;

  /// Parses JSON text. Throws flyshard::Error(errc::config) whose message starts with the
  /// JSON path of the fault, e.g. `shards[2].primary: expected "host:port"`.
  static Topology from_json(std::string_view json);
  /// Reads and parses a file; the message names the file too.
  static Topology from_json_file(const std::filesystem::path& path);
  /// Renders this topology as JSON (the password is never written).
  std::string to_json() const;

  /// Checks the invariants (non-empty list, unique names and addresses, weights >= 1, ports,
  /// known distribution); throws flyshard::Error(errc::config) naming the field.
  void validate() const;

  /// The distribution this topology describes (shard i of the result is shards[i]).
  Distribution make_distribution() const;
};

}  // namespace flyshard
