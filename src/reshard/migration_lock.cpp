#include "reshard/migration_lock.hpp"

#include <algorithm>

#include "reshard/migration_error.hpp"

namespace flyshard::detail {
namespace {

const char* const kRenewScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const char* const kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MigrationLock::MigrationLock(ShardLinks& links, std::string home, std::chrono::milliseconds ttl,
                             const std::string& who)
    : links_(links), home_(std::move(home)), ttl_(ttl) {
  token_ = static_cast<std::uint64_t>(links_.run(home_, {"INCR", kLockTokenKey}).as<long long>());
  value_ = "token " + std::to_string(token_) + " " + who;
  const auto started = now_ms();
  const Reply r = links_.run(home_, {"SET", kLockKey, value_, "NX", "PX", ttl_.count()});
  if (r.is_nil()) {
    const auto holder = links_.run(home_, {"GET", kLockKey}).as<std::optional<std::string>>();
    const long long left = links_.run(home_, {"PTTL", kLockKey}).as<long long>();
    throw MigrationRefused("another migrator is running: shard " + home_ + " holds " +
                           std::string(kLockKey) + " = \"" + holder.value_or("?") +
                           "\" (expires in " + std::to_string(std::max(0LL, left)) +
                           " ms unless renewed)");
  }
  valid_until_ms_ = started + ttl_.count();
  renewer_ = std::thread([this] { renew_loop(); });
}

MigrationLock::~MigrationLock() {
  release();
}

bool MigrationLock::renew_once() {
  const auto started = now_ms();
  try {
    const long long ok =
        links_
            .run(home_, {"EVAL", kRenewScript, "1", kLockKey, value_, std::to_string(ttl_.count())})
            .as<long long>();
    if (ok == 0) {
      lost_ = true;
      return false;
    }
    valid_until_ms_ = started + ttl_.count();
  } catch (const Error&) {
    // Unreachable for now: still ours until valid_until_ms_; check() decides.
  }
  return true;
}

void MigrationLock::renew_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, ttl_ / 3, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const bool ours = renew_once();
    lock.lock();
    if (!ours) break;
  }
}

void MigrationLock::check() {
  if (!lost_) renew_once();
  if (lost_ || now_ms() >= valid_until_ms_) {
    lost_ = true;
    throw MigrationRefused("this migrator lost its lock (" + std::string(kLockKey) + " on shard " +
                           home_ + " expired or was taken over; token " + std::to_string(token_) +
                           "): stopping before the next write");
  }
}

void MigrationLock::release() noexcept {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (lost_) return;
  try {
    links_.run(home_, {"EVAL", kReleaseScript, "1", kLockKey, value_});
  } catch (...) {
    // It expires by itself.
  }
}

}  // namespace flyshard::detail
