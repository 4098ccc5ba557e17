#pragma once
// Multi-key commands over many shards: split the keys per shard (keeping each key's place in
// the caller's list), build one command per shard, and merge the shards' replies back.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/client.hpp"
#include "flyshard/distribution.hpp"
#include "routing/router.hpp"

namespace flyshard::detail {

enum class MergeKind { values, sum, ok };

struct ShardPart {
  std::size_t shard = 0;
  std::vector<std::size_t> positions;  // indexes into the caller's key list
  std::string payload;                 // the RESP command for this shard
  /// A key that goes alone (split_keys' `alone`): its command, routed and fenced like
  /// command(); `shard` and `payload` are then unused.
  std::vector<std::string> words;
};

struct SplitPlan {
  MergeKind kind = MergeKind::values;
  std::size_t key_count = 0;
  std::vector<ShardPart> parts;
};

/// Splits MGET/DEL/EXISTS/UNLINK/TOUCH (`name`) over `keys`. Throws Error(config) for any
/// other name.
SplitPlan split_keys(std::string_view name, const std::vector<std::string>& keys,
                     const Distribution& distribution);
/// Splits MSET over key/value pairs.
SplitPlan split_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                      const Distribution& distribution);
/// The same over the router's current placement (cache policy: the live shards only). Keys
/// marked in `alone` (empty: none) get a part each, with its single-key command in `words`
/// (MGET stays a one-key MGET, MSET becomes SET) and no shard: while a migration runs, such a
/// key is routed, guarded, held or fenced as a single command is (ClientCore::one_by_one
/// says which keys; a split by shard would bypass that).
SplitPlan split_keys(std::string_view name, const std::vector<std::string>& keys,
                     const Placement& placement, const std::vector<bool>& alone = {});
SplitPlan split_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                      const Placement& placement, const std::vector<bool>& alone = {});
/// Merges the parts' results (results[i] belongs to plan.parts[i]).
MultiKeyReply merge_parts(const SplitPlan& plan, std::vector<Result<Reply>>& results);

}  // namespace flyshard::detail
