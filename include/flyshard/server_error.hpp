#pragma once
/// \file server_error.hpp
/// Server errors classified by their first word, so callers need not match strings.

#include <cstdint>
#include <string_view>

#include "flyshard/error.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"

namespace flyshard {

/// The kind of an error reply, from its first word ("WRONGTYPE Operation against a key ...").
/// Dragonfly uses the Redis prefixes for the kinds it has.
enum class ServerErrorKind : std::uint8_t {
  none,         ///< not a server error (another errc, a value, or no error)
  generic,      ///< "ERR ...": syntax, wrong arity, not an integer, unknown command ...
  unknown,      ///< a first word this list does not know
  wrongtype,    ///< WRONGTYPE: the key holds another type
  noscript,     ///< NOSCRIPT: EVALSHA of a script the node has not loaded
  readonly,     ///< READONLY: a write reached a replica (a failover happened): retriable
  loading,      ///< LOADING: the node is loading its dataset: retriable
  busy,         ///< BUSY: a script or function is running too long: retriable
  busykey,      ///< BUSYKEY: RESTORE/COPY target exists
  noperm,       ///< NOPERM: the ACL user may not run this command or touch this key
  oom,          ///< OOM: maxmemory reached and nothing could be evicted
  execabort,    ///< EXECABORT: a queued command was refused, the transaction discarded
  moved,        ///< MOVED: a cluster-mode node does not own the slot
  ask,          ///< ASK: a cluster-mode slot is migrating
  tryagain,     ///< TRYAGAIN: a cluster-mode multi-key request during a slot migration: retriable
  clusterdown,  ///< CLUSTERDOWN: a cluster-mode node cannot serve the slot now: retriable
  masterdown,   ///< MASTERDOWN: a replica cut off from its primary with stale reads off: retriable
  noreplicas,   ///< NOREPLICAS: min-replicas-to-write not met: retriable
  misconf,      ///< MISCONF: writes refused after a failed RDB save
  noauth,       ///< NOAUTH: the connection has not authenticated
  wrongpass,    ///< WRONGPASS: bad user name or password
  busygroup,    ///< BUSYGROUP: XGROUP CREATE of an existing consumer group
  nogroup,      ///< NOGROUP: no such stream or consumer group
  crossslot,    ///< CROSSSLOT: keys of one command in several cluster slots
};

/// The kind of an error message (the text of an error reply, without the leading '-').
/// Matches the first word exactly and case-sensitively, as servers send it; "" is unknown.
ServerErrorKind server_error_kind(std::string_view message) noexcept;
/// The kind of an error reply; none for any other reply.
ServerErrorKind server_error_kind(const Reply& reply) noexcept;
/// The kind of an Error; none unless its errc is server_error.
ServerErrorKind server_error_kind(const Error& error) noexcept;
/// The kind of a Result's error; none when it holds a value or another errc.
template <typename T>
ServerErrorKind server_error_kind(const Result<T>& result) noexcept {
  if (result.ok() || result.error() != errc::server_error) return ServerErrorKind::none;
  return server_error_kind(std::string_view(result.message()));
}

/// The first word the kind stands for ("WRONGTYPE", "ERR"); "" for none and unknown.
std::string_view to_string(ServerErrorKind kind) noexcept;

/// True for the kinds a retry after a short wait may cure: READONLY, LOADING, BUSY,
/// TRYAGAIN, CLUSTERDOWN, MASTERDOWN, NOREPLICAS. A retried write may be applied twice
/// only if it had been applied before (these errors mean it was not).
bool is_retriable(ServerErrorKind kind) noexcept;
/// is_retriable(errc) for transport errors, is_retriable(kind) for server errors.
bool is_retriable(const Error& error) noexcept;
template <typename T>
bool is_retriable(const Result<T>& result) noexcept {
  if (result.ok()) return false;
  if (result.error() == errc::server_error) return is_retriable(server_error_kind(result));
  return is_retriable(result.error());
}

}  // namespace flyshard
