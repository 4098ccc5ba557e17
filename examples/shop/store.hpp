#pragma once
// Opening the store, and which of its errors mean "unavailable, retry".

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <flyshard/flyshard.hpp>

namespace shop {

/// Options every shop process uses: writes wait up to 5 s for a Sentinel promotion, library
/// logs become JSON lines. `pool` is the blocking connections kept per node (one per
/// thread that calls the store at once).
flyshard::ClientOptions store_options(std::size_t pool);

/// Loads the topology file and opens a client; throws flyshard::Error.
std::unique_ptr<flyshard::Client> open_store(const std::string& config_path,
                                             const flyshard::ClientOptions& options);

/// True for errors that mean "the store cannot be reached in time" (answered with 503).
bool is_unavailable(flyshard::errc e) noexcept;
/// The same for an error, including server errors a failover produces (READONLY on a demoted
/// primary, LOADING, MASTERDOWN, TRYAGAIN, NOREPLICAS).
bool is_unavailable(const flyshard::Error& e) noexcept;

/// Runs `step` until it does not fail with errc::migrating (keys frozen for a resharding
/// cutover, or a layout that changed under the step: the library refuses those before sending,
/// so nothing ran), for at most `wait` after the library's own bounded wait; then rethrows.
template <class Step>
auto retry_while_migrating(std::chrono::milliseconds wait, Step&& step) {
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    try {
      return step();
    } catch (const flyshard::Error& e) {
      if (e.value() != flyshard::errc::migrating || std::chrono::steady_clock::now() >= until)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace shop
