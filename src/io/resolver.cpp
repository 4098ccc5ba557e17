#include "io/resolver.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace flyshard::detail {
namespace {

std::mutex g_resolver_mu;
std::shared_ptr<const Resolver> g_resolver;  // set by tests only

std::shared_ptr<const Resolver> test_resolver() {
  std::lock_guard lock(g_resolver_mu);
  return g_resolver;
}

Result<std::vector<SocketAddress>> getaddrinfo_all(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return {errc::connection_lost, "cannot resolve " + host + ": " + ::gai_strerror(rc)};
  }
  std::vector<SocketAddress> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    SocketAddress a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return {errc::connection_lost, "cannot resolve " + host + ": no address"};
  return out;
}

}  // namespace

std::optional<SocketAddress> literal_address(const NodeAddress& address) {
  SocketAddress out;
  if (address.is_unix()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    if (address.path.size() >= sizeof un->sun_path) return std::nullopt;  // validate() refuses it
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.path.data(), address.path.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
    return out;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (::inet_pton(AF_INET, address.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(address.port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET6, address.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(address.port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

Result<std::vector<SocketAddress>> resolve_name(const std::string& host, std::uint16_t port) {
  if (auto r = test_resolver()) return (*r)(host, port);
  return getaddrinfo_all(host, port);
}

Result<std::vector<SocketAddress>> resolve_until(const NodeAddress& address,
                                                 std::chrono::steady_clock::time_point deadline) {
  if (auto literal = literal_address(address)) return std::vector<SocketAddress>{*literal};
  // getaddrinfo takes no timeout: it runs on a thread of its own that this call stops
  // waiting for at the deadline. Only opening a blocking link to a named node pays this.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<std::vector<SocketAddress>>> result;
  };
  auto pending = std::make_shared<Pending>();
  try {
    std::thread([pending, host = address.host, port = address.port] {
      Result<std::vector<SocketAddress>> r(errc::connection_lost, "cannot resolve " + host);
      try {
        r = resolve_name(host, port);
      } catch (const std::exception& e) {
        r = Result<std::vector<SocketAddress>>(errc::connection_lost,
                                               "cannot resolve " + host + ": " + e.what());
      }
      std::lock_guard lock(pending->mu);
      pending->result = std::move(r);
      pending->cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    return {errc::connection_lost, "cannot resolve " + address.host + ": " + e.what()};
  }
  std::unique_lock lock(pending->mu);
  if (!pending->cv.wait_until(lock, deadline, [&] { return pending->result.has_value(); })) {
    return {errc::timeout, "resolving " + address.host + " timed out"};
  }
  return std::move(*pending->result);
}

void set_resolver_for_testing(Resolver resolver) {
  std::lock_guard lock(g_resolver_mu);
  g_resolver = resolver ? std::make_shared<const Resolver>(std::move(resolver)) : nullptr;
}

}  // namespace flyshard::detail
