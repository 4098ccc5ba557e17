#pragma once
/// \file topology_record_writer.hpp
/// Writes a topology record (online resharding) to primaries by hand, with raw HSETs, as the
/// migrator (`flyshard migrate`) would: tests of the client side use it to move a client from
/// epoch to epoch without a migrator.
///
/// Test support only: not part of the installed library. Reaches src/ (reshard/).

#include <string>
#include <vector>

#include "reshard/topology_record.hpp"
#include "server_process.hpp"

namespace flyshard::testing {

/// Replaces the record on each of `primaries` (DEL + HSET of every field); with `announce`,
/// then PUBLISHes the epoch on the record channel (the hint clients subscribe to). Throws
/// std::runtime_error on an error reply.
inline void write_record(const std::vector<ServerProcess*>& primaries,
                         const detail::TopologyRecord& record, bool announce = false) {
  std::vector<std::string> hset{"HSET", std::string(detail::kRecordKey)};
  for (auto& [field, value] : record.to_fields()) {
    hset.push_back(field);
    hset.push_back(value);
  }
  for (ServerProcess* p : primaries) {
    p->command({"DEL", std::string(detail::kRecordKey)});
    Reply r = p->command(hset);
    if (r.is_error())
      throw std::runtime_error("HSET topology record on " + p->label() + ": " + r.str());
  }
  if (!announce) return;
  for (ServerProcess* p : primaries) {
    p->command({"PUBLISH", std::string(detail::kRecordChannel), std::to_string(record.epoch)});
  }
}

}  // namespace flyshard::testing
