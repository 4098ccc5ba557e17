#pragma once
/// \file error.hpp
/// Error codes and the exception type of flyshard.

#include <string>
#include <system_error>

namespace flyshard {

/// Why a request or a configuration failed. Zero is never used for an error.
enum class errc {
  timeout = 1,        ///< the request's deadline passed before its reply arrived
  connection_lost,    ///< the link to the node broke or could not be opened
  shard_unavailable,  ///< no node of the shard may serve the request now
  overloaded,         ///< the node's bound on queued + in-flight requests was reached
  cross_shard,        ///< keys of one transaction/script/command map to several shards
  server_error,       ///< the server answered with an error reply (message kept)
  protocol_error,     ///< the server's reply could not be parsed
  config,             ///< bad topology or options (message names the JSON path); also a
                      ///< command refused before sending because it needs another API:
                      ///< a keyless one through command() (use command_on_all /
                      ///< command_on_shard / command_routed), one that would change a
                      ///< shared connection's state (SUBSCRIBE: subscribe(); MULTI, WATCH:
                      ///< transaction(); SELECT: the topology's "database"; AUTH/HELLO: its
                      ///< "auth"; ...), a blocking one on the async face. The message names it.
  shutting_down,      ///< the client was destroyed while the request was pending
  unknown_command,    ///< not in the command table, so its keys are unknown: refused before
                      ///< sending; name the routing key (command_routed) or the shard
                      ///< (command_on_shard)
  watch_conflict,     ///< Client::watch_transaction: a WATCHed key changed before EXEC on
                      ///< every attempt
  tls,                ///< the TLS handshake or a TLS record failed: the message names the
                      ///< reason, e.g. "certificate verify failed: unable to get local issuer
                      ///< certificate" (a wrong CA, a host-name mismatch, a client certificate
                      ///< the server requires). Not retriable: a retry meets the same peer.
};

/// The category of flyshard::errc; name() is "flyshard".
const std::error_category& error_category() noexcept;

/// Makes std::error_code work with flyshard::errc.
std::error_code make_error_code(errc e) noexcept;

/// True for errors that a retry may cure (timeout, connection_lost, shard_unavailable,
/// overloaded, watch_conflict). A retry of a non-idempotent write may apply it twice.
bool is_retriable(errc e) noexcept;

/// True for errors of the transport (timeout, connection_lost, shard_unavailable, tls).
bool is_transport(errc e) noexcept;

/// The exception thrown by the blocking API and by configuration loading.
class Error : public std::system_error {
 public:
  Error(errc e, const std::string& message)
      : std::system_error(make_error_code(e), message), message_(message) {}
  /// The flyshard error code.
  errc value() const noexcept { return static_cast<errc>(code().value()); }
  /// The message alone (std::system_error would append the code's description).
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

}  // namespace flyshard

template <>
struct std::is_error_code_enum<flyshard::errc> : std::true_type {};
