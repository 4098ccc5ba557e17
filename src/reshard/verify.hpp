#pragma once
// The check before the flip: a sample of moving keys compared between source and target,
// before the cutover's freeze (keys written meanwhile excepted) and, inside it, the keys the
// final drain copied (or the whole sample when a resumed migrator starts in the cutover).
// Same type; same value (DUMP equality, or element by element when the encodings differ, as
// a hash table's order does between two processes; big keys by their size); same TTL within
// a second.

#include <string>
#include <vector>

#include "reshard/copier.hpp"

namespace flyshard::detail {

struct Mismatch {
  std::string key;
  std::string why;
};

/// Compares `keys` of shard `source` that move from it with their copies. `skip_dirty`
/// (writes not frozen yet): a key that differs but is in the source's dirty or in-flight set
/// is no mismatch (written since its copy; a drain copies it again).
std::vector<Mismatch> verify_keys(MoveContext& ctx, const std::string& source,
                                  const std::vector<std::string>& keys, bool skip_dirty);

/// Compares up to `per_source` moving keys of each of `sources` (the first SCAN pages), as
/// verify_keys.
std::vector<Mismatch> verify_sample(MoveContext& ctx, const std::vector<std::string>& sources,
                                    std::size_t per_source, bool skip_dirty);

}  // namespace flyshard::detail
