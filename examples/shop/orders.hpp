#pragma once
// Orders: order:{u<uid>}:<n> holds the order as JSON (written once, in the checkout's
// transaction), orders:{u<uid>} lists the numbers newest first. The public order id is
// "<uid>-<n>", so a lookup can check it belongs to the caller before reading anything.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <flyshard/flyshard.hpp>

#include "json_util.hpp"

namespace shop {

struct OrderLine {
  long long product_id = 0;
  std::string name;
  long long price_cents = 0;
  long long quantity = 0;
};

struct Order {
  std::string order_id;
  std::string uid;              ///< the visitor (never shown to others)
  std::string idempotency_key;  ///< empty when the checkout had none
  std::vector<OrderLine> items;
  long long total_cents = 0;
  bool replicated = false;
  long long created_at = 0;  ///< ms since the epoch
};

struct OrderRef {
  std::string uid;
  long long number = 0;
};

std::string make_order_id(std::string_view uid, long long number);
std::optional<OrderRef> parse_order_id(std::string_view order_id);

/// The checkout's 201 body plus created_at; no visitor identity.
Json order_public_json(const Order& order);
/// What is stored: the public fields plus uid and idempotency key.
std::string order_record(const Order& order);
/// Parses a stored record; throws std::runtime_error when it is not one.
Order parse_order_record(std::string_view record);

/// The visitor's newest orders first (at most `limit`), in two round trips.
std::vector<Order> list_orders(flyshard::Client& client, const std::string& uid, std::size_t limit);
/// One of the visitor's orders; nullopt when unknown or another visitor's.
std::optional<Order> find_order(flyshard::Client& client, const std::string& uid,
                                std::string_view order_id);

}  // namespace shop
