// libFuzzer target: topology JSON (Topology::from_json). Checks: only Error(config) is ever
// thrown, and a topology that loads writes out (to_json) as JSON that loads again to the same
// shards (credentials aside: to_json() never writes them).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flyshard/error.hpp"
#include "flyshard/topology.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  flyshard::Topology t;
  try {
    t = flyshard::Topology::from_json(text);
  } catch (const flyshard::Error& e) {
    if (e.value() != flyshard::errc::config) __builtin_trap();
    return 0;
  }
  flyshard::Topology again = flyshard::Topology::from_json(t.to_json());
  if (again.shards.size() != t.shards.size()) __builtin_trap();
  for (std::size_t i = 0; i < t.shards.size(); ++i) {
    if (again.shards[i].name != t.shards[i].name ||
        !again.shards[i].primary.same_endpoint(t.shards[i].primary) ||
        again.shards[i].primary.db != t.shards[i].primary.db) {
      __builtin_trap();
    }
  }
  return 0;
}
