// A client in a process of its own, for the test that SIGSTOPs a client across an epoch
// change (reshard_client_test): it writes one key over and over until killed.
//   reshard_child <topology.json> <key> <poll_interval_ms>
// (poll_interval_ms: topology_poll_interval and health_interval both.)
// Prints "ready" once its first write succeeded; each later write's value counts up.
#include <cstdio>
#include <string>

#include "flyshard/flyshard.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s topology.json key poll_interval_ms\n", argv[0]);
    return 2;
  }
  try {
    flyshard::ClientOptions o;
    o.health_interval = std::chrono::milliseconds(std::stoi(argv[3]));
    o.topology_poll_interval = o.health_interval;
    o.request_timeout = std::chrono::milliseconds(2000);
    flyshard::Client c(flyshard::Topology::from_json_file(argv[1]), o);
    bool ready = false;
    for (long long i = 0;; ++i) {
      try {
        c.set(argv[2], std::to_string(i));
        if (!ready) {
          std::printf("ready\n");
          std::fflush(stdout);
          ready = true;
        }
      } catch (const flyshard::Error& e) {
        // Retriable refusals (migrating) are the point of the test: keep going.
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reshard_child: %s\n", e.what());
    return 1;
  }
}
