#pragma once
// One TLS session over memory BIOs: it never touches a socket. The link feeds it the
// ciphertext it read and sends the ciphertext it produces, so the libuv path and the blocking
// path drive TLS with the same read/write events and deadlines they already have, and the
// handshake needs no thread or blocking call of its own.

#include <cstddef>
#include <string>
#include <string_view>

#include "io/tls_context.hpp"

using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace flyshard::detail {

class TlsSession {
 public:
  /// A client session to `peer` (SNI and host-name check set up here). Throws
  /// Error(errc::tls) when OpenSSL cannot make one.
  explicit TlsSession(const TlsPeer& peer);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// Begins the handshake: its first flight (ClientHello) is then in the output.
  bool start();
  /// The handshake is over: plaintext may be sent.
  bool established() const noexcept { return established_; }
  /// Takes ciphertext read from the socket: advances the handshake and appends the plaintext
  /// it decrypts to `plain`. false on failure (error() says why; the link must close).
  bool receive(const char* data, std::size_t size, std::string& plain);
  /// Encrypts all of `plain` into the output (only once established()). false on failure.
  bool send(std::string_view plain);
  /// Ciphertext waiting to be written to the socket.
  bool has_output() const noexcept;
  /// Appends the waiting ciphertext to `out` and forgets it.
  void take_output(std::string& out);
  /// Why the session failed, e.g. "certificate verify failed: unable to get local issuer
  /// certificate"; names the handshake when it failed there.
  const std::string& error() const noexcept { return error_; }

 private:
  bool advance();  // one handshake step; false on failure
  bool failed(int rc);

  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the socket (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext for the socket (owned by ssl_)
  bool established_ = false;
  std::string error_;
};

/// After a write to `fd` failed (the peer reset the link): reads, without blocking, what the
/// peer sent before it closed and feeds it to `session`. A server that refuses the client
/// after the handshake (TLS 1.3: a client certificate it requires is missing) sends an alert
/// and closes, and the client's next write meets the reset before anyone read the alert.
/// Returns the alert's reason, or "" when there was none.
std::string tls_alert_after_reset(int fd, TlsSession& session);

}  // namespace flyshard::detail
