#include "local_cluster.hpp"

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

namespace flyshard::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A RESP2 map (flat array of field, value, ...) as returned by SENTINEL REPLICAS / SENTINELS.
std::map<std::string, std::string> flat_map(const Reply& r) {
  std::map<std::string, std::string> m;
  const auto& e = r.elements();
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) m[e[i].str()] = e[i + 1].str();
  return m;
}

// Whether `sentinel` knows `name` at `primary` with `replicas` healthy replicas and at least
// `peers` other sentinels; `why` says what is missing.
bool sentinel_ready(ServerProcess& sentinel, const std::string& name, std::uint16_t primary,
                    std::size_t replicas, std::size_t peers, std::string& why) {
  try {
    Reply addr = sentinel.command({"SENTINEL", "get-master-addr-by-name", name}, 500ms);
    if (!addr.is_array() || addr.elements().size() != 2 ||
        addr.elements()[1].str() != std::to_string(primary)) {
      why = "does not report master " + name + " at port " + std::to_string(primary) + " (" +
            addr.to_string() + ")";
      return false;
    }
    Reply reps = sentinel.command({"SENTINEL", "replicas", name}, 500ms);
    std::size_t healthy = 0;
    for (const auto& r : reps.elements()) {
      auto m = flat_map(r);
      if (m["flags"] == "slave" && m["master-link-status"] == "ok") ++healthy;
    }
    if (healthy < replicas) {
      why = "sees " + std::to_string(healthy) + " of " + std::to_string(replicas) +
            " replicas of " + name + " healthy";
      return false;
    }
    if (peers > 0) {
      Reply others = sentinel.command({"SENTINEL", "sentinels", name}, 500ms);
      if (others.elements().size() < peers) {
        why = "knows " + std::to_string(others.elements().size()) + " of " + std::to_string(peers) +
              " other sentinels of " + name;
        return false;
      }
    }
    return true;
  } catch (const std::runtime_error& e) {
    why = e.what();
    return false;
  }
}

// The "field:value" lines of an INFO reply.
std::map<std::string, std::string> info_fields(const std::string& text) {
  std::map<std::string, std::string> m;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto colon = line.find(':'); colon != std::string::npos && line[0] != '#')
      m[line.substr(0, colon)] = line.substr(colon + 1);
    pos = end + 1;
  }
  return m;
}

}  // namespace

struct LocalCluster::Impl {
  ClusterOptions options;
  std::vector<std::unique_ptr<ServerProcess>> primaries;
  std::vector<std::vector<std::unique_ptr<ServerProcess>>> replicas;  // [shard][j]
  std::vector<std::unique_ptr<ServerProcess>> sentinels;

  ~Impl() {
    // Sentinels first: none of them may start a failover while the rest goes down.
    for (auto& s : sentinels) s->kill();
    for (auto& shard : replicas)
      for (auto& r : shard) r->kill();
    for (auto& p : primaries) p->kill();
  }

  std::string shard_name(std::size_t i) const { return "s" + std::to_string(i + 1); }
  std::string master_name(std::size_t i) const { return options.master_prefix + shard_name(i); }

  std::unique_ptr<ServerProcess> make_server(std::string label) {
    ServerOptions o;
    o.binary = options.server_binary;
    o.label = std::move(label);
    o.extra_args = options.extra_server_args;
    o.tls = options.tls;
    auto p = std::make_unique<ServerProcess>(std::move(o));
    p->start();
    return p;
  }

  // Whether replica `r` is in sync with its primary; `why` says what is missing. Three views
  // must agree: the replica's link is up, its full sync is over (Dragonfly reports the link up
  // during the full sync too), and its primary lists it as online. Without the last one the
  // first writes can take a second to arrive: a Redis primary streams to a replica only after
  // its first REPLCONF ACK.
  bool in_sync(ServerProcess& r, std::size_t shard, std::string& why) {
    Reply info = r.command({"INFO", "replication"}, 500ms);
    auto fields = info_fields(info.str());
    if (fields["master_link_status"] != "up") {
      why = "master_link_status:" + fields["master_link_status"];
      return false;
    }
    if (fields.count("master_sync_in_progress") && fields["master_sync_in_progress"] != "0") {
      why = "master_sync_in_progress:" + fields["master_sync_in_progress"];
      return false;
    }
    ServerProcess* primary = nullptr;
    for (auto* n : nodes_of(shard))
      if (std::to_string(n->client_port()) == fields["master_port"]) primary = n;
    if (!primary || !primary->running() || primary->stopped()) return true;  // not ours to ask
    Reply pinfo = primary->command({"INFO", "replication"}, 500ms);
    const std::string me = "port=" + std::to_string(r.client_port()) + ",";
    for (const auto& [key, value] : info_fields(pinfo.str())) {
      if (key.rfind("slave", 0) == 0 && value.find(me) != std::string::npos &&
          value.find("state=online") != std::string::npos)
        return true;
    }
    why = "not yet online in INFO replication of " + primary->label();
    return false;
  }

