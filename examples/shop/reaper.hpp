#pragma once
// The reaper: a reservation older than the timeout whose order does not exist belongs to a
// checkout that died between its two steps; its stock is given back. One whose order exists
// is only forgotten (the checkout confirmed but did not get to clean up).

#include <chrono>
#include <cstddef>

#include <flyshard/flyshard.hpp>

#include "json_util.hpp"

namespace shop {

struct ReapResult {
  std::size_t examined = 0;   ///< reservations older than the limit
  std::size_t released = 0;   ///< given back (order never appeared)
  std::size_t committed = 0;  ///< forgotten (order exists)
  long long units_released = 0;
};

/// One pass over every product; throws flyshard::Error when the store cannot be read.
ReapResult reap_once(flyshard::Client& client, std::chrono::milliseconds older_than);

Json reap_json(const ReapResult& r);

}  // namespace shop
