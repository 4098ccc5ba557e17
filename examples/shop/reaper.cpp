#include "reaper.hpp"

#include <string>
#include <utility>
#include <vector>

#include "access_log.hpp"
#include "catalog.hpp"
#include "keys.hpp"
#include "orders.hpp"
#include "reservations.hpp"

namespace shop {

ReapResult reap_once(flyshard::Client& client, std::chrono::milliseconds older_than) {
  ReapResult result;
  const auto ids = stored_product_ids(client);
  if (ids.empty()) return result;
  const std::string limit = std::to_string(now_ms() - older_than.count());

  // Old reservations of every product, one pipelined round trip.
  auto pipe = client.pipeline();
  for (long long id : ids)
    pipe.command(
        {"ZRANGEBYSCORE", keys::reservation_times(id), "-inf", limit, "LIMIT", "0", "1000"});
  auto replies = pipe.execute();
  std::vector<std::pair<long long, std::string>> stale;  // product id, order id
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (const auto& e : replies[i].value().elements()) stale.emplace_back(ids[i], e.str());
  result.examined = stale.size();
  if (stale.empty()) return result;

  // Does each order exist? (Order ids name their visitor, hence their key.)
  auto exists_pipe = client.pipeline();
  std::vector<bool> checkable(stale.size(), false);
  for (std::size_t i = 0; i < stale.size(); ++i) {
    if (auto ref = parse_order_id(stale[i].second)) {
      exists_pipe.command({"EXISTS", keys::order(ref->uid, ref->number)});
      checkable[i] = true;
    }
  }
  auto exists = exists_pipe.execute();
  std::size_t next = 0;
  for (std::size_t i = 0; i < stale.size(); ++i) {
    const auto& [pid, order_id] = stale[i];
    bool order_exists = false;
    if (checkable[i]) order_exists = exists[next++].value().integer() > 0;
    if (order_exists) {
      commit_reservations(client, {pid}, order_id);
      ++result.committed;
    } else {
      long long units = release_stock(client, pid, order_id);
      if (units > 0) {
        ++result.released;
        result.units_released += units;
        log_event("info", "reservation released",
                  {{"product_id", pid}, {"order_id", order_id}, {"units", units}});
      }
    }
  }
  return result;
}

Json reap_json(const ReapResult& r) {
  return {{"examined", r.examined},
          {"released", r.released},
          {"committed", r.committed},
          {"units_released", r.units_released}};
}

}  // namespace shop
