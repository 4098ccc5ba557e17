#pragma once
// The cutover's check before the flip: a sample of moving keys compared between source and
// target, with writes to them frozen. Same type; same value (DUMP equality, or element by
// element when the encodings differ, as a hash table's order does between two processes;
// big keys by their size); same TTL within a second.

#include <string>
#include <vector>

#include "reshard/copier.hpp"

namespace flyshard::detail {

struct Mismatch {
  std::string key;
  std::string why;
};

/// Compares up to `per_source` moving keys of each of `sources` (the first SCAN pages).
std::vector<Mismatch> verify_sample(MoveContext& ctx, const std::vector<std::string>& sources,
                                    std::size_t per_source);

}  // namespace flyshard::detail
