#pragma once
// Addresses to sockets, for both I/O paths. A node's host name is resolved again on every
// connect, so a DNS name that moved to another machine is followed; numeric addresses and
// Unix socket paths never reach a resolver. Resolving blocks, so it never runs on the loop
// thread: the async links resolve on libuv's thread pool (uv_queue_work), the blocking path
// on a helper thread it waits for no longer than its connect deadline.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "flyshard/result.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::detail {

/// A resolved address (AF_INET, AF_INET6 or AF_UNIX).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

/// Resolves a host name and port to its addresses, best first. Blocking.
using Resolver =
    std::function<Result<std::vector<SocketAddress>>(const std::string& host, std::uint16_t port)>;

/// The socket address of a Unix socket path or a numeric IPv4/IPv6 host; nullopt for a host
/// name, which needs a resolver. Never blocks.
std::optional<SocketAddress> literal_address(const NodeAddress& address);

/// Resolves a host name (getaddrinfo, or the resolver set for tests). Blocks: not for the
/// loop thread. Errors are errc::connection_lost (the name may resolve on the next try).
Result<std::vector<SocketAddress>> resolve_name(const std::string& host, std::uint16_t port);

/// literal_address(), else resolve_name() on a helper thread, waited for until `deadline`
/// (errc::timeout past it; the helper finishes on its own). For the blocking path.
Result<std::vector<SocketAddress>> resolve_until(const NodeAddress& address,
                                                 std::chrono::steady_clock::time_point deadline);

/// Tests only: resolve_name() asks `resolver` instead of getaddrinfo (an empty function puts
/// getaddrinfo back). It lets a test move a name from one server to another without editing
/// /etc/hosts; it is not a stand-in for a server. Any thread.
void set_resolver_for_testing(Resolver resolver);

}  // namespace flyshard::detail
