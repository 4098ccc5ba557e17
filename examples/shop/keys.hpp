#pragma once
// Every key the shop uses, in one place. Hash tags keep what must be changed together on one
// shard: a product with its reservations and sold count ({p<id>}), a visitor's cart, orders,
// idempotency records and session ({u<uid>}), an event stream with its bookkeeping ({e<k>}).

#include <string>
#include <string_view>

namespace shop::keys {

inline constexpr std::string_view kCatalogIds = "catalog:ids";        // set of product ids
inline constexpr std::string_view kLowStock = "worker:low_stock";     // zset product id -> stock
inline constexpr std::string_view kOrderChannel = "order_completed";  // pub/sub channel
inline constexpr std::string_view kEventsGroup = "inventory";         // the worker's group
/// Every event stream a layout used (set): the worker consumes each (shop_layout.hpp).
inline constexpr std::string_view kEventStreams = "worker:event_streams";

inline std::string product(long long id) {
  return "product:{p" + std::to_string(id) + "}";
}
/// Reservations of a product: hash order_id -> units.
inline std::string reservations(long long id) {
  return "resv:{p" + std::to_string(id) + "}";
}
/// When each reservation was made: zset order_id -> ms since epoch (the reaper's index).
inline std::string reservation_times(long long id) {
  return "resvt:{p" + std::to_string(id) + "}";
}
/// Units sold as counted by the worker.
inline std::string sold(long long id) {
  return "sold:{p" + std::to_string(id) + "}";
}
/// Order ids the worker already counted for this product (makes applying idempotent).
inline std::string applied(long long id) {
  return "applied:{p" + std::to_string(id) + "}";
}

inline std::string session(std::string_view uid) {
  return "session:{u" + std::string(uid) + "}";
}
inline std::string cart(std::string_view uid) {
  return "cart:{u" + std::string(uid) + "}";
}
/// The visitor's order numbers, newest first (list).
inline std::string orders(std::string_view uid) {
  return "orders:{u" + std::string(uid) + "}";
}
inline std::string order_seq(std::string_view uid) {
  return "orderseq:{u" + std::string(uid) + "}";
}
inline std::string order(std::string_view uid, long long n) {
  return "order:{u" + std::string(uid) + "}:" + std::to_string(n);
}
inline std::string idempotency(std::string_view uid, std::string_view key) {
  return "idem:{u" + std::string(uid) + "}:" + std::string(key);
}

/// The event stream with number k; make_shop_layout() picks one k per shard.
inline std::string event_stream(long long k) {
  return "events:{e" + std::to_string(k) + "}";
}
/// Order ids a stream's events were counted for, and how many (same shard as the stream).
inline std::string events_seen(std::string_view stream) {
  return "events_seen:" + std::string(stream.substr(stream.find('{')));
}
inline std::string events_applied(std::string_view stream) {
  return "events_applied:" + std::string(stream.substr(stream.find('{')));
}

/// Key prefixes owned by the shop (load --reset removes keys with these).
inline constexpr std::string_view kPrefixes[] = {
    "catalog:", "worker:",  "product:",     "resv:",          "resvt:",    "sold:",
    "applied:", "session:", "cart:",        "orders:",        "orderseq:", "order:",
    "idem:",    "events:",  "events_seen:", "events_applied:"};

}  // namespace shop::keys
