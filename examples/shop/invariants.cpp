#include "invariants.hpp"

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog.hpp"
#include "keys.hpp"
#include "orders.hpp"

namespace shop {

namespace {

constexpr std::size_t kMaxViolationsShown = 50;

// Every key matching `pattern` on every shard's primary.
std::vector<std::string> scan_all(flyshard::Client& client, const std::string& pattern) {
  std::vector<std::string> out;
  for (std::size_t shard = 0; shard < client.layout().shards.size(); ++shard) {
    std::string cursor = "0";
    do {
      auto r = client.command_on_shard(shard, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      r.throw_if_error();
      if (!r.is_array() || r.elements().size() != 2)
        throw flyshard::Error(flyshard::errc::protocol_error, "unexpected SCAN reply");
      cursor = r.elements()[0].str();
      for (const auto& k : r.elements()[1].elements()) out.push_back(k.str());
    } while (cursor != "0");
  }
  return out;
}

// GET of many keys, pipelined in batches.
std::vector<std::optional<std::string>> get_all(flyshard::Client& client,
                                                const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); i += 1000) {
    auto pipe = client.pipeline();
    for (std::size_t j = i; j < std::min(keys.size(), i + 1000); ++j)
      pipe.command({"GET", keys[j]});
    for (auto& r : pipe.execute()) out.push_back(r.value().as_optional_string());
  }
  return out;
}

}  // namespace

InvariantReport check_invariants(flyshard::Client& client) {
  std::vector<std::string> violations;
  std::size_t violation_count = 0;
  auto violate = [&](std::string text) {
    if (violations.size() < kMaxViolationsShown) violations.push_back(std::move(text));
    ++violation_count;
  };

  const auto ids = stored_product_ids(client);
  const auto products = read_products(client, ids);

  // Confirmed orders.
  const auto order_keys = scan_all(client, "order:*");
  const auto records = get_all(client, order_keys);
  std::map<long long, long long> confirmed;  // product -> units
  std::set<std::string> order_ids;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_idem;
  std::size_t orders = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!records[i]) continue;  // removed between SCAN and GET
    Order o;
    try {
      o = parse_order_record(*records[i]);
    } catch (const std::exception& e) {
      violate(order_keys[i] + ": unreadable order record");
      continue;
    }
    ++orders;
    order_ids.insert(o.order_id);
    for (const auto& l : o.items) confirmed[l.product_id] += l.quantity;
    if (!o.idempotency_key.empty()) by_idem[{o.uid, o.idempotency_key}].push_back(o.order_id);
  }

  // Reservations whose order does not exist (yet) hold stock.
  std::map<long long, long long> reserved;
  std::size_t live_reservations = 0;
  if (!ids.empty()) {
    auto pipe = client.pipeline();
    for (long long id : ids) pipe.command({"HGETALL", keys::reservations(id)});
    auto replies = pipe.execute();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& e = replies[i].value().elements();
      for (std::size_t j = 0; j + 1 < e.size(); j += 2) {
        if (order_ids.count(e[j].str())) continue;  // confirmed, not yet forgotten
        reserved[ids[i]] += parse_int(e[j + 1].str()).value_or(0);
        ++live_reservations;
      }
    }
  }

  // The worker's counts.
  std::vector<std::string> sold_keys;
  for (long long id : ids) sold_keys.push_back(keys::sold(id));
  const auto sold_values = get_all(client, sold_keys);
  std::map<long long, long long> sold;
  for (std::size_t k = 0; k < ids.size(); ++k)
    if (sold_values[k]) sold[ids[k]] = parse_int(*sold_values[k]).value_or(0);

  long long units_confirmed = 0, units_reserved = 0, units_sold = 0;
  for (std::size_t i = 0; i < products.size(); ++i) {
    const auto& p = products[i];
    const long long c = confirmed.count(p.id) ? confirmed[p.id] : 0;
    const long long r = reserved.count(p.id) ? reserved[p.id] : 0;
    const long long s = sold.count(p.id) ? sold[p.id] : 0;
    units_confirmed += c;
    units_reserved += r;
    units_sold += s;
    const std::string name = "product " + std::to_string(p.id);
    if (p.stock < 0) violate(name + ": stock " + std::to_string(p.stock) + " < 0");
    if (p.initial_stock != p.stock + c + r)
      violate(name + ": initial stock " + std::to_string(p.initial_stock) + " != stock " +
              std::to_string(p.stock) + " + confirmed " + std::to_string(c) + " + reserved " +
              std::to_string(r));
    if (s != c)
      violate(name + ": worker counted " + std::to_string(s) + " sold, orders hold " +
              std::to_string(c));
  }
  for (const auto& [key, list] : by_idem)
    if (list.size() > 1)
      violate("Idempotency-Key " + key.second + " of visitor " + key.first + " has " +
              std::to_string(list.size()) + " orders");

  // Every idempotency record names the order that carries its key (or is still pending).
  const auto idem_keys = scan_all(client, "idem:*");
  const auto idem_values = get_all(client, idem_keys);
  for (std::size_t i = 0; i < idem_keys.size(); ++i) {
    if (!idem_values[i] || *idem_values[i] == "pending") continue;
    if (!order_ids.count(*idem_values[i]))
      violate(idem_keys[i] + ": names order " + *idem_values[i] + " which does not exist");
  }

  InvariantReport report;
  report.ok = violation_count == 0;
  report.json = {{"ok", report.ok},
                 {"products", products.size()},
                 {"orders", orders},
                 {"units_confirmed", units_confirmed},
                 {"units_reserved", units_reserved},
                 {"live_reservations", live_reservations},
                 {"units_sold_by_worker", units_sold},
                 {"idempotency_keys", idem_keys.size()},
                 {"violation_count", violation_count},
                 {"violations", violations}};
  return report;
}

InvariantReport check_invariants_until(flyshard::Client& client, std::chrono::milliseconds wait) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + wait;
  for (;;) {
    InvariantReport report;
    std::string error;
    try {
      report = check_invariants(client);
    } catch (const flyshard::Error& e) {
      error = e.what();
      report.json = {{"ok", false}, {"error", error}};
    }
    const auto now = std::chrono::steady_clock::now();
    if (report.ok || now >= deadline) {
      report.json["waited_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
      return report;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(250));  // retry interval, not a wait-for-effect
  }
}

}  // namespace shop
