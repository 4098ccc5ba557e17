#pragma once
/// \file streams.hpp
/// Values returned by the stream helpers of Client and AsyncClient (xadd, xreadgroup, ...).

#include <string>
#include <utility>
#include <vector>

namespace flyshard {

/// One stream entry: its ID and its field/value pairs in the order they were added.
struct StreamEntry {
  std::string id;
  /// Empty for an entry that was deleted from the stream (XDEL, trimming) while still pending
  /// in a group: XREADGROUP with id "0" (and XAUTOCLAIM on Redis 6.2) reports it with nil
  /// fields. It is returned, not skipped, so that the consumer can XACK it.
  std::vector<std::pair<std::string, std::string>> fields;
  friend bool operator==(const StreamEntry&, const StreamEntry&) = default;
};

/// The answer of XAUTOCLAIM.
struct AutoClaimed {
  /// Where the next XAUTOCLAIM should start ("0-0" when the scan of the pending list is
  /// complete).
  std::string next_id;
  /// Entries now owned by the claiming consumer.
  std::vector<StreamEntry> entries;
  /// IDs that were pending but no longer exist in the stream (trimmed or deleted); the server
  /// already removed them from the pending list (Redis 7; empty on servers that do not say).
  std::vector<std::string> deleted;
};

}  // namespace flyshard
