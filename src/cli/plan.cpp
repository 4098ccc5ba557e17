// `flyshard plan --to NEW.json`: what would move if the cluster's layout became NEW.json.
// Shards are matched by name (a name in both files keeps its data; a new name is added, a
// missing one removed), as the migration will match them. Every source primary is SCANned
// (COUNT 1000) and each key placed by the public Distribution of both layouts; bytes are
// `MEMORY USAGE`, pipelined per SCAN page. Nothing is written to any node.
//
// --sample N (N > 0) asks MEMORY USAGE of every Nth key only and scales each cell's bytes by
// its own keys / sampled keys. Key counts stay exact: SCAN hands over every key anyway and
// placing one costs a hash, so sampling only saves the round trips that cost something.
//
// Exit code: 0, 1 when a source primary does not answer (named), 2 for bad input.

#include <algorithm>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_options.hpp"
#include "flyshard/distribution.hpp"
#include "node_probe.hpp"
#include "sentinel_view.hpp"
#include "text_table.hpp"

namespace flyshard::cli {

namespace {

struct PlanOptions {
  CommonOptions common;
  std::string to;
  long long sample = 0;
};

struct Cell {
  long long keys = 0;          // exact
  long long sampled_keys = 0;  // keys whose size was asked
  long long sampled_bytes = 0;
  double bytes() const {
    return sampled_keys == 0 ? 0.0
                             : static_cast<double>(sampled_bytes) * static_cast<double>(keys) /
                                   static_cast<double>(sampled_keys);
  }
};

struct SourceScan {
  std::string shard;
  std::string node;
  long long scanned = 0;
  long long misplaced = 0;  // on this shard though today's layout places them elsewhere
  long long vanished = 0;   // gone between SCAN and MEMORY USAGE (expired or deleted)
  bool bytes_known = true;
  std::string bytes_error;
  std::map<std::string, Cell> to;  // destination shard name -> cell
  std::string error;
};

// The share of keys that must move at the least, for ideal balance: what each shard loses
// (old share above new share). Jump ignores weights, so every shard counts as 1 there.
double ideal_share(const Distribution& a, const Distribution& b) {
  auto shares = [](const Distribution& d) {
    std::map<std::string, double> s;
    double total = 0;
    const bool unweighted = d.algorithm() == "jump";
    for (const auto& w : d.shards()) total += unweighted ? 1.0 : w.weight;
    for (const auto& w : d.shards()) s[w.name] = (unweighted ? 1.0 : w.weight) / total;
    return s;
  };
  auto sa = shares(a);
  auto sb = shares(b);
  double moved = 0;
  for (const auto& [name, share] : sa) {
    auto it = sb.find(name);
    moved += std::max(0.0, share - (it == sb.end() ? 0.0 : it->second));
  }
  return moved;
}

// The algorithm's own share on synthetic keys: maglev, for one, also moves a few keys between
// shards that stay.
double synthetic_share(const Distribution& a, const Distribution& b, int n) {
  int moved = 0;
  for (int i = 0; i < n; ++i) {
    const std::string key = "flyshard-plan:" + std::to_string(i);
    moved += a.shards()[a.shard_for(key)].name != b.shards()[b.shard_for(key)].name ? 1 : 0;
  }
  return static_cast<double>(moved) / n;
}

void scan_source(const Topology& cur, const Distribution& dcur, const Distribution& dnew,
                 const NodeAddress& node, std::size_t index, const PlanOptions& po,
                 SourceScan& out) {
  const CommonOptions& o = po.common;
  out.shard = cur.shards[index].name;
  out.node = node.to_string();
  try {
    NodeProbe probe = NodeProbe::data_node(cur, node, o);
    std::string cursor = "0";
    long long position = 0;
    do {
      Reply page = probe.command({"SCAN", cursor, "COUNT", "1000"});
      if (!page.is_array() || page.elements().size() != 2) {
        throw Failure(out.node + ": unexpected SCAN reply " + page.to_string());
      }
      cursor = page.elements()[0].str();
      std::vector<std::pair<std::string, std::string>> sized;  // key, destination
      for (const Reply& k : page.elements()[1].elements()) {
        const std::string& key = k.str();
        if (key.rfind("flyshard:", 0) == 0) continue;  // the library's own (record, ...)
        ++out.scanned;
        if (dcur.shards()[dcur.shard_for(key)].name != out.shard) ++out.misplaced;
        const std::string& dest = dnew.shards()[dnew.shard_for(key)].name;
        ++out.to[dest].keys;
        const bool ask = po.sample <= 0 || position++ % po.sample == 0;
        if (ask && out.bytes_known) sized.emplace_back(key, dest);
      }
      if (sized.empty()) continue;
      Pipeline pl = probe.client().pipeline();
      for (const auto& [key, dest] : sized) pl.command({"MEMORY", "USAGE", key});
      std::vector<Result<Reply>> sizes = pl.execute();
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        const Result<Reply>& r = sizes[i];
        if (!r.ok() && r.error() != errc::server_error) {
          throw Failure(out.node + ": " + r.message());
        }
        if (!r.ok() || r->is_error()) {
          // A server that refuses MEMORY USAGE: bytes are unknown, keys still count.
          out.bytes_known = false;
          out.bytes_error = r.ok() ? r->str() : r.message();
          break;
        }
        if (r->is_nil()) {
          ++out.vanished;
          continue;
        }
        Cell& c = out.to[sized[i].second];
        ++c.sampled_keys;
        c.sampled_bytes += r->integer();
      }
    } while (cursor != "0");
  } catch (const Error& e) {
    out.error = e.value() == errc::server_error ? out.node + ": " + e.what() : e.what();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

std::string shape(const Topology& t) {
  return t.distribution + ", " + std::to_string(t.shards.size()) + " shards";
}

int run_plan(const PlanOptions& po) {
  const CommonOptions& o = po.common;
  // From the layout programs route by now (a migration may have changed the file's).
  const Topology cur = routed_layout(o);
  const Topology next = load_topology(po.to);
  const Distribution dcur = cur.make_distribution();
  const Distribution dnew = next.make_distribution();

  const auto views = ask_sentinels(cur, o);
  std::vector<SourceScan> sources(cur.shards.size());
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < cur.shards.size(); ++i) {
      threads.emplace_back([&, i] {
        scan_source(cur, dcur, dnew, current_primary(cur, views, i), i, po, sources[i]);
      });
    }
    for (auto& th : threads) th.join();
  }
  for (const auto& s : sources) {
    if (!s.error.empty()) throw Failure("shard " + s.shard + " primary " + s.error);
  }

