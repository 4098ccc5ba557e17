#pragma once
// Opening the store and the few facts about its layout the shop needs.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

namespace shop {

/// Options every shop process uses: writes wait up to 5 s for a Sentinel promotion, library
/// logs become JSON lines. `pool` is the blocking connections kept per node (one per
/// thread that calls the store at once).
flyshard::ClientOptions store_options(std::size_t pool);

/// Loads the topology file and opens a client; throws flyshard::Error.
std::unique_ptr<flyshard::Client> open_store(const std::string& config_path,
                                             const flyshard::ClientOptions& options);

/// One event stream key per shard (index = shard index): the first events:{e<k>} that maps
/// to that shard. Every process computes the same list from the same topology, so the
/// checkout writes an order's event on the visitor's shard, atomically with the order.
std::vector<std::string> event_streams(const flyshard::Client& client);

/// The WAIT a write on `shard` should ask for: one replica when the shard has any, else
/// none (replicas = 0).
flyshard::ReplicaAck replica_ack(const flyshard::Client& client, std::size_t shard,
                                 std::chrono::milliseconds timeout);

/// True for errors that mean "the store cannot be reached in time" (answered with 503).
bool is_unavailable(flyshard::errc e) noexcept;
/// The same for an error, including server errors a failover produces (READONLY on a demoted
/// primary, LOADING, MASTERDOWN, TRYAGAIN, NOREPLICAS).
bool is_unavailable(const flyshard::Error& e) noexcept;

}  // namespace shop
