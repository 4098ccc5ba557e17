#pragma once
/// \file script.hpp
/// Script: a Lua script run by its SHA1, loaded on each node the first time it is needed.

#include <string>
#include <string_view>
#include <vector>

#include "flyshard/client.hpp"
#include "flyshard/durability.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard {

/// A Lua script. run() sends EVALSHA; a node that answers NOSCRIPT (it never saw the script,
/// or it restarted, or it is a replica promoted by a failover) gets EVAL once, which also
/// loads the script there, so later calls are EVALSHA again. Every key the script touches
/// must be passed in `keys` (Dragonfly refuses undeclared keys) and all of them must map to
/// one shard, else errc::cross_shard before anything is sent.
///
/// A Script is an immutable value: copy it, share it between threads, keep it for the life
/// of the program. It holds no reference to a Client.
class Script {
 public:
  /// Computes the SHA1 of `source`; nothing is sent.
  explicit Script(std::string source);

  const std::string& source() const noexcept { return source_; }
  /// Lower-case hex SHA1, as SCRIPT LOAD returns it.
  const std::string& sha1() const noexcept { return sha1_; }

  /// Runs the script on the shard of `keys` (a keyless script: the first shard). An error
  /// reply of the script throws Error(server_error).
  Reply run(Client& client, const std::vector<std::string>& keys,
            const std::vector<std::string>& args = {}) const;
  /// The same on the async face; `cb` runs once on the loop thread.
  void run(AsyncClient& client, const std::vector<std::string>& keys,
           const std::vector<std::string>& args, Callback<Reply> cb) const;
  /// Runs the script, then WAIT on the same connection (see Client::write_and_wait).
  /// replies[0] is the script's reply (an error reply is returned, not thrown).
  AckedReplies run_and_wait(Client& client, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args, const ReplicaAck& ack) const;

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace flyshard
