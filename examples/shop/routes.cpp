#include "routes.hpp"

#include <algorithm>
#include <future>
#include <regex>

#include "access_log.hpp"
#include "cart.hpp"
#include "keys.hpp"
#include "orders.hpp"
#include "store.hpp"

namespace shop {

namespace {

using httplib::Request;
using httplib::Response;

constexpr std::size_t kOrdersListed = 100;

struct RouteSpec {
  std::regex pattern;
  std::string methods;
};

const std::vector<RouteSpec>& route_table() {
  static const std::vector<RouteSpec> table = {
      {std::regex("/healthz"), "GET"},
      {std::regex("/metrics"), "GET"},
      {std::regex("/api/products"), "GET"},
      {std::regex("/api/products/[^/]+"), "GET"},
      {std::regex("/api/categories"), "GET"},
      {std::regex("/api/session"), "POST"},
      {std::regex("/api/cart"), "GET"},
      {std::regex("/api/cart/items/[^/]+"), "PUT, DELETE"},
      {std::regex("/api/checkout"), "POST"},
      {std::regex("/api/orders"), "GET"},
      {std::regex("/api/orders/[^/]+"), "GET"},
      {std::regex("/api/events"), "GET"},
      {std::regex("/api/cluster"), "GET"},
      {std::regex("/api/stats"), "GET"},
  };
  return table;
}

using Body = std::function<void(const Request&, Response&)>;

// Every handler runs inside this: it names the route for metrics and logs, and maps what a
// handler throws to an answer. flyshard::Error never escapes.
httplib::Server::Handler wrap(std::string route, Body body) {
  return [route = std::move(route), body = std::move(body)](const Request& req, Response& res) {
    current_request().route = route;
    try {
      body(req, res);
    } catch (const HttpError& e) {
      send_error(res, e.status(), e.code(), e.what(), e.extra());
    } catch (const flyshard::Error& e) {
      if (current_request().shard_errors.empty()) note_store_error(e, route);
      if (is_unavailable(e))
        send_error(res, 503, "unavailable",
                   "the store cannot be reached in time (" +
                       std::string(flyshard::errc_name(e.value())) + ")");
      else
        send_error(res, 500, "internal",
                   "the store answered unexpectedly (" +
                       std::string(flyshard::errc_name(e.value())) + ")");
    } catch (const std::exception& e) {
      log_event(
          "error", "handler failed",
          {{"request_id", current_request().request_id}, {"route", route}, {"error", e.what()}});
      send_error(res, 500, "internal", "internal error");
    }
  };
}

std::string require_visitor(ShopContext& ctx, const Request& req) {
  auto uid = ctx.sessions.authenticate(req.get_header_value("Authorization"));
  if (!uid)
    throw HttpError(401, "unauthorized",
                    "a valid session token is required (Authorization: Bearer <token>)");
  return *uid;
}

long long query_int(const Request& req, const char* name, long long fallback, long long min,
                    long long max) {
  if (!req.has_param(name)) return fallback;
  auto v = parse_int(req.get_param_value(name));
  if (!v || *v < min || *v > max)
    throw HttpError(400, "bad_request",
                    std::string(name) + " must be an integer in " + std::to_string(min) + ".." +
                        std::to_string(max));
  return *v;
}

long long path_product_id(ShopContext& ctx, const std::string& text) {
  auto id = parse_int(text);
  if (!id || *id <= 0 || !ctx.catalog.find(*id))
    throw HttpError(404, "not_found", "no such product", {{"product_id", text}});
  return *id;
}

void products(ShopContext& ctx, const Request& req, Response& res) {
  ProductQuery q;
  q.category = req.get_param_value("category");
  q.q = req.get_param_value("q");
  q.page = query_int(req, "page", 1, 1, 1000000);
  q.per_page = query_int(req, "per_page", 20, 1, 100);
  auto page = ctx.catalog.list(q);
  Json items = Json::array();
  for (const auto& p : page.items) items.push_back(product_json(p));
  send_json(res, 200,
            {{"items", std::move(items)},
             {"total", page.total},
             {"page", q.page},
             {"per_page", q.per_page}});
}

void product(ShopContext& ctx, const Request& req, Response& res) {
  auto id = parse_int(req.matches[1].str());
  std::optional<Product> p;
  if (id && *id > 0) p = ctx.catalog.product(*id);
  if (!p)
    throw HttpError(404, "not_found", "no such product", {{"product_id", req.matches[1].str()}});
  send_json(res, 200, product_json(*p));
}

void put_cart_item(ShopContext& ctx, const Request& req, Response& res) {
  auto uid = require_visitor(ctx, req);
  Json body = parse_object_body(req.body);
  auto it = body.find("quantity");
  if (it == body.end() || !it->is_number_integer() || it->get<long long>() < 0 ||
      it->get<long long>() > 99)
    throw HttpError(400, "bad_quantity", "quantity must be an integer from 0 to 99");
  long long id = path_product_id(ctx, req.matches[1].str());
  auto lines = set_cart_quantity(ctx.client, uid, id, it->get<long long>());
  send_json(res, 200, cart_json(lines, ctx.catalog));
}

void delete_cart_item(ShopContext& ctx, const Request& req, Response& res) {
  auto uid = require_visitor(ctx, req);
  long long id = path_product_id(ctx, req.matches[1].str());
  auto lines = set_cart_quantity(ctx.client, uid, id, 0);
  send_json(res, 200, cart_json(lines, ctx.catalog));
}

void checkout(ShopContext& ctx, const Request& req, Response& res) {
  auto uid = require_visitor(ctx, req);
  std::optional<std::string> key;
  if (req.has_header("Idempotency-Key")) {
    key = req.get_header_value("Idempotency-Key");
    if (!valid_idempotency_key(*key))
      throw HttpError(400, "bad_idempotency_key",
                      "Idempotency-Key must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  }
  auto result = ctx.checkout.run(uid, key);
  send_json(res, result.status, result.body);
}

void orders(ShopContext& ctx, const Request& req, Response& res) {
  auto uid = require_visitor(ctx, req);
  Json items = Json::array();
  for (const auto& o : list_orders(ctx.client, uid, kOrdersListed))
    items.push_back(order_public_json(o));
  send_json(res, 200, {{"items", std::move(items)}});
}

void order(ShopContext& ctx, const Request& req, Response& res) {
  auto uid = require_visitor(ctx, req);
  auto o = find_order(ctx.client, uid, req.matches[1].str());
  if (!o) throw HttpError(404, "not_found", "no such order");
  send_json(res, 200, order_public_json(*o));
}

void events(ShopContext& ctx, const Request&, Response& res) {
  auto listener = ctx.hub.join();
  if (!listener) throw HttpError(503, "unavailable", "too many event streams are open");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto first = std::make_shared<bool>(true);
  auto ping = ctx.ping_interval;
  res.set_chunked_content_provider(
      "text/event-stream",
      [listener, first, ping](std::size_t, httplib::DataSink& sink) {
        if (*first) {
          // Tell the browser to reconnect quickly, and open the stream at once.
          *first = false;
          static const std::string hello = "retry: 2000\n: connected\n\n";
          return sink.write(hello.data(), hello.size());
        }
        bool ended = false;
        auto msg = listener->next(ping, ended);
        if (ended) {
          sink.done();
          return false;
        }
        std::string chunk =
            msg ? "event: order_completed\ndata: " + *msg + "\n\n" : std::string(": ping\n\n");
        return sink.write(chunk.data(), chunk.size());
      },
      [&hub = ctx.hub, listener](bool) { hub.leave(listener); });
}

void cluster(ShopContext& ctx, const Request&, Response& res) {
  // The layout the client routes by (online resharding changes it; shard i of it is what
  // command_on_shard(i) reaches).
  const auto layout = ctx.layouts.current();
  const auto& topo = layout->layout;
  auto stats = ctx.client.stats();
  // DBSIZE of every shard at once, so a slow shard costs its own wait, not the sum.
  std::vector<std::future<std::optional<long long>>> sizes;
  for (std::size_t i = 0; i < topo.shards.size(); ++i)
    sizes.push_back(std::async(std::launch::async, [&ctx, i]() -> std::optional<long long> {
      try {
        return ctx.client.command_on_shard(i, {"DBSIZE"}).as_integer();
      } catch (const flyshard::Error& e) {
        note_store_error(e, "DBSIZE");
        return std::nullopt;
      }
    }));
  Json shards = Json::array();
  for (std::size_t i = 0; i < topo.shards.size(); ++i) {
    const auto& spec = topo.shards[i];
    Json nodes = Json::array();
    for (const auto& n : stats.nodes)
      if (n.shard == spec.name)
        nodes.push_back({{"address", n.address}, {"role", n.role}, {"up", n.up}});
    if (nodes.empty()) {
      nodes.push_back({{"address", spec.primary.to_string()}, {"role", "primary"}, {"up", false}});
      for (const auto& r : spec.replicas)
        nodes.push_back({{"address", r.to_string()}, {"role", "replica"}, {"up", false}});
    }
    auto keys = sizes[i].get();
    shards.push_back({{"name", spec.name},
                      {"keys", keys ? Json(*keys) : Json(nullptr)},
                      {"nodes", std::move(nodes)}});
  }
  send_json(res, 200,
            {{"epoch", layout->epoch},
             {"distribution", topo.distribution},
             {"shards", std::move(shards)}});
}

long long events_applied(ShopContext& ctx) {
  std::vector<std::string> counters;
  for (const auto& s : ctx.layouts.all_streams()) counters.push_back(keys::events_applied(s));
  long long total = 0;
  for (const auto& v : ctx.client.mget(counters))
    if (v) total += parse_int(*v).value_or(0);
  return total;
}

void stats(ShopContext& ctx, const Request&, Response& res) {
  auto ids = ctx.catalog.ids();
  std::vector<std::string> sold_keys;
  for (long long id : ids) sold_keys.push_back(keys::sold(id));
  auto sold = ctx.client.mget(sold_keys);
  struct Sold {
    long long id;
    long long units;
  };
  std::vector<Sold> sold_list;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (sold[i])
      if (auto n = parse_int(*sold[i]); n && *n > 0) sold_list.push_back({ids[i], *n});
  std::sort(sold_list.begin(), sold_list.end(), [](const Sold& a, const Sold& b) {
    return a.units != b.units ? a.units > b.units : a.id < b.id;
  });
  Json sold_json = Json::array();
  for (const auto& s : sold_list) {
    auto p = ctx.catalog.find(s.id);
    sold_json.push_back({{"product_id", s.id}, {"name", p ? p->name : ""}, {"units", s.units}});
  }
  Json low = Json::array();
  auto r = ctx.client.command({"ZRANGE", std::string(keys::kLowStock), "0", "-1", "WITHSCORES"});
  r.throw_if_error();
  const auto& e = r.elements();
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
    auto id = parse_int(e[i].str());
    if (!id) continue;
    auto p = ctx.catalog.find(*id);
    low.push_back({{"product_id", *id},
                   {"name", p ? p->name : ""},
                   {"stock", static_cast<long long>(std::stod(e[i + 1].str()))}});
  }
  send_json(res, 200,
            {{"sold", std::move(sold_json)},
             {"low_stock", std::move(low)},
             {"events_applied", events_applied(ctx)}});
}

void metrics(ShopContext& ctx, const Request&, Response& res) {
  long long applied = -1;
  try {
    applied = events_applied(ctx);
  } catch (const flyshard::Error& e) {
    note_store_error(e, "metrics events_applied");
  }
  std::string text = flyshard::to_prometheus(ctx.client.stats());
  text += ctx.metrics.render(applied);
  text += "# HELP shop_event_streams_open Open /api/events connections.\n";
  text += "# TYPE shop_event_streams_open gauge\n";
  text += "shop_event_streams_open " + std::to_string(ctx.hub.listeners()) + "\n";
  res.status = 200;
  res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(Response& res, int status, std::string_view code, std::string_view message,
                const Json& extra) {
  res.status = status;
  res.set_content(error_body(code, message, extra), "application/json");
}

std::string allowed_methods(const std::string& path) {
  for (const auto& r : route_table())
    if (std::regex_match(path, r.pattern)) return r.methods;
  return {};
}

void register_routes(httplib::Server& svr, ShopContext& ctx) {
  auto& c = ctx;
  svr.Get("/healthz", wrap("healthz", [](const Request&, Response& res) {
            send_json(res, 200, {{"status", "ok"}});
          }));
  svr.Get("/metrics", wrap("metrics", [&c](const Request& q, Response& r) { metrics(c, q, r); }));
  svr.Get("/api/products",
          wrap("products", [&c](const Request& q, Response& r) { products(c, q, r); }));
  svr.Get("/api/products/([^/]+)",
          wrap("product", [&c](const Request& q, Response& r) { product(c, q, r); }));
  svr.Get("/api/categories", wrap("categories", [&c](const Request&, Response& r) {
            send_json(r, 200, {{"items", c.catalog.categories()}});
          }));
  svr.Post("/api/session", wrap("session", [&c](const Request&, Response& r) {
             send_json(r, 200, {{"token", c.sessions.create()}});
           }));
  svr.Get("/api/cart", wrap("cart", [&c](const Request& q, Response& r) {
            auto uid = require_visitor(c, q);
            send_json(r, 200, cart_json(read_cart(c.client, uid), c.catalog));
          }));
  svr.Put("/api/cart/items/([^/]+)",
          wrap("cart_item", [&c](const Request& q, Response& r) { put_cart_item(c, q, r); }));
  svr.Delete("/api/cart/items/([^/]+)",
             wrap("cart_item", [&c](const Request& q, Response& r) { delete_cart_item(c, q, r); }));
  svr.Post("/api/checkout",
           wrap("checkout", [&c](const Request& q, Response& r) { checkout(c, q, r); }));
  svr.Get("/api/orders", wrap("orders", [&c](const Request& q, Response& r) { orders(c, q, r); }));
  svr.Get("/api/orders/([^/]+)",
          wrap("order", [&c](const Request& q, Response& r) { order(c, q, r); }));
  svr.Get("/api/events", wrap("events", [&c](const Request& q, Response& r) { events(c, q, r); }));
  svr.Get("/api/cluster",
          wrap("cluster", [&c](const Request& q, Response& r) { cluster(c, q, r); }));
  svr.Get("/api/stats", wrap("stats", [&c](const Request& q, Response& r) { stats(c, q, r); }));
}

}  // namespace shop
