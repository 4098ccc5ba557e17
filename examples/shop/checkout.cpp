#include "checkout.hpp"

#include "access_log.hpp"
#include "cart.hpp"
#include "events.hpp"
#include "keys.hpp"
#include "orders.hpp"
#include "reservations.hpp"
#include "store.hpp"

namespace shop {

namespace {

constexpr std::string_view kPending = "pending";

std::string items_event_json(const Order& order) {
  Json items = Json::array();
  for (const auto& l : order.items)
    items.push_back({{"product_id", l.product_id}, {"quantity", l.quantity}});
  return items.dump();
}

}  // namespace

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

Checkout::Checkout(flyshard::Client& client, Catalog& catalog, Metrics& metrics,
                   LayoutTracker& layouts, CheckoutOptions options)
    : client_(client), catalog_(catalog), metrics_(metrics), options_(options), layouts_(layouts) {}

void Checkout::release_all(const std::vector<long long>& product_ids, const std::string& order_id) {
  for (long long pid : product_ids) {
    try {
      metrics_.count_released(release_stock(client_, pid, order_id) > 0 ? 1 : 0);
    } catch (const flyshard::Error& e) {
      // The reaper releases it once the reservation is older than the timeout.
      note_store_error(e, "release reservation");
    }
  }
}

CheckoutResult Checkout::run(const std::string& uid,
                             const std::optional<std::string>& idempotency_key) {
  const auto started = std::chrono::steady_clock::now();
  const std::string idem_key = idempotency_key ? keys::idempotency(uid, *idempotency_key) : "";

  // The idempotency record starts as "pending" (SET NX): a second request with the same key
  // meets it and never makes a second order. It expires in case this process dies; by then
  // the reaper has released the reservations of the order that never appeared.
  if (idempotency_key) {
    flyshard::SetOptions nx;
    nx.only_if_absent = true;
    nx.ttl = options_.reservation_timeout * 2;
    if (!client_.set(idem_key, kPending, nx)) {
      auto existing = client_.get(idem_key);
      if (!existing || *existing == kPending) {
        metrics_.count_checkout("in_progress");
        throw HttpError(409, "in_progress",
                        "a checkout with this Idempotency-Key is in progress; retry shortly");
      }
      auto order = find_order(client_, uid, *existing);
      if (!order) {
        metrics_.count_checkout("in_progress");
        throw HttpError(409, "in_progress",
                        "the order of this Idempotency-Key is not readable yet");
      }
      metrics_.count_checkout("replayed");
      return {201, order_public_json(*order)};
    }
  }
  // Until the order is written, a failure frees the key so the visitor can retry.
  bool keep_idem = false;
  struct IdemGuard {
    Checkout* self;
    const std::string& key;
    bool& keep;
    ~IdemGuard() {
      if (key.empty() || keep) return;
      try {
        self->client_.del({key});
      } catch (const flyshard::Error&) {
        // It expires on its own.
      }
    }
  } guard{this, idem_key, keep_idem};

  auto lines = read_cart(client_, uid);
  if (lines.empty()) {
    metrics_.count_checkout("empty_cart");
    throw HttpError(400, "empty_cart", "the cart is empty");
  }

  Order order;
  order.uid = uid;
  order.idempotency_key = idempotency_key.value_or("");
  for (const auto& line : lines) {
    auto p = catalog_.find(line.product_id);
    if (!p) {
      metrics_.count_checkout("out_of_stock");
      throw HttpError(409, "out_of_stock", "a product in the cart is no longer sold",
                      {{"product_id", line.product_id}});
    }
    order.items.push_back({p->id, p->name, p->price_cents, line.quantity});
    order.total_cents += p->price_cents * line.quantity;
  }
  const long long number = client_.incr(keys::order_seq(uid));
  order.order_id = make_order_id(uid, number);

  // Step 1: reservations, one script per product on its shard.
  std::vector<long long> reserved;
  bool replicated = true;
  long long reserving = 0;  // the product whose script is in flight
  try {
    for (const auto& item : order.items) {
      reserving = item.product_id;
      auto out = retry_while_migrating(options_.migrating_wait, [&] {
        const auto layout = layouts_.current();
        const auto ack = layout->replica_ack(layout->shard_for(keys::product(item.product_id)),
                                             options_.replica_ack);
        auto out =
            reserve_stock(client_, item.product_id, order.order_id, item.quantity, now_ms(), ack);
        out.replicated = out.replicated && ack.replicas > 0;
        return out;
      });
      if (out.status != ReserveStatus::reserved) {
        release_all(reserved, order.order_id);
        metrics_.count_checkout("out_of_stock");
        throw HttpError(409, "out_of_stock",
                        "not enough stock of \"" + item.name + "\" for this order",
                        {{"product_id", item.product_id}});
      }
      reserved.push_back(item.product_id);
      reserving = 0;
      replicated = replicated && out.replicated;
    }
  } catch (const flyshard::Error& e) {
    note_store_error(e, "reserve stock");
    // The failed script may have run before the link broke; releasing is idempotent, so
    // release that product too rather than leave its units to the reaper.
    if (reserving != 0) reserved.push_back(reserving);
    release_all(reserved, order.order_id);
    metrics_.count_checkout("unavailable");
    throw;
  }
  if (std::chrono::steady_clock::now() - started > options_.reservation_timeout / 2) {
    release_all(reserved, order.order_id);
    metrics_.count_checkout("too_slow");
    throw HttpError(503, "unavailable", "the store was too slow to take the order; retry");
  }

  // Step 2: the order, atomically with its event, on the visitor's shard (in the layout the
  // client routes by now: a resharding flip between here and EXEC is refused before anything
  // is sent, as cross_shard or migrating, and the step is tried again with the new layout).
  const std::string order_key = keys::order(uid, number);
  order.created_at = now_ms();
  bool confirmed = false;
  try {
    retry_while_migrating(options_.migrating_wait, [&] {
      const auto layout = layouts_.current();
      const std::size_t shard = layout->shard_for(keys::cart(uid));
      const auto ack = layout->replica_ack(shard, options_.replica_ack);
      // Written optimistically; corrected below in the rare case the WAIT falls short.
      order.replicated = replicated && ack.replicas > 0;
      auto tx = client_.transaction();
      tx.command({"SET", order_key, order_record(order)});
      tx.command({"LPUSH", keys::orders(uid), std::to_string(number)});
      if (idempotency_key) tx.command({"SET", idem_key, order.order_id});
      tx.command({"DEL", keys::cart(uid)});
      tx.command({"XADD", layout->stream_for(keys::cart(uid)), "*", "order_id", order.order_id,
                  "uid", uid, "items", items_event_json(order), "created_at",
                  std::to_string(order.created_at)});
      std::vector<flyshard::Reply> replies;
      try {
        if (ack.replicas > 0) {
          auto r = tx.exec_and_wait(ack);
          if (!r) throw flyshard::Error(flyshard::errc::server_error, "transaction aborted");
          replies = std::move(r->replies);
          confirmed = r->confirmed;
        } else {
          auto r = tx.exec();
          if (!r) throw flyshard::Error(flyshard::errc::server_error, "transaction aborted");
          replies = std::move(*r);
        }
      } catch (const flyshard::Error& e) {
        // The cart and the stream were on one shard by `layout`; when they are not by the
        // client's table, the layout changed under this request: nothing was sent.
        if (e.value() == flyshard::errc::cross_shard && client_.epoch() != layout->epoch)
          throw flyshard::Error(flyshard::errc::migrating, e.what());
        throw;
      }
      if (replies.empty() || replies[0].is_error())
        throw flyshard::Error(flyshard::errc::server_error,
                              replies.empty() ? "empty EXEC reply" : replies[0].str());
    });
  } catch (const flyshard::Error& e) {
    note_store_error(e, "write order");
    // The outcome may be unknown (the link broke after EXEC left). Look before releasing:
    // releasing the stock of an order that was written would break the stock invariant.
    std::optional<bool> exists;
    try {
      exists = client_.get(order_key).has_value();
    } catch (const flyshard::Error& e2) {
      note_store_error(e2, "look up order after failure");
    }
    if (!exists) {
      keep_idem = true;  // unknown: the pending record expires; the reaper decides stock
      metrics_.count_checkout("unavailable");
      throw;
    }
    if (!*exists) {
      release_all(reserved, order.order_id);
      metrics_.count_checkout("unavailable");
      throw;
    }
    confirmed = false;  // written, but nothing says a replica has it
  }
  keep_idem = true;

  if (order.replicated && !confirmed) {
    order.replicated = false;
    try {
      client_.command({"SET", order_key, order_record(order), "XX"});
    } catch (const flyshard::Error& e) {
      note_store_error(e, "mark order unreplicated");
    }
  }

  // Step 3: the reservations became the order; the live feed learns of it.
  try {
    commit_reservations(client_, reserved, order.order_id);
  } catch (const flyshard::Error& e) {
    // Harmless: the reaper drops reservations whose order exists without giving stock back.
    note_store_error(e, "commit reservations");
  }
  Json body = order_public_json(order);
  publish_order_event(client_, body.dump());
  metrics_.count_checkout("confirmed");
  return {201, std::move(body)};
}

}  // namespace shop
