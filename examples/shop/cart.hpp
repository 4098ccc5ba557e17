#pragma once
// The cart: hash cart:{u<uid>} product id -> quantity, one field per line, changed only with
// HSET/HDEL (never a read-modify-write of a blob, so two tabs of one visitor cannot lose a
// line).

#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

#include "catalog.hpp"
#include "json_util.hpp"

namespace shop {

struct CartLine {
  long long product_id = 0;
  long long quantity = 0;
};

/// The lines, ordered by product id (malformed fields are skipped).
std::vector<CartLine> read_cart(flyshard::Client& client, const std::string& uid);

/// Sets a line's quantity (0 removes it) and returns the cart after the change, in one
/// round trip.
std::vector<CartLine> set_cart_quantity(flyshard::Client& client, const std::string& uid,
                                        long long product_id, long long quantity);

/// {"items":[{"product_id","name","price_cents","quantity"}],"total_cents"}; lines of
/// products no longer in the catalogue are left out.
Json cart_json(const std::vector<CartLine>& lines, Catalog& catalog);

}  // namespace shop
