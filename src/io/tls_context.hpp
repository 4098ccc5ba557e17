#pragma once
// TLS configuration as OpenSSL holds it: one SSL_CTX per set of TlsOptions (the data nodes',
// the sentinels'), shared by every link that uses it, async or blocking. SSL_CTX is safe to
// share between threads once built; each link has its own SSL (tls_session.hpp).

#include <memory>
#include <string>

#include "flyshard/topology.hpp"

using SSL_CTX = struct ssl_ctx_st;

namespace flyshard::detail {

class TlsContext {
 public:
  /// Builds the context: CA file (or the system's default paths), verification mode, client
  /// certificate and key, TLS 1.2 at least. Throws Error(errc::config) whose message starts
  /// with `path` + the field, e.g. "tls.ca_file: cannot load ca.pem: no certificate found".
  static std::shared_ptr<const TlsContext> create(const TlsOptions& options,
                                                  const std::string& path);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  const TlsOptions& options() const noexcept { return options_; }

 private:
  TlsContext(SSL_CTX* ctx, TlsOptions options) : ctx_(ctx), options_(std::move(options)) {}
  SSL_CTX* ctx_;
  TlsOptions options_;
};

/// How one node is reached over TLS: the shared context and the name its certificate must
/// carry (TlsOptions::server_name, else the node's host). No context: plain TCP.
struct TlsPeer {
  std::shared_ptr<const TlsContext> context;
  std::string host;
  explicit operator bool() const noexcept { return context != nullptr; }
};

/// The peer settings for `node` under `context` (the topology's "tls" section, or
/// sentinel.tls). A null context means plain TCP, unless the address asks for TLS itself
/// (rediss://): then the defaults of TlsOptions apply (verification against the system's CA
/// store, host-name check), the way redis-cli and other clients read such a URI. Throws
/// flyshard::Error(errc::config) when the system's CA store cannot be loaded.
TlsPeer tls_peer(const std::shared_ptr<const TlsContext>& context, const NodeAddress& node);

/// The context for `options` when they enable TLS, else null; `path` names the JSON section
/// in errors ("tls", "sentinel.tls").
std::shared_ptr<const TlsContext> tls_context_for(const std::optional<TlsOptions>& options,
                                                  const std::string& path);

}  // namespace flyshard::detail
