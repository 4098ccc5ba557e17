// libFuzzer target: NodeAddress::parse ("host:port", "[v6]:port", redis://, rediss://,
// unix://). Checks: only Error(config) is ever thrown; a parsed address passes validation
// (Topology::validate agrees with the parser); to_string() does not depend on the password and,
// for an address without credentials, parses back to the same address.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "flyshard/error.hpp"
#include "flyshard/topology.hpp"
#include "node_address_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  flyshard::NodeAddress a;
  try {
    a = flyshard::NodeAddress::parse(text);
  } catch (const flyshard::Error& e) {
    if (e.value() != flyshard::errc::config) __builtin_trap();
    return 0;
  }
  if (!flyshard::detail::address_problem(a).empty()) __builtin_trap();
  const std::string shown = a.to_string();
  // The password never shows: to_string() does not depend on it at all.
  flyshard::NodeAddress without = a;
  without.password.clear();
  if (shown != without.to_string()) __builtin_trap();
  if (a.username.empty() && a.password.empty()) {
    if (!(flyshard::NodeAddress::parse(shown) == a)) __builtin_trap();
  }
  return 0;
}
