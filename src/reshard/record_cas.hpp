#pragma once
// Reading and writing the topology record on the primaries. Writes go only through the
// compare-and-set script below, one primary after another, then a PUBLISH of the new epoch on
// each as a hint to clients. A phase starts only after every primary holds its record.
//
// The script: KEYS[1] = the record key, ARGV[1] = the expected epoch ("0": no record yet),
// ARGV[2..] = field/value pairs of the new record (TopologyRecord::to_fields, its epoch
// included). When the stored epoch is the expected one, it replaces the hash (DEL, then HSET,
// so no stale field survives). It returns the stored epoch afterwards either way: the new
// epoch means applied (or applied before: a resumed round re-applies harmlessly), anything
// else is the epoch that was there and stays.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reshard/shard_links.hpp"
#include "reshard/topology_record.hpp"

namespace flyshard::detail {

extern const std::string_view kRecordCasScript;

/// What every shard holds now.
struct StoredRecords {
  std::map<std::string, std::optional<TopologyRecord>> by_shard;  ///< nullopt: no record
  std::map<std::string, std::string> errors;                      ///< shards that failed
  /// The record with the highest epoch; nullopt when no shard holds one.
  std::optional<TopologyRecord> newest() const;
  /// True when every shard answered and holds the newest record's epoch.
  bool converged() const;
};

/// HGETALL of the record on each of `shards`. Never throws for a shard's failure (it is in
/// `errors`); an unreadable record is an error too (its message names the field).
StoredRecords read_records(ShardLinks& links, const std::vector<std::string>& shards,
                           const Topology& local);

/// Runs the script on one shard; returns the stored epoch afterwards. Throws Error.
std::uint64_t cas_record(ShardLinks& links, const std::string& shard, std::uint64_t expected,
                         const TopologyRecord& next);

/// Writes `next` on every shard of `shards` in order, each expected at `expected` or at
/// next.epoch already, then PUBLISHes next.epoch on each. Throws MigrationRefused when a shard
/// holds another epoch (someone else wrote it), Error for a transport failure.
void write_round(ShardLinks& links, const std::vector<std::string>& shards, std::uint64_t expected,
                 const TopologyRecord& next);

/// Completes a write round a crash cut short: every shard behind `newest` gets it, from its
/// own stored epoch. Throws like write_round.
void converge(ShardLinks& links, const std::vector<std::string>& shards, const StoredRecords& now,
              const TopologyRecord& newest);

/// Every shard name of the record's layouts (layout, target, previous), layout first.
std::vector<std::string> record_shards(const TopologyRecord& r);

}  // namespace flyshard::detail
