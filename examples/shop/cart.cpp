#include "cart.hpp"

#include <algorithm>

#include "keys.hpp"

namespace shop {

namespace {

std::vector<CartLine> parse_lines(const flyshard::Reply& r) {
  r.throw_if_error();
  std::vector<CartLine> lines;
  const auto& e = r.elements();
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
    auto id = parse_int(e[i].str());
    auto q = parse_int(e[i + 1].str());
    if (id && q && *q > 0) lines.push_back({*id, *q});
  }
  std::sort(lines.begin(), lines.end(),
            [](const CartLine& a, const CartLine& b) { return a.product_id < b.product_id; });
  return lines;
}

}  // namespace

std::vector<CartLine> read_cart(flyshard::Client& client, const std::string& uid) {
  return parse_lines(client.command({"HGETALL", keys::cart(uid)}));
}

std::vector<CartLine> set_cart_quantity(flyshard::Client& client, const std::string& uid,
                                        long long product_id, long long quantity) {
  const std::string key = keys::cart(uid);
  const std::string field = std::to_string(product_id);
  auto pipe = client.pipeline();
  if (quantity == 0)
    pipe.command({"HDEL", key, field});
  else
    pipe.command({"HSET", key, field, std::to_string(quantity)});
  pipe.command({"HGETALL", key});
  auto replies = pipe.execute();
  replies[0].value().throw_if_error();
  return parse_lines(replies[1].value());
}

Json cart_json(const std::vector<CartLine>& lines, Catalog& catalog) {
  Json items = Json::array();
  long long total = 0;
  for (const auto& line : lines) {
    auto p = catalog.find(line.product_id);
    if (!p) continue;
    items.push_back({{"product_id", line.product_id},
                     {"name", p->name},
                     {"price_cents", p->price_cents},
                     {"quantity", line.quantity}});
    total += p->price_cents * line.quantity;
  }
  return {{"items", std::move(items)}, {"total_cents", total}};
}

}  // namespace shop
