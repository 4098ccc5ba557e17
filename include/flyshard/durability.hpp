#pragma once
/// \file durability.hpp
/// Confirming that writes reached replicas: WAIT sent on the connection that made the writes.

#include <chrono>
#include <optional>
#include <vector>

#include "flyshard/reply.hpp"

namespace flyshard {

/// How many replicas must acknowledge a batch of writes, and how long to wait for them.
/// WAIT only confirms the writes made on its own connection before it, so the library sends
/// the writes and WAIT as one batch on one connection; a WAIT sent through any other call
/// confirms nothing about them.
struct ReplicaAck {
  /// Replicas that must acknowledge. 0 asks for no WAIT at all (the batch is then never
  /// `confirmed`, because nothing was confirmed). Default 1.
  unsigned replicas = 1;
  /// Longest wait for the acknowledgements, in ms; it is added to the request deadline. Must
  /// be > 0 (WAIT with 0 would block forever); 0 is taken as 1 ms. Default 200 ms.
  std::chrono::milliseconds timeout{200};
};

/// The replies of writes sent with a ReplicaAck.
struct AckedReplies {
  /// The writes' replies, in order (for a transaction: EXEC's elements). Error replies are
  /// kept as they are (Reply::is_error()); the blocking call throws only for transport errors.
  std::vector<Reply> replies;
  /// Replicas that acknowledged (WAIT's answer); nullopt when the node does not support WAIT
  /// (Dragonfly before v1.40 answers it with an error) or when ReplicaAck::replicas was 0.
  std::optional<long long> acked;
  /// True when acked >= the replicas asked for: the writes survive the loss of the primary.
  bool confirmed = false;
};

}  // namespace flyshard
