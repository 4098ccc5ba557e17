#pragma once
/// \file topology.hpp
/// The cluster layout: shards, their primary and replicas, Sentinel, auth.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/distribution.hpp"
#include "flyshard/options.hpp"

namespace flyshard {

/// A node's TCP address.
struct NodeAddress {
  std::string host;        ///< IPv4/IPv6 literal or host name
  std::uint16_t port = 0;  ///< TCP port, 1..65535

  /// Parses "host:port" (or "[v6]:port"); throws flyshard::Error(errc::config).
  static NodeAddress parse(std::string_view text);
  /// "host:port" ("[v6]:port" for IPv6 literals).
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

/// Credentials sent with AUTH on every new connection. Empty password: no AUTH.
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
  int database = 0;                          ///< SELECTed on connect when not 0
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
