#pragma once
// Collects the results of several async requests and hands them over when the last one is
// in. Every callback runs on the loop thread, so the count needs no atomics.

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "flyshard/error.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard::detail {

template <typename Done>
struct Gather {
  std::vector<Result<Reply>> results;
  std::size_t remaining;
  Done done;
  Gather(std::size_t n, Done d)
      : results(n, Result<Reply>(errc::shutting_down, "not completed")),
        remaining(n),
        done(std::move(d)) {}
  /// The callback of request i.
  static auto slot(std::shared_ptr<Gather> g, std::size_t i) {
    return [g = std::move(g), i](Result<Reply> r) {
      g->results[i] = std::move(r);
      if (--g->remaining == 0) g->done(g->results);
    };
  }
};

template <typename Done>
auto make_gather(std::size_t n, Done d) {
  return std::make_shared<Gather<Done>>(n, std::move(d));
}

}  // namespace flyshard::detail
