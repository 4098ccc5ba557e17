#pragma once
// Helpers of the confirmed-write calls (durability.cpp, script.cpp): a batch that must get every
// reply back on the blocking path, and the WAIT that ends it.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/durability.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard::detail {

class ClientCore;
struct Node;

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

}  // namespace flyshard::detail
