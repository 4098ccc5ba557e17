#pragma once
// Copying keys from one node to another as they are now: the engine under the copy phase,
// the dirty-set drains and the verification. Per batch of keys (one source, one target),
// pipelined:
//   1. GETRANGE 0 string_window-1 and PTTL of every key: a string shorter than the window is
//      then read whole, with its TTL, in this one round trip; a missing key answers PTTL -2;
//      another type answers WRONGTYPE and is asked its TYPE next;
//   2. the size of the other keys (STRLEN / HLEN / LLEN / SCARD / ZCARD / XLEN);
//   3. GET + PTTL of the longer strings, DUMP + PTTL of the other keys, big ones excepted;
//   4. on the target: SET key value [PXAT abs] for strings, RESTORE ... REPLACE ABSTTL for the
//      rest (and DEL of vanished keys when asked).
// A batch of short strings takes two round trips, any batch at most five, whatever its
// length: the per-key cost is the servers' work. Big keys go through big_key.hpp, a bounded
// chunk at a time.
//
// Strings skip DUMP/RESTORE because their serialisation is pure cost for them: DUMP tries to
// LZF-compress the value and CRC64s it on the source, RESTORE checks the CRC and decompresses
// on the target, and a string's value and TTL are all there is to it (SET without an expiry
// clears one the target's copy had, as RESTORE REPLACE does). The reads of a key are not
// atomic (neither were DUMP then PTTL): a key written between them was written through the
// guard, so it is in the dirty set and copied again; a key that expires between them reads as
// PTTL -2, which counts as gone; a string that became another type before its GET is left for
// the dirty set to bring (it is there: the change was a write).

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
  /// Strings shorter than this, in bytes, are read in the first round trip (GETRANGE) and
  /// written with SET; longer ones take STRLEN, then GET. 0: every key is asked its TYPE first
  /// and goes through DUMP and RESTORE. Default 64 KiB (a longer string read in vain costs at
  /// most this much).
  std::size_t string_window = std::size_t{64} << 10;
  /// Bytes of values queued on the target at most before they are sent: a batch of large
  /// values goes in several pipelines rather than one of unbounded size. Default 8 MiB.
  std::size_t pipeline_bytes = std::size_t{8} << 20;
  /// TTL of a big key's temporary copy, refreshed with every chunk, ms. Default 60,000.
  std::chrono::milliseconds temp_ttl{60000};
  /// target clock - local clock, ms (TIME on the target): PTTL on the source plus the
  /// target's own now gives RESTORE's absolute expiry, so skew between hosts does not shift
  /// TTLs. Default 0.
  std::int64_t target_clock_offset_ms = 0;
};

struct CopyCounts {
  std::uint64_t keys = 0;      ///< restored or rebuilt on the target
  std::uint64_t bytes = 0;     ///< DUMP payload / string bytes (big keys: bytes of elements sent)
  std::uint64_t vanished = 0;  ///< gone from the source when read (expired or deleted)
  std::uint64_t deleted = 0;   ///< vanished keys deleted from the target (delete_absent)
  std::uint64_t big = 0;       ///< keys copied in chunks
  std::uint64_t retyped = 0;   ///< strings that changed type before their GET (dirty: later)
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
