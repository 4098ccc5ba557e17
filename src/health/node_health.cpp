#include "routing/health.hpp"

#include "io/engine.hpp"
#include "io/resp.hpp"
#include "routing/node.hpp"

namespace flyshard::detail {

bool NodeHealth::on_failure(unsigned failure_limit) noexcept {
  unsigned n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n < std::max(1u, failure_limit)) return false;
  bool was_up = true;
  return up_.compare_exchange_strong(was_up, false, std::memory_order_acq_rel);
}

bool NodeHealth::on_timeout(unsigned failure_limit, std::chrono::steady_clock::time_point now,
                            std::chrono::nanoseconds window) noexcept {
  const std::int64_t t = now.time_since_epoch().count();
  std::int64_t last = last_timeout_counted_.load(std::memory_order_relaxed);
  const std::int64_t span =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(window).count();
  // Whoever moves the stamp forward counts; every other timeout of the same window is free.
  do {
    if (last != std::numeric_limits<std::int64_t>::min() && t - last < span) return false;
  } while (!last_timeout_counted_.compare_exchange_weak(last, t, std::memory_order_relaxed));
  return on_failure(failure_limit);
}

bool NodeHealth::on_check(NodeRole role, bool read_eligible, std::chrono::nanoseconds rtt) noexcept {
  failures_.store(0, std::memory_order_relaxed);
  if (role == NodeRole::primary) awaiting_promotion_.store(false, std::memory_order_release);
  role_.store(role, std::memory_order_release);
  eligible_.store(read_eligible, std::memory_order_release);
  // Exponentially weighted (1/4 new sample): steady enough for `nearest`, quick to follow.
  auto sample = std::chrono::duration_cast<std::chrono::microseconds>(rtt).count();
  auto old = latency_us_.load(std::memory_order_relaxed);
  latency_us_.store(old == 0 ? sample : (3 * old + sample) / 4, std::memory_order_relaxed);
  bool was_down = false;
  return up_.compare_exchange_strong(was_down, true, std::memory_order_acq_rel);
}


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
  for (Node* n : self->nodes_()) self->check_now(*n);
}

void HealthChecker::check_now(Node& node) {
  if (node.check_in_flight || node.connections.empty()) return;
  node.check_in_flight = true;
  // INFO replication for every node: its role line is as authoritative as ROLE, and a
  // primary's offset and replication id are what the replicas' lag is judged against.
  Request r;
  std::vector<std::string_view> words{"INFO", "replication"};
  append_command(r.payload, words);
  r.start = Clock::now();
  r.deadline = r.start + engine_.request_timeout();
  Node* n = &node;
  r.callback = [this, n, start = r.start](Result<Reply> result) {
    n->check_in_flight = false;
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
