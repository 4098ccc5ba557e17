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

bool is_unavailable(flyshard::errc e) noexcept {
  using flyshard::errc;
  // migrating: a key frozen for a resharding cutover (or a lease being renewed) past the
  // request timeout; the next try goes through.
  return e == errc::timeout || e == errc::connection_lost || e == errc::shard_unavailable ||
         e == errc::overloaded || e == errc::shutting_down || e == errc::migrating;
}

bool is_unavailable(const flyshard::Error& e) noexcept {
  if (is_unavailable(e.value())) return true;
  // READONLY, LOADING, MASTERDOWN, BUSY, ...: the node cannot serve this now (the library's
  // classification of server errors says which kinds a retry may cure).
  return e.value() == flyshard::errc::server_error && flyshard::is_retriable(e);
}

}  // namespace shop
