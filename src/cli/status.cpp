// `flyshard status`: every shard, every node (as configured and as it reports itself), the
// library's view of its health, replication lag, keys, memory, what Sentinel says, and the
// topology epoch. Every node is asked through a NodeProbe of its own, all in parallel, so a
// dead node costs one --timeout-ms and shows as down; it never hangs the report.
//
// Exit code: 0 when every node answered, 1 when the report shows a node down (the table is
// printed either way), 2 for a bad command line or cluster file.

#include <algorithm>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_options.hpp"
#include "node_probe.hpp"
#include "reshard/checkpoint.hpp"
#include "reshard/topology_record.hpp"
#include "sentinel_view.hpp"
#include "text_table.hpp"

namespace flyshard::cli {

namespace {

struct NodeReport {
  std::string shard;
  NodeAddress node;             // as configured (with its credentials and database)
  std::string address;          // node.to_string(): never the password
  std::string configured_role;  // "primary" | "replica"
  bool up = false;
  std::string error;
  std::string role;  // INFO replication's role line: master | slave | replica
  std::optional<long long> keys;
  std::string memory_human;
  std::optional<long long> memory_bytes;
  std::optional<long long> master_offset;                   // master_repl_offset (Redis primaries)
  std::optional<long long> replica_offset;                  // slave_repl_offset (replicas)
  std::string master;                                       // a replica's primary, "host:port"
  std::string link_status;                                  // a replica's master_link_status
  std::optional<long long> lag;                             // primary's offset - replica's offset
  std::vector<std::pair<std::string, std::string>> record;  // HGETALL of the topology record
};

// Where a migration stands on one source primary (its checkpoint hash and dirty set).
struct SourceProgress {
  std::string shard;
  std::map<std::string, std::string> fields;
  long long dirty = 0;
  std::string error;
};

std::optional<long long> number(const std::map<std::string, std::string, std::less<>>& info,
                                std::string_view field) {
  auto it = info.find(field);
  if (it == info.end()) return std::nullopt;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string field(const std::map<std::string, std::string, std::less<>>& info,
                  std::string_view name) {
  auto it = info.find(name);
  return it == info.end() ? std::string() : it->second;
}

void probe_node(const Topology& t, const CommonOptions& o, NodeReport& r) {
  try {
    NodeProbe p = NodeProbe::data_node(t, r.node, o);
    try {
      auto repl = parse_info(p.command({"INFO", "replication"}).str());
      r.role = field(repl, "role");
      r.master_offset = number(repl, "master_repl_offset");
      r.replica_offset = number(repl, "slave_repl_offset");
      if (repl.count("master_host")) {
        r.master = field(repl, "master_host") + ":" + field(repl, "master_port");
      }
      r.link_status = field(repl, "master_link_status");
      r.keys = p.command({"DBSIZE"}).integer();
      auto mem = parse_info(p.command({"INFO", "memory"}).str());
      r.memory_human = field(mem, "used_memory_human");
      r.memory_bytes = number(mem, "used_memory");
      if (r.configured_role == "primary") {
        r.record = p.command({"HGETALL", detail::kRecordKey})
                       .as<std::vector<std::pair<std::string, std::string>>>();
      }
    } catch (const Error& e) {
      // Transport errors name the node already (NodeProbe); a server's refusal does not.
      r.error = e.value() == errc::server_error ? r.address + ": " + e.what() : e.what();
    }
    r.up = r.error.empty() && p.up();
  } catch (const std::exception& e) {
    r.error = r.address + ": " + e.what();
    r.up = false;
  }
}

NodeReport make_report(const std::string& shard, const NodeAddress& a, const char* role) {
  NodeReport r;
  r.shard = shard;
  r.node = a;
  r.address = a.to_string();
  r.configured_role = role;
  return r;
}

std::string opt_text(const std::optional<long long>& v) {
  return v ? group_digits(*v) : "-";
}

std::string field_or(const std::map<std::string, std::string>& f, const std::string& k,
                     const std::string& fallback = "0") {
  auto it = f.find(k);
  return it == f.end() ? fallback : it->second;
}

nlohmann::json record_json(const std::optional<detail::TopologyRecord>& r,
                           const std::map<std::string, std::uint64_t>& epoch_of,
                           const std::vector<SourceProgress>& progress) {
  if (!r) return nullptr;
  nlohmann::json j = {{"epoch", r->epoch},
                      {"state", std::string(detail::to_string(r->state))},
                      {"migration", r->migration_id},
                      {"fencing", std::string(detail::to_string(r->fencing))},
                      {"lease_ms", r->lease_ms},
                      {"layout_shards", r->layout.shards.size()},
                      {"epochs", epoch_of}};
  if (r->target) j["target_shards"] = r->target->shards.size();
  if (r->previous) j["previous_shards"] = r->previous->shards.size();
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& p : progress) {
    nlohmann::json pj = {{"shard", p.shard},
                         {"copy_done", field_or(p.fields, "copy:done") == "1"},
                         {"copy_keys", std::stoll(field_or(p.fields, "copy:keys"))},
                         {"copy_bytes", std::stoll(field_or(p.fields, "copy:bytes"))},
                         {"cleanup_keys", std::stoll(field_or(p.fields, "cleanup:keys"))},
                         {"dirty", p.dirty}};
    if (!p.error.empty()) pj["error"] = p.error;
    ps.push_back(std::move(pj));
  }
  j["progress"] = std::move(ps);
  return j;
}

std::string record_line(const std::optional<detail::TopologyRecord>& r) {
  if (!r) return "epoch 0 (no topology record)";
  std::string s =
      "epoch " + std::to_string(r->epoch) + " (" + std::string(detail::to_string(r->state));
  if (!r->migration_id.empty()) s += ", migration " + r->migration_id;
  return s + ")";
}

void print_migration(std::ostream& out, const std::optional<detail::TopologyRecord>& r,
                     const std::map<std::string, std::uint64_t>& epoch_of,
                     const std::vector<SourceProgress>& progress) {
  if (!r) return;
  for (const auto& [shard, e] : epoch_of) {
    if (e != r->epoch) out << "note: shard " << shard << "'s primary holds epoch " << e << '\n';
  }
  if (r->state == detail::MigrationState::stable) return;
  const Topology& to = r->target ? *r->target : r->layout;
  out << "migration " << r->migration_id << ": " << detail::to_string(r->state) << ", to "
      << to.shards.size() << " shards (" << to.distribution << "), fencing "
      << detail::to_string(r->fencing) << '\n';
  TextTable table({"SOURCE", "COPY", "COPIED", "BYTES", "DIRTY", "UNLINKED"});
  for (const auto& p : progress) {
    if (!p.error.empty()) {
      table.add_row({p.shard, "?", "-", "-", "-", p.error});
      continue;
    }
    table.add_row({p.shard, field_or(p.fields, "copy:done") == "1" ? "done" : "running",
                   group_digits(std::stoll(field_or(p.fields, "copy:keys"))),
                   human_bytes(std::stod(field_or(p.fields, "copy:bytes"))), group_digits(p.dirty),
                   group_digits(std::stoll(field_or(p.fields, "cleanup:keys")))});
  }
  table.print(out);
}

// Every node of `t` and what the sentinels say, all asked at once.
struct Probed {
  std::vector<NodeReport> nodes;
  std::vector<ShardSentinelView> sentinel;
};

Probed probe_cluster(const Topology& t, const CommonOptions& o) {
  Probed p;
  for (const auto& s : t.shards) {
    p.nodes.push_back(make_report(s.name, s.primary, "primary"));
    for (const auto& r : s.replicas) p.nodes.push_back(make_report(s.name, r, "replica"));
  }
  std::vector<std::thread> threads;
  for (auto& n : p.nodes) threads.emplace_back([&] { probe_node(t, o, n); });
  threads.emplace_back([&] { p.sentinel = ask_sentinels(t, o); });
  for (auto& th : threads) th.join();
  return p;
}

// The newest topology record any primary holds; `epoch_of` gets each primary's epoch.
std::optional<detail::TopologyRecord> newest_record(
    const std::vector<NodeReport>& nodes, const Topology& t,
    std::map<std::string, std::uint64_t>& epoch_of) {
  std::optional<detail::TopologyRecord> record;
  epoch_of.clear();
  for (const auto& n : nodes) {
    if (n.record.empty()) continue;
    try {
      auto r = detail::TopologyRecord::from_fields(n.record, t);
      epoch_of[n.shard] = r.epoch;
      if (!record || r.epoch > record->epoch) record = std::move(r);
    } catch (const Error& e) {
      std::cerr << "flyshard: " << n.address << ": " << e.what() << '\n';
    }
  }
  return record;
}

// The shards to show: the layout clients route by (the record's, which a migration changed
// from the file's), plus, while a migration runs or cleans up, the shards only the other
// layout has (a new shard being filled, an old one being emptied).
Topology shown_layout(const detail::TopologyRecord& r) {
  Topology t = r.layout;
  const Topology* other = r.target ? &*r.target : r.previous ? &*r.previous : nullptr;
  if (other == nullptr) return t;
  for (const auto& s : other->shards) {
    const bool known = std::any_of(t.shards.begin(), t.shards.end(),
                                   [&](const ShardSpec& x) { return x.name == s.name; });
    if (!known) t.shards.push_back(s);
  }
  return t;
}

bool same_shards(const Topology& a, const Topology& b) {
  if (a.shards.size() != b.shards.size()) return false;
  for (std::size_t i = 0; i < a.shards.size(); ++i) {
    if (a.shards[i].name != b.shards[i].name || !(a.shards[i].primary == b.shards[i].primary))
      return false;
  }
  return true;
}

}  // namespace

static int run_status(const CommonOptions& o) {
  Topology t = load_topology(o.config);
  Probed probed = probe_cluster(t, o);
  std::map<std::string, std::uint64_t> epoch_of;  // shard -> its primary's record epoch
  std::optional<detail::TopologyRecord> record = newest_record(probed.nodes, t, epoch_of);
  if (record) {
    // Once a migration has changed the layout, the file is only the seed: show what clients
    // use, asking the nodes of that layout.
    Topology shown = shown_layout(*record);
    if (!same_shards(shown, t)) {
      t = std::move(shown);
      probed = probe_cluster(t, o);
      if (auto again = newest_record(probed.nodes, t, epoch_of);
          again && again->epoch >= record->epoch)
        record = std::move(again);
    }
  }
  std::vector<NodeReport>& nodes = probed.nodes;
  std::vector<ShardSentinelView>& sentinel = probed.sentinel;
  std::vector<SourceProgress> progress;
  if (record && record->state != detail::MigrationState::stable) {
    const Topology& from =
        record->state == detail::MigrationState::cleanup ? *record->previous : record->layout;
    for (const auto& s : from.shards) {
      SourceProgress sp;
      sp.shard = s.name;
      try {
        NodeProbe p = NodeProbe::data_node(t, s.primary, o);
        sp.fields = p.command({"HGETALL", detail::progress_key(record->migration_id)})
                        .as<std::map<std::string, std::string>>();
        sp.dirty = p.command({"SCARD", detail::dirty_key(record->migration_id)}).integer();
      } catch (const std::exception& e) {
        sp.error = e.what();
      }
      progress.push_back(std::move(sp));
    }
  }

  // Per shard: the node acting as primary now (reports role master and answered), the lag
  // of each replica against it, and the shard's key count from it.
  long long total_keys = 0;
  std::size_t nodes_up = 0;
  nlohmann::json shards_json = nlohmann::json::array();
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < t.shards.size(); ++i) {
    const std::string& name = t.shards[i].name;
    NodeReport* acting = nullptr;
    for (auto& n : nodes) {
      if (n.shard == name && n.up && n.role == "master" && !acting) acting = &n;
    }
    nlohmann::json shard_nodes = nlohmann::json::array();
    for (auto& n : nodes) {
      if (n.shard != name) continue;
      if (n.up) ++nodes_up;
      if (acting && &n != acting && n.replica_offset && acting->master_offset) {
        n.lag = std::max(0LL, *acting->master_offset - *n.replica_offset);
      }
      nlohmann::json j = {
          {"address", n.address},
          {"configured_role", n.configured_role},
          {"up", n.up},
          {"role", n.role.empty() ? nlohmann::json() : nlohmann::json(n.role)},
          {"keys", n.keys ? nlohmann::json(*n.keys) : nlohmann::json()},
          {"used_memory", n.memory_bytes ? nlohmann::json(*n.memory_bytes) : nlohmann::json()},
          {"used_memory_human", n.memory_human}};
      if (n.role != "master" && !n.role.empty()) {
        j["master"] = n.master;
        j["master_link_status"] = n.link_status;
        j["replica_offset"] =
            n.replica_offset ? nlohmann::json(*n.replica_offset) : nlohmann::json();
        j["lag"] = n.lag ? nlohmann::json(*n.lag) : nlohmann::json();
      }
      if (n.master_offset && n.role == "master") j["master_offset"] = *n.master_offset;
      if (!n.error.empty()) j["error"] = n.error;
      shard_nodes.push_back(std::move(j));
    }
    nlohmann::json shard_keys;  // null when no primary answered
    if (acting && acting->keys) {
      shard_keys = *acting->keys;
      total_keys += *acting->keys;
    } else {
      notes.push_back("shard " + name + ": no primary answered; its keys are not counted");
    }
    nlohmann::json sj = {
        {"name", name},
        {"weight", t.shards[i].weight},
        {"primary", t.shards[i].primary.to_string()},
        {"acting_primary", acting ? nlohmann::json(acting->address) : nlohmann::json()},
        {"keys", shard_keys},
        {"nodes", shard_nodes}};
    if (i < sentinel.size()) {
      nlohmann::json sv = {{"master_name", sentinel[i].master_name}};
      auto p = sentinel[i].primary();
      sv["primary"] = p ? nlohmann::json(*p) : nlohmann::json();
      nlohmann::json answers = nlohmann::json::array();
      for (const auto& a : sentinel[i].answers) {
        nlohmann::json aj = {
            {"sentinel", a.sentinel},
            {"primary", a.primary ? nlohmann::json(*a.primary) : nlohmann::json()}};
        if (!a.error.empty()) aj["error"] = a.error;
        answers.push_back(std::move(aj));
      }
      sv["answers"] = std::move(answers);
      nlohmann::json reps = nlohmann::json::array();
      for (const auto& r : sentinel[i].replicas) {
        reps.push_back({{"address", r.address}, {"flags", r.flags}});
      }
      sv["replicas"] = std::move(reps);
      sj["sentinel"] = std::move(sv);
    }
    shards_json.push_back(std::move(sj));
  }

