#include "node_probe.hpp"

namespace flyshard::cli {

NodeProbe::NodeProbe(Topology t, const CommonOptions& o)
    : address_(t.shards.at(0).primary),
      client_(std::make_unique<Client>(std::move(t), client_options(o))) {}

NodeProbe NodeProbe::data_node(const Topology& cluster, const NodeAddress& node,
                               const CommonOptions& o) {
  Topology t;
  t.distribution = "ketama";
  t.shards.push_back(ShardSpec{"node", 1, node, {}});
  t.auth = cluster.auth;
  t.database = cluster.database;
  t.tls = cluster.tls;
  return NodeProbe(std::move(t), o);
}

NodeProbe NodeProbe::sentinel(const Topology& cluster, const NodeAddress& node,
                              const CommonOptions& o) {
  const SentinelSpec& spec = cluster.sentinel.value();
  Topology t;
  t.distribution = "ketama";
  t.shards.push_back(ShardSpec{"sentinel", 1, node, {}});
  t.auth = spec.auth;
  t.tls = spec.tls ? spec.tls : cluster.tls;
  return NodeProbe(std::move(t), o);
}

Reply NodeProbe::command(Args args) {
  try {
    return client_->command_on_shard(0, std::move(args));
  } catch (const Error& e) {
    const std::string where = address_.to_string();
    if (e.value() == errc::server_error ||
        std::string_view(e.what()).find(where) != std::string_view::npos) {
      throw;
    }
    throw Error(e.value(), where + ": " + e.what());
  }
}

bool NodeProbe::up() const {
  const ClientStats s = client_->stats();
  return !s.nodes.empty() && s.nodes.front().up;
}

std::map<std::string, std::string, std::less<>> parse_info(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

}  // namespace flyshard::cli
