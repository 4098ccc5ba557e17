#include "worker.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "access_log.hpp"
#include "catalog.hpp"
#include "keys.hpp"
#include "shop_layout.hpp"
#include "stop_signal.hpp"
#include "store.hpp"

namespace shop {

namespace {

// KEYS: applied set, sold counter, product. ARGV: order id, units. Counts the units once per
// order; returns the product's stock now (nil when the product is gone).
const flyshard::Script apply_script(R"lua(
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCRBY', KEYS[2], ARGV[2])
end
return redis.call('HGET', KEYS[3], 'stock')
)lua");

// KEYS: seen set, applied counter (the stream's shard). ARGV: order id.
const flyshard::Script count_script(R"lua(
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('INCR', KEYS[2])
end
return 0
)lua");

std::string default_consumer() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

class Worker {
 public:
  Worker(flyshard::Client& client, const WorkerOptions& opt, std::string consumer)
      : client_(client), opt_(opt), consumer_(std::move(consumer)), layouts_(client) {}

  void run() {
    std::vector<std::thread> threads;
    std::set<std::string> consumed;
    auto last_refresh = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    while (!stopping()) {
      // A stream per stream any layout used: online resharding adds streams (a new layout
      // picks some new ones), and the old ones keep what was not read yet.
      try {
        for (auto& s : layouts_.all_streams()) {
          if (!consumed.insert(s).second) continue;
          log_event("info", "consuming event stream", {{"stream", s}});
          threads.emplace_back([this, s] { consume(s); });
        }
      } catch (const flyshard::Error& e) {
        log_event("warning", "event stream list failed",
                  {{"errc", flyshard::errc_name(e.value())}});
      }
      // The low-stock list follows stock changes the events do not carry (reservations
      // released, restocking).
      if (std::chrono::steady_clock::now() - last_refresh >= std::chrono::seconds(10)) {
        last_refresh = std::chrono::steady_clock::now();
        try {
          refresh_low_stock();
        } catch (const flyshard::Error& e) {
          log_event("warning", "low-stock refresh failed",
                    {{"errc", flyshard::errc_name(e.value())}});
        }
      }
      wait_for(std::chrono::seconds(1));
    }
    for (auto& t : threads) t.join();
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
  }

