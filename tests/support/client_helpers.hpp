#pragma once
/// \file client_helpers.hpp
/// Small helpers the integration tests share: a key of a given shard, the loop thread's id,
/// and resuming a SIGSTOPped server however a test ends.
///
/// Test support only: not part of the installed library.

#include <cstddef>
#include <future>
#include <string>
#include <thread>

#include "flyshard/client.hpp"
#include "server_process.hpp"

namespace flyshard::testing {

/// The first of prefix0, prefix1, ... that `c` routes to shard `shard` (no hash tag).
inline std::string key_on(const Client& c, std::size_t shard, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    if (c.shard_for(k) == shard) return k;
  }
}

/// The id of the thread `a`'s callbacks run on.
inline std::thread::id loop_thread(AsyncClient& a) {
  std::promise<std::thread::id> p;
  a.post([&p] { p.set_value(std::this_thread::get_id()); });
  return p.get_future().get();
}

/// Resumes a SIGSTOPped process however the test ends.
struct ResumeOnExit {
  ServerProcess& p;
  ~ResumeOnExit() {
    if (p.stopped()) p.resume();
  }
};

}  // namespace flyshard::testing
