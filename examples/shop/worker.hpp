#pragma once
// `flyshard-shop worker`: the inventory worker. It reads every event stream (one per shard)
// in the consumer group "inventory", counts units sold per product exactly once per order
// (a script per product: SADD applied:{p<id>} order_id, INCRBY sold only when new), keeps
// the low-stock list, XACKs after applying, takes over entries a dead consumer left pending
// (XAUTOCLAIM) and, after a restart, first re-reads its own pending entries.

#include <chrono>
#include <string>

namespace shop {

struct WorkerOptions {
  std::string config;
  std::string consumer;  ///< empty: "<hostname>-<pid>"
  long long low_stock = 5;
  std::chrono::milliseconds claim_idle{30000};  ///< XAUTOCLAIM entries idle longer than this
  std::chrono::milliseconds block{1000};        ///< XREADGROUP BLOCK
};

/// Runs until SIGINT/SIGTERM; returns the exit code.
int run_worker(const WorkerOptions& options);

}  // namespace shop
