#pragma once
// The shop's own counters for /metrics (the library's come from Client::stats()).

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace shop {

class Metrics {
 public:
  void count_request(std::string_view route, int status);
  /// outcome: confirmed, replayed, out_of_stock, empty_cart, in_progress, unavailable, ...
  void count_checkout(std::string_view outcome);
  void count_released(long long reservations) { released_ += reservations; }
  /// Prometheus text of the shop counters; `events_applied` is read from the store by the
  /// caller (the worker is another process), negative when unknown.
  std::string render(long long events_applied) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> checkouts_;
  std::atomic<long long> released_{0};
};

}  // namespace shop
