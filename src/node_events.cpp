// How the client reacts to what it learns about a node: the outcome of live requests, failed
// connects, and the active checks (role, replication state, lag). NodeHealth (health/) holds
// each node's state; this decides what a change means for routing.
#include "client_core.hpp"

namespace flyshard::detail {
bool says_role_changed(std::string_view message) {
  for (std::string_view prefix : {"READONLY", "LOADING", "MASTERDOWN"}) {
    if (message.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

void ClientCore::on_result(Node& node, errc code, std::string_view message) {
  // Without active checks nothing would ever mark a node up again, so nothing marks it down.
  // A retired node's last requests (failed when its links closed) say nothing of it.
  if (options_.health_interval.count() <= 0 || node.retired.load()) return;
  if (code == errc{} || code == errc::server_error) {  // it answered: alive
    node.health.on_success();
    if (code == errc::server_error && says_role_changed(message) &&
        node.health.request_role_check()) {
      // The node answered as if its role changed (a demoted primary, a replica resyncing):
      // check it now rather than at the next health round, so writes stop going there.
      engine_->post([this, n = &node] {
        n->health.role_check_done();
        health_->check_now(*n);
      });
    }
    return;
  }
  // A dropped link (connection_lost) is not counted: a node that closes connections is not
  // dead (Sentinel kills clients when it reconfigures a node), and a dead one fails the
  // reconnect, which on_connect_failure() counts.
  if (code == errc::protocol_error) on_connect_failure(node);
  // Timeouts count once per health interval (see NodeHealth::on_timeout); a node that keeps
  // timing out still goes down, through its failing checks as well.
  if (code == errc::timeout &&
      node.health.on_timeout(options_.failure_limit, Clock::now(), options_.health_interval))
    on_state_change(node, false);
}

void ClientCore::on_connect_failure(Node& node) {
  if (options_.health_interval.count() <= 0 || node.retired.load()) return;
  if (node.health.on_failure(options_.failure_limit)) on_state_change(node, false);
}

void ClientCore::on_check(Node& node, std::optional<ReplicationInfo> info,
                          std::chrono::nanoseconds rtt) {
  if (node.retired.load()) return;  // a check that was out when the node left
  if (sentinel_ && node.is_primary.load() &&
      (!info || info->role == NodeRole::replica)) {
    sentinel_->refresh();  // in case a +switch-master was missed
  }
  if (!info) {
    // Counted like request timeouts, once per window (half an interval, so every periodic
    // check of a dead or hung node still counts): a node busy for a moment with one slow
    // script gets a check after each reopened link, and those must not add up to "down".
    if (node.health.on_timeout(options_.failure_limit, Clock::now(), options_.health_interval / 2))
      on_state_change(node, false);
    return;
  }
  bool eligible = false;
  Node* slot_primary = router_->shard(node.shard).primary;
  if (info->role == NodeRole::primary && slot_primary != &node) {
    // A member of the shard that reports itself primary while the shard's primary slot holds
    // another node: either a replica Sentinel has just promoted (the client re-points the
    // shard when it hears of it) or a restarted, empty node nobody re-attached. A promoted
    // replica's replication offset carries on from where its replica offset was; an empty
    // node's starts again. Only the former serves reads meanwhile, and only while the slot's
    // primary is unusable.
    const auto& before = node.checks.last_info;
    if (!node.checks.promoted_from_offset && before && before->role == NodeRole::replica &&
        before->replica_offset && *before->replica_offset > 0 && info->primary_offset &&
        *info->primary_offset >= *before->replica_offset) {
      node.checks.promoted_from_offset = before->replica_offset;
    }
    if (node.checks.promoted_from_offset && info->primary_offset &&
        *info->primary_offset >= *node.checks.promoted_from_offset) {
      eligible = !usable_as_primary(*slot_primary);
    } else {
      node.checks.promoted_from_offset.reset();
    }
  } else {
    node.checks.promoted_from_offset.reset();
  }
  if (info->role == NodeRole::replica) {
    Node* primary = slot_primary;
    std::optional<ReplicationInfo> primary_info;
    if (primary != &node) primary_info = primary->checks.last_info;
    // When the primary is down (in our own view), every replica's link to it is down too, and
    // a replica holds the freshest data there is: judge it against the primary's last known
    // state as if the link were up, so reads keep working until a promotion. A replica cut
    // off from a primary that is still up stays ineligible.
    ReplicationInfo judged = *info;
    if (!judged.link_up && !judged.sync_in_progress && primary != &node && !primary->health.up()) {
      judged.link_up = true;
    }
    ReplicaVerdict v = node.checks.lag.update(judged, primary_info, Clock::now(), options_.max_replica_lag);
    eligible = v.eligible;
    if (eligible != node.health.read_eligible()) {
      log_.log(LogLevel::info, "replica " + node.name +
                                   (eligible ? std::string(": serving reads")
                                             : ": no reads (" + v.reason + ")"));
    }
  }
  const NodeRole old_role = node.health.role();
  if (info->role != old_role && node.is_primary.load() && info->role == NodeRole::replica) {
    log_.log(LogLevel::warning, node.name + " holds shard " + router_->shard(node.shard).name +
                                    "'s primary slot but is a replica: no writes go to it");
  }
  const NodeRole role = info->role;
  node.checks.last_info = std::move(info);
  if (node.health.on_check(role, eligible, rtt)) {
    on_state_change(node, true);
  } else if (role != old_role) {
    router_->on_health_change();
  }
}

void ClientCore::on_state_change(Node& node, bool up) {
  node.stats.set_up(up);
  node.stats.on_health_change();
  log_.log(up ? LogLevel::info : LogLevel::warning,
           "node " + node.name + " (shard " + router_->shard(node.shard).name + ") is " +
               (up ? "up" : "down"));
  if (!up) node.pool.clear();
  router_->on_health_change();
  if (!up && node.is_primary.load()) {
    // Its replicas' links just broke too; judge them now (against the primary's last state)
    // rather than at their next check, so reads move to them at once.
    const std::size_t shard = node.shard;
    engine_->post([this, shard] {
      const auto replicas = router_->shard(shard).replicas;
      for (Node* r : replicas) health_->check_now(*r);
    });
  }
}

}  // namespace flyshard::detail
