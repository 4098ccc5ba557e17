#pragma once
// The HTTP API (DESIGN.md's table plus /api/stats): handlers and their wrapper, which turns
// HttpError into its JSON answer and a store error into 503, so no exception leaves a
// handler.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include <flyshard/flyshard.hpp>

#include "catalog.hpp"
#include "checkout.hpp"
#include "events.hpp"
#include "json_util.hpp"
#include "metrics.hpp"
#include "sessions.hpp"
#include "shop_layout.hpp"

namespace shop {

/// What the handlers share; everything outlives the HTTP server.
struct ShopContext {
  flyshard::Client& client;
  Catalog& catalog;
  Sessions& sessions;
  Checkout& checkout;
  EventHub& hub;
  Metrics& metrics;
  LayoutTracker& layouts;  ///< the layout in use and the event streams
  std::chrono::milliseconds ping_interval{15000};
};

void register_routes(httplib::Server& server, ShopContext& ctx);

/// The methods a known path accepts ("GET, PUT"), or empty when no route has this path
/// (405 versus 404).
std::string allowed_methods(const std::string& path);

/// Writes a JSON body with Content-Type application/json.
void send_json(httplib::Response& res, int status, const Json& body);
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message,
                const Json& extra = Json::object());

}  // namespace shop
