#pragma once
// Work on several shards at once: one thread per shard (a handful), so one slow node costs
// its own time, not the sum. The first exception is rethrown once every thread has stopped.

#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace flyshard::detail {

template <typename Fn>
void for_each_shard(const std::vector<std::string>& shards, Fn fn) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(shards.size());
  threads.reserve(shards.size());
  for (std::size_t i = 0; i < shards.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i, shards[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace flyshard::detail
