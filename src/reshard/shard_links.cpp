#include "reshard/shard_links.hpp"

#include <stdexcept>

namespace flyshard::detail {

void ShardLinks::add(const Topology& layout) {
  std::lock_guard lock(mu_);
  for (const ShardSpec& s : layout.shards) {
    if (links_.count(s.name)) continue;
    Topology one;
    one.distribution = "ketama";
    one.shards.push_back(s);
    one.sentinel = layout.sentinel;
    one.auth = layout.auth;
    one.database = layout.database;
    one.tls = layout.tls;
    ClientOptions c;
    c.connect_timeout = options_.connect_timeout;
    c.request_timeout = options_.request_timeout;
    c.read_from = ReadFrom::primary;
    c.blocking_pool_size = 4;
    // A link to this one shard on purpose: the record (which the migrator itself writes)
    // must not re-route it to the layout it describes.
    c.follow_topology_record = false;
    if (options_.verbose) {
      c.log_level = LogLevel::warning;
    } else {
      c.log = [](LogLevel, std::string_view) {};
    }
    links_.emplace(s.name, std::make_unique<Client>(std::move(one), std::move(c)));
    order_.push_back(s.name);
  }
}

Client& ShardLinks::shard(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = links_.find(name);
  if (it == links_.end()) throw std::out_of_range("no link to shard " + name);
  return *it->second;
}

std::vector<std::string> ShardLinks::names() const {
  std::lock_guard lock(mu_);
  return order_;
}

Reply ShardLinks::run(const std::string& name, Args args) {
  Client& c = shard(name);
  try {
    return c.command_on_shard(0, std::move(args));
  } catch (const Error& e) {
    rethrow_on(name, e);
  }
}

void rethrow_on(const std::string& shard, const Error& e) {
  const std::string prefix = "shard " + shard + ": ";
  if (std::string_view(e.what()).starts_with(prefix)) throw e;
  throw Error(e.value(), prefix + e.what());
}

}  // namespace flyshard::detail