  std::vector<ServerProcess*> nodes_of(std::size_t i) {
    std::vector<ServerProcess*> out{primaries.at(i).get()};
    for (auto& r : replicas.at(i)) out.push_back(r.get());
    return out;
  }

  void wait_up(std::size_t i, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (auto& r : replicas.at(i)) {
      if (!r->running() || r->stopped()) continue;
      std::string why;
      for (;;) {
        try {
          if (in_sync(*r, i, why)) break;
        } catch (const std::runtime_error& e) {
          why = e.what();
        }
        if (Clock::now() >= deadline)
          throw std::runtime_error("flyshard test support: replica " + r->label() + " at port " +
                                   std::to_string(r->port()) + " did not sync within " +
                                   std::to_string(timeout.count()) + " ms (" + why +
                                   "); log tail:\n" + r->log_tail(20));
        std::this_thread::sleep_for(10ms);
      }
    }
  }

  void wait_sentinels() {
    const auto deadline = Clock::now() + options.ready_timeout;
    const std::size_t peers = sentinels.size() - 1;
    for (auto& s : sentinels) {
      for (std::size_t i = 0; i < primaries.size(); ++i) {
        std::string why;
        while (!sentinel_ready(*s, master_name(i), primaries[i]->client_port(), options.replicas,
                               peers, why)) {
          if (Clock::now() >= deadline)
            throw std::runtime_error("flyshard test support: " + s->label() + " at port " +
                                     std::to_string(s->port()) + " not ready within " +
                                     std::to_string(options.ready_timeout.count()) + " ms: it " +
                                     why + "; log tail:\n" + s->log_tail(20));
          std::this_thread::sleep_for(50ms);
        }
      }
    }
  }
};

LocalCluster::LocalCluster(ClusterOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& c = *impl_;
  if (options.shards == 0) throw std::invalid_argument("LocalCluster: shards must be >= 1");
  c.options = std::move(options);
  const auto& o = c.options;

  for (std::size_t i = 0; i < o.shards; ++i)
    c.primaries.push_back(c.make_server(c.shard_name(i) + "-primary"));

  c.replicas.resize(o.shards);
  for (std::size_t i = 0; i < o.shards; ++i) {
    for (std::size_t j = 0; j < o.replicas; ++j) {
      auto r = c.make_server(c.shard_name(i) + "-replica" + std::to_string(j + 1));
      Reply ok =
          r->command({"REPLICAOF", "127.0.0.1", std::to_string(c.primaries[i]->client_port())});
      if (ok.is_error())
        throw std::runtime_error("flyshard test support: REPLICAOF on " + r->label() +
                                 " failed: " + ok.str());
      c.replicas[i].push_back(std::move(r));
    }
  }
  for (std::size_t i = 0; i < o.shards; ++i) c.wait_up(i, o.ready_timeout);

  if (o.sentinels > 0) {
    std::vector<SentinelMonitor> monitors;
    for (std::size_t i = 0; i < o.shards; ++i) {
      SentinelMonitor m;
      m.name = c.master_name(i);
      m.primary = c.primaries[i]->client_address();
      m.quorum = static_cast<int>(o.sentinels / 2 + 1);
      m.down_after_ms = o.down_after_ms;
      m.failover_timeout_ms = o.failover_timeout_ms;
      monitors.push_back(std::move(m));
    }
    for (std::size_t k = 0; k < o.sentinels; ++k) {
      ServerOptions so;
      so.kind = ProcessKind::sentinel;
      so.label = "sentinel" + std::to_string(k + 1);
      so.monitors = monitors;
      so.tls = o.tls;
      if (o.fast_sentinel)
        so.startup_commands = {
            {"SENTINEL", "DEBUG", "info-period", "1000", "publish-period", "250"}};
      auto s = std::make_unique<ServerProcess>(std::move(so));
      s->start();
      c.sentinels.push_back(std::move(s));
    }
    c.wait_sentinels();
  }
}

LocalCluster::~LocalCluster() = default;
LocalCluster::LocalCluster(LocalCluster&&) noexcept = default;
LocalCluster& LocalCluster::operator=(LocalCluster&&) noexcept = default;

const ClusterOptions& LocalCluster::options() const noexcept {
  return impl_->options;
}
std::size_t LocalCluster::shards() const noexcept {
  return impl_->primaries.size();
}
std::size_t LocalCluster::replicas() const noexcept {
  return impl_->options.replicas;
}
std::size_t LocalCluster::sentinels() const noexcept {
  return impl_->sentinels.size();
}
std::string LocalCluster::shard_name(std::size_t i) const {
  return impl_->shard_name(i);
}
std::string LocalCluster::master_name(std::size_t i) const {
  return impl_->master_name(i);
}

