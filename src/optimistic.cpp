// Client::watch_transaction: WATCH, read, MULTI/EXEC, retried on conflict (go-redis Watch),
// built on the public Transaction only.
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "flyshard/client.hpp"

namespace flyshard {
namespace {

// A random pause before retry `retry` (1-based): uniform in [0, min(0.1 ms * 2^(retry-1),
// 10 ms)]. Random, so that writers that collided do not collide again in step.
void pause_before_retry(int retry) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto cap = std::min<long long>(100LL << std::min(retry - 1, 10), 10'000);
  std::uniform_int_distribution<long long> pick(0, cap);
  std::this_thread::sleep_for(std::chrono::microseconds(pick(rng)));
}

std::string key_list(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size() && i < 5; ++i) {
    if (i) out += ", ";
    out += keys[i];
  }
  if (keys.size() > 5) out += ", ...";
  return out;
}

}  // namespace

std::vector<Reply> Client::watch_transaction(const std::vector<std::string>& keys,
                                             const std::function<void(Transaction&)>& fn,
                                             int max_attempts) {
  max_attempts = std::max(max_attempts, 1);
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    if (attempt > 1) pause_before_retry(attempt - 1);
    Transaction tx = transaction();
    tx.watch(keys);
    fn(tx);  // throws: ~Transaction discards and UNWATCHes
    if (auto replies = tx.exec()) return std::move(*replies);
  }
  throw Error(errc::watch_conflict, "watch_transaction: a WATCHed key (" + key_list(keys) +
                                        ") changed before EXEC on each of " +
                                        std::to_string(max_attempts) + " attempts");
}

}  // namespace flyshard
