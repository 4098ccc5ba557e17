#pragma once
// What a routing table knows of the topology record it routes by: the record's epoch and
// phase, the fencing mode, and the layout pair that says which keys move. Immutable, shared
// by every table built from the same record, so a request reads layout, target, phase and
// epoch from one snapshot.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "reshard/layout_pair.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

struct ReshardView {
  explicit ReshardView(const TopologyRecord& r)
      : epoch(r.epoch),
        state(r.state),
        fencing(r.fencing),
        lease(r.lease_ms),
        dirty_key(std::string(kDirtyKeyPrefix) + r.migration_id),
        pair(r.layout, r.target ? &*r.target : nullptr),
        record(std::make_shared<const TopologyRecord>(r)) {}

  std::uint64_t epoch;
  MigrationState state;
  Fencing fencing;
  std::chrono::milliseconds lease;
  std::string dirty_key;  // "flyshard:dirty:<migration id>"
  LayoutPair pair;        // layout (what the table routes by) and target
  std::shared_ptr<const TopologyRecord> record;

  /// Writes of moving keys go through the guard (and SADD the dirty set).
  bool guards_moving() const noexcept {
    return state == MigrationState::preparing || state == MigrationState::copying ||
           state == MigrationState::catchup;
  }
  /// Requests on moving keys wait for the next epoch.
  bool frozen() const noexcept { return state == MigrationState::cutover; }
  /// Between the first phase and the flip: some keys move.
  bool migrating() const noexcept { return guards_moving() || frozen(); }
};

}  // namespace flyshard::detail
