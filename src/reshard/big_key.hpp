#pragma once
// Big keys: a collection over CopyOptions::big_elements elements (a string over big_bytes) is
// never DUMPed or RESTOREd whole, because one DUMP or RESTORE of a million-field hash blocks
// its node for as long as it takes. It is read a chunk at a time (HSCAN / SSCAN / ZSCAN /
// LRANGE / GETRANGE, chunk_elements elements or chunk_bytes bytes per command) and rebuilt in
// a temporary key on the target ("flyshard:tmp:<migration id>:<key>", TTL temp_ttl refreshed
// with each chunk, so a crashed migrator leaves nothing for long); a script then UNLINKs the
// old value (freed in the background), RENAMEs the temporary key onto the real one (same
// node) and sets the expiry. Every command touches at most one chunk: that is the bound on
// how long a node is blocked.
//
// The copy is not a snapshot (writes land between chunks): it is exact only because the key
// is also in the dirty set when written, and the cutover copies it again with writes frozen.

#include <chrono>
#include <cstdint>
#include <string>

#include "flyshard/client.hpp"
#include "reshard/key_copy.hpp"

namespace flyshard::detail {

struct BigCopy {
  bool vanished = false;                 ///< the key was gone from the source at the end
  std::uint64_t bytes = 0;               ///< bytes of elements sent
  std::uint64_t chunks = 0;              ///< chunk commands run on the source
  std::chrono::microseconds longest{0};  ///< the slowest single chunk command (either side)
};

/// Temporary key of `key`'s chunked copy.
std::string temp_key(const std::string& migration_id, const std::string& key);

/// Copies one big key of `type` (hash, set, zset, list, string). Throws Error.
BigCopy copy_big_key(Client& source, Client& target, const std::string& key,
                     const std::string& type, const CopyOptions& options,
                     const std::string& migration_id);

}  // namespace flyshard::detail
