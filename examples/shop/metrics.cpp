#include "metrics.hpp"

namespace shop {

void Metrics::count_request(std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
}

void Metrics::count_checkout(std::string_view outcome) {
  std::lock_guard lock(mutex_);
  ++checkouts_[std::string(outcome)];
}

std::string Metrics::render(long long events_applied) const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP shop_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE shop_http_requests_total counter\n";
  for (const auto& [k, n] : requests_)
    out += "shop_http_requests_total{route=\"" + k.first + "\",status=\"" +
           std::to_string(k.second) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP shop_checkouts_total Checkouts by outcome.\n";
  out += "# TYPE shop_checkouts_total counter\n";
  for (const auto& [outcome, n] : checkouts_)
    out += "shop_checkouts_total{outcome=\"" + outcome + "\"} " + std::to_string(n) + "\n";
  out +=
      "# HELP shop_reservations_released_total Reservations released (compensation and reaper).\n";
  out += "# TYPE shop_reservations_released_total counter\n";
  out += "shop_reservations_released_total " + std::to_string(released_.load()) + "\n";
  if (events_applied >= 0) {
    out +=
        "# HELP shop_events_applied Order events applied by the inventory worker (from the "
        "store).\n";
    out += "# TYPE shop_events_applied gauge\n";
    out += "shop_events_applied " + std::to_string(events_applied) + "\n";
  }
  return out;
}

}  // namespace shop
