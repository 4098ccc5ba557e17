// flyshard-shop: the reference shop on flyshard. One binary, five commands: serve (the HTTP
// server), worker (the inventory worker), load (the catalogue), check (the invariants),
// reap (one reaper pass). Exit codes: 0 ok, 1 runtime failure, 2 usage.

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "access_log.hpp"
#include "catalog.hpp"
#include "http_server.hpp"
#include "invariants.hpp"
#include "reaper.hpp"
#include "store.hpp"
#include "worker.hpp"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "flyshard-shop: %s\n", message.c_str());
  return 1;
}

template <typename Fn>
int with_store(const std::string& config, Fn fn) {
  try {
    auto client = shop::open_store(config, shop::store_options(4));
    return fn(*client);
  } catch (const flyshard::Error& e) {
    return fail(std::string(flyshard::errc_name(e.value())) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flyshard-shop: the reference shop on flyshard", "flyshard-shop"};
  app.require_subcommand(1);

  shop::ServeOptions serve;
  serve.web_dir = FLYSHARD_SHOP_WEB_DIR;
  long long reservation_timeout_ms = 30000, replica_ack_ms = 200;
  auto* cmd_serve = app.add_subcommand("serve", "run the HTTP server");
  cmd_serve->add_option("--config", serve.config, "topology JSON file")->required();
  cmd_serve->add_option("--host", serve.host, "address to listen on")->capture_default_str();
  cmd_serve->add_option("--port", serve.port, "TCP port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd_serve->add_option("--web", serve.web_dir, "folder of the page")->capture_default_str();
  cmd_serve->add_option("--threads", serve.threads, "HTTP worker threads")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd_serve
      ->add_option("--reservation-timeout-ms", reservation_timeout_ms,
                   "age at which the reaper releases a reservation without order")
      ->check(CLI::Range(1000LL, 86400000LL))
      ->capture_default_str();
  cmd_serve->add_option("--replica-ack-ms", replica_ack_ms, "WAIT timeout for replica acks")
      ->check(CLI::Range(1LL, 60000LL))
      ->capture_default_str();
  cmd_serve->add_option("--instance", serve.instance, "this server's name in logs");

  shop::WorkerOptions worker;
  long long claim_idle_ms = 30000;
  auto* cmd_worker = app.add_subcommand("worker", "run the inventory worker");
  cmd_worker->add_option("--config", worker.config, "topology JSON file")->required();
  cmd_worker->add_option("--consumer", worker.consumer, "consumer name (default <hostname>-<pid>)");
  cmd_worker->add_option("--low-stock", worker.low_stock, "low-stock threshold")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd_worker->add_option("--claim-idle-ms", claim_idle_ms, "take over events pending this long")
      ->check(CLI::Range(100LL, 86400000LL))
      ->capture_default_str();

  std::string config, catalog_path;
  bool reset = false;
  auto* cmd_load = app.add_subcommand("load", "load the catalogue");
  cmd_load->add_option("--config", config, "topology JSON file")->required();
  cmd_load->add_option("--catalog", catalog_path, "catalogue JSON file")->required();
  cmd_load->add_flag("--reset", reset, "remove every shop key first, then load");

  long long wait_ms = 10000;
  auto* cmd_check = app.add_subcommand("check", "check the invariants (JSON report)");
  cmd_check->add_option("--config", config, "topology JSON file")->required();
  cmd_check->add_option("--wait-ms", wait_ms, "wait this long for them to hold")
      ->check(CLI::Range(0LL, 3600000LL))
      ->capture_default_str();

  long long older_than_ms = 30000;
  auto* cmd_reap = app.add_subcommand("reap", "one reaper pass");
  cmd_reap->add_option("--config", config, "topology JSON file")->required();
  cmd_reap->add_option("--older-than-ms", older_than_ms, "release reservations older than this")
      ->check(CLI::Range(0LL, 86400000LL))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "flyshard-shop: %s (see --help)\n", e.what());
    return 2;
  }

  if (*cmd_serve) {
    serve.reservation_timeout = std::chrono::milliseconds(reservation_timeout_ms);
    serve.replica_ack = std::chrono::milliseconds(replica_ack_ms);
    return shop::serve(serve);
  }
  if (*cmd_worker) {
    worker.claim_idle = std::chrono::milliseconds(claim_idle_ms);
    return shop::run_worker(worker);
  }
  if (*cmd_load) {
    return with_store(config, [&](flyshard::Client& client) {
      auto r = shop::load_catalog(client, catalog_path, reset);
      std::printf("loaded %zu products (%zu written%s)\n", r.products, r.added,
                  reset
                      ? (", " + std::to_string(r.removed_keys) + " shop keys removed first").c_str()
                      : ", existing ones untouched");
      return 0;
    });
  }
  if (*cmd_check) {
    return with_store(config, [&](flyshard::Client& client) {
      auto report = shop::check_invariants_until(client, std::chrono::milliseconds(wait_ms));
      std::printf("%s\n", report.json.dump(2).c_str());
      return report.ok ? 0 : 1;
    });
  }
  if (*cmd_reap) {
    return with_store(config, [&](flyshard::Client& client) {
      auto r = shop::reap_once(client, std::chrono::milliseconds(older_than_ms));
      std::printf("%s\n", shop::reap_json(r).dump().c_str());
      return 0;
    });
  }
  return 2;
}
