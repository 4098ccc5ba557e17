#include "reservations.hpp"

#include "keys.hpp"

namespace shop {

namespace {

// KEYS: product, reservations, reservation times. ARGV: order id, units, now (ms).
// Returns 1 reserved (or already reserved by this order), 0 not enough stock, -1 no product.
const flyshard::Script reserve_script(R"lua(
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
local stock = redis.call('HGET', KEYS[1], 'stock')
if not stock then return -1 end
local units = tonumber(ARGV[2])
if tonumber(stock) < units then return 0 end
redis.call('HINCRBY', KEYS[1], 'stock', -units)
redis.call('HSET', KEYS[2], ARGV[1], units)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
)lua");

// KEYS: product, reservations, reservation times. ARGV: order id. Returns units given back.
const flyshard::Script release_script(R"lua(
local units = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if not units then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'stock', units)
end
return tonumber(units)
)lua");

std::vector<std::string> reservation_keys(long long product_id) {
  return {keys::product(product_id), keys::reservations(product_id),
          keys::reservation_times(product_id)};
}

}  // namespace

ReserveOutcome reserve_stock(flyshard::Client& client, long long product_id,
                             const std::string& order_id, long long units, long long now_ms,
                             const flyshard::ReplicaAck& ack) {
  const auto keys = reservation_keys(product_id);
  const std::vector<std::string> args{order_id, std::to_string(units), std::to_string(now_ms)};
  ReserveOutcome out;
  flyshard::Reply reply;
  if (ack.replicas > 0) {
    auto acked = reserve_script.run_and_wait(client, keys, args, ack);
    if (acked.replies.empty())
      throw flyshard::Error(flyshard::errc::protocol_error, "no reply to the reserve script");
    reply = std::move(acked.replies[0]);
    out.replicated = acked.confirmed;
  } else {
    reply = reserve_script.run(client, keys, args);
  }
  const long long r = reply.as_integer();  // throws server_error for an error reply
  out.status = r == 1   ? ReserveStatus::reserved
               : r == 0 ? ReserveStatus::out_of_stock
                        : ReserveStatus::unknown_product;
  return out;
}

long long release_stock(flyshard::Client& client, long long product_id,
                        const std::string& order_id) {
  return release_script.run(client, reservation_keys(product_id), {order_id}).as_integer();
}

void commit_reservations(flyshard::Client& client, const std::vector<long long>& product_ids,
                         const std::string& order_id) {
  if (product_ids.empty()) return;
  auto pipe = client.pipeline();
  for (long long product_id : product_ids) {
    pipe.command({"HDEL", keys::reservations(product_id), order_id});
    pipe.command({"ZREM", keys::reservation_times(product_id), order_id});
  }
  for (auto& r : pipe.execute()) r.value().throw_if_error();
}

}  // namespace shop
