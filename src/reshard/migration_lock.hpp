#pragma once
// The migration lock: one migrator at a time per cluster. SET flyshard:migrator <value> NX PX
// <ttl> on the first primary of the source layout, renewed by a thread while the migrator
// runs. The value starts with a fencing token from INCR flyshard:migrator:token, so a lock
// that expired and was taken by another migrator is never renewed or released by the old one
// (both compare the token). A second migrator is refused with a message naming the holder.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "reshard/shard_links.hpp"

namespace flyshard::detail {

inline constexpr std::string_view kLockKey = "flyshard:migrator";
inline constexpr std::string_view kLockTokenKey = "flyshard:migrator:token";

class MigrationLock {
 public:
  /// Takes the lock on shard `home` for `ttl` (renewed every ttl / 3 until release()).
  /// Throws MigrationRefused naming the holder when another migrator has it, Error when the
  /// node fails. `who` describes this process in the lock's value (host, pid).
  MigrationLock(ShardLinks& links, std::string home, std::chrono::milliseconds ttl,
                const std::string& who);
  ~MigrationLock();
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

  /// The fencing token (increases with every lock ever taken on this cluster).
  std::uint64_t token() const noexcept { return token_; }
  /// Renews now and throws MigrationRefused when the lock is no longer this migrator's
  /// (expired and taken, or expired while the node could not be reached). Call before every
  /// write that other migrators must not interleave with.
  void check();
  /// Releases the lock when it is still ours. Idempotent.
  void release() noexcept;

 private:
  bool renew_once();  // true while still ours
  void renew_loop();

  ShardLinks& links_;
  std::string home_;
  std::chrono::milliseconds ttl_;
  std::uint64_t token_ = 0;
  std::string value_;
  std::atomic<bool> lost_{false};
  std::atomic<std::int64_t> valid_until_ms_{0};  // steady clock, ms
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread renewer_;
};

}  // namespace flyshard::detail
