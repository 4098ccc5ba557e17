#include "reshard/phase_plan.hpp"

#include <stdexcept>

namespace flyshard::detail {
namespace {

[[noreturn]] void wrong(const TopologyRecord& r, std::string_view step) {
  throw std::logic_error(std::string(step) + " from state " + std::string(to_string(r.state)));
}

bool migrating(const TopologyRecord& r) {
  return r.state != MigrationState::stable && r.state != MigrationState::cleanup;
}

}  // namespace

bool same_layout(const Topology& a, const Topology& b) {
  // to_json() writes neither password; the user names in auth do not move keys either.
  Topology x = a, y = b;
  x.auth = {};
  y.auth = {};
  if (x.sentinel) x.sentinel->auth = {};
  if (y.sentinel) y.sentinel->auth = {};
  return x.to_json() == y.to_json();
}

TopologyRecord begin_migration(const TopologyRecord& stable, const Topology& target,
                               std::string migration_id, Fencing fencing, std::uint32_t lease_ms) {
  if (stable.state != MigrationState::stable) wrong(stable, "begin");
  TopologyRecord r = stable;
  r.epoch = stable.epoch + 1;
  r.state = MigrationState::preparing;
  r.target = target;
  r.previous.reset();
  r.migration_id = std::move(migration_id);
  r.fencing = fencing;
  r.lease_ms = lease_ms;
  return r;
}

TopologyRecord advance(const TopologyRecord& r, MigrationState next) {
  const bool ok = (r.state == MigrationState::preparing && next == MigrationState::copying) ||
                  (r.state == MigrationState::copying && next == MigrationState::catchup) ||
                  (r.state == MigrationState::catchup && next == MigrationState::cutover);
  if (!ok) wrong(r, "advance to " + std::string(to_string(next)));
  TopologyRecord n = r;
  n.epoch = r.epoch + 1;
  n.state = next;
  return n;
}

TopologyRecord flip(const TopologyRecord& cutover) {
  if (cutover.state != MigrationState::cutover) wrong(cutover, "flip");
  TopologyRecord n = cutover;
  n.epoch = cutover.epoch + 1;
  n.state = MigrationState::cleanup;
  n.previous = cutover.layout;
  n.layout = *cutover.target;
  n.target.reset();
  return n;
}

TopologyRecord finish(const TopologyRecord& cleanup) {
  if (cleanup.state != MigrationState::cleanup) wrong(cleanup, "finish");
  TopologyRecord n = cleanup;
  n.epoch = cleanup.epoch + 1;
  n.state = MigrationState::stable;
  n.previous.reset();
  n.migration_id.clear();
  return n;
}

TopologyRecord rollback(const TopologyRecord& r) {
  if (!migrating(r)) wrong(r, "abort");
  TopologyRecord n = r;
  n.epoch = r.epoch + 1;
  n.state = MigrationState::stable;
  n.target.reset();
  n.previous.reset();
  n.migration_id.clear();
  return n;
}

const Topology& source_layout(const TopologyRecord& r) {
  if (r.state == MigrationState::cleanup) return *r.previous;
  if (!migrating(r)) wrong(r, "source layout");
  return r.layout;
}

const Topology& target_layout(const TopologyRecord& r) {
  if (r.state == MigrationState::cleanup) return r.layout;
  if (!migrating(r)) wrong(r, "target layout");
  return *r.target;
}

std::string describe_layout(const Topology& t) {
  std::string s = std::to_string(t.shards.size()) + " shards (";
  for (std::size_t i = 0; i < t.shards.size(); ++i) s += (i ? ", " : "") + t.shards[i].name;
  return s + "), " + t.distribution;
}

Verdict decide_migrate(const std::optional<TopologyRecord>& newest, const Topology& target) {
  if (!newest) {
    return {Decision::refuse,
            "no topology record on any primary: run `flyshard init` with the current layout "
            "first"};
  }
  const TopologyRecord& r = *newest;
  const std::string at = " (epoch " + std::to_string(r.epoch) + ")";
  if (r.state == MigrationState::stable) {
    if (same_layout(r.layout, target))
      return {Decision::nothing_to_do, "the cluster is at the target layout already" + at};
    return {Decision::start,
            "migrating from " + describe_layout(r.layout) + " to " + describe_layout(target) + at};
  }
  if (same_layout(target_layout(r), target)) {
    return {Decision::resume, "resuming migration " + r.migration_id + " in state " +
                                  std::string(to_string(r.state)) + at};
  }
  return {Decision::refuse, "migration " + r.migration_id + " to another layout (" +
                                describe_layout(target_layout(r)) + ") is in state " +
                                std::string(to_string(r.state)) + at +
                                ": finish it with its own --to, or abort it with --abort"};
}

Verdict decide_abort(const std::optional<TopologyRecord>& newest) {
  if (!newest) return {Decision::refuse, "no topology record on any primary: nothing to abort"};
  const TopologyRecord& r = *newest;
  const std::string at = " (epoch " + std::to_string(r.epoch) + ")";
  if (r.state == MigrationState::stable)
    return {Decision::nothing_to_do, "no migration is running" + at};
  if (r.state == MigrationState::cleanup) {
    return {Decision::refuse, "migration " + r.migration_id + " is past its flip (state cleanup" +
                                  at +
                                  "): it cannot be aborted; run migrate with its --to to finish"};
  }
  return {Decision::abort, "aborting migration " + r.migration_id + " in state " +
                               std::string(to_string(r.state)) + at};
}

Verdict decide_init(const std::optional<TopologyRecord>& newest, const Topology& layout) {
  if (!newest) return {Decision::start, "writing the first topology record (epoch 1)"};
  const TopologyRecord& r = *newest;
  const std::string at = " at epoch " + std::to_string(r.epoch);
  if (r.state == MigrationState::stable && same_layout(r.layout, layout))
    return {Decision::nothing_to_do, "already initialised with this layout" + at};
  return {Decision::refuse, "a topology record with another layout or a migration exists" + at +
                                " (" + describe_layout(r.layout) + ", state " +
                                std::string(to_string(r.state)) +
                                "): `init` writes only the first record"};
}

std::string resume_cursor(const std::string& saved_cursor, const std::string& saved_run_id,
                          const std::string& run_id_now) {
  if (saved_cursor.empty() || saved_run_id.empty() || saved_run_id != run_id_now) return "0";
  return saved_cursor;
}

}  // namespace flyshard::detail
