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
// sent. `shared_link`: the batch goes on the async face's shared link, where a command that
// blocks outside MULTI would stall every other caller of the node.
std::size_t batch_shard(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                        std::optional<std::size_t> shard, const char* what,
                        bool shared_link = false) {
  for (const auto& c : commands) {
    if (c.empty()) throw Error(errc::config, std::string(what) + ": empty command");
    std::vector<std::string_view> w(c.begin(), c.end());
    const CommandInfo* info = find_command(w[0]);
    if (info != nullptr && (info->flags & kPubSub) != 0) {
      throw Error(errc::config, std::string(what) + ": " + c[0] +
                                    " would put the connection in subscriber mode");
    }
    if (shared_link && blocking_time(w, info)) {
      throw Error(errc::config, std::string(what) + ": " + c[0] +
                                    " blocks its connection: use the blocking Client");
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

WaitBatch write_batch(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                      const ReplicaAck& ack, bool shared_link) {
  if (commands.empty()) throw Error(errc::config, "write_and_wait: no commands");
  WaitBatch b;
  b.shard = batch_shard(core, commands, std::nullopt, "write_and_wait", shared_link);
  // Online resharding: writes of moving keys are recorded in the dirty set by a SADD, atomically
  // with them, so the batch goes as MULTI, the commands, SADD, EXEC, WAIT (then a command the
  // server refuses when queued, such as a wrong number of arguments, aborts the whole batch).
  // The check against the stored record goes first (guard_script.hpp).
  b.record = core.batch_record(commands);
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  b.checks = b.record ? b.record->append_check(b.payload) : 0;
  if (b.record) append_command(b.payload, multi);
  for (const auto& c : commands) append_command(b.payload, std::span<const std::string>(c));
  std::uint32_t sadds = 0;
  if (b.record) {
    sadds = b.record->append_sadd(b.payload);
    append_command(b.payload, exec);
  }
  b.waits = append_wait(b.payload, ack);
  b.commands = static_cast<std::uint32_t>(commands.size());
  // The replies before WAIT's: the check's, MULTI's, a QUEUED per command, SADD's, EXEC's.
  b.before_wait = b.record ? b.checks + b.commands + sadds + 2 : b.commands;
  b.extra_wait = b.waits ? wait_timeout(ack) : std::chrono::milliseconds(0);
  return b;
}

AckedReplies write_batch_result(ClientCore& core, const WaitBatch& b, std::vector<Reply> out,
                                const ReplicaAck& ack) {
  if (out.size() != b.replies()) {
    throw Error(errc::protocol_error, "write_and_wait: " + std::to_string(out.size()) +
                                          " replies for a batch of " + std::to_string(b.replies()));
  }
  AckedReplies result;
  if (b.waits) take_wait_reply(result, out[b.before_wait], ack);
  if (b.record) {
    Reply exec_reply = std::move(out[b.before_wait - 1]);
    if (exec_reply.is_array()) {
      strip_record(exec_reply, b.record->sadd());
      exec_reply.throw_if_error();  // SADD failed: the writes may be unrecorded
      out = std::move(exec_reply.elements());
    } else if (exec_reply.is_nil()) {
      // The check refused this client's epoch (or the record changed): nothing ran.
      core.want_record();
      throw Error(errc::migrating, std::string(kRecordChangedMessage));
    } else {
      // EXECABORT: nothing ran. Each command's reply is its own refusal, if it had one.
      std::vector<Reply> each(b.commands, exec_reply);
      for (std::uint32_t i = 0; i < b.commands; ++i)
        if (out[b.checks + 1 + i].is_error()) each[i] = std::move(out[b.checks + 1 + i]);
      out = std::move(each);
    }
  }
  out.resize(b.commands);
  result.replies = std::move(out);
  return result;
}

WaitBatch transaction_batch(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                            const ReplicaAck& ack) {
  WaitBatch b;
  // Online resharding: SADD of the moving keys written, inside the transaction (as exec()).
  b.record = core.batch_record(commands);
  std::vector<std::string_view> multi{"MULTI"}, exec{"EXEC"};
  b.checks = b.record ? b.record->append_check(b.payload) : 0;
  std::uint32_t before_exec = b.checks;
  append_command(b.payload, multi);
  for (const auto& c : commands) append_command(b.payload, std::span<const std::string>(c));
  if (b.record) before_exec += b.record->append_sadd(b.payload);
  append_command(b.payload, exec);
  b.waits = append_wait(b.payload, ack);
  b.commands = static_cast<std::uint32_t>(commands.size());
  b.before_wait = before_exec + b.commands + 2;  // MULTI's, a QUEUED per command, EXEC's
  b.extra_wait = b.waits ? wait_timeout(ack) : std::chrono::milliseconds(0);
  return b;
}

std::optional<AckedReplies> transaction_batch_result(ClientCore& core, const WaitBatch& b,
                                                     std::vector<Reply> out, const ReplicaAck& ack,
                                                     bool watched) {
  if (out.size() != b.replies()) {
    throw Error(errc::protocol_error, "transaction: " + std::to_string(out.size()) +
                                          " replies for a batch of " + std::to_string(b.replies()));
  }
  Reply& exec_reply = out[b.before_wait - 1];
  if (b.record) strip_record(exec_reply, b.record->sadd());
  if (exec_reply.is_nil() && b.record && !watched) {
    // Only the check's WATCH can have answered nil: nothing ran (retriable).
    core.want_record();
    throw Error(errc::migrating, std::string(kRecordChangedMessage));
  }
  if (exec_reply.is_nil()) return std::nullopt;  // a WATCHed key changed
  exec_reply.throw_if_error();
  AckedReplies result;
  if (b.waits) take_wait_reply(result, out[b.before_wait], ack);
  result.replies = std::move(exec_reply.elements());
  return result;
}

}  // namespace detail

AckedReplies Client::write_and_wait(const std::vector<std::vector<std::string>>& commands,
                                    const ReplicaAck& ack) {
  detail::WaitBatch b = detail::write_batch(*core_, commands, ack, false);
  detail::Node& node = core_->node_for_shard(b.shard, true, true);
  auto r = detail::execute_batch(*core_, node, b.payload, b.replies(), b.extra_wait);
  if (!r.ok()) throw Error(r.error(), r.message());
  return detail::write_batch_result(*core_, b, std::move(r).value(), ack);
}

std::optional<AckedReplies> Transaction::exec_and_wait(const ReplicaAck& ack) {
  // Throws cross_shard before anything is sent; the commands stay queued then, as in exec().
  const std::size_t shard = detail::batch_shard(*core_, commands_, shard_, "transaction");
  detail::WaitBatch b = detail::transaction_batch(*core_, commands_, ack);
  commands_.clear();
  std::vector<Reply> out;
  const bool watched = lease_ != nullptr;
  if (lease_) {
    // WATCHed: MULTI ... EXEC WAIT go on the connection that holds the WATCH.
    auto r = lease_->exchange(b.payload, b.replies(), b.extra_wait);
    lease_.reset();  // EXEC ends the WATCH either way
    watched_.clear();
    shard_.reset();
    if (!r.ok()) throw Error(r.error(), r.message());
    out = std::move(r.value());
  } else {
    detail::Node& node = core_->node_for_shard(shard, true, true);
    shard_.reset();
    auto r = detail::execute_batch(*core_, node, b.payload, b.replies(), b.extra_wait);
    if (!r.ok()) throw Error(r.error(), r.message());
    out = std::move(r.value());
  }
  return detail::transaction_batch_result(*core_, b, std::move(out), ack, watched);
}

namespace {

// Completes `cb` from the batch's replies by `read` (which throws for a failed batch); the
// callback runs outside the try, so one that throws is never called a second time.
template <typename Read>
detail::ReplyHandler completing(detail::ClientCore& core, detail::WaitBatch b,
                                const ReplicaAck& ack, Callback<AckedReplies> cb, Read read) {
  b.payload.clear();  // sent by now; the reading needs only the counts and the record
  return [core = &core, b = std::move(b), ack, cb = std::move(cb),
          read = std::move(read)](Result<Reply> r) mutable {
    std::optional<Result<AckedReplies>> out;
    if (!r.ok()) {
      out.emplace(r.error(), r.message());
    } else {
      try {
        out.emplace(read(*core, b, std::move(r.value().elements()), ack));
      } catch (const Error& e) {
        out.emplace(e.value(), e.what());
      }
    }
    cb(std::move(*out));
  };
}

void fail_soon(detail::ClientCore& core, const Error& e, Callback<AckedReplies> cb) {
  core.submit_error(e.value(), e.what(), [cb = std::move(cb)](Result<Reply> r) {
    cb(Result<AckedReplies>(r.error(), r.message()));
  });
}

}  // namespace

void AsyncClient::write_and_wait(const std::vector<std::vector<std::string>>& commands,
                                 const ReplicaAck& ack, Callback<AckedReplies> cb) {
  detail::WaitBatch b;
  detail::Node* node;
  try {
    b = detail::write_batch(*core_, commands, ack, true);
    node = &core_->node_for_shard(b.shard, true, false);
  } catch (const Error& e) {
    return fail_soon(*core_, e, std::move(cb));
  }
  // The writes and WAIT leave as one contiguous batch on the shared link: no other caller's
  // command lands between them, and WAIT counts the replicas that have at least these writes.
  std::string payload = std::move(b.payload);
  const std::uint32_t replies = b.replies();
  const auto extra = b.extra_wait;
  core_->submit_all(*node, std::move(payload), replies, extra,
                    completing(*core_, std::move(b), ack, std::move(cb),
                               [](detail::ClientCore& core, const detail::WaitBatch& batch,
                                  std::vector<Reply> out, const ReplicaAck& a) {
                                 return detail::write_batch_result(core, batch, std::move(out), a);
                               }));
}

void AsyncClient::transaction_and_wait(const std::vector<std::vector<std::string>>& commands,
                                       const ReplicaAck& ack, Callback<AckedReplies> cb) {
  detail::WaitBatch b;
  detail::Node* node;
  try {
    if (commands.empty()) throw Error(errc::config, "empty transaction");
    const std::size_t shard = detail::batch_shard(*core_, commands, std::nullopt, "transaction");
    b = detail::transaction_batch(*core_, commands, ack);
    node = &core_->node_for_shard(shard, true, false);
  } catch (const Error& e) {
    return fail_soon(*core_, e, std::move(cb));
  }
  std::string payload = std::move(b.payload);
  const std::uint32_t replies = b.replies();
  const auto extra = b.extra_wait;
  core_->submit_all(
      *node, std::move(payload), replies, extra,
      completing(*core_, std::move(b), ack, std::move(cb),
                 [](detail::ClientCore& core, const detail::WaitBatch& batch,
                    std::vector<Reply> out, const ReplicaAck& a) {
                   // Nothing of the caller's is WATCHed here: a nil EXEC is the record
                   // check's refusal (errc::migrating), never an empty result.
                   auto result =
                       detail::transaction_batch_result(core, batch, std::move(out), a, false);
                   if (!result) throw Error(errc::protocol_error, "transaction: EXEC answered nil");
                   return std::move(*result);
                 }));
}

}  // namespace flyshard
