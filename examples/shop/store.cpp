#include "store.hpp"

#include "access_log.hpp"
#include "keys.hpp"

namespace shop {

flyshard::ClientOptions store_options(std::size_t pool) {
  flyshard::ClientOptions o;
  o.request_timeout = std::chrono::milliseconds(1000);
  // During a Sentinel failover a write waits for the promotion instead of failing at once.
  o.wait_for_promotion = std::chrono::milliseconds(5000);
  o.blocking_pool_size = pool;
  // The primary while it is up (read-your-writes for carts); a replica while it is down,
  // so browsing keeps working during a failover.
  o.read_from = flyshard::ReadFrom::primary_preferred;
  o.log = library_log_handler();
  o.log_level = flyshard::LogLevel::warning;
  return o;
}

std::unique_ptr<flyshard::Client> open_store(const std::string& config_path,
                                             const flyshard::ClientOptions& options) {
  auto topology = flyshard::Topology::from_json_file(config_path);
  return std::make_unique<flyshard::Client>(std::move(topology), options);
}

std::vector<std::string> event_streams(const flyshard::Client& client) {
  const std::size_t shards = client.topology().shards.size();
  std::vector<std::string> streams(shards);
  std::size_t found = 0;
  // A key per shard exists for any sane distribution well within this bound; a shard with
  // weight so small that none maps to it simply has no stream (its visitors' events are
  // then not representable, so we fail loudly).
  for (long long k = 0; k < 100000 && found < shards; ++k) {
    std::string key = keys::event_stream(k);
    std::size_t s = client.shard_for(key);
    if (streams[s].empty()) {
      streams[s] = std::move(key);
      ++found;
    }
  }
  if (found < shards)
    throw flyshard::Error(flyshard::errc::config, "no event stream key maps to some shard");
  return streams;
}

flyshard::ReplicaAck replica_ack(const flyshard::Client& client, std::size_t shard,
                                 std::chrono::milliseconds timeout) {
  flyshard::ReplicaAck ack;
  ack.replicas = client.topology().shards.at(shard).replicas.empty() ? 0 : 1;
  ack.timeout = timeout;
  return ack;
}

bool is_unavailable(flyshard::errc e) noexcept {
  using flyshard::errc;
  return e == errc::timeout || e == errc::connection_lost || e == errc::shard_unavailable ||
         e == errc::overloaded || e == errc::shutting_down;
}

bool is_unavailable(const flyshard::Error& e) noexcept {
  if (is_unavailable(e.value())) return true;
  // READONLY, LOADING, MASTERDOWN, BUSY, ...: the node cannot serve this now (the library's
  // classification of server errors says which kinds a retry may cure).
  return e.value() == flyshard::errc::server_error && flyshard::is_retriable(e);
}

}  // namespace shop
