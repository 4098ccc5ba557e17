// `flyshard locate KEY...`: where a key lives and what is there. The shard comes from the
// library's own placement (Client::shard_for on the cluster file), so the tool can never
// disagree with a program built on the same file; the questions (EXISTS, TYPE, PTTL) go to
// the shard's primary through Client::command_on_shard, which follows Sentinel.
//
// Exit code: 0, 1 when the shard's primary did not answer (named), 2 for bad input.

#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_options.hpp"
#include "flyshard/client.hpp"
#include "flyshard/distribution.hpp"

namespace flyshard::cli {

namespace {

struct LocateOptions {
  CommonOptions common;
  std::vector<std::string> keys;
};

std::string join(const std::vector<NodeAddress>& v) {
  std::string out;
  for (const auto& a : v) out += (out.empty() ? "" : ", ") + a.to_string();
  return out.empty() ? "(none)" : out;
}

int run_locate(const LocateOptions& lo) {
  const CommonOptions& o = lo.common;
  Client client(load_topology(o.config), routing_client_options(o));
  // The layout the client routes by: the topology record's once a migration changed it.
  const Topology t = client.layout();

  nlohmann::json out = nlohmann::json::array();
  int rc = kExitOk;
  bool first = true;
  for (const std::string& key : lo.keys) {
    const std::size_t shard = client.shard_for(key);
    const ShardSpec& spec = t.shards[shard];
    const std::string_view tag = hash_tag(key);
    const bool tagged = tag.size() != key.size();
    nlohmann::json j = {{"key", key},
                        {"hash_tag", tagged ? nlohmann::json(std::string(tag)) : nlohmann::json()},
                        {"hashed", std::string(tag)},
                        {"shard", spec.name},
                        {"shard_index", shard},
                        {"primary", spec.primary.to_string()},
                        {"replicas", nlohmann::json::array()}};
    for (const auto& r : spec.replicas) j["replicas"].push_back(r.to_string());
    std::string serving;
    try {
      serving = client.node_for(key, true).to_string();
      j["serving_primary"] = serving;
      const bool exists = client.command_on_shard(shard, {"EXISTS", key}).integer() == 1;
      j["exists"] = exists;
      if (exists) {
        j["type"] = client.command_on_shard(shard, {"TYPE", key}).str();
        const long long pttl = client.command_on_shard(shard, {"PTTL", key}).integer();
        // PTTL: -1 no expiry, -2 gone since EXISTS (expired in between).
        j["pttl_ms"] = pttl >= 0 ? nlohmann::json(pttl) : nlohmann::json();
        if (pttl == -2) j["exists"] = false;
      }
    } catch (const Error& e) {
      if (e.value() == errc::config) throw;
      j["error"] = (serving.empty() ? spec.primary.to_string() : serving) + ": " + e.what();
      rc = kExitFailure;
      std::cerr << "flyshard: " << key << ": shard " << spec.name
                << " did not answer: " << j["error"].get<std::string>() << '\n';
    }
    if (o.json) {
      out.push_back(std::move(j));
      continue;
    }
    if (!first) std::cout << '\n';
    first = false;
    std::cout << "key       " << key << '\n'
              << "hash tag  "
              << (tagged
                      ? "{" + std::string(tag) + "} (only \"" + std::string(tag) + "\" is hashed)"
                      : std::string("none (the whole key is hashed)"))
              << '\n'
              << "shard     " << spec.name << " (" << t.distribution << ", shard " << shard + 1
              << " of " << t.shards.size() << ")\n"
              << "primary   " << spec.primary.to_string();
    if (!serving.empty() && serving != spec.primary.to_string()) {
      std::cout << " (now served by " << serving << ")";
    }
    std::cout << '\n' << "replicas  " << join(spec.replicas) << '\n';
    if (j.contains("error")) {
      std::cout << "exists    unknown (" << j["error"].get<std::string>() << ")\n";
    } else if (!j["exists"].get<bool>()) {
      std::cout << "exists    no\n";
    } else {
      std::cout << "exists    yes\n"
                << "type      " << j["type"].get<std::string>() << '\n'
                << "pttl      "
                << (j["pttl_ms"].is_null() ? std::string("none (no expiry)")
                                           : std::to_string(j["pttl_ms"].get<long long>()) + " ms")
                << '\n';
    }
  }
  if (o.json) std::cout << out.dump(2) << '\n';
  return rc;
}

}  // namespace

void add_locate_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<LocateOptions>();
  CLI::App* sub = app.add_subcommand(
      "locate", "the shard of each key, its nodes, its hash tag, and whether it exists there");
  add_common_options(*sub, o->common);
  sub->add_option("keys", o->keys, "keys to locate")->required();
  sub->callback([&action, o] { action = [o] { return run_locate(*o); }; });
}

}  // namespace flyshard::cli
