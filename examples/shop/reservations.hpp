#pragma once
// Stock reservations on each product's shard: stock is taken from product:{p<id>} and
// recorded in resv:{p<id>} (order id -> units) and resvt:{p<id>} (order id -> time) in one
// script, so a reservation either fully exists or not at all, and releasing it twice gives
// the stock back once.

#include <string>
#include <vector>

#include <flyshard/flyshard.hpp>

namespace shop {

enum class ReserveStatus { reserved, out_of_stock, unknown_product };

struct ReserveOutcome {
  ReserveStatus status = ReserveStatus::reserved;
  bool replicated = false;  ///< a replica acknowledged the reservation (WAIT)
};

/// Takes `units` of a product for `order_id` (a retry with the same order id takes nothing
/// more). With ack.replicas > 0, waits for a replica on the same connection.
ReserveOutcome reserve_stock(flyshard::Client& client, long long product_id,
                             const std::string& order_id, long long units, long long now_ms,
                             const flyshard::ReplicaAck& ack);

/// Gives back what `order_id` reserved and forgets the reservation; returns the units
/// given back (0 when there was none: already released or committed).
long long release_stock(flyshard::Client& client, long long product_id,
                        const std::string& order_id);

/// Forgets the reservations of a confirmed order without giving stock back (one pipelined
/// round trip for all its products).
void commit_reservations(flyshard::Client& client, const std::vector<long long>& product_ids,
                         const std::string& order_id);

}  // namespace shop
