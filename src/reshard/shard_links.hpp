#pragma once
// ShardLinks: one Client per shard name, each over a one-shard topology (that shard's
// primary and replicas, the cluster's Sentinel section, auth and database). The migrator must
// address shards that no single layout holds (layout A's and B's together), by name, and
// through the public API; a one-shard Client gives exactly that, and because its topology
// keeps the Sentinel section, a failover re-points the link as it would any client's.
//
// A link must route by its own one-shard topology only, never by the topology record it
// reads and writes: once clients follow the record (the client side of issue 11), these
// Clients (and the tool's NodeProbes) need a ClientOptions switch that turns following off.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flyshard/client.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::detail {

struct LinkOptions {
  /// Connect timeout per node, ms. Default 500.
  std::chrono::milliseconds connect_timeout{500};
  /// Request deadline, ms: a RESTORE of a large payload or a chunk of a big key must fit.
  /// Default 10000.
  std::chrono::milliseconds request_timeout{10000};
  /// Let the library's warnings reach stderr. Default false (the tool reports failures).
  bool verbose = false;
};

class ShardLinks {
 public:
  explicit ShardLinks(LinkOptions options) : options_(options) {}
  /// Adds a link for every shard of `layout` not linked yet (the first layout to name a
  /// shard defines its addresses). Thread-safe.
  void add(const Topology& layout);
  /// The link of shard `name`; throws std::out_of_range for a shard never added.
  Client& shard(const std::string& name);
  /// Every linked shard name, in the order added.
  std::vector<std::string> names() const;
  /// Runs `args` on shard `name`'s primary; a failure's message names the shard.
  Reply run(const std::string& name, Args args);

 private:
  LinkOptions options_;
  mutable std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<Client>, std::less<>> links_;
};

/// Names the shard in an error (a server's own message does not).
[[noreturn]] void rethrow_on(const std::string& shard, const Error& e);

}  // namespace flyshard::detail
