#pragma once
// Shared by the migrate_* integration tests: running the `flyshard` tool (to the end, or as a
// child process to kill by PID), data of every type with TTLs and a snapshot of it, the
// checks every migration must pass (each key on its layout-B shard only, same value, TTL
// within a second, no migration keys left), and a writer that follows the topology record
// as the client side's contract says (register its epoch, write moving keys through the
// guard script into the dirty set, hold moving keys during cutover, route by B after the
// flip), so the migrator is tested against concurrent writes whatever the library's client
// side does yet.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "flyshard/flyshard.hpp"
#include "reshard/shard_links.hpp"
#include "tool_run.hpp"

namespace flyshard::testing {

/// Runs `flyshard <args>` to its end (args are shell words).
ToolRun run_flyshard(const std::string& args, const std::filesystem::path& dir);

/// `flyshard <args>` as a child process; stdout and stderr go to files in `dir`.
class ToolProcess {
 public:
  ToolProcess(const std::vector<std::string>& args, const std::filesystem::path& dir);
  ~ToolProcess();
  /// Waits (with a deadline) until stderr contains `text`.
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds within);
  void kill();  ///< SIGKILL and reap
  int wait();   ///< the exit code (-1 when killed)
  std::string err() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::filesystem::path err_;
  bool reaped_ = false;
};

/// What a key holds, independent of the encoding; `expire_at` the absolute expiry, ms (0: none).
struct KeyValue {
  std::string type;
  std::vector<std::string> value;
  long long expire_at = 0;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

/// Writes `n` keys through `client` (strings, hashes, lists, sets, sorted sets, streams;
/// every fourth with a TTL of an hour; some hash-tagged). Returns their names.
std::vector<std::string> fill_every_type(Client& client, int n, const std::string& prefix = "k");

/// Each key's value as `layout` places it, read from that shard's primary.
std::map<std::string, KeyValue> snapshot(const Topology& layout,
                                         const std::vector<std::string>& keys);

/// Non-internal keys on each shard's primary of `all` (by shard name).
std::map<std::string, std::vector<std::string>> keys_by_shard(const Topology& all);

/// The checks after a migration to `b`: every key of `expected` only on its B shard (of the
/// nodes in `all`), same type and value, expiry within 1 s; no other user keys anywhere;
/// no dirty set, in-flight set, checkpoint or temporary key left. Returns problems (empty:
/// all good), at most `max` of them.
std::vector<std::string> check_layout(const Topology& all, const Topology& b,
                                      const std::map<std::string, KeyValue>& expected,
                                      std::size_t max = 10);

/// A thread writing its own keys (SET / DEL / INCR / PEXPIRE) while following the record by
/// hand as the contract says: registers its epoch on every primary, writes moving keys
/// through the guard script (the write and the SADD to the dirty set in one step), holds
/// moving keys during the cutover, routes by layout B after the flip.
class GuardedWriter {
 public:
  GuardedWriter(const Topology& all, int id);
  ~GuardedWriter();
  void start();
  void stop();
  /// The last acknowledged state of each key it wrote: value (nullopt: deleted), TTL set.
  std::map<std::string, std::optional<std::string>> values;
  std::set<std::string> with_ttl;
  std::atomic<long long> ops{0}, guarded{0}, frozen{0}, errors{0};
  std::string last_error;

 private:
  void loop();
  void apply(const std::vector<std::string>& words, const Reply& r);
  void follow();
  void register_epoch(std::uint64_t epoch);

  Topology all_;
  int id_;
  flyshard::detail::ShardLinks links_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  struct State;
  std::unique_ptr<State> state_;
};

/// The checks on a GuardedWriter's keys against layout `b`.
std::vector<std::string> check_writer(const Topology& b, const GuardedWriter& w);

}  // namespace flyshard::testing
