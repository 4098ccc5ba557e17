// Uses an installed flyshard through its public headers only, with no server: topology from
// JSON, a distribution, key placement and the error type. Exits non-zero on any mismatch.

#include <flyshard/flyshard.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  }
}

constexpr const char* kTopology = R"({
  "distribution": "maglev",
  "shards": [
    { "name": "s1", "primary": "127.0.0.1:7001", "replicas": ["127.0.0.1:7101"] },
    { "name": "s2", "primary": "127.0.0.1:7002" },
    { "name": "s3", "weight": 2, "primary": "127.0.0.1:7003" }
  ]
})";

}  // namespace

int main() {
  try {
    const flyshard::Topology topology = flyshard::Topology::from_json(kTopology);
    check(topology.distribution == "maglev", "distribution is maglev");
    check(topology.shards.size() == 3, "three shards");
    check(topology.shards[0].replicas.size() == 1, "s1 has one replica");
    check(topology.shards[2].weight == 2, "s3 has weight 2");
    check(topology.shards[1].primary == flyshard::NodeAddress{"127.0.0.1", 7002},
          "s2 primary address");

    const flyshard::Distribution d = topology.make_distribution();
    check(d.size() == 3, "distribution has three shards");
    check(d.algorithm() == "maglev", "distribution algorithm");

    // The same names and weights built in code place every key the same way.
    const flyshard::Distribution same =
        flyshard::Distribution::create("maglev", {{"s1", 1}, {"s2", 1}, {"s3", 2}});
    const std::vector<std::string> keys = {"user:1",       "user:2",      "cart:{u42}",
                                           "orders:{u42}", "session:abc", ""};
    for (const auto& key : keys) {
      const std::size_t shard = d.shard_for(key);
      std::printf("%-14s -> shard %zu (%s)\n", ("\"" + key + "\"").c_str(), shard,
                  d.shards()[shard].name.c_str());
      check(shard < d.size(), "shard index in range for " + key);
      check(same.shard_for(key) == shard, "same placement from code for " + key);
    }
    check(flyshard::hash_tag("cart:{u42}") == "u42", "hash_tag");
    check(d.shard_for("cart:{u42}") == d.shard_for("orders:{u42}"), "hash tags co-locate");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: unexpected exception: %s\n", e.what());
    return 1;
  }

  // Configuration errors are flyshard::Error with errc::config.
  try {
    (void)flyshard::Topology::from_json(R"({"shards": []})");
    check(false, "from_json of an empty shard list must throw");
  } catch (const flyshard::Error& e) {
    check(e.value() == flyshard::errc::config, "error code is errc::config");
    check(e.code() == std::error_code(flyshard::errc::config), "std::error_code comparison");
    check(std::string(e.code().category().name()) == "flyshard", "category name");
    check(std::string(e.what()).find("shards") != std::string::npos,
          std::string("message names the field: ") + e.what());
    std::printf("config error: %s\n", e.what());
  } catch (const std::exception& e) {
    check(false, std::string("wrong exception type: ") + e.what());
  }

  if (failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  std::printf("consumer OK\n");
  return EXIT_SUCCESS;
}