 private:
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stop_;
  }
  void wait_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [this] { return stop_; });
  }

  void ensure_group(const std::string& stream) {
    // From "0": events written before the worker ever ran are counted too.
    if (client_.xgroup_create(stream, keys::kEventsGroup, "0", true))
      log_event("info", "consumer group created", {{"stream", stream}});
  }

  void consume(const std::string& stream) {
    bool group_ready = false;
    bool own_pending = true;  // first re-read what this consumer had not acknowledged
    auto last_claim = std::chrono::steady_clock::now() - opt_.claim_idle;
    auto backoff = std::chrono::milliseconds(100);
    while (!stopping()) {
      try {
        if (!group_ready) {
          ensure_group(stream);
          group_ready = true;
        }
        if (own_pending) {
          auto entries = client_.xreadgroup(keys::kEventsGroup, consumer_, stream, "0", 100);
          if (entries.empty()) own_pending = false;
          process(stream, entries);
          continue;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_claim >= std::max(std::chrono::milliseconds(1000), opt_.claim_idle / 2)) {
          last_claim = now;
          std::string start = "0-0";
          do {
            auto claimed = client_.xautoclaim(stream, keys::kEventsGroup, consumer_,
                                              opt_.claim_idle, start, 100);
            if (!claimed.entries.empty())
              log_event("info", "claimed pending events",
                        {{"stream", stream}, {"count", claimed.entries.size()}});
            process(stream, claimed.entries);
            start = claimed.next_id;
          } while (start != "0-0" && !stopping());
        }
        auto entries =
            client_.xreadgroup(keys::kEventsGroup, consumer_, stream, ">", 100, opt_.block);
        process(stream, entries);
        backoff = std::chrono::milliseconds(100);
      } catch (const flyshard::Error& e) {
        const std::string what = e.what();
        if (flyshard::server_error_kind(e) == flyshard::ServerErrorKind::nogroup)
          group_ready = false;  // the stream was removed (load --reset): make it again
        // Entries delivered to this consumer before the failure (a failover in the middle of
        // a batch) stay pending under its name: read them again first, rather than leave them
        // to XAUTOCLAIM's idle time (30 s of counts behind).
        own_pending = true;
        log_event("warning", "event stream read failed",
                  {{"stream", stream}, {"errc", flyshard::errc_name(e.value())}, {"error", what}});
        wait_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      }
    }
  }

  // Applies entries in order and acknowledges each after applying; a failure leaves the
  // rest pending (re-read on the next own-pending pass).
  void process(const std::string& stream, const std::vector<flyshard::StreamEntry>& entries) {
    if (entries.empty()) return;
    std::map<long long, std::optional<long long>> touched;  // product -> stock after
    std::vector<std::string> done;
    for (const auto& entry : entries) {
      std::string order_id;
      std::string items;
      for (const auto& [f, v] : entry.fields) {
        if (f == "order_id") order_id = v;
        if (f == "items") items = v;
      }
      Json parsed = Json::parse(items, nullptr, false);
      if (order_id.empty() || !parsed.is_array()) {
        // Acknowledged too: left pending it would come back on every own-pending pass.
        log_event("warning", "malformed event skipped", {{"stream", stream}, {"id", entry.id}});
        client_.xack(stream, keys::kEventsGroup, {entry.id});
        done.push_back(entry.id);
        continue;
      }
      for (const auto& item : parsed) {
        const long long pid = item.value("product_id", 0LL);
        const long long units = item.value("quantity", 0LL);
        if (pid <= 0 || units <= 0) continue;
        auto r =
            apply_script.run(client_, {keys::applied(pid), keys::sold(pid), keys::product(pid)},
                             {order_id, std::to_string(units)});
        touched[pid] = r.is_nil() ? std::nullopt : parse_int(r.str());
      }
      count_script.run(client_, {keys::events_seen(stream), keys::events_applied(stream)},
                       {order_id});
      client_.xack(stream, keys::kEventsGroup, {entry.id});
      done.push_back(entry.id);
      ++applied_;
    }
    update_low_stock(touched);
    log_event("info", "events applied",
              {{"stream", stream}, {"count", done.size()}, {"total", applied_.load()}});
  }

  void update_low_stock(const std::map<long long, std::optional<long long>>& stock) {
    if (stock.empty()) return;
    auto pipe = client_.pipeline();
    for (const auto& [pid, s] : stock) {
      if (s && *s <= opt_.low_stock)
        pipe.command(
            {"ZADD", std::string(keys::kLowStock), std::to_string(*s), std::to_string(pid)});
      else
        pipe.command({"ZREM", std::string(keys::kLowStock), std::to_string(pid)});
    }
    for (auto& r : pipe.execute()) r.value().throw_if_error();
  }

  void refresh_low_stock() {
    std::map<long long, std::optional<long long>> stock;
    for (const auto& p : read_products(client_, stored_product_ids(client_))) stock[p.id] = p.stock;
    update_low_stock(stock);
  }

  flyshard::Client& client_;
  const WorkerOptions& opt_;
  const std::string consumer_;
  LayoutTracker layouts_;
  std::atomic<long long> applied_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace

int run_worker(const WorkerOptions& opt) {
  const std::string consumer = opt.consumer.empty() ? default_consumer() : opt.consumer;
  set_log_instance(consumer);
  block_stop_signals();
  std::unique_ptr<flyshard::Client> client;
  std::unique_ptr<Worker> worker;
  try {
    client = open_store(opt.config, store_options(8));
    worker = std::make_unique<Worker>(*client, opt, consumer);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flyshard-shop: %s\n", e.what());
    return 1;
  }
  StopSignal stop([&worker] {
    log_event("info", "stopping");
    worker->stop();
  });
  log_event("info", "worker started", {{"consumer", consumer}, {"low_stock", opt.low_stock}});
  worker->run();
  log_event("info", "worker stopped");
  return 0;
}

}  // namespace shop
