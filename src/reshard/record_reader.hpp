#pragma once
// Reading the topology record: an HGETALL reply from one primary becomes a record (or none:
// the node was never initialised), and of the records read from every primary the newest
// wins (the migrator writes every primary before it moves on, so a primary behind the others
// is only one the migrator has not reached yet).

#include <optional>
#include <span>
#include <string>

#include "flyshard/reply.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

/// The record in an HGETALL reply of kRecordKey; nullopt for an empty hash (no record).
/// Throws Error(config) for a malformed record (the message names the field) and
/// Error(protocol_error) for a reply that is not a flat array of pairs.
std::optional<TopologyRecord> record_from_reply(const Reply& reply, const Topology& local);

/// The record with the highest epoch among `read` (nullopt entries: no record there, or the
/// node did not answer); nullptr when there is none. Ties: the first one.
const TopologyRecord* newest_record(std::span<const std::optional<TopologyRecord>> read) noexcept;

}  // namespace flyshard::detail