  bool bytes_known = true;
  long long total_keys = 0, moving_keys = 0;
  double total_bytes = 0, moving_bytes = 0;
  std::vector<std::string> dest_names;
  for (const auto& w : dnew.shards()) dest_names.push_back(w.name);
  for (const auto& s : sources) {
    bytes_known = bytes_known && s.bytes_known;
    for (const auto& [dest, cell] : s.to) {
      total_keys += cell.keys;
      total_bytes += cell.bytes();
      if (dest != s.shard) {
        moving_keys += cell.keys;
        moving_bytes += cell.bytes();
      }
    }
  }
  const double share = total_keys ? static_cast<double>(moving_keys) / total_keys : 0.0;
  const double ideal = ideal_share(dcur, dnew);
  const double synthetic = synthetic_share(dcur, dnew, 100000);
  const bool estimate = po.sample > 1;

  if (o.json) {
    nlohmann::json matrix = nlohmann::json::object();
    nlohmann::json moves = nlohmann::json::array();
    nlohmann::json src = nlohmann::json::array();
    for (const auto& s : sources) {
      for (const auto& [dest, cell] : s.to) {
        nlohmann::json b =
            s.bytes_known ? nlohmann::json(static_cast<long long>(cell.bytes())) : nlohmann::json();
        matrix[s.shard][dest] = {{"keys", cell.keys}, {"bytes", b}};
        if (dest != s.shard)
          moves.push_back({{"from", s.shard}, {"to", dest}, {"keys", cell.keys}, {"bytes", b}});
      }
      nlohmann::json sj = {{"shard", s.shard},
                           {"node", s.node},
                           {"keys", s.scanned},
                           {"misplaced", s.misplaced},
                           {"vanished", s.vanished},
                           {"bytes_known", s.bytes_known},
                           {"removed", std::find(dest_names.begin(), dest_names.end(), s.shard) ==
                                           dest_names.end()}};
      if (!s.bytes_error.empty()) sj["bytes_error"] = s.bytes_error;
      src.push_back(std::move(sj));
    }
    nlohmann::json out = {
        {"from",
         {{"config", o.config}, {"distribution", cur.distribution}, {"shards", cur.shards.size()}}},
        {"to",
         {{"config", po.to}, {"distribution", next.distribution}, {"shards", next.shards.size()}}},
        {"sample", po.sample},
        {"bytes_estimated", estimate},
        {"bytes_known", bytes_known},
        {"sources", src},
        {"matrix", matrix},
        {"moves", moves},
        {"totals",
         {{"keys", total_keys},
          {"keys_moving", moving_keys},
          {"share_moving", share},
          {"bytes",
           bytes_known ? nlohmann::json(static_cast<long long>(total_bytes)) : nlohmann::json()},
          {"bytes_moving",
           bytes_known ? nlohmann::json(static_cast<long long>(moving_bytes)) : nlohmann::json()}}},
        {"expected_share", {{"ideal", ideal}, {"algorithm_on_synthetic_keys", synthetic}}},
        {"changed_nothing", true}};
    std::cout << out.dump(2) << '\n';
    return kExitOk;
  }

