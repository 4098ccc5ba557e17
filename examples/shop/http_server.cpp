#include "http_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>

#include <httplib.h>

#include "access_log.hpp"
#include "catalog.hpp"
#include "checkout.hpp"
#include "events.hpp"
#include "metrics.hpp"
#include "periodic.hpp"
#include "reaper.hpp"
#include "routes.hpp"
#include "sessions.hpp"
#include "stop_signal.hpp"
#include "store.hpp"

namespace shop {

namespace {

constexpr std::size_t kMaxBody = 16 * 1024;
constexpr auto kCatalogRefresh = std::chrono::seconds(10);

// httplib listens with a backlog of 5 (compiled into Debian's library); reconnecting clients
// then see SYNs dropped and a 1 s retransmit. listen() again on the bound socket raises it.
class ShopHttpServer : public httplib::Server {
 public:
  void raise_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::string route_for_unrouted(const std::string& path) {
  return path.rfind("/api/", 0) == 0 ? "unmatched" : "static";
}

void configure(httplib::Server& svr, const ServeOptions& opt) {
  // Debian's build leaves Nagle on and 8 threads: with delayed ACKs that is ~300 requests/s
  // at 64 connections. TCP_NODELAY on the listening socket is inherited by every accepted
  // socket on Linux.
  svr.set_tcp_nodelay(true);
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
  const unsigned threads = std::max(4u, opt.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // A connection holds a pool thread while it is open. Debian's default closes every 5th
  // request (a reconnect each time); 1000 keeps that cost negligible while still cycling
  // busy connections, so clients queued behind a full pool get their turn.
  svr.set_keep_alive_max_count(1000);
  svr.set_keep_alive_timeout(5);
  svr.set_payload_max_length(kMaxBody);
  svr.set_read_timeout(10);
  svr.set_write_timeout(5);  // a stuck event-stream client frees its thread

  svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    auto& ctx = current_request();
    ctx.start = std::chrono::steady_clock::now();
    ctx.shard_errors.clear();
    ctx.route = route_for_unrouted(req.path);
    std::string incoming = req.get_header_value("X-Request-Id");
    ctx.request_id = valid_request_id(incoming) ? incoming : random_hex(8);
    res.set_header("X-Request-Id", ctx.request_id);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Answers httplib produced itself (no route, too large, unreadable) get a JSON body too.
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_)
          return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 404) {
          std::string allowed = allowed_methods(req.path);
          if (!allowed.empty()) {
            res.status = 405;
            res.set_header("Allow", allowed);
            send_error(res, 405, "method_not_allowed",
                       req.method + " is not allowed here (allowed: " + allowed + ")");
          } else {
            send_error(res, 404, "not_found", "no such path");
          }
        } else if (res.status == 413) {
          send_error(res, 413, "payload_too_large", "the request body is over 16 KiB");
        } else if (res.status == 400) {
          send_error(res, 400, "bad_request", "the request could not be read");
        } else {
          send_error(res, res.status, "error", "the request failed");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const flyshard::Error& e) {
          note_store_error(e, "unhandled");
          send_error(res, 503, "unavailable", "the store cannot be reached in time");
          return;
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log_event("error", "unhandled exception",
                  {{"request_id", current_request().request_id}, {"error", what}});
        send_error(res, 500, "internal", "internal error");
      });
}

}  // namespace

int serve(const ServeOptions& opt) {
  set_log_instance(opt.instance);
  block_stop_signals();
  std::unique_ptr<flyshard::Client> client;
  try {
    client = open_store(opt.config, store_options(std::max(8u, opt.threads)));
  } catch (const std::exception& e) {
    log_event("error", "cannot open the store", {{"error", e.what()}});
    std::fprintf(stderr, "flyshard-shop: %s\n", e.what());
    return 1;
  }

  Metrics metrics;
  Catalog catalog(*client);
  try {
    catalog.refresh();
  } catch (const flyshard::Error& e) {
    // Stateless: serve anyway; the refresh below retries, and products are also looked up
    // on a cache miss.
    log_event("warning", "catalogue not loaded yet", {{"error", e.what()}});
  }
  Sessions sessions(*client);
  LayoutTracker layouts(*client);
  try {
    // Fails at start, not at the first checkout, for a layout some shard of which gets no
    // event stream (the layout may change later; the tracker re-derives it then).
    make_shop_layout(client->epoch(), client->layout());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flyshard-shop: %s\n", e.what());
    return 1;
  }
  CheckoutOptions copt;
  copt.reservation_timeout = opt.reservation_timeout;
  copt.replica_ack = opt.replica_ack;
  Checkout checkout(*client, catalog, metrics, layouts, copt);
  const std::size_t max_streams = std::max(1u, opt.threads / 4);
  EventHub hub(max_streams, 256);
  try {
    hub.start(*client);
  } catch (const flyshard::Error& e) {
    log_event("warning", "cannot subscribe to order events", {{"error", e.what()}});
  }

  ShopContext ctx{*client, catalog, sessions, checkout, hub, metrics, layouts};

  ShopHttpServer svr;
  configure(svr, opt);
  svr.set_logger([&metrics](const httplib::Request& req, const httplib::Response& res) {
    metrics.count_request(current_request().route, res.status);
    log_access(req.method, req.path, res.status);
  });
  register_routes(svr, ctx);
  if (!opt.web_dir.empty()) {
    if (!svr.set_mount_point("/", opt.web_dir))
      log_event("warning", "web folder not found; the page is not served", {{"web", opt.web_dir}});
  }

  Periodic refresher(kCatalogRefresh, [&catalog, &hub, &client] {
    try {
      catalog.refresh();
    } catch (const flyshard::Error& e) {
      log_event("warning", "catalogue refresh failed", {{"error", e.what()}});
    }
    try {
      hub.start(*client);  // a no-op once subscribed; retries a failed start
    } catch (const flyshard::Error& e) {
      log_event("warning", "cannot subscribe to order events", {{"error", e.what()}});
    }
  });
  const auto reap_every = std::max(std::chrono::milliseconds(1000), opt.reservation_timeout / 4);
  Periodic reaper(reap_every, [&client, &metrics, &opt] {
    try {
      auto r = reap_once(*client, opt.reservation_timeout);
      metrics.count_released(static_cast<long long>(r.released));
      if (r.released + r.committed > 0) log_event("info", "reaper pass", reap_json(r));
    } catch (const flyshard::Error& e) {
      log_event("warning", "reaper pass failed",
                {{"errc", flyshard::errc_name(e.value())}, {"error", e.what()}});
    }
  });

  StopSignal stop([&] {
    log_event("info", "stopping");
    hub.stop();  // ends event streams so their threads return
    svr.stop();
  });

  if (!svr.bind_to_port(opt.host, opt.port)) {
    log_event("error", "cannot listen", {{"host", opt.host}, {"port", opt.port}});
    std::fprintf(stderr, "flyshard-shop: cannot listen on %s:%d\n", opt.host.c_str(), opt.port);
    return 1;
  }
  svr.raise_backlog();
  log_event("info", "serving",
            {{"host", opt.host},
             {"port", opt.port},
             {"threads", opt.threads},
             {"web", opt.web_dir},
             {"shards", client->layout().shards.size()},
             {"epoch", client->epoch()}});
  svr.listen_after_bind();
  hub.stop();
  log_event("info", "stopped");
  return 0;
}

}  // namespace shop
