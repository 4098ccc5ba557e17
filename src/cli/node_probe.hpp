#pragma once
// NodeProbe: one node, reached through the public API as the only shard of a one-shard
// topology. The tool talks to replicas and sentinels, which a cluster Client does not
// address by name, and it wants every node's answer (or failure) separately, so every node
// gets a Client of its own; they run in parallel, so a dead node costs one timeout.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cli_options.hpp"
#include "flyshard/client.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::cli {

class NodeProbe {
 public:
  /// A data node of `cluster` (its auth and database are used).
  static NodeProbe data_node(const Topology& cluster, const NodeAddress& node,
                             const CommonOptions& o);
  /// A sentinel of `cluster` (which has a sentinel section): the sentinels' own credentials
  /// (the data nodes' never go to a sentinel), their TLS (sentinel.tls, else the cluster's),
  /// database 0.
  static NodeProbe sentinel(const Topology& cluster, const NodeAddress& node,
                            const CommonOptions& o);

  /// Runs a command on the node. Throws flyshard::Error; a transport failure's message
  /// names the node's address.
  Reply command(Args args);
  /// The Client behind the probe (its only shard is this node), e.g. for a Pipeline.
  Client& client() { return *client_; }
  /// The library's view of the node's health (Client::stats()).
  bool up() const;
  const NodeAddress& address() const noexcept { return address_; }

 private:
  NodeProbe(Topology t, const CommonOptions& o);
  NodeAddress address_;
  std::unique_ptr<Client> client_;
};

/// `INFO` text as field -> value (section headers and blank lines dropped).
std::map<std::string, std::string, std::less<>> parse_info(std::string_view text);

}  // namespace flyshard::cli