  std::cout << "plan: " << o.config << " (" << shape(cur) << ") -> " << po.to << " (" << shape(next)
            << ")\n"
            << "scanned " << group_digits(total_keys) << " keys on " << sources.size()
            << " primaries; nothing was changed.\n\n";
  std::vector<std::string> header{"FROM \\ TO"};
  for (const auto& d : dest_names) header.push_back(d);
  bool any_removed = false;
  for (const auto& s : sources) {
    any_removed |= std::find(dest_names.begin(), dest_names.end(), s.shard) == dest_names.end();
  }
  if (any_removed) header.push_back("REMOVED");
  TextTable table(header);
  for (const auto& s : sources) {
    std::vector<std::string> row{s.shard};
    for (const auto& d : dest_names) {
      auto it = s.to.find(d);
      long long k = it == s.to.end() ? 0 : it->second.keys;
      std::string cell = group_digits(k);
      if (d == s.shard) {
        cell += " stay";
      } else if (k > 0 && s.bytes_known) {
        cell += " / " + human_bytes(it->second.bytes());
      }
      row.push_back(cell);
    }
    const bool removed =
        std::find(dest_names.begin(), dest_names.end(), s.shard) == dest_names.end();
    if (any_removed) row.push_back(removed ? "yes" : "");
    table.add_row(std::move(row));
  }
  table.print(std::cout);
  std::cout << "\nmoving: " << group_digits(moving_keys) << " of " << group_digits(total_keys)
            << " keys (" << percent(share) << ")";
  if (bytes_known) {
    std::cout << ", " << (estimate ? "about " : "") << human_bytes(moving_bytes) << " of "
              << human_bytes(total_bytes);
  } else {
    std::cout << ", bytes unknown (a server refused MEMORY USAGE)";
  }
  std::cout << "\nexpected: " << percent(ideal)
            << " (the least any layout change like this moves), " << percent(synthetic) << " ("
            << next.distribution << " on 100,000 synthetic keys)\n";
  if (estimate) {
    std::cout << "bytes are an estimate: MEMORY USAGE of every " << po.sample
              << "th key, scaled per cell; key counts are exact\n";
  }
  for (const auto& s : sources) {
    if (s.misplaced) {
      std::cout << "note: " << group_digits(s.misplaced) << " keys on " << s.shard
                << " belong elsewhere by today's layout\n";
    }
    if (!s.bytes_error.empty())
      std::cout << "note: " << s.node << " refused MEMORY USAGE: " << s.bytes_error << '\n';
  }
  return kExitOk;
}

}  // namespace

void add_plan_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* sub = app.add_subcommand(
      "plan", "keys and bytes that would move, per pair of shards, if the layout became --to");
  add_common_options(*sub, o->common);
  sub->add_option("--to", o->to, "the new layout (a cluster file)")->required();
  sub->add_option("--sample", o->sample,
                  "ask MEMORY USAGE of every Nth key only and scale (0: every key)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->callback([&action, o] { action = [o] { return run_plan(*o); }; });
}

}  // namespace flyshard::cli