  if (o.json) {
    nlohmann::json out = {{"config", o.config},
                          {"distribution", t.distribution},
                          {"epoch", record ? record->epoch : 0},
                          {"topology_record", record_json(record, epoch_of, progress)},
                          {"shards", shards_json},
                          {"totals",
                           {{"shards", t.shards.size()},
                            {"nodes", nodes.size()},
                            {"nodes_up", nodes_up},
                            {"keys", total_keys}}},
                          {"notes", notes}};
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << "cluster " << o.config << ": " << t.distribution << ", " << t.shards.size()
              << " shards, " << nodes.size() << " nodes (" << nodes_up << " up), "
              << record_line(record) << "\n";
    print_migration(std::cout, record, epoch_of, progress);
    std::cout << "\n";
    TextTable table({"SHARD", "NODE", "CONFIG", "ROLE", "HEALTH", "LINK", "LAG", "KEYS", "MEMORY"});
    for (const auto& n : nodes) {
      const bool replica_role = !n.role.empty() && n.role != "master";
      table.add_row({n.shard, n.address, n.configured_role, n.role.empty() ? "-" : n.role,
                     n.up ? "up" : "DOWN", replica_role ? n.link_status : "-",
                     replica_role ? opt_text(n.lag) : "-", opt_text(n.keys),
                     n.memory_human.empty() ? "-" : n.memory_human});
    }
    table.print(std::cout);
    std::cout << "\nkeys on primaries: " << group_digits(total_keys)
              << "   (LAG: primary's replication offset minus the replica's; bytes on Redis, "
                 "journal records on Dragonfly)\n";
    for (std::size_t i = 0; i < sentinel.size(); ++i) {
      std::size_t agree = 0;
      auto p = sentinel[i].primary();
      for (const auto& a : sentinel[i].answers) agree += (a.primary && a.primary == p) ? 1 : 0;
      std::cout << "sentinel " << sentinel[i].master_name << ": primary " << (p ? *p : "unknown")
                << " (" << agree << "/" << sentinel[i].answers.size() << " sentinels)";
      for (const auto& r : sentinel[i].replicas)
        std::cout << ", replica " << r.address << " [" << r.flags << "]";
      std::cout << '\n';
    }
    for (const auto& n : notes) std::cout << "note: " << n << '\n';
  }
  for (const auto& n : nodes) {
    if (!n.up)
      std::cerr << "flyshard: node down: " << (n.error.empty() ? n.address : n.error) << '\n';
  }
  return nodes_up == nodes.size() ? kExitOk : kExitFailure;
}

void add_status_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<CommonOptions>();
  CLI::App* sub = app.add_subcommand(
      "status", "shards, nodes, roles, health, replication lag, keys, memory, epoch");
  add_common_options(*sub, *o);
  sub->callback([&action, o] { action = [o] { return run_status(*o); }; });
}

}  // namespace flyshard::cli
