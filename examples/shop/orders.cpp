#include "orders.hpp"

#include <stdexcept>

#include "keys.hpp"

namespace shop {

std::string make_order_id(std::string_view uid, long long number) {
  return std::string(uid) + "-" + std::to_string(number);
}

std::optional<OrderRef> parse_order_id(std::string_view order_id) {
  auto dash = order_id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 32) return std::nullopt;
  for (char c : order_id.substr(0, dash))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  auto n = parse_int(order_id.substr(dash + 1));
  if (!n || *n <= 0) return std::nullopt;
  return OrderRef{std::string(order_id.substr(0, dash)), *n};
}

Json order_public_json(const Order& order) {
  Json items = Json::array();
  for (const auto& l : order.items)
    items.push_back({{"product_id", l.product_id},
                     {"name", l.name},
                     {"price_cents", l.price_cents},
                     {"quantity", l.quantity}});
  return {{"order_id", order.order_id},     {"status", "confirmed"},
          {"items", std::move(items)},      {"total_cents", order.total_cents},
          {"replicated", order.replicated}, {"created_at", order.created_at}};
}

std::string order_record(const Order& order) {
  Json j = order_public_json(order);
  j["uid"] = order.uid;
  j["idempotency_key"] = order.idempotency_key;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Order parse_order_record(std::string_view record) {
  Json j = Json::parse(record, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error("not an order record");
  try {
    Order o;
    o.order_id = j.at("order_id").get<std::string>();
    o.uid = j.value("uid", std::string());
    o.idempotency_key = j.value("idempotency_key", std::string());
    o.total_cents = j.at("total_cents").get<long long>();
    o.replicated = j.value("replicated", false);
    o.created_at = j.value("created_at", 0LL);
    for (const auto& it : j.at("items"))
      o.items.push_back({it.at("product_id").get<long long>(), it.value("name", std::string()),
                         it.value("price_cents", 0LL), it.at("quantity").get<long long>()});
    return o;
  } catch (const Json::exception& e) {
    throw std::runtime_error(std::string("not an order record: ") + e.what());
  }
}

std::vector<Order> list_orders(flyshard::Client& client, const std::string& uid,
                               std::size_t limit) {
  auto numbers = client.lrange(keys::orders(uid), 0, static_cast<long long>(limit) - 1);
  std::vector<Order> out;
  if (numbers.empty()) return out;
  std::vector<std::string> order_keys;
  for (const auto& n : numbers)
    if (auto v = parse_int(n)) order_keys.push_back(keys::order(uid, *v));
  auto records = client.mget(order_keys);  // one shard: the visitor's
  for (const auto& r : records) {
    if (!r) continue;
    try {
      out.push_back(parse_order_record(*r));
    } catch (const std::exception&) {
      // A record we cannot read is skipped rather than failing the whole list.
    }
  }
  return out;
}

std::optional<Order> find_order(flyshard::Client& client, const std::string& uid,
                                std::string_view order_id) {
  auto ref = parse_order_id(order_id);
  if (!ref || ref->uid != uid) return std::nullopt;
  auto record = client.get(keys::order(uid, ref->number));
  if (!record) return std::nullopt;
  return parse_order_record(*record);
}

}  // namespace shop
