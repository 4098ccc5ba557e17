#include "health/checker.hpp"

#include "io/callback_guard.hpp"
#include "io/engine.hpp"
#include "io/resp.hpp"
#include "routing/node.hpp"

namespace flyshard::detail {

HealthChecker::HealthChecker(Engine& engine, std::chrono::milliseconds interval, NodeList nodes,
                             Outcome outcome)
    : engine_(engine), interval_(interval), nodes_(std::move(nodes)), outcome_(std::move(outcome)) {
  uv_timer_init(engine_.loop(), &timer_);
  timer_.data = this;
}

void HealthChecker::start() {
  if (interval_.count() <= 0) return;
  uv_timer_start(&timer_, &HealthChecker::on_timer, 0,
                 static_cast<std::uint64_t>(interval_.count()));
}

void HealthChecker::on_timer(uv_timer_t* t) {
  auto* self = static_cast<HealthChecker*>(t->data);
  // Called from libuv: nothing may leave it by an exception.
  run_guarded(self->engine_.log(), "health check timer", [self] {
    for (Node* n : self->nodes_()) {
      run_guarded(self->engine_.log(), "health check", [self, n] { self->check_now(*n); });
    }
  });
}

void HealthChecker::check_now(Node& node) {
  if (node.checks.in_flight || node.connections.empty() || node.retired.load()) return;
  node.checks.in_flight = true;
  // INFO replication for every node: its role line is as authoritative as ROLE, and a
  // primary's offset and replication id are what the replicas' lag is judged against.
  Request r;
  std::vector<std::string_view> words{"INFO", "replication"};
  append_command(r.payload, words);
  r.start = Clock::now();
  r.deadline = r.start + engine_.request_timeout();
  Node* n = &node;
  r.callback = [this, n, start = r.start](Result<Reply> result) {
    n->checks.in_flight = false;
    const auto rtt = Clock::now() - start;
    if (!result.ok()) {
      outcome_(*n, std::nullopt, rtt);
      return;
    }
    std::optional<ReplicationInfo> info;
    if (result.value().is_string()) info = parse_info_replication(result.value().str());
    if (info && info->role == NodeRole::unknown) info.reset();
    outcome_(*n, std::move(info), rtt);
  };
  engine_.dispatch_now(node, std::move(r));
}

void HealthChecker::stop() {
  uv_timer_stop(&timer_);
  auto* h = reinterpret_cast<uv_handle_t*>(&timer_);
  if (!uv_is_closing(h)) uv_close(h, nullptr);
}

}  // namespace flyshard::detail
