#pragma once
// The checkout saga across shards:
//  1. reserve every line on its product's shard (a script: check, decrement, record), each
//     acknowledged by a replica (WAIT on the same connection) where the shard has one;
//  2. on the visitor's shard, one MULTI/EXEC: the order record, its place in the visitor's
//     list, the idempotency record, DEL cart, and XADD of the order event to the stream that
//     lives on that shard — so the event exists exactly when the order does — then WAIT;
//  3. PUBLISH order_completed for live pages (best effort), and forget the reservations.
// A failure after step 1 releases what was reserved. A checkout still before step 2 after
// reservation_timeout / 2 gives up and releases, so the reaper (which releases reservations
// older than reservation_timeout whose order does not exist) can never race a live checkout.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

#include "catalog.hpp"
#include "json_util.hpp"
#include "metrics.hpp"
#include "shop_layout.hpp"

namespace shop {

struct CheckoutOptions {
  std::chrono::milliseconds reservation_timeout{30000};
  std::chrono::milliseconds replica_ack{200};  ///< WAIT timeout per step
  /// How long a step retries while the store answers errc::migrating (keys frozen for an
  /// online resharding cutover; nothing was written), beyond the library's own wait.
  std::chrono::milliseconds migrating_wait{3000};
};

struct CheckoutResult {
  int status = 201;
  Json body;
};

/// True for a valid Idempotency-Key: 1..64 of [A-Za-z0-9_-].
bool valid_idempotency_key(std::string_view key);

class Checkout {
 public:
  Checkout(flyshard::Client& client, Catalog& catalog, Metrics& metrics, LayoutTracker& layouts,
           CheckoutOptions options);
  /// Runs a checkout for visitor `uid`. Throws HttpError for answers other than 201 and
  /// flyshard::Error when the store cannot be reached (the caller answers 503).
  CheckoutResult run(const std::string& uid, const std::optional<std::string>& idempotency_key);

 private:
  void release_all(const std::vector<long long>& product_ids, const std::string& order_id);

  flyshard::Client& client_;
  Catalog& catalog_;
  Metrics& metrics_;
  CheckoutOptions options_;
  LayoutTracker& layouts_;  // event streams and replica counts of the layout in use
};

}  // namespace shop
