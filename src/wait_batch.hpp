#pragma once
// Helpers of the confirmed-write calls (durability.cpp, script.cpp): a batch that must get every
// reply back, the WAIT that ends it, and the batches of write_and_wait and exec_and_wait, built
// and read the same way by the blocking and the async face.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_core.hpp"

#include "flyshard/durability.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard::detail {

/// Blocking, on the caller's thread, over one leased pooled connection: sends `payload` and
/// returns all `replies` replies (error replies included, as they are). The deadline is
/// request_timeout + `extra_wait`. Never sent twice (the batch holds writes).
Result<std::vector<Reply>> execute_batch(ClientCore& core, Node& node, std::string_view payload,
                                         std::uint32_t replies,
                                         std::chrono::milliseconds extra_wait);

/// WAIT's timeout for `ack` (0 would block forever: taken as 1 ms).
std::chrono::milliseconds wait_timeout(const ReplicaAck& ack) noexcept;

/// Appends WAIT <replicas> <timeout> to `payload` when ack.replicas > 0; returns the number of
/// replies it adds (0 or 1).
std::uint32_t append_wait(std::string& payload, const ReplicaAck& ack);

/// Fills `out.acked`/`out.confirmed` from WAIT's reply: an integer is the count; an error reply
/// (a server without WAIT, e.g. Dragonfly before v1.40, or a replica) leaves acked = nullopt and
/// confirmed = false.
void take_wait_reply(AckedReplies& out, const Reply& wait, const ReplicaAck& ack);

/// A confirmed batch (writes or MULTI ... EXEC, then WAIT), ready to send on either face.
struct WaitBatch {
  std::size_t shard = 0;  ///< write_batch(): the shard of the batch's keys
  std::string payload;
  /// Online resharding: the batch is checked against the record and records its moving keys.
  std::optional<ClientCore::BatchRecord> record;
  std::uint32_t commands = 0;     ///< the caller's commands
  std::uint32_t checks = 0;       ///< replies of the record check, before MULTI
  std::uint32_t before_wait = 0;  ///< replies before WAIT's (EXEC's is the last of them, if any)
  std::uint32_t waits = 0;        ///< 1 with a WAIT, 0 without (ReplicaAck::replicas 0)
  std::chrono::milliseconds extra_wait{0};  ///< WAIT's timeout, added to the deadline
  std::uint32_t replies() const noexcept { return before_wait + waits; }
};

/// write_and_wait's batch: the commands (in MULTI ... SADD EXEC when a migration records
/// them), then WAIT. Throws before anything is sent: config (no or empty commands, pub/sub,
/// and on the `shared_link` a command that blocks), cross_shard, migrating.
WaitBatch write_batch(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                      const ReplicaAck& ack, bool shared_link);
/// The replies of a write_batch(): the writes' (error replies kept) and WAIT's count. Throws
/// migrating when the record check refused (nothing ran), server_error when recording failed.
AckedReplies write_batch_result(ClientCore& core, const WaitBatch& b, std::vector<Reply> out,
                                const ReplicaAck& ack);
/// exec_and_wait's batch: MULTI, the commands, EXEC, WAIT (the record's check and SADD around
/// them during a migration). The caller checks the shard first. Throws migrating.
WaitBatch transaction_batch(ClientCore& core, const std::vector<std::vector<std::string>>& commands,
                            const ReplicaAck& ack);
/// EXEC's replies and WAIT's count; nullopt when a WATCHed key changed (`watched`). Throws
/// migrating (the record check refused, nothing ran) and EXEC's own error.
std::optional<AckedReplies> transaction_batch_result(ClientCore& core, const WaitBatch& b,
                                                     std::vector<Reply> out, const ReplicaAck& ack,
                                                     bool watched);

}  // namespace flyshard::detail
