#pragma once
/// \file raw_redis.hpp
/// Owning pointers for hiredis's blocking API and a connect helper, for tests, benchmarks and
/// the launchers that talk to a server (or nutcracker) directly, without flyshard in between.
/// Header only; includes <hiredis/hiredis.h>, so the user links hiredis (PkgConfig::HIREDIS).
///
/// Test support only: not part of the installed library.

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <memory>

#include "flyshard/topology.hpp"

namespace flyshard::testing {

struct RedisContextDeleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
/// A hiredis blocking connection, freed with redisFree.
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
/// A hiredis reply, freed with freeReplyObject.
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

/// A blocking connection to `address`; `timeout` bounds the connect and then every reply.
/// nullptr when it cannot connect.
inline RedisContextPtr connect_raw(const NodeAddress& address, std::chrono::milliseconds timeout) {
  const auto ms = timeout.count() > 0 ? timeout.count() : 1;
  const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
  RedisContextPtr c(redisConnectWithTimeout(address.host.c_str(), address.port, tv));
  if (!c || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

}  // namespace flyshard::testing
