#include "sentinel_view.hpp"

#include <map>
#include <thread>

#include "node_probe.hpp"

namespace flyshard::cli {

std::optional<std::string> ShardSentinelView::primary() const {
  std::map<std::string, int> votes;
  std::optional<std::string> best;
  int best_votes = 0;
  for (const auto& a : answers) {
    if (!a.primary) continue;
    int v = ++votes[*a.primary];
    if (v > best_votes) {
      best_votes = v;
      best = a.primary;
    }
  }
  return best;
}

namespace {

std::string join_address(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

// One sentinel's answers for every shard. A sentinel that fails once is not asked again:
// each further question would cost another timeout.
void ask_one(const Topology& t, const CommonOptions& o, std::size_t k,
             std::vector<ShardSentinelView>& views) {
  const NodeAddress& addr = t.sentinel->addresses[k];
  std::string failed;
  std::optional<NodeProbe> probe;
  try {
    probe.emplace(NodeProbe::sentinel(t, addr, o));
  } catch (const std::exception& e) {
    failed = e.what();
  }
  for (auto& view : views) {
    SentinelAnswer& a = view.answers[k];
    a.sentinel = addr.to_string();
    if (!failed.empty()) {
      a.error = failed;
      continue;
    }
    try {
      Reply r = probe->command({"SENTINEL", "get-master-addr-by-name", view.master_name});
      if (r.is_array() && r.elements().size() == 2) {
        a.primary = join_address(r.elements()[0].str(), r.elements()[1].str());
      } else {
        a.error = "knows no master named " + view.master_name;
      }
    } catch (const Error& e) {
      a.error = e.what();
      if (is_transport(e.value())) failed = a.error;
    }
  }
}

void ask_replicas(const Topology& t, const CommonOptions& o, ShardSentinelView& view) {
  for (const auto& a : view.answers) {
    if (!a.primary) continue;
    try {
      NodeProbe probe = NodeProbe::sentinel(t, NodeAddress::parse(a.sentinel), o);
      Reply r = probe.command({"SENTINEL", "replicas", view.master_name});
      for (const Reply& rep : r.elements()) {
        std::map<std::string, std::string> f;
        const auto& kv = rep.elements();
        for (std::size_t i = 0; i + 1 < kv.size(); i += 2) f[kv[i].str()] = kv[i + 1].str();
        view.replicas.push_back({join_address(f["ip"], f["port"]), f["flags"]});
      }
      return;
    } catch (const std::exception&) {
      continue;  // the next sentinel may know
    }
  }
}

}  // namespace

std::vector<ShardSentinelView> ask_sentinels(const Topology& t, const CommonOptions& o) {
  std::vector<ShardSentinelView> views;
  if (!t.sentinel || t.sentinel->addresses.empty()) return views;
  const std::size_t n = t.sentinel->addresses.size();
  for (const auto& s : t.shards) {
    ShardSentinelView v;
    v.master_name = t.sentinel->master_prefix + s.name;
    v.answers.resize(n);
    views.push_back(std::move(v));
  }
  // Each thread writes only answers[k] of every view: no two threads touch one element.
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < n; ++k) {
    threads.emplace_back([&, k] { ask_one(t, o, k, views); });
  }
  for (auto& th : threads) th.join();
  std::vector<std::thread> more;
  for (auto& v : views) more.emplace_back([&] { ask_replicas(t, o, v); });
  for (auto& th : more) th.join();
  return views;
}

NodeAddress current_primary(const Topology& t, const std::vector<ShardSentinelView>& views,
                            std::size_t i) {
  if (i < views.size()) {
    if (auto p = views[i].primary()) return NodeAddress::parse(*p);
  }
  return t.shards.at(i).primary;
}

}  // namespace flyshard::cli
