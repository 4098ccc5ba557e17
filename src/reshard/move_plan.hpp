#pragma once
// Which keys a migration moves, and where: a key moves iff layout A and layout B place it on
// shards of different names (shards are matched by name, as placement is computed from
// names). Pure: no I/O, safe from any thread.

#include <string>
#include <string_view>

#include "flyshard/distribution.hpp"
#include "flyshard/topology.hpp"

namespace flyshard::detail {

/// True for the library's own keys ("flyshard:..."): never copied, counted or unlinked as
/// user data.
bool is_internal_key(std::string_view key) noexcept;

class MovePlan {
 public:
  MovePlan(const Topology& from, const Topology& to);
  /// Name of the shard that owns `key` in layout A / layout B.
  const std::string& from_shard(std::string_view key) const noexcept;
  const std::string& to_shard(std::string_view key) const noexcept;
  /// True when the key is a user key whose shard differs between the layouts.
  bool moves(std::string_view key) const noexcept;
  /// True when `shard` (a name) is a shard of layout B.
  bool in_target(std::string_view shard) const noexcept;
  /// True when `shard` is a shard of layout A.
  bool in_source(std::string_view shard) const noexcept;

 private:
  Distribution from_;
  Distribution to_;
};

}  // namespace flyshard::detail
