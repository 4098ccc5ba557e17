#include "cli_options.hpp"

#include <iostream>

#include "flyshard/client.hpp"

namespace flyshard::cli {

void add_common_options(CLI::App& sub, CommonOptions& o) {
  sub.add_option("-c,--config", o.config, "cluster file (the JSON a program uses)")
      ->capture_default_str();
  sub.add_option("--timeout-ms", o.timeout_ms, "connect and request timeout per node, ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  sub.add_flag("--json", o.json, "machine-readable output");
  sub.add_flag("-v,--verbose", o.verbose, "show the library's warnings");
}

ClientOptions client_options(const CommonOptions& o) {
  ClientOptions c;
  c.connect_timeout = o.timeout();
  c.request_timeout = o.timeout();
  c.health_interval = std::chrono::milliseconds(0);
  // The probes talk to each node as the file names it, whatever layout a record gives.
  c.follow_topology_record = false;
  c.failure_limit = 1;
  c.reconnect_min = o.timeout();
  c.blocking_pool_size = 2;
  c.client_name = "flyshard-cli";  // tells the tool's probes from a program's links in CLIENT LIST
  if (o.verbose) {
    c.log_level = LogLevel::warning;
  } else {
    c.log = [](LogLevel, std::string_view) {};
  }
  return c;
}

ClientOptions routing_client_options(const CommonOptions& o) {
  ClientOptions c = client_options(o);
  // A command of the tool runs for moments: the record read at start is enough.
  c.follow_topology_record = true;
  c.topology_poll_interval = std::chrono::milliseconds(0);
  return c;
}

Topology routed_layout(const CommonOptions& o) {
  return Client(load_topology(o.config), routing_client_options(o)).layout();
}

Topology load_topology(const std::string& path) {
  return Topology::from_json_file(path);
}

}  // namespace flyshard::cli