flyshard::Topology LocalCluster::topology() const {
  const Impl& c = *impl_;
  Topology t;
  t.distribution = c.options.distribution;
  for (std::size_t i = 0; i < c.primaries.size(); ++i) {
    ShardSpec s;
    s.name = c.shard_name(i);
    s.weight = 1;
    s.primary = c.primaries[i]->client_address();
    for (const auto& r : c.replicas[i]) s.replicas.push_back(r->client_address());
    t.shards.push_back(std::move(s));
  }
  if (!c.sentinels.empty()) {
    SentinelSpec spec;
    for (const auto& s : c.sentinels) spec.addresses.push_back(s->client_address());
    spec.master_prefix = c.options.master_prefix;
    t.sentinel = std::move(spec);
  }
  if (c.options.tls) {
    TlsOptions tls;
    tls.ca_file = c.options.tls->ca_file;
    t.tls = std::move(tls);
  }
  return t;
}

void LocalCluster::write_topology(const fs::path& path) const {
  const std::string json = topology().to_json();
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json << '\n';
    out.close();
    if (!out) throw std::runtime_error("flyshard test support: cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("flyshard test support: cannot write " + path.string());
  }
}

ServerProcess& LocalCluster::primary(std::size_t i) {
  return *impl_->primaries.at(i);
}
ServerProcess& LocalCluster::replica(std::size_t i, std::size_t j) {
  return *impl_->replicas.at(i).at(j);
}
ServerProcess& LocalCluster::sentinel(std::size_t k) {
  return *impl_->sentinels.at(k);
}

std::vector<ServerProcess*> LocalCluster::shard_nodes(std::size_t i) {
  return impl_->nodes_of(i);
}

std::vector<ServerProcess*> LocalCluster::all() {
  std::vector<ServerProcess*> out;
  for (auto& p : impl_->primaries) out.push_back(p.get());
  for (auto& shard : impl_->replicas)
    for (auto& r : shard) out.push_back(r.get());
  for (auto& s : impl_->sentinels) out.push_back(s.get());
  return out;
}

ServerProcess& LocalCluster::current_primary(std::size_t i) {
  Impl& c = *impl_;
  auto nodes = shard_nodes(i);
  std::string why = "no node answers";
  if (!c.sentinels.empty()) {
    for (auto& s : c.sentinels) {
      if (!s->running() || s->stopped()) continue;
      try {
        Reply r = s->command({"SENTINEL", "get-master-addr-by-name", master_name(i)}, 500ms);
        if (!r.is_array() || r.elements().size() != 2) {
          why = s->label() + " says " + r.to_string();
          continue;
        }
        const std::string port = r.elements()[1].str();
        for (auto* n : nodes)
          if (std::to_string(n->client_port()) == port) return *n;
        why = s->label() + " reports port " + port + ", which is not a node of the shard";
      } catch (const std::runtime_error& e) {
        why = e.what();
      }
    }
  } else {
    for (auto* n : nodes) {
      if (!n->running() || n->stopped()) continue;
      try {
        Reply r = n->command({"ROLE"}, 500ms);
        if (r.is_array() && !r.elements().empty() && r.elements()[0].str() == "master") return *n;
      } catch (const std::runtime_error& e) {
        why = e.what();
      }
    }
  }
  throw std::runtime_error("flyshard test support: no current primary for shard " + shard_name(i) +
                           ": " + why);
}

void LocalCluster::flush_all() {
  for (std::size_t i = 0; i < shards(); ++i) {
    ServerProcess& p = current_primary(i);
    Reply r = p.command({"FLUSHALL"});
    if (r.is_error())
      throw std::runtime_error("flyshard test support: FLUSHALL on " + p.label() + ": " + r.str());
  }
}

void LocalCluster::wait_replicas_up(std::size_t i, std::chrono::milliseconds timeout) {
  impl_->wait_up(i, timeout);
}

std::string LocalCluster::describe() const {
  const Impl& c = *impl_;
  std::string out;
  auto line = [&out](const std::string& who, const std::string& role, const ServerProcess& p) {
    out += who + " " + role + " 127.0.0.1:" + std::to_string(p.port()) + " pid " +
           std::to_string(p.pid()) + "\n";
  };
  for (std::size_t i = 0; i < c.primaries.size(); ++i) {
    line(c.shard_name(i), "primary", *c.primaries[i]);
    for (std::size_t j = 0; j < c.replicas[i].size(); ++j)
      line(c.shard_name(i), "replica", *c.replicas[i][j]);
  }
  for (const auto& s : c.sentinels) line(s->label(), "sentinel", *s);
  return out;
}

}  // namespace flyshard::testing
