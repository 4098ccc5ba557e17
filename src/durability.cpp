// Confirmed writes: the writes and WAIT leave as one batch on one connection, so WAIT counts
// the replicas that acknowledged exactly these writes. A WAIT sent on any other connection
// (another pooled link, the shared async link) would confirm nothing about them.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client_core.hpp"
#include "command_table.hpp"
#include "flyshard/client.hpp"
#include "flyshard/durability.hpp"
#include "io/resp.hpp"
#include "reshard/guard_script.hpp"
#include "wait_batch.hpp"

namespace flyshard {

namespace detail {

Result<std::vector<Reply>> execute_batch(ClientCore& core, Node& node, std::string_view payload,
                                         std::uint32_t replies,
                                         std::chrono::milliseconds extra_wait) {
  const auto start = Clock::now();
  const auto deadline = start + core.options().request_timeout + extra_wait;
  node.stats.on_start();
  auto finish = [&](errc e) {
    node.stats.on_complete(static_cast<int>(e), Clock::now() - start);
    core.on_result(node, e);
  };
  auto leased = core.lease(node);
  if (!leased.ok()) {
    core.on_connect_failure(node);
    finish(leased.error());
    return {leased.error(), leased.message()};
  }
  std::unique_ptr<BlockingConnection> conn = std::move(leased).value();
  std::vector<Reply> out;
  std::string message;
  // No second attempt on a fresh link, unlike a read: the batch holds writes, and a write
  // may have been applied before the link broke.
  const errc e = conn->exchange(payload, replies, out, deadline, message);
  core.release(node, std::move(conn), e);
  finish(e);
  if (e != errc{}) return {e, std::move(message)};
  return out;
}

std::chrono::milliseconds wait_timeout(const ReplicaAck& ack) noexcept {
  return ack.timeout.count() > 0 ? ack.timeout : std::chrono::milliseconds(1);
}

std::uint32_t append_wait(std::string& payload, const ReplicaAck& ack) {
  if (ack.replicas == 0) return 0;
  const std::string n = std::to_string(ack.replicas);
  const std::string ms = std::to_string(wait_timeout(ack).count());
  std::vector<std::string_view> w{"WAIT", n, ms};
  append_command(payload, w);
  return 1;
}

void take_wait_reply(AckedReplies& out, const Reply& wait, const ReplicaAck& ack) {
  out.acked.reset();
  out.confirmed = false;
  if (!wait.is_integer()) return;  // "unknown command" (old Dragonfly), a replica's refusal ...
  out.acked = wait.integer();
  out.confirmed = *out.acked >= static_cast<long long>(ack.replicas);
}

namespace {

// The shard of every command of a batch (keyless commands go along with the others; a
// batch of keyless commands goes to the first shard). Throws cross_shard before anything is
// sent.
std::size_t batch_shard(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                        std::optional<std::size_t> shard, const char* what) {
  for (const auto& c : commands) {
    if (c.empty()) throw Error(errc::config, std::string(what) + ": empty command");
    std::vector<std::string_view> w(c.begin(), c.end());
    const CommandInfo* info = find_command(w[0]);
    if (info != nullptr && (info->flags & kPubSub) != 0) {
      throw Error(errc::config, std::string(what) + ": " + c[0] +
                                    " would put the connection in subscriber mode");
    }
    std::optional<std::size_t> s = core.shard_of(w);
    if (s && shard && *s != *shard) {
      throw Error(errc::cross_shard, std::string(what) + ": keys span shards " +
                                         core.router().shard(*shard).name + " and " +
                                         core.router().shard(*s).name);
    }
    if (s) shard = s;
  }
  return shard.value_or(0);
}

}  // namespace
}  // namespace detail

AckedReplies Client::write_and_wait(const std::vector<std::vector<std::string>>& commands,
                                    const ReplicaAck& ack) {
  if (commands.empty()) throw Error(errc::config, "write_and_wait: no commands");
  const std::size_t shard = detail::batch_shard(*core_, commands, std::nullopt, "write_and_wait");
  // Online resharding: writes of moving keys are recorded in the dirty set by a SADD, atomically
  // with them, so the batch goes as MULTI, the commands, SADD, EXEC, WAIT (then a command the
  // server refuses when queued, such as a wrong number of arguments, aborts the whole batch).
  // The check against the stored record goes first (guard_script.hpp).
  const auto record = core_->batch_record(commands);
  std::string payload;
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  const std::uint32_t checks = record ? record->append_check(payload) : 0;
  if (record) detail::append_command(payload, multi);
  for (const auto& c : commands) detail::append_command(payload, std::span<const std::string>(c));
  std::uint32_t sadds = 0;
  if (record) {
    sadds = record->append_sadd(payload);
    detail::append_command(payload, exec);
  }
  const std::uint32_t waits = detail::append_wait(payload, ack);
  const auto n = static_cast<std::uint32_t>(commands.size());
  // The replies before WAIT's: the check's, MULTI's, a QUEUED per command, SADD's, EXEC's.
  const std::uint32_t sent = record ? checks + n + sadds + 2 : n;
  detail::Node& node = core_->node_for_shard(shard, true, true);
  auto r = detail::execute_batch(*core_, node, payload, sent + waits,
                                 waits ? detail::wait_timeout(ack) : std::chrono::milliseconds(0));
  if (!r.ok()) throw Error(r.error(), r.message());
  std::vector<Reply>& out = r.value();
  AckedReplies result;
  if (waits) detail::take_wait_reply(result, out[sent], ack);
  if (record) {
    Reply exec_reply = std::move(out[sent - 1]);
    if (exec_reply.is_array()) {
      detail::strip_record(exec_reply, record->sadd());
      exec_reply.throw_if_error();  // SADD failed: the writes may be unrecorded
      out = std::move(exec_reply.elements());
    } else if (exec_reply.is_nil()) {
      // The check refused this client's epoch (or the record changed): nothing ran.
      core_->want_record();
      throw Error(errc::migrating, std::string(detail::kRecordChangedMessage));
    } else {
      // EXECABORT: nothing ran. Each command's reply is its own refusal, if it had one.
      std::vector<Reply> each(n, exec_reply);
      for (std::uint32_t i = 0; i < n; ++i)
        if (out[checks + 1 + i].is_error()) each[i] = std::move(out[checks + 1 + i]);
      out = std::move(each);
    }
  }
  out.resize(n);
  result.replies = std::move(out);
  return result;
}

std::optional<AckedReplies> Transaction::exec_and_wait(const ReplicaAck& ack) {
  // Throws cross_shard before anything is sent; the commands stay queued then, as in exec().
  const std::size_t shard = detail::batch_shard(*core_, commands_, shard_, "transaction");
  // Online resharding: SADD of the moving keys written, inside the transaction (as exec()).
  const auto record = core_->batch_record(commands_);
  std::vector<std::vector<std::string>> commands;
  commands.swap(commands_);
  std::string payload;
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  std::uint32_t before_exec = record ? record->append_check(payload) : 0;
  detail::append_command(payload, multi);
  for (const auto& c : commands) detail::append_command(payload, std::span<const std::string>(c));
  if (record) before_exec += record->append_sadd(payload);
  detail::append_command(payload, exec);
  const std::uint32_t waits = detail::append_wait(payload, ack);
  const auto exec_at = static_cast<std::uint32_t>(before_exec + commands.size() + 1);
  const std::uint32_t replies = exec_at + 1 + waits;
  const auto extra = waits ? detail::wait_timeout(ack) : std::chrono::milliseconds(0);
  std::vector<Reply> out;
  const bool watched = lease_ != nullptr;
  if (lease_) {
    // WATCHed: MULTI ... EXEC WAIT go on the connection that holds the WATCH.
    auto r = lease_->exchange(payload, replies, extra);
    lease_.reset();  // EXEC ends the WATCH either way
    watched_.clear();
    shard_.reset();
    if (!r.ok()) throw Error(r.error(), r.message());
    out = std::move(r.value());
  } else {
    detail::Node& node = core_->node_for_shard(shard, true, true);
    shard_.reset();
    auto r = detail::execute_batch(*core_, node, payload, replies, extra);
    if (!r.ok()) throw Error(r.error(), r.message());
    out = std::move(r.value());
  }
  Reply& exec_reply = out[exec_at];
  if (record) detail::strip_record(exec_reply, record->sadd());
  if (exec_reply.is_nil() && record && !watched) {
    // Only the check's WATCH can have answered nil: nothing ran (retriable).
    core_->want_record();
    throw Error(errc::migrating, std::string(detail::kRecordChangedMessage));
  }
  if (exec_reply.is_nil()) return std::nullopt;  // a WATCHed key changed
  exec_reply.throw_if_error();
  AckedReplies result;
  if (waits) detail::take_wait_reply(result, out[exec_at + 1], ack);
  result.replies = std::move(exec_reply.elements());
  return result;
}

}  // namespace flyshard
