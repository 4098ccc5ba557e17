#pragma once
// `flyshard-shop check`: the invariants the shop is held to, read from the store.
//  - stock >= 0 for every product;
//  - initial stock == stock + units in confirmed orders + units in live reservations (a
//    reservation is live while its order does not exist);
//  - the worker's sold count per product == units in confirmed orders;
//  - each Idempotency-Key maps to one order.

#include <chrono>

#include <flyshard/flyshard.hpp>

#include "json_util.hpp"

namespace shop {

struct InvariantReport {
  bool ok = false;
  Json json;  ///< the report printed by `check`
};

/// Checks once; throws flyshard::Error when the store cannot be read.
InvariantReport check_invariants(flyshard::Client& client);

/// Checks until the invariants hold or `wait` has passed (the worker may be catching up,
/// checkouts may be in flight); returns the last report.
InvariantReport check_invariants_until(flyshard::Client& client, std::chrono::milliseconds wait);

}  // namespace shop
