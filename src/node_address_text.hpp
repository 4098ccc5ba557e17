#pragma once
// The text forms of a NodeAddress ("host:port", "[v6]:port", redis://, rediss://, unix://),
// shared by NodeAddress::parse and the topology's JSON parser (which names the JSON path).

#include <string>
#include <string_view>

#include "flyshard/topology.hpp"

namespace flyshard::detail {

/// Parses `text` into `out`: "" on success, else why it is not an address. The reason never
/// quotes the text (it may hold a password).
std::string parse_node_address(std::string_view text, NodeAddress& out);

/// Why `a` (parsed or built in code) cannot name a node, or "" when it can.
std::string address_problem(const NodeAddress& a);

/// `text` with what could be credentials (everything before the last '@') replaced by
/// "***", for messages about text that did not parse.
std::string redact_address(std::string_view text);

}  // namespace flyshard::detail
