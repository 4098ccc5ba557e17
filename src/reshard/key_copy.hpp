#pragma once
// Copying keys from one node to another as they are now: the engine under the copy phase,
// the dirty-set drains and the verification. Per batch of keys (one source, one target),
// pipelined: TYPE, then each key's size (STRLEN / HLEN / LLEN / SCARD / ZCARD / XLEN), then
// DUMP + PTTL of the keys that are not big, then RESTORE ... REPLACE ABSTTL on the target.
// Five round trips per batch, whatever its length: the per-key cost is the server's work.
// Big keys go through big_key.hpp, a bounded chunk at a time.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "flyshard/client.hpp"

namespace flyshard::detail {

struct CopyOptions {
  /// A collection with more elements than this is copied in chunks (big_key.hpp). Default
  /// 10,000.
  std::size_t big_elements = 10000;
  /// A string longer than this, in bytes, is copied in chunks. Default 8 MiB.
  std::size_t big_bytes = std::size_t{8} << 20;
  /// Elements (or bytes / 1,000 for strings... see big_key.hpp) per chunk. Default 1,000.
  std::size_t chunk_elements = 1000;
  /// Bytes per chunk of a big string. Default 1 MiB.
  std::size_t chunk_bytes = std::size_t{1} << 20;
  /// TTL of a big key's temporary copy, refreshed with every chunk, ms. Default 60,000.
  std::chrono::milliseconds temp_ttl{60000};
  /// target clock - local clock, ms (TIME on the target): PTTL on the source plus the
  /// target's own now gives RESTORE's absolute expiry, so skew between hosts does not shift
  /// TTLs. Default 0.
  std::int64_t target_clock_offset_ms = 0;
};

struct CopyCounts {
  std::uint64_t keys = 0;      ///< restored or rebuilt on the target
  std::uint64_t bytes = 0;     ///< DUMP payload bytes (big keys: bytes of elements sent)
  std::uint64_t vanished = 0;  ///< gone from the source when read (expired or deleted)
  std::uint64_t deleted = 0;   ///< vanished keys deleted from the target (delete_absent)
  std::uint64_t big = 0;       ///< keys copied in chunks
  std::chrono::microseconds longest_chunk{0};  ///< slowest single chunk command of a big key
  CopyCounts& operator+=(const CopyCounts& o);
};

/// Copies `keys` from `source` to `target` (one-shard links) as they are now. With
/// `delete_absent`, a key gone from the source is deleted on the target too (the drains: a
/// deleted key must stay deleted); without it (the first copy) it is skipped. `migration_id`
/// names big keys' temporary copies. Throws Error: transport errors (retry: everything here
/// is idempotent) and MigrationUnrecoverable for a RESTORE the target refuses.
CopyCounts copy_keys(Client& source, Client& target, const std::vector<std::string>& keys,
                     bool delete_absent, const CopyOptions& options,
                     const std::string& migration_id);

/// The target's clock minus the local clock, in ms (TIME).
std::int64_t clock_offset_ms(Client& node);

/// The command that counts a key of `type`'s elements (STRLEN for strings); nullptr for a
/// type it does not know (module types: always DUMPed).
const char* size_command(std::string_view type) noexcept;

/// True when a key of `type` with `size` elements (bytes for strings) is copied in chunks.
/// Streams never are: DUMP keeps their consumer groups, which no chunked rebuild can.
bool is_big(std::string_view type, long long size, const CopyOptions& options) noexcept;

/// Milliseconds since the epoch on the local clock.
std::int64_t wall_ms();

}  // namespace flyshard::detail
