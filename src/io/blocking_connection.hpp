#pragma once
// The blocking path's connection: a plain socket used on the caller's thread. A blocking call
// that handed its request to the loop thread would pay a cross-CPU wake-up twice per call
// (about 60 us each on these machines, ten times a local PING), so blocking calls do their
// own I/O here, over pooled connections that share the router and the stats with the engine.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"
#include "io/resolver.hpp"
#include "io/resp.hpp"
#include "io/tls_session.hpp"

namespace flyshard::detail {

using Clock = std::chrono::steady_clock;

class BlockingConnection {
 public:
  /// Resolves `address` (a host name again on every call, on a helper thread), connects to
  /// the first of its addresses that takes the connection (TCP or Unix socket), negotiates
  /// TLS when `tls` has a context, and runs the handshake (`handshake` holds AUTH/CLIENT
  /// SETNAME/SELECT, `handshake_replies` their count), all within `connect_timeout`. Returns
  /// the error on failure (errc::tls for a TLS failure).
  static Result<std::unique_ptr<BlockingConnection>> open(
      const NodeAddress& address, std::chrono::milliseconds connect_timeout,
      std::string_view handshake, std::uint32_t handshake_replies, const std::string& name,
      const ReplyLimits& limits = {}, const TlsPeer& tls = {});
  ~BlockingConnection();
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;

  /// Sends `payload` and reads `replies` replies (all kept in `out`), by `deadline` (one
  /// deadline for sending and receiving together). On any
  /// failure the connection is broken (usable() is false) and must be dropped: a late reply
  /// would otherwise be taken for the next request's.
  /// `now`: the time the caller read last, when it read one just before (saves a read).
  errc exchange(std::string_view payload, std::uint32_t replies, std::vector<Reply>& out,
                Clock::time_point deadline, std::string& message,
                Clock::time_point now = Clock::now());
  /// A reply list that lives with the connection, for a caller that wants one per exchange
  /// without allocating it each time. Empty it before the connection goes back to its pool.
  std::vector<Reply>& replies() noexcept { return replies_; }

  // The pieces of exchange(), for driving several connections at once with poll().
  int fd() const noexcept { return fd_; }
  bool usable() const noexcept { return fd_ >= 0; }
  /// Writes as much as the socket takes without blocking; false on a broken link.
  bool write_some(std::string_view& pending, std::string& message);
  /// Reads what is there without blocking and moves complete replies to `out`, up to
  /// `wanted` in all; false on a broken link or protocol error.
  bool read_some(std::vector<Reply>& out, std::uint32_t wanted, std::string& message);
  void close() noexcept;
  /// Why write_some() or read_some() last returned false (connection_lost, protocol_error,
  /// tls).
  errc failure() const noexcept { return failure_; }
  const std::string& name() const noexcept { return name_; }
  /// The pool generation this link was opened in (see BlockingPool::clear()).
  std::uint64_t generation = 0;

 private:
  BlockingConnection(int fd, std::string name, const ReplyLimits& limits)
      : fd_(fd), name_(std::move(name)), reader_(limits) {}
  /// Cuts the socket's send/receive timeout so that one blocking call ends by `deadline`;
  /// `fresh` (the start of an exchange) may lengthen it too. false when setsockopt fails.
  bool limit_wait(Clock::time_point deadline, Clock::time_point now, bool fresh);
  bool write_some_raw(std::string_view& pending, std::string& message);
  /// The TLS handshake on the still non-blocking socket, by `deadline`.
  errc start_tls(const TlsPeer& peer, Clock::time_point deadline, std::string& message);
  /// Bytes read from the socket: decrypted first with TLS, then parsed. false on a TLS
  /// failure (`message` says why).
  bool take_in(const char* data, std::size_t size, std::string& message);

  int fd_;
  std::string name_;
  ReplyReader reader_;
  errc failure_ = errc::connection_lost;
  long long timeout_us_set_ = -1;  // SO_RCVTIMEO/SO_SNDTIMEO currently on the socket
  // TLS: the session (the same memory-BIO session as the async path, so poll() and the
  // socket timeouts keep bounding every wait), ciphertext to send, plaintext decrypted.
  std::unique_ptr<TlsSession> tls_;
  std::string tls_wire_;
  std::size_t tls_wire_sent_ = 0;  // write_some(): how much of tls_wire_ went out
  bool tls_wire_busy_ = false;     // write_some(): tls_wire_ holds the caller's pending bytes
  std::string tls_plain_;
  std::vector<Reply> replies_;
};

/// Idle blocking connections of one node, shared by every calling thread.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t max_idle) : max_idle_(max_idle) {}
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;
  /// An idle connection, or nullptr when none is (open one then).
  std::unique_ptr<BlockingConnection> take();
  /// Returns a connection after use; broken ones, those opened before the last clear() and
  /// those over max_idle are closed.
  void give_back(std::unique_ptr<BlockingConnection> c);
  /// Closes every idle connection, and those in use when they come back (after the node
  /// failed, or Sentinel killed its clients while reconfiguring it).
  void clear();
  /// The generation to stamp on a newly opened connection.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::uint64_t> generation_{0};
  // One idle connection kept outside the lock: a thread that calls again and again takes and
  // returns it with one atomic exchange each way, where the mutex cost a lock and an unlock
  // per call (issue 10). Owned (a leaked unique_ptr) while here.
  std::atomic<BlockingConnection*> spare_{nullptr};
  std::mutex mu_;
  std::vector<std::unique_ptr<BlockingConnection>> idle_;
  std::size_t max_idle_;
};

}  // namespace flyshard::detail
